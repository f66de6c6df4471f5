"""Safety lint: find generated operations that lock, rewrite or fail on a live database.

``SchemaDiff.compute_diff`` runs :func:`lint_operations` and keeps the result in
``safety_issues``; ``makemigrations`` reports each one as a :class:`MigrationSafetyWarning`.
The lint reads the database where the answer depends on data (does the table have rows? does
a view use the column?), with every catalog value a bound parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from matrx_orm_core.exceptions import MatrxORMWarning

from .ddl import qident, qualified
from .operations import Operation
from .schema import Column, PrimaryKey, Schema, UniqueConstraint

__all__ = [
    "COLUMN_VIEWS_SQL",
    "MigrationSafetyWarning",
    "SafetyIssue",
    "lint_operations",
    "rewrites_table",
]

COLUMN_VIEWS_SQL = """
SELECT DISTINCT vn.nspname AS view_schema, v.relname AS view_name
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
JOIN pg_catalog.pg_class v ON v.oid = r.ev_class
JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass
  AND tn.nspname = $1 AND t.relname = $2 AND a.attname = $3 AND v.oid <> t.oid
ORDER BY 1, 2
"""
"""Views (and materialized views) that read column ``$3`` of table ``$1.$2``."""


class MigrationSafetyWarning(MatrxORMWarning):
    """A generated migration step may lock, rewrite or fail on a database with data."""


@dataclass(frozen=True)
class SafetyIssue:
    """One finding of the lint.

    Attributes:
        code: a stable identifier (``not-null-without-default``, ``index-not-concurrent``,
            ``table-rewrite``, ``column-still-referenced``, ``table-still-referenced``,
            ``drop-skipped``, ``enum-value-removed``, ``null-values``,
            ``constraint-validation``).
        message: what is wrong, where, and what to do instead.
        table: the table concerned.
        column: the column concerned, if any.
    """

    code: str
    message: str
    table: str
    column: str | None = None


class _Database(Protocol):
    async def fetch(
        self, sql: str, *args: Any, timeout: float | None = ...
    ) -> list[dict[str, Any]]: ...

    async def fetch_val(self, sql: str, *args: Any, timeout: float | None = ...) -> Any: ...


_VARCHAR = re.compile(r"character varying(?:\((\d+)\))?")
_NUMERIC = re.compile(r"numeric(?:\((\d+),(\d+)\))?")
_BIT_VARYING = re.compile(r"bit varying(?:\((\d+)\))?")


def rewrites_table(old: str, new: str) -> bool:
    """Whether ``ALTER COLUMN ... TYPE`` from ``old`` to ``new`` rewrites the table.

    PostgreSQL skips the rewrite only for binary-coercible changes that cannot reject a value:
    widening or removing a ``varchar``/``bit varying`` limit, ``varchar`` to ``text``, widening
    ``numeric`` precision at the same scale or removing it, and ``cidr`` to ``inet``.
    """
    if old == new:
        return False
    if new == "text" and _VARCHAR.fullmatch(old):
        return False
    if old == "text" and new == "character varying":
        return False
    for pattern in (_VARCHAR, _BIT_VARYING):
        a, b = pattern.fullmatch(old), pattern.fullmatch(new)
        if a and b:
            if b.group(1) is None:
                return False
            return a.group(1) is None or int(b.group(1)) < int(a.group(1))
    a, b = _NUMERIC.fullmatch(old), _NUMERIC.fullmatch(new)
    if a and b:
        if b.group(1) is None:
            return False
        if a.group(1) is None:
            return True
        return not (a.group(2) == b.group(2) and int(b.group(1)) >= int(a.group(1)))
    return not (old == "cidr" and new == "inet")


def _fills_itself(column: Column) -> bool:
    return (
        column.nullable
        or column.default is not None
        or column.serial
        or column.identity is not None
        or column.generated is not None
    )


async def _has_rows(db: _Database, schema: str, table: str, cache: dict[str, bool]) -> bool:
    if table not in cache:
        sql = f"SELECT EXISTS (SELECT 1 FROM {qualified(table, schema)})"
        cache[table] = bool(await db.fetch_val(sql))
    return cache[table]


async def lint_operations(
    operations: Sequence[Operation],
    db: _Database,
    current: Schema,
    *,
    removed_enum_labels: Sequence[tuple[str, str]] = (),
) -> list[SafetyIssue]:
    """Check generated operations against the live database.

    Args:
        operations: the diff's operations, in order.
        db: the database they will run on (a ``MigrationDB``).
        current: the introspected schema they were computed from.
        removed_enum_labels: ``(type, label)`` pairs present in the database but not in the
            models (PostgreSQL cannot drop them).

    Returns:
        The issues, in operation order.
    """
    schema = current.name
    existing = {table.name for table in current.tables}
    created = {op.table for op in operations if op.op_type == "create_table"}
    dropped_fks = {
        (op.table, op.details["fk"].name) for op in operations if op.op_type == "drop_foreign_key"
    }
    rows: dict[str, bool] = {}
    issues: list[SafetyIssue] = []
    for op in operations:
        table = op.table
        if op.skipped:
            issues.append(
                SafetyIssue(
                    "drop-skipped",
                    f"{op.action}: not "
                    "dropped, the migration holds it as a comment. Pass allow_drop=True "
                    "(--allow-drop) to drop it, or exclude the table from the scope.",
                    table,
                )
            )
            continue
        if op.op_type == "add_column" and table in existing:
            column: Column = op.details["column"]
            if not _fills_itself(column) and await _has_rows(db, schema, table, rows):
                issues.append(
                    SafetyIssue(
                        "not-null-without-default",
                        f"Adding NOT NULL column {table}.{column.name} without a default fails "
                        f"because {table} has rows. Give the field a default, or add it "
                        "nullable, fill it, then make it NOT NULL in a later migration.",
                        table,
                        column.name,
                    )
                )
        elif op.op_type == "alter_column" and table in existing:
            new: Column = op.details["column"]
            old: Column = op.details["old"]
            if new.type != old.type and rewrites_table(old.type, new.type):
                issues.append(
                    SafetyIssue(
                        "table-rewrite",
                        f"Changing {table}.{new.name} from {old.type} to {new.type} rewrites "
                        f"the whole table under an ACCESS EXCLUSIVE lock (reads and writes of "
                        f"{table} wait). On a large table, add a new column, backfill it in "
                        "batches and switch over instead.",
                        table,
                        new.name,
                    )
                )
            if old.nullable and not new.nullable:
                probe = (
                    f"SELECT EXISTS (SELECT 1 FROM {qualified(table, schema)} "
                    f"WHERE {qident(new.name)} IS NULL)"
                )
                if await db.fetch_val(probe):
                    issues.append(
                        SafetyIssue(
                            "null-values",
                            f"{table}.{new.name} becomes NOT NULL but holds NULL values; the "
                            "migration will fail. Fill them first (an UPDATE in a migration "
                            "before this one).",
                            table,
                            new.name,
                        )
                    )
        elif op.op_type == "add_index" and table in existing and table not in created:
            index = op.details["index"]
            issues.append(
                SafetyIssue(
                    "index-not-concurrent",
                    f"CREATE INDEX {index.name} on existing table {table} blocks writes to "
                    f"{table} while it builds. On a large table, move it to its own migration "
                    "with atomic = False and CREATE INDEX CONCURRENTLY.",
                    table,
                )
            )
        elif (
            op.op_type in ("add_constraint", "add_foreign_key")
            and table in existing
            and await _has_rows(db, schema, table, rows)
        ):
            issues.append(_constraint_issue(op))
        elif op.op_type == "drop_column":
            issues += await _column_references(op, db, current, dropped_fks)
        elif op.op_type == "drop_table":
            issues += _table_references(op, current, dropped_fks)
    for type_name, label in removed_enum_labels:
        issues.append(
            SafetyIssue(
                "enum-value-removed",
                f"Enum type {type_name} has value {label!r} in the database but not in the "
                "models. PostgreSQL cannot remove an enum value; nothing was generated for it. "
                "Keep the member, or recreate the type in a hand-written migration.",
                type_name,
            )
        )
    return issues


def _constraint_issue(op: Operation) -> SafetyIssue:
    item = op.details.get("constraint") or op.details["fk"]
    table = op.table
    if isinstance(item, (UniqueConstraint, PrimaryKey)):
        advice = (
            f"builds its index while writes to {table} wait. On a large table, create a unique "
            "index CONCURRENTLY (atomic = False) first, then ADD CONSTRAINT ... USING INDEX"
        )
    else:
        advice = (
            f"checks every row of {table} while holding a lock. On a large table, add it with "
            "NOT VALID and run VALIDATE CONSTRAINT in a later migration"
        )
    return SafetyIssue(
        "constraint-validation",
        f"Adding constraint {item.name} to {table}, which has rows, {advice}.",
        table,
    )


async def _column_references(
    op: Operation, db: _Database, current: Schema, dropped_fks: set[tuple[str, str]]
) -> list[SafetyIssue]:
    table, column = op.table, op.details["column"].name
    found: list[str] = []
    for other in current.tables:
        for fk in other.foreign_keys:
            if (other.name, fk.name) in dropped_fks:
                continue
            if fk.ref_table == table and fk.ref_schema == current.name and column in fk.ref_columns:
                found.append(f"foreign key {fk.name} on {other.name}")
    views = await db.fetch(COLUMN_VIEWS_SQL, current.name, table, column)
    found += [f"view {row['view_schema']}.{row['view_name']}" for row in views]
    if not found:
        return []
    return [
        SafetyIssue(
            "column-still-referenced",
            f"Dropping {table}.{column} fails while {', '.join(found)} still use(s) it. Drop "
            "or change those first (in this migration or an earlier one).",
            table,
            column,
        )
    ]


def _table_references(
    op: Operation, current: Schema, dropped_fks: set[tuple[str, str]]
) -> list[SafetyIssue]:
    table = op.table
    found = [
        f"{other.name}.{', '.join(fk.columns)}"
        for other in current.tables
        if other.name != table
        for fk in other.foreign_keys
        if fk.ref_table == table
        and fk.ref_schema == current.name
        and (other.name, fk.name) not in dropped_fks
    ]
    if not found:
        return []
    return [
        SafetyIssue(
            "table-still-referenced",
            f"Dropping table {table} with CASCADE also drops the foreign keys of "
            f"{', '.join(found)}. Remove those references from the models first.",
            table,
        )
    ]
