"""DDL text: the definition dataclasses and ``DDLGenerator`` (API.md §5.6).

Every identifier goes through core's ``quote_ident`` (over-long or invalid names raise
:class:`MigrationError` rather than being truncated by the server). DDL takes no bound parameters,
so literal values (defaults, enum labels) go through core's audited ``quote_literal``, and SQL
expressions written by a model's author (a CHECK, a partial-index predicate, a default expression)
are checked by :func:`check_expression` to be one self-contained expression: no ``;``, no
comment, no unbalanced parenthesis or quote, nothing that could end the statement early.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matrx_orm_core._quoting import quote_ident, quote_literal
from matrx_orm_core.exceptions import FieldError, MigrationError, ValidationError
from matrx_orm_core.models._naming import shorten_identifier

from ._exprtext import SQLExpression, check_expression
from ._types import normalize_type, serial_base

__all__ = [
    "REFERENTIAL_ACTIONS",
    "SQLExpression",
    "AlterColumnChanges",
    "ColumnDef",
    "ConstraintDef",
    "DDLGenerator",
    "ForeignKeyDef",
    "IndexDef",
    "check_expression",
    "constraint_name",
    "literal",
    "qident",
    "qualified",
]

REFERENTIAL_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"})
_INDEX_METHODS = frozenset({"btree", "hash", "gist", "gin", "spgist", "brin"})
_CONSTRAINT_TYPES = frozenset({"PRIMARY KEY", "UNIQUE", "CHECK", "FOREIGN KEY", "EXCLUDE"})


def qident(name: str, what: str = "identifier") -> str:
    """Quote one identifier, raising :class:`MigrationError` for a name PostgreSQL cannot keep.

    Raises:
        MigrationError: empty, not text, NUL, lone surrogate, or longer than 63 UTF-8 bytes.
    """
    try:
        return quote_ident(name)
    except FieldError as err:
        reason = err.details.get("reason") or str(err)
        raise MigrationError(
            message=f"Invalid {what} {name!r:.80}: {reason}.",
            details={"identifier": name, "what": what},
        ) from err


def qualified(name: str, schema: str | None = None, what: str = "table") -> str:
    """``"schema"."name"`` (or ``"name"`` without a schema), both parts checked."""
    quoted = qident(name, what)
    return quoted if schema is None else f"{qident(schema, 'schema')}.{quoted}"


def literal(value: object, what: str = "value") -> str:
    """Render a literal through core's audited ``quote_literal``.

    Raises:
        MigrationError: the value cannot be written as a PostgreSQL constant.
    """
    try:
        return quote_literal(value)
    except ValidationError as err:
        reason = err.details.get("reason") or str(err)
        raise MigrationError(message=f"Cannot write {what} as SQL: {reason}.") from err


def constraint_name(*parts: str) -> str:
    """Join ``parts`` with ``_`` and cap the result at 63 bytes with a hash suffix."""
    return shorten_identifier("_".join(parts))


def _action(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    normalised = " ".join(str(value).upper().split())
    if normalised not in REFERENTIAL_ACTIONS:
        raise MigrationError(
            message=f"Invalid {what} action {value!r}: use one of "
            f"{', '.join(sorted(REFERENTIAL_ACTIONS))}.",
        )
    return normalised


def _type_sql(db_type: str, where: str) -> str:
    if serial_base(db_type):
        return " ".join(db_type.lower().split())
    return normalize_type(db_type, where=where)


def _columns(columns: Sequence[str], what: str = "column") -> str:
    if isinstance(columns, str) or not columns:
        raise MigrationError(message=f"A {what} list must be a non-empty list of names.")
    return ", ".join(qident(col, what) for col in columns)


@dataclass(frozen=True)
class ForeignKeyDef:
    """The target of a foreign key: ``table(column)`` with its actions.

    ``schema`` (an addition to upstream's fields) qualifies the referenced table.
    """

    table: str
    column: str
    on_delete: str | None = None
    on_update: str | None = None
    constraint_name: str | None = None
    schema: str | None = None

    def references_sql(self, columns: Sequence[str] | None = None) -> str:
        """``REFERENCES "schema"."table"("column") [ON DELETE x] [ON UPDATE y]``."""
        target = columns if columns is not None else (self.column,)
        sql = f"REFERENCES {qualified(self.table, self.schema)}({_columns(target)})"
        on_delete = _action(self.on_delete, "ON DELETE")
        on_update = _action(self.on_update, "ON UPDATE")
        if on_delete:
            sql += f" ON DELETE {on_delete}"
        if on_update:
            sql += f" ON UPDATE {on_update}"
        return sql


@dataclass(frozen=True)
class ColumnDef:
    """A column in ``CREATE TABLE`` / ``ADD COLUMN``.

    ``default`` is SQL expression text (render values with :func:`literal`); ``db_type`` is
    checked by :func:`normalize_type` (``serial`` types are kept as written).
    """

    name: str
    db_type: str
    nullable: bool = True
    primary_key: bool = False
    unique: bool = False
    default: str | None = None
    references: ForeignKeyDef | None = None

    def to_sql(self) -> str:
        """``"name" TYPE [PRIMARY KEY] [NOT NULL] [UNIQUE] [DEFAULT d] [REFERENCES ...]``.

        Raises:
            MigrationError: an invalid name, type, default expression or action.
        """
        sql = f"{qident(self.name, 'column name')} {_type_sql(self.db_type, self.name)}"
        if self.primary_key:
            sql += " PRIMARY KEY"
        else:
            if not self.nullable:
                sql += " NOT NULL"
            if self.unique:
                sql += " UNIQUE"
        if self.default is not None:
            sql += " DEFAULT " + check_expression(self.default, f"default of {self.name}")
        if self.references is not None:
            if self.references.constraint_name:
                sql += f" CONSTRAINT {qident(self.references.constraint_name, 'constraint')}"
            sql += " " + self.references.references_sql()
        return sql


@dataclass(frozen=True)
class IndexDef:
    """An index: ``columns`` are names, ``where`` an SQL predicate, ``schema`` the table's."""

    name: str
    table: str
    columns: Sequence[str]
    unique: bool = False
    method: str = "btree"
    where: str | None = None
    schema: str | None = None


@dataclass(frozen=True)
class ConstraintDef:
    """A table constraint: ``CONSTRAINT "name" TYPE (expression)``.

    For ``UNIQUE`` and ``PRIMARY KEY`` the expression is the quoted column list (build it with
    :meth:`DDLGenerator.key_constraint`); for ``CHECK`` a checked SQL expression; for
    ``FOREIGN KEY`` the quoted column list plus ``references``.
    """

    name: str
    constraint_type: str
    expression: str
    references: ForeignKeyDef | None = None
    ref_columns: tuple[str, ...] | None = None

    def to_sql(self) -> str:
        """Render the constraint clause.

        Raises:
            MigrationError: unknown constraint type, bad name or expression.
        """
        kind = " ".join(self.constraint_type.upper().split())
        if kind not in _CONSTRAINT_TYPES:
            raise MigrationError(
                message=f"Unknown constraint type {self.constraint_type!r} for constraint "
                f"{self.name!r}: use one of {', '.join(sorted(_CONSTRAINT_TYPES))}.",
            )
        expression = check_expression(
            self.expression, f"{kind} constraint {self.name}", allow_list=kind != "CHECK"
        )
        sql = f"CONSTRAINT {qident(self.name, 'constraint name')} {kind} ({expression})"
        if kind == "FOREIGN KEY":
            if self.references is None:
                raise MigrationError(
                    message=f"FOREIGN KEY constraint {self.name!r} needs references=.",
                )
            sql += " " + self.references.references_sql(self.ref_columns)
        return sql


@dataclass(frozen=True)
class AlterColumnChanges:
    """What :meth:`DDLGenerator.alter_column` changes; ``None`` leaves a property alone."""

    new_type: str | None = None
    set_nullable: bool | None = None
    new_default: str | None = None
    drop_default: bool = False
    rename_to: str | None = None


class DDLGenerator:
    """Static methods that render one DDL statement each (API.md §5.6)."""

    @staticmethod
    def create_table(
        name: str,
        columns: Sequence[ColumnDef],
        constraints: Sequence[ConstraintDef] | None = None,
        schema: str | None = None,
    ) -> str:
        """``CREATE TABLE "schema"."name" (columns..., constraints...)``."""
        if not columns:
            raise MigrationError(message=f"CREATE TABLE {name!r} needs at least one column.")
        parts = [col.to_sql() for col in columns]
        parts += [constraint.to_sql() for constraint in constraints or ()]
        body = ",\n    ".join(parts)
        return f"CREATE TABLE {qualified(name, schema)} (\n    {body}\n)"

    @staticmethod
    def drop_table(name: str, schema: str | None = None, cascade: bool = False) -> str:
        """``DROP TABLE IF EXISTS "schema"."name" [CASCADE]``."""
        return f"DROP TABLE IF EXISTS {qualified(name, schema)}" + (" CASCADE" if cascade else "")

    @staticmethod
    def add_column(table: str, column: ColumnDef, schema: str | None = None) -> str:
        """``ALTER TABLE ... ADD COLUMN <column>``."""
        return f"ALTER TABLE {qualified(table, schema)} ADD COLUMN {column.to_sql()}"

    @staticmethod
    def drop_column(table: str, column: str, schema: str | None = None) -> str:
        """``ALTER TABLE ... DROP COLUMN IF EXISTS "column"``."""
        return (
            f"ALTER TABLE {qualified(table, schema)} DROP COLUMN IF EXISTS "
            f"{qident(column, 'column name')}"
        )

    @staticmethod
    def alter_column(
        table: str, column: str, changes: AlterColumnChanges, schema: str | None = None
    ) -> list[str]:
        """Rename, then type (``USING "col"::type``), then nullability, then default."""
        prefix = f"ALTER TABLE {qualified(table, schema)}"
        statements: list[str] = []
        name = column
        if changes.rename_to is not None:
            statements.append(
                f"{prefix} RENAME COLUMN {qident(column, 'column name')} TO "
                f"{qident(changes.rename_to, 'column name')}"
            )
            name = changes.rename_to
        col = qident(name, "column name")
        if changes.new_type is not None:
            type_sql = _type_sql(changes.new_type, name)
            statements.append(
                f"{prefix} ALTER COLUMN {col} TYPE {type_sql} USING {col}::{type_sql}"
            )
        if changes.set_nullable is not None:
            verb = "DROP" if changes.set_nullable else "SET"
            statements.append(f"{prefix} ALTER COLUMN {col} {verb} NOT NULL")
        if changes.drop_default:
            statements.append(f"{prefix} ALTER COLUMN {col} DROP DEFAULT")
        elif changes.new_default is not None:
            default = check_expression(changes.new_default, f"default of {name}")
            statements.append(f"{prefix} ALTER COLUMN {col} SET DEFAULT {default}")
        return statements

    @staticmethod
    def add_index(index: IndexDef, schema: str | None = None, concurrently: bool = False) -> str:
        """``CREATE [UNIQUE] INDEX [CONCURRENTLY] IF NOT EXISTS "n" ON "t" [USING m] (...)``."""
        method = str(index.method).lower()
        if method not in _INDEX_METHODS:
            raise MigrationError(
                message=f"Index {index.name!r}: unknown method {index.method!r}; use one of "
                f"{', '.join(sorted(_INDEX_METHODS))}.",
            )
        schema = schema if schema is not None else index.schema
        sql = "CREATE UNIQUE INDEX" if index.unique else "CREATE INDEX"
        if concurrently:
            sql += " CONCURRENTLY"
        sql += (
            f" IF NOT EXISTS {qident(index.name, 'index name')} ON {qualified(index.table, schema)}"
        )
        if method != "btree":
            sql += f" USING {method}"
        sql += f" ({_columns(index.columns)})"
        if index.where is not None:
            sql += " WHERE " + check_expression(index.where, f"predicate of index {index.name}")
        return sql

    @staticmethod
    def drop_index(name: str, schema: str | None = None, concurrently: bool = False) -> str:
        """``DROP INDEX [CONCURRENTLY] IF EXISTS "schema"."name"``."""
        verb = "DROP INDEX CONCURRENTLY" if concurrently else "DROP INDEX"
        return f"{verb} IF EXISTS {qualified(name, schema, 'index name')}"

    @staticmethod
    def key_constraint(name: str, kind: str, columns: Sequence[str]) -> ConstraintDef:
        """A ``PRIMARY KEY`` or ``UNIQUE`` constraint over quoted ``columns``."""
        return ConstraintDef(name, kind, _columns(columns))

    @staticmethod
    def add_constraint(table: str, constraint: ConstraintDef, schema: str | None = None) -> str:
        """``ALTER TABLE ... ADD CONSTRAINT "n" TYPE (expr)``."""
        return f"ALTER TABLE {qualified(table, schema)} ADD {constraint.to_sql()}"

    @staticmethod
    def drop_constraint(table: str, name: str, schema: str | None = None) -> str:
        """``ALTER TABLE ... DROP CONSTRAINT IF EXISTS "n"``."""
        return (
            f"ALTER TABLE {qualified(table, schema)} DROP CONSTRAINT IF EXISTS "
            f"{qident(name, 'constraint name')}"
        )

    @staticmethod
    def add_foreign_key(
        table: str, fk: ForeignKeyDef, column: str, schema: str | None = None
    ) -> str:
        """``ALTER TABLE ... ADD CONSTRAINT "fk_..." FOREIGN KEY ("c") REFERENCES ...``.

        The default name is ``fk_<table>_<column>_<fk.table>_<fk.column>``, capped at 63 bytes
        with a hash suffix.
        """
        name = fk.constraint_name or constraint_name("fk", table, column, fk.table, fk.column)
        constraint = ConstraintDef(name, "FOREIGN KEY", _columns([column]), references=fk)
        return DDLGenerator.add_constraint(table, constraint, schema)

    @staticmethod
    def drop_foreign_key(table: str, constraint_name: str, schema: str | None = None) -> str:
        """``ALTER TABLE ... DROP CONSTRAINT IF EXISTS "name"``."""
        return DDLGenerator.drop_constraint(table, constraint_name, schema)

    @staticmethod
    def rename_table(old: str, new: str, schema: str | None = None) -> str:
        """``ALTER TABLE "schema"."old" RENAME TO "new"``."""
        return f"ALTER TABLE {qualified(old, schema)} RENAME TO {qident(new, 'table name')}"

    @staticmethod
    def create_enum(name: str, labels: Sequence[str], schema: str | None = None) -> str:
        """``CREATE TYPE "schema"."name" AS ENUM ('a', 'b')`` (labels through quote_literal)."""
        return (
            f"CREATE TYPE {qualified(name, schema, 'type name')} AS ENUM ("
            + ", ".join(_label(label) for label in labels)
            + ")"
        )

    @staticmethod
    def add_enum_value(
        name: str,
        label: str,
        schema: str | None = None,
        *,
        before: str | None = None,
        after: str | None = None,
    ) -> str:
        """``ALTER TYPE ... ADD VALUE IF NOT EXISTS 'label' [BEFORE|AFTER 'x']``.

        PostgreSQL cannot remove an enum value, so this step has no down SQL; it must run
        outside a transaction block on servers before PostgreSQL 12 and cannot be used in the
        transaction that adds it, which is why migrations give it a step of its own.
        """
        sql = (
            f"ALTER TYPE {qualified(name, schema, 'type name')} ADD VALUE IF NOT EXISTS "
            + _label(label)
        )
        if before is not None:
            sql += " BEFORE " + _label(before)
        elif after is not None:
            sql += " AFTER " + _label(after)
        return sql

    @staticmethod
    def drop_enum(name: str, schema: str | None = None) -> str:
        """``DROP TYPE IF EXISTS "schema"."name"``."""
        return f"DROP TYPE IF EXISTS {qualified(name, schema, 'type name')}"


def _label(label: str) -> str:
    if not isinstance(label, str) or not label:
        raise MigrationError(message=f"Enum labels must be non-empty text, got {label!r}.")
    if len(label.encode("utf-8", "surrogatepass")) > 63:
        raise MigrationError(
            message=f"Enum label {label!r:.80} is longer than 63 bytes; PostgreSQL rejects it.",
        )
    return literal(label, "an enum label")
