"""Plain-data serialisation for ``Model.to_dict`` and the per-instance RuntimeContainer."""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import uuid
from typing import Any

__all__ = ["RuntimeContainer", "serialize"]

_PLAIN = (str, int, float, bool, type(None))


def serialize(value: Any) -> Any:
    """Turn a value into plain JSON-friendly data for ``to_dict`` (API.md §10.15).

    Enum -> its value, datetime/date/time -> ISO text, UUID/Decimal/IP objects -> str,
    bytes -> hex text, list/tuple/set -> list, dict -> dict, objects with ``to_dict`` -> their
    dict, anything else (IP addresses, timedelta...) -> ``str``.
    """
    if type(value) in _PLAIN:
        return value
    if isinstance(value, enum.Enum):
        return serialize(value.value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [serialize(item) for item in value]
    if isinstance(value, dict):
        return {key: serialize(item) for key, item in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return str(value)


class RuntimeContainer:
    """Per-instance runtime values and relationships, shown by ``to_dict()`` under ``runtime``."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.relationships: dict[str, Any] = {}

    def set(self, name: str, value: Any) -> None:
        """Store a runtime value."""
        self.data[name] = value

    def get(self, name: str, default: Any = None) -> Any:
        """Return a runtime value or relationship, else ``default``."""
        if name in self.relationships:
            return self.relationships[name]
        return self.data.get(name, default)

    def set_relationship(self, name: str, value: Any) -> None:
        """Store a loaded relationship."""
        self.relationships[name] = value

    def to_dict(self) -> dict[str, Any]:
        """Values and relationships serialised (nested models through their ``to_dict``)."""
        result = {key: serialize(value) for key, value in self.data.items()}
        result.update({key: serialize(value) for key, value in self.relationships.items()})
        return result
