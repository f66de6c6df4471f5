"""Optimistic locking: the version guard of instance updates and the bump of set-based ones.

A model with a ``VersionField`` (``meta.version_name``) gets:

* instance ``save()`` / ``update()``: ``UPDATE ... SET <fields>, "version" = "version" + 1
  WHERE <pk> AND "version" = $n RETURNING ...``, where ``$n`` is the version the instance holds.
  No row back means someone else wrote (or deleted) the row since it was read:
  ``OptimisticLockError``, and nothing was written;
* set-based writes (``QuerySet.update``, ``update_where``, ``bulk_update`` and the conflict
  update of ``upsert``/``bulk_upsert``): the version of every existing row they change is
  bumped too, so an instance read before them can no longer overwrite their change. They do
  not check versions (they are not based on a read);
* the version column is the ORM's to manage in every update: naming it raises ``FieldError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from matrx_orm_core._quoting import quote_qualified
from matrx_orm_core.exceptions import FieldError, OptimisticLockError, StateError
from matrx_orm_core.sql import And, Compare, Node, Params, SQLNode, Update

if TYPE_CHECKING:
    from .base import Model
    from .options import ModelOptions

__all__ = [
    "Increment",
    "bump_version",
    "conflict_error",
    "expected_version",
    "guard_update",
    "increment_sql",
    "reject_version_write",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Increment(Node):
    """``"column" + 1``: the right side of a version bump in a node-built UPDATE."""

    column: str

    def as_sql(self, params: Params) -> str:
        return increment_sql(self.column)


def increment_sql(column: str, table_alias: str | None = None) -> str:
    """``"column" + 1`` (``"alias"."column" + 1`` with ``table_alias``): a version bump's
    value, for statements written as text (the bulk paths) as for `Increment`."""
    return quote_qualified(table_alias, column) + " + 1"


def guard_update(
    version: str,
    assignments: tuple[tuple[str, Any], ...],
    where: And,
    expected: Any,
) -> tuple[tuple[tuple[str, Any], ...], And]:
    """Add the version bump to ``assignments`` and the version check to ``where``.

    Returns:
        ``(assignments + version = version + 1, where AND version = expected)``.
    """
    return (*assignments, _bump(version)), And((*where.children, Compare(version, "=", expected)))


def _bump(version: str) -> tuple[str, Increment]:
    """The ``"version" = "version" + 1`` assignment."""
    return (version, Increment(version))


def bump_version(meta: ModelOptions, node: SQLNode) -> SQLNode:
    """``node`` (an ``Update``) with ``"version" = "version" + 1`` added, when the model has a
    VersionField; otherwise ``node`` unchanged."""
    version = meta.version_name
    if version is None or not isinstance(node, Update):
        return node
    return dataclasses.replace(node, assignments=(*node.assignments, _bump(version)))


def reject_version_write(cls: type[Model], names: Iterable[str], operation: str) -> None:
    """Raise FieldError when ``names`` includes the model's VersionField.

    Raises:
        FieldError: The version column was named in an update.
    """
    version = cls._meta.version_name
    if version is not None and version in names:
        reason = (
            f"{cls.__name__}.{operation}(): '{version}' is the VersionField of {cls.__name__}; "
            "the ORM sets it (every update adds 1). Remove it from the values to write."
        )
        raise FieldError(model=cls, field=version, reason=reason, message=reason).enrich(
            operation=operation
        )


def expected_version(cls: type[Model], data: Mapping[str, Any], operation: str) -> int:
    """The version the instance holds: the one its UPDATE must find in the row.

    Raises:
        StateError: The instance has no version value (loaded with ``only()``/``defer()``
            leaving the version out, or set to ``None``).
        ValidationError: The value is not a valid version.
    """
    from ._persistence import prepare_write  # _persistence imports this module

    version = cls._meta.version_name
    assert version is not None
    value = data.get(version)
    if value is None:
        raise StateError(
            model=cls,
            operation=operation,
            reason=f"{cls.__name__}.{operation}(): this instance holds no value for its "
            f"VersionField '{version}' (it was loaded with only()/defer() leaving it out, or "
            "it was set to None), so the optimistic lock cannot be checked. Load the "
            f"instance with '{version}' (e.g. await {cls.__name__}.get(...)) and try again.",
        )
    result: int = prepare_write(cls, version, value, operation)
    return result


def conflict_error(cls: type[Model], data: Mapping[str, Any], expected: int) -> OptimisticLockError:
    """The error for a guarded UPDATE that matched no row."""
    meta = cls._meta
    pk: Any = (
        data.get(meta.pk_names[0])
        if len(meta.pk_names) == 1
        else tuple(data.get(name) for name in meta.pk_names)
    )
    version = meta.version_name
    message = (
        f"Optimistic lock conflict on {cls.__name__} (pk={pk!r}): the update expected "
        f"{version}={expected}, but the row has been saved by someone else since this instance "
        "was read (or it was deleted). Nothing was written. Re-fetch the row (await "
        f"{cls.__name__}.get(...)), re-apply your change and save again."
    )
    return OptimisticLockError(model=cls, pk=pk, expected_version=expected, message=message)
