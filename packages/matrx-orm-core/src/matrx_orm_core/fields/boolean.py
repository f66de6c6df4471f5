"""BooleanField: PostgreSQL boolean, Python bool."""

from __future__ import annotations

from typing import Any

from .base import Field

__all__ = ["BooleanField"]

_TRUE_STRINGS = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE_STRINGS = frozenset({"false", "f", "no", "n", "off", "0"})


class BooleanField(Field[bool]):
    """A boolean: PostgreSQL ``boolean``, Python ``bool``.

    ``to_python`` (used by the model constructor, ``create`` and ``save``) also accepts the
    ints ``1``/``0`` and, case-insensitively and ignoring surrounding spaces, the strings
    ``true/false``, ``t/f``, ``yes/no``, ``y/n``, ``on/off``, ``1/0``. Anything else raises
    ``ValidationError`` (``"no"`` never becomes True). ``get_db_prep_value`` (the driver boundary,
    used for filter values) accepts ``bool`` only.
    """

    _python_type = bool
    _default_db_type = "boolean"

    def to_python(self, value: Any) -> bool | None:
        if value is None or value is True or value is False:
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE_STRINGS:
                return True
            if text in _FALSE_STRINGS:
                return False
            raise self._invalid(
                value,
                "the text is not a boolean",
                "Use one of true/false, t/f, yes/no, y/n, on/off, 1/0, or a bool.",
            )
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            return value == 1
        raise self._type_error(value, "a bool")

    def _prep_input(self, value: Any) -> Any:
        if value is True or value is False:
            return value
        raise self._type_error(value, "a bool")
