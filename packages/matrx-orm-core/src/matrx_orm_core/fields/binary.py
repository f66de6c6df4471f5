"""BinaryField: PostgreSQL bytea, Python bytes."""

from __future__ import annotations

from typing import Any

from .base import Field

__all__ = ["BinaryField"]


class BinaryField(Field[bytes]):
    """Raw bytes: PostgreSQL ``bytea``, Python ``bytes``.

    Accepts ``bytes``, ``bytearray`` and ``memoryview`` (copied into ``bytes``). A ``str`` is
    rejected rather than encoded with a guessed encoding: pass ``text.encode("utf-8")``.
    """

    _python_type = bytes
    _default_db_type = "bytea"

    def to_python(self, value: Any) -> bytes | None:
        if value is None or type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, str):
            raise self._invalid(
                value,
                "expected bytes, got str",
                "Encode the text first, e.g. value.encode('utf-8').",
            )
        raise self._type_error(value, "bytes, a bytearray or a memoryview")
