"""TableFilter: scope a diff to some tables, and warn about foreign keys leaving the scope.

The cross-scope warning is a plain ``UserWarning`` whose text is fixed (users filter on it) and
which is attributed to this module with ``warnings.warn_explicit``, so the spec's
``warnings.filterwarnings("ignore", category=UserWarning, module="matrx_orm")`` silences it:
the ``module`` pattern is matched at the start of ``matrx_orm_migrations.table_filter``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from matrx_orm_core.exceptions import MigrationError

from .schema import Table

__all__ = ["CROSS_SCOPE_MESSAGE", "TableFilter"]

CROSS_SCOPE_MESSAGE = (
    "[matrx-orm] Cross-scope FK detected: '{table}.{column}' references '{ref_table}', which is "
    "outside the current migration scope. The FK constraint will be included in the generated "
    "SQL, but '{ref_table}' will not be created or managed by this migration set. Ensure it "
    "already exists in the target database."
)
"""The warning text of API.md §5.8 (fixed: users filter on it)."""

V = TypeVar("V")


def _as_set(value: Iterable[str] | None, name: str) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise MigrationError(
            message=f"TableFilter({name}=...) takes a collection of table names, got the single "
            f"string {value!r}; write {name}={{{value!r}}}.",
        )
    items = set(value)
    bad = [item for item in items if not isinstance(item, str) or not item]
    if bad:
        raise MigrationError(
            message=f"TableFilter({name}=...) holds {bad[0]!r}, which is not a table name.",
        )
    return items


@dataclass(init=False)
class TableFilter:
    """Either an allow-list (``include``) or a deny-list (``exclude``) of table names.

    Args:
        include: only these tables are diffed.
        exclude: every table but these is diffed.

    Raises:
        MigrationError: both lists were given, or an entry is not a table name.
    """

    include: set[str] | None
    exclude: set[str] | None

    def __init__(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> None:
        if include is not None and exclude is not None:
            raise MigrationError(
                message="TableFilter accepts either 'include' or 'exclude', not both. Pass an "
                "allow-list (include=) or a deny-list (exclude=).",
            )
        self.include = _as_set(include, "include")
        self.exclude = _as_set(exclude, "exclude")

    def is_included(self, name: str) -> bool:
        """Whether table ``name`` is in scope (always True without lists)."""
        if self.include is not None:
            return name in self.include
        if self.exclude is not None:
            return name not in self.exclude
        return True

    def apply(self, tables: Mapping[str, V]) -> dict[str, V]:
        """The entries of ``tables`` whose key is in scope."""
        return {name: value for name, value in tables.items() if self.is_included(name)}

    def warn_cross_references(self, included_tables: Mapping[str, Any]) -> None:
        """Warn once per (table, referenced table) pair whose FK points outside the scope.

        Args:
            included_tables: the in-scope tables (:class:`~.schema.Table` objects, or
                upstream-style objects with ``columns`` carrying ``fk_table``).
        """
        seen: set[tuple[str, str]] = set()
        for name in sorted(included_tables):
            table = included_tables[name]
            for column, ref_table in _references(table):
                if self.is_included(ref_table) or (name, ref_table) in seen:
                    continue
                seen.add((name, ref_table))
                _warn(CROSS_SCOPE_MESSAGE.format(table=name, column=column, ref_table=ref_table))


def _references(table: Any) -> list[tuple[str, str]]:
    if isinstance(table, Table):
        return [(", ".join(fk.columns), fk.ref_table) for fk in table.foreign_keys]
    found = []
    for column in getattr(table, "columns", {}).values():
        ref = getattr(column, "fk_table", None)
        if ref:
            found.append((column.name, ref))
    return found


def _warn(message: str) -> None:
    """Emit a UserWarning attributed to this module (API.md §10.36)."""
    # No registry: like the spec's warnings, each diff reports its own cross-scope FKs.
    warnings.warn_explicit(message, UserWarning, filename=__file__, lineno=1, module=__name__)
