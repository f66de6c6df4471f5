"""VersionField: the integer row version that drives optimistic locking."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import field_error
from .numeric import IntegerField

__all__ = ["VersionField"]


class VersionField(IntegerField):
    """A row version for optimistic locking: PostgreSQL ``integer NOT NULL``, starting at 1.

    A model declares at most one. An INSERT writes 1 (or the value given); every instance
    ``save()``/``update()`` of an existing row runs ``SET version = version + 1 ... WHERE pk = $1
    AND version = $2`` with the version the instance holds, so a write based on a stale read
    matches no row and raises ``OptimisticLockError`` instead of overwriting someone else's
    change. On success the instance holds the new version.

    Values must be ints of at least 1. ``None`` converts to 1, the starting version.

    Args:
        **kwargs: Common ``Field`` options. ``null`` and ``primary_key`` cannot be changed: the
            column is never nullable and is never the primary key.

    Raises:
        FieldError: ``null=True``, ``nullable=True``, ``primary_key=True`` or a ``default``
            other than 1 was passed.
    """

    is_version_field: ClassVar[bool] = True
    """Marks the field that guards instance updates (read by the model metaclass)."""

    min_value = 1

    def __init__(self, **kwargs: Any) -> None:
        for option, allowed in (("null", False), ("nullable", False), ("primary_key", False)):
            if option in kwargs and kwargs[option] is not allowed:
                raise field_error(
                    field="VersionField",
                    reason=f"VersionField({option}={kwargs[option]!r}) is not supported: a "
                    "version column is always NOT NULL and never the primary key. Remove "
                    f"the {option} argument.",
                )
        if kwargs.get("default", 1) != 1 or type(kwargs.get("default", 1)) is not int:
            raise field_error(
                field="VersionField",
                reason=f"VersionField(default={kwargs['default']!r}) is not supported: every "
                "row starts at version 1. Remove the default argument.",
            )
        kwargs["null"] = False
        kwargs["default"] = 1
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        """Convert ``value`` to a version number; ``None`` gives 1 (a new row's version)."""
        if value is None:
            return 1
        return super().to_python(value)

    def clean(self, value: Any) -> int | None:
        """Convert and check ``value``; ``None`` gives 1 (a new row's version)."""
        return super().clean(1 if value is None else value)

    def _check(self, value: int) -> None:
        if not self.min_value <= value <= self.max_value:
            raise self._invalid(
                value,
                f"a version must be from {self.min_value} to {self.max_value}",
                "Leave the version to the ORM: new rows start at 1 and each save adds 1.",
            )

    def get_db_prep_value(self, value: Any) -> Any:
        """Return the driver value; ``None`` gives 1 (a new row's version)."""
        return super().get_db_prep_value(1 if value is None else value)
