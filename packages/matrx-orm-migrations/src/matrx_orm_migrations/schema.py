"""The neutral schema model: frozen dataclasses for schemas, tables, columns, constraints, enums.

Both sides of a diff are built as these objects: :mod:`.introspect` reads them from pg_catalog,
:mod:`.model_state` builds them from registered models. Every class is a frozen dataclass made of
strings, booleans and tuples, so two snapshots compare with ``==`` and can be hashed.

Types are stored in one canonical spelling (see :func:`matrx_orm_migrations._types.normalize_type`):
PostgreSQL's ``format_type`` text for built-in types (``character varying(100)``,
``timestamp with time zone``, ``integer[]``) and ``"schema"."name"`` for user-defined enum, domain
and composite types. Defaults are SQL expression text; compare them with
:func:`matrx_orm_migrations._types.same_default`, not ``==``, because the server re-spells them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CheckConstraint",
    "Column",
    "DomainType",
    "EnumType",
    "ForeignKey",
    "Index",
    "PrimaryKey",
    "Schema",
    "Table",
    "UniqueConstraint",
]


@dataclass(frozen=True)
class Column:
    """One table column.

    Attributes:
        name: the column name.
        type: the canonical type text (see the module docstring).
        nullable: ``False`` for ``NOT NULL`` columns (primary-key columns are never nullable).
        default: the default as SQL expression text, or ``None``. A serial column's
            ``nextval(...)`` default is not stored here: ``serial`` says it.
        serial: the column takes its values from a sequence it owns (``serial``/``bigserial``).
        identity: ``"always"`` or ``"by default"`` for identity columns, else ``None``.
        generated: the expression of a ``GENERATED ALWAYS AS (...) STORED`` column, else ``None``.
    """

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    serial: bool = False
    identity: str | None = None
    generated: str | None = None


@dataclass(frozen=True)
class PrimaryKey:
    """A primary key constraint over ``columns`` (in key order)."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class UniqueConstraint:
    """A ``UNIQUE`` constraint over ``columns`` (in constraint order)."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key constraint: ``columns`` reference ``ref_columns`` of ``ref_schema.ref_table``.

    ``on_delete`` / ``on_update`` are upper-case referential actions (``CASCADE``, ``SET NULL``,
    ``SET DEFAULT``, ``RESTRICT``, ``NO ACTION``).
    """

    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"

    def same_target(self, other: ForeignKey) -> bool:
        """Whether ``other`` is the same reference with the same actions, whatever its name."""
        return (
            self.columns,
            self.ref_schema,
            self.ref_table,
            self.ref_columns,
            self.on_delete,
            self.on_update,
        ) == (
            other.columns,
            other.ref_schema,
            other.ref_table,
            other.ref_columns,
            other.on_delete,
            other.on_update,
        )


@dataclass(frozen=True)
class CheckConstraint:
    """A ``CHECK`` constraint. ``expression`` is SQL text (as the server prints it when read)."""

    name: str
    expression: str


@dataclass(frozen=True)
class Index:
    """An index that does not back a constraint.

    Attributes:
        name: the index name.
        columns: column names, or the expression text of expression keys, in key order.
        unique: a ``UNIQUE`` index.
        method: the access method (``btree``, ``gin``, ``gist``, ``hash``, ``brin``, ...).
        where: the predicate of a partial index as SQL text, else ``None``.
        definition: for an index read from the catalog, its full ``CREATE INDEX`` statement
            (``pg_get_indexdef``), used to recreate it exactly (expression keys, operator
            classes, ``DESC``, ``INCLUDE``); not compared.
    """

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    method: str = "btree"
    where: str | None = None
    definition: str | None = field(default=None, compare=False)

    def same_definition(self, other: Index) -> bool:
        """Whether ``other`` indexes the same keys the same way (the predicate is not compared:
        the server rewrites predicate text, so a changed predicate needs a new index name)."""
        return (self.columns, self.unique, self.method, self.where is None) == (
            other.columns,
            other.unique,
            other.method,
            other.where is None,
        )


@dataclass(frozen=True)
class Table:
    """A table and everything declared on it. Tuples are sorted by name except ``columns``
    (table order) so that equal tables compare equal."""

    name: str
    schema: str
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    uniques: tuple[UniqueConstraint, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()

    def column(self, name: str) -> Column | None:
        """Return the column called ``name``, or ``None``."""
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names in table order."""
        return tuple(col.name for col in self.columns)


@dataclass(frozen=True)
class EnumType:
    """A PostgreSQL enum type with its labels in sort order."""

    schema: str
    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class DomainType:
    """A domain: a named base type with optional NOT NULL, default and CHECK constraints."""

    schema: str
    name: str
    base_type: str
    nullable: bool = True
    default: str | None = None
    checks: tuple[CheckConstraint, ...] = ()


@dataclass(frozen=True)
class Schema:
    """Everything in one PostgreSQL schema that the migrations manage.

    ``tables``, ``enums`` and ``domains`` are sorted by name, so two snapshots of the same
    catalog compare equal with ``==``.
    """

    name: str
    tables: tuple[Table, ...] = ()
    enums: tuple[EnumType, ...] = ()
    domains: tuple[DomainType, ...] = field(default=())

    def table(self, name: str) -> Table | None:
        """Return the table called ``name``, or ``None``."""
        for table in self.tables:
            if table.name == name:
                return table
        return None

    def enum(self, name: str) -> EnumType | None:
        """Return the enum type called ``name``, or ``None``."""
        for enum in self.enums:
            if enum.name == name:
                return enum
        return None

    @property
    def table_map(self) -> dict[str, Table]:
        """The tables keyed by name."""
        return {table.name: table for table in self.tables}
