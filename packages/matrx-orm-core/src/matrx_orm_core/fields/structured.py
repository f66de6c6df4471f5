"""Fields whose value has inner structure: HStoreField (hstore) and PointField (point)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Field

__all__ = ["HStoreField", "PointField"]


class HStoreField(Field[dict[str, str | None]]):
    """String keys to string values: PostgreSQL ``hstore``, Python ``dict[str, str | None]``.

    Accepts any mapping whose keys are ``str`` and whose values are ``str`` or ``None`` (hstore
    stores a NULL value per key). Any other key or value type raises ``ValidationError`` naming
    the key; nothing is converted with ``str()``. NUL characters are rejected (PostgreSQL text
    cannot hold them). The ``hstore`` extension must exist in the database (``CREATE EXTENSION
    hstore``); the driver then decodes the column into a ``dict`` (see the fields docs).
    """

    _python_type = dict
    _default_db_type = "hstore"

    def to_python(self, value: Any) -> dict[str, str | None] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._type_error(value, "a dict of str keys to str or None values")
        result: dict[str, str | None] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise self._invalid(
                    value,
                    f"a key has type {type(key).__name__}, not str",
                    "hstore keys are text: pass str keys.",
                )
            if item is not None and not isinstance(item, str):
                raise self._invalid(
                    value,
                    f"the value for key {key!r} has type {type(item).__name__}, not str or None",
                    "hstore values are text: convert them first (e.g. str(n)), or use a "
                    "JSONField for typed values.",
                )
            if "\x00" in key or (item is not None and "\x00" in item):
                raise self._invalid(
                    value,
                    f"the entry for key {key!r} contains a NUL character (\\x00)",
                    "Remove the NUL characters.",
                )
            result[str(key)] = None if item is None else str(item)
        return result


class PointField(Field[tuple[float, float]]):
    """A 2-D point: PostgreSQL ``point``, Python ``tuple[float, float]`` (x, y).

    Accepts a tuple or list of exactly two numbers (``int`` or ``float``, not ``bool``).
    Coordinates are stored as ``double precision``; NaN and the infinities are accepted, as
    PostgreSQL stores them.
    """

    _python_type = tuple
    _default_db_type = "point"

    def to_python(self, value: Any) -> tuple[float, float] | None:
        if value is None:
            return None
        if not isinstance(value, (tuple, list)):
            raise self._type_error(value, "a tuple (x, y) of two numbers")
        if len(value) != 2:
            raise self._invalid(
                value,
                f"a point has 2 coordinates, got {len(value)}",
                "Pass (x, y).",
            )
        coords = []
        for axis, coord in zip("xy", value, strict=True):
            if isinstance(coord, bool) or not isinstance(coord, (int, float)):
                raise self._invalid(
                    value,
                    f"the {axis} coordinate has type {type(coord).__name__}, not int or float",
                    "Pass numbers, e.g. (1.5, -2.0).",
                )
            try:
                coords.append(float(coord))
            except OverflowError as err:
                raise self._invalid(
                    value,
                    f"the {axis} coordinate is too large for a float",
                    "Use a smaller value.",
                ) from err
        return (coords[0], coords[1])
