"""Operation: one schema change with its ``up`` and ``down`` SQL (API.md §5.7).

An operation holds schema-model objects (:mod:`.schema`) in ``details`` and renders them through
:class:`~.ddl.DDLGenerator`, so every identifier and literal passes the same quoting code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matrx_orm_core.exceptions import MigrationError

from ._types import same_default
from .ddl import (
    AlterColumnChanges,
    ColumnDef,
    ConstraintDef,
    DDLGenerator,
    ForeignKeyDef,
    IndexDef,
    check_expression,
    literal,
    qident,
    qualified,
)
from .schema import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Table,
    UniqueConstraint,
)

__all__ = ["OPERATION_TYPES", "Operation", "column_sql", "create_table_sql"]

OPERATION_TYPES = (
    "create_schema",
    "create_enum",
    "add_enum_value",
    "drop_foreign_key",
    "drop_index",
    "drop_constraint",
    "create_table",
    "add_column",
    "alter_column",
    "add_constraint",
    "add_index",
    "add_foreign_key",
    "drop_column",
    "drop_table",
    "drop_enum",
)
"""Every operation type, in the order a diff emits them."""

_SERIAL_NAMES = {"integer": "serial", "bigint": "bigserial", "smallint": "smallserial"}
_DROPS = frozenset({"drop_table", "drop_column", "drop_enum"})


def _comment(text: str) -> str:
    """One ``--`` comment line; line breaks are escaped so text cannot leave the comment."""
    return "-- " + text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def column_sql(column: Column) -> str:
    """The column clause of ``CREATE TABLE`` / ``ADD COLUMN`` for a schema-model column."""
    db_type = column.type
    if column.serial and column.type in _SERIAL_NAMES:
        db_type = _SERIAL_NAMES[column.type]
    sql = ColumnDef(
        name=column.name,
        db_type=db_type,
        nullable=column.nullable,
        default=column.default,
    ).to_sql()
    if column.identity is not None:
        kind = "ALWAYS" if column.identity == "always" else "BY DEFAULT"
        sql += f" GENERATED {kind} AS IDENTITY"
    if column.generated is not None:
        expr = check_expression(column.generated, f"generated column {column.name}")
        sql += f" GENERATED ALWAYS AS ({expr}) STORED"
    return sql


def _constraint_def(item: PrimaryKey | UniqueConstraint | CheckConstraint) -> ConstraintDef:
    if isinstance(item, PrimaryKey):
        return DDLGenerator.key_constraint(item.name, "PRIMARY KEY", item.columns)
    if isinstance(item, UniqueConstraint):
        return DDLGenerator.key_constraint(item.name, "UNIQUE", item.columns)
    return ConstraintDef(item.name, "CHECK", item.expression)


def _fk_def(fk: ForeignKey) -> ConstraintDef:
    columns = ", ".join(qident(col, "column name") for col in fk.columns)
    return ConstraintDef(
        fk.name,
        "FOREIGN KEY",
        columns,
        references=ForeignKeyDef(
            table=fk.ref_table,
            column=fk.ref_columns[0],
            on_delete=fk.on_delete,
            on_update=fk.on_update,
            schema=fk.ref_schema,
        ),
        ref_columns=fk.ref_columns,
    )


def _index_def(table: str, schema: str, index: Index) -> IndexDef:
    return IndexDef(
        name=index.name,
        table=table,
        columns=index.columns,
        unique=index.unique,
        method=index.method,
        where=index.where,
        schema=schema,
    )


def create_table_sql(table: Table) -> list[str]:
    """``CREATE TABLE`` with its key, unique, check and foreign-key constraints, then its
    indexes (one statement each)."""
    constraints: list[ConstraintDef] = []
    if table.primary_key is not None:
        constraints.append(_constraint_def(table.primary_key))
    constraints += [_constraint_def(u) for u in table.uniques]
    constraints += [_constraint_def(c) for c in table.checks]
    constraints += [_fk_def(fk) for fk in table.foreign_keys]
    if not table.columns:
        raise MigrationError(message=f"Table {table.name!r} has no columns; cannot create it.")
    body = [column_sql(col) for col in table.columns] + [c.to_sql() for c in constraints]
    statements = [
        f"CREATE TABLE {qualified(table.name, table.schema)} (\n    " + ",\n    ".join(body) + "\n)"
    ]
    statements += [_create_index_sql(table.name, table.schema, index) for index in table.indexes]
    return statements


def _create_index_sql(table: str, schema: str, index: Index) -> str:
    """``CREATE INDEX`` for ``index``: the catalog's own statement for an index read from the
    database (exact for expression keys and options), else rendered by ``DDLGenerator``."""
    if index.definition is not None:
        return index.definition
    return DDLGenerator.add_index(_index_def(table, schema, index))


@dataclass
class Operation:
    """One schema change (API.md §5.7).

    Attributes:
        op_type: one of :data:`OPERATION_TYPES`.
        table: the table the change is on (the type name for enum operations, the schema name
            for ``create_schema``).
        schema: the PostgreSQL schema.
        details: the schema-model objects the SQL is rendered from: ``table`` (a
            :class:`~.schema.Table`), ``column``/``old`` (:class:`~.schema.Column`), ``index``,
            ``constraint``, ``fk``, ``enum``, ``label``/``after``/``before``; ``skipped=True``
            marks a drop left out because ``allow_drop`` was not given.
    """

    op_type: str
    table: str
    schema: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        """True for a drop written as a comment because ``allow_drop`` was not given."""
        return bool(self.details.get("skipped"))

    @property
    def transactional(self) -> bool:
        """False for steps that must run outside a transaction (``ALTER TYPE ... ADD VALUE``)."""
        return self.op_type != "add_enum_value"

    @property
    def reversible(self) -> bool:
        """False when ``down`` cannot undo the step (an added enum value)."""
        return self.op_type != "add_enum_value"

    @property
    def destructive(self) -> bool:
        """True for steps that destroy data (dropped tables, columns and types)."""
        return self.op_type in _DROPS

    @property
    def description(self) -> str:
        """A short human description (``Create table post``), used in the file docstring."""
        return self.action + (" (skipped: allow_drop not set)" if self.skipped else "")

    @property
    def action(self) -> str:
        """What the step does (``Drop table post``), without the skipped note."""
        d = self.details
        name = self.table
        return {
            "create_schema": f"Create schema {name}",
            "create_enum": f"Create enum type {name}",
            "add_enum_value": f"Add value {d.get('label')!r} to enum type {name}",
            "drop_enum": f"Drop enum type {name}",
            "create_table": f"Create table {name}",
            "drop_table": f"Drop table {name}",
            "add_column": f"Add column {_name(d.get('column'))} to {name}",
            "drop_column": f"Drop column {_name(d.get('column'))} from {name}",
            "alter_column": f"Alter column {_name(d.get('column'))} on {name}",
            "add_index": f"Add index {_name(d.get('index'))} on {name}",
            "drop_index": f"Drop index {_name(d.get('index'))} on {name}",
            "add_constraint": f"Add constraint {_name(d.get('constraint'))} on {name}",
            "drop_constraint": f"Drop constraint {_name(d.get('constraint'))} on {name}",
            "add_foreign_key": f"Add foreign key {_name(d.get('fk'))} on {name}",
            "drop_foreign_key": f"Drop foreign key {_name(d.get('fk'))} on {name}",
        }.get(self.op_type, f"{self.op_type} on {name}")

    def __str__(self) -> str:
        return self.description

    # -- SQL ----------------------------------------------------------------------------

    def to_up_sql(self) -> list[str]:
        """The statements that apply the change, in order.

        Raises:
            MigrationError: the operation type is unknown or its details are invalid.
        """
        if self.skipped:
            return [_comment(s) for s in self._forward()] + [
                _comment("skipped: pass allow_drop=True (--allow-drop) to drop it")
            ]
        return self._forward()

    def to_down_sql(self) -> list[str]:
        """The statements that undo the change, in order (comments where it cannot be undone)."""
        if self.skipped:
            return []
        return self._backward()

    def _forward(self) -> list[str]:
        return self._render(reverse=False)

    def _backward(self) -> list[str]:
        return self._render(reverse=True)

    def _render(self, *, reverse: bool) -> list[str]:
        d = self.details
        schema = self.schema
        kind = self.op_type
        if kind not in OPERATION_TYPES:
            raise MigrationError(
                message=f"Unknown operation type: {kind}",
                details={"operation": kind, "table": self.table},
            )
        if kind in ("create_table", "drop_table"):
            table: Table = d["table"]
            create = create_table_sql(table)
            drop = [DDLGenerator.drop_table(table.name, table.schema, cascade=kind == "drop_table")]
            return drop if (kind == "create_table") == reverse else create
        if kind in ("add_column", "drop_column"):
            column: Column = d["column"]
            add = [f"ALTER TABLE {self._table()} ADD COLUMN {column_sql(column)}"]
            drop = [DDLGenerator.drop_column(self.table, column.name, schema)]
            return drop if (kind == "add_column") == reverse else add
        if kind == "alter_column":
            new, old = (d["old"], d["column"]) if reverse else (d["column"], d["old"])
            return DDLGenerator.alter_column(self.table, new.name, _changes(old, new), schema)
        if kind in ("add_index", "drop_index"):
            index: Index = d["index"]
            add = [_create_index_sql(self.table, schema or "public", index)]
            drop = [DDLGenerator.drop_index(index.name, schema)]
            return drop if (kind == "add_index") == reverse else add
        if kind in ("add_constraint", "drop_constraint"):
            item = d["constraint"]
            add = [DDLGenerator.add_constraint(self.table, _constraint_def(item), schema)]
            drop = [DDLGenerator.drop_constraint(self.table, item.name, schema)]
            return drop if (kind == "add_constraint") == reverse else add
        if kind in ("add_foreign_key", "drop_foreign_key"):
            fk: ForeignKey = d["fk"]
            add = [DDLGenerator.add_constraint(self.table, _fk_def(fk), schema)]
            drop = [DDLGenerator.drop_constraint(self.table, fk.name, schema)]
            return drop if (kind == "add_foreign_key") == reverse else add
        if kind == "create_schema":
            quoted = qident(self.table, "schema name")
            if reverse:
                return [f"DROP SCHEMA IF EXISTS {quoted}"]
            return [f"CREATE SCHEMA IF NOT EXISTS {quoted}"]
        if kind in ("create_enum", "drop_enum"):
            enum: EnumType = d["enum"]
            create = [DDLGenerator.create_enum(enum.name, enum.labels, enum.schema)]
            drop = [DDLGenerator.drop_enum(enum.name, enum.schema)]
            return drop if (kind == "create_enum") == reverse else create
        # add_enum_value
        label: str = d["label"]
        if reverse:
            return [
                _comment(
                    f"Cannot reverse: PostgreSQL cannot remove value {literal(label)} from "
                    f"enum type {self.table}; recreate the type by hand if you must."
                )
            ]
        return [
            DDLGenerator.add_enum_value(
                self.table, label, schema, before=d.get("before"), after=d.get("after")
            )
        ]

    def _table(self) -> str:
        return qualified(self.table, self.schema)


def _name(item: Any) -> str:
    return str(getattr(item, "name", item))


def _changes(old: Column, new: Column) -> AlterColumnChanges:
    """What turns column ``old`` into ``new`` (type, then nullability, then default)."""
    return AlterColumnChanges(
        new_type=new.type if new.type != old.type else None,
        set_nullable=new.nullable if new.nullable != old.nullable else None,
        new_default=new.default
        if new.default is not None and not same_default(new.default, old.default)
        else None,
        drop_default=new.default is None and old.default is not None,
    )
