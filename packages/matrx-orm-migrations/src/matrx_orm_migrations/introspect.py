"""Catalog introspection: pg_catalog → the neutral schema model (:mod:`.schema`).

One implementation, shared by the migration diff and the schema builder. Every query is a named
module constant and takes the schema name as a bound parameter (``$1``); nothing from the
catalog or the caller is formatted into SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from matrx_orm_core.exceptions import MigrationError

from ._types import normalize_type, user_type_name
from .schema import (
    CheckConstraint,
    Column,
    DomainType,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)
from .state import TRACKING_TABLE

__all__ = [
    "LIST_COLUMNS_SQL",
    "LIST_CONSTRAINTS_SQL",
    "LIST_DOMAINS_SQL",
    "LIST_ENUMS_SQL",
    "LIST_INDEXES_SQL",
    "LIST_SCHEMAS_SQL",
    "LIST_TABLES_SQL",
    "TRACKING_TABLE",
    "Fetcher",
    "introspect_schema",
    "list_schemas",
]

logger = logging.getLogger(__name__)


LIST_SCHEMAS_SQL = """
SELECT n.nspname AS name
FROM pg_catalog.pg_namespace n
WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
ORDER BY n.nspname
"""

LIST_TABLES_SQL = """
SELECT c.relname AS name
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""

LIST_COLUMNS_SQL = """
SELECT c.relname AS table_name,
       a.attname AS name,
       a.attnum AS position,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS formatted,
       t.typtype::text AS typtype,
       tn.nspname AS type_schema,
       t.typname AS type_name,
       et.typtype::text AS elem_typtype,
       etn.nspname AS elem_schema,
       et.typname AS elem_name,
       a.attnotnull AS not_null,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       a.attidentity::text AS identity,
       a.attgenerated::text AS generated,
       EXISTS (
           SELECT 1 FROM pg_catalog.pg_depend dep
           JOIN pg_catalog.pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
           WHERE dep.refobjid = c.oid AND dep.refobjsubid = a.attnum AND dep.deptype = 'a'
       ) AS owns_sequence
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
LEFT JOIN pg_catalog.pg_namespace etn ON etn.oid = et.typnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

LIST_CONSTRAINTS_SQL = """
SELECT c.relname AS table_name,
       con.conname AS name,
       con.contype::text AS kind,
       ARRAY(
           SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
           ORDER BY k.ord
       ) AS columns,
       rn.nspname AS ref_schema,
       rc.relname AS ref_table,
       ARRAY(
           SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
           ORDER BY k.ord
       ) AS ref_columns,
       con.confdeltype::text AS on_delete,
       con.confupdtype::text AS on_update,
       pg_catalog.pg_get_expr(con.conbin, con.conrelid) AS check_expr
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE n.nspname = $1 AND con.contype IN ('p', 'u', 'f', 'c')
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, con.conname
"""

LIST_INDEXES_SQL = """
SELECT c.relname AS table_name,
       ic.relname AS name,
       i.indisunique AS is_unique,
       am.amname AS method,
       ARRAY(
           SELECT CASE WHEN i.indkey[k.ord - 1] = 0
                       THEN pg_catalog.pg_get_indexdef(i.indexrelid, k.ord::int, true)
                       ELSE (SELECT a.attname::text FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k.ord - 1])
                  END
           FROM generate_series(1, i.indnkeyatts::int) AS k(ord)
           ORDER BY k.ord
       ) AS columns,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS definition
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_constraint con
      WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
        AND con.contype IN ('p', 'u', 'x')
  )
ORDER BY c.relname, ic.relname
"""

LIST_ENUMS_SQL = """
SELECT t.typname AS name,
       ARRAY(
           SELECT e.enumlabel FROM pg_catalog.pg_enum e
           WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
       ) AS labels
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typtype = 'e'
ORDER BY t.typname
"""

LIST_DOMAINS_SQL = """
SELECT t.typname AS name,
       pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base_type,
       t.typnotnull AS not_null,
       t.typdefault AS default_expr,
       ARRAY(
           SELECT con.conname FROM pg_catalog.pg_constraint con
           WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname
       ) AS check_names,
       ARRAY(
           SELECT pg_catalog.pg_get_expr(con.conbin, 0) FROM pg_catalog.pg_constraint con
           WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname
       ) AS check_exprs
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typtype = 'd'
ORDER BY t.typname
"""

_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_IDENTITY = {"a": "always", "d": "by default"}
_USER_TYPTYPES = frozenset({"e", "d", "c"})


class Fetcher(Protocol):
    """What introspection needs from a database object: ``MigrationDB.fetch``."""

    async def fetch(
        self, sql: str, *args: Any, timeout: float | None = ...
    ) -> list[dict[str, Any]]:
        """Run ``sql`` with ``args`` and return rows as dictionaries."""
        ...


async def list_schemas(db: Fetcher) -> list[str]:
    """Return the user schemas of the database (no ``pg_*``, no ``information_schema``)."""
    return [row["name"] for row in await db.fetch(LIST_SCHEMAS_SQL)]


async def introspect_schema(
    db: Fetcher, schema: str = "public", *, tables: Iterable[str] | None = None
) -> Schema:
    """Read one schema from pg_catalog into a :class:`~.schema.Schema`.

    Args:
        db: a ``MigrationDB`` (anything with ``fetch``).
        schema: the schema name (sent as a bound parameter).
        tables: only these table names, when given (enums and domains are always all read).

    Returns:
        The snapshot: tables (without ``_matrx_migrations``), enums and domains, each sorted by
        name, so two snapshots of the same catalog compare equal.

    Raises:
        MigrationError: ``schema`` is not a non-empty string.
        DatabaseError: a catalog query failed.
    """
    if not isinstance(schema, str) or not schema:
        raise MigrationError(message=f"introspect_schema() needs a schema name, got {schema!r}.")
    wanted = None if tables is None else set(tables)
    table_rows = await db.fetch(LIST_TABLES_SQL, schema)
    names = [
        row["name"]
        for row in table_rows
        if row["name"] != TRACKING_TABLE and (wanted is None or row["name"] in wanted)
    ]
    columns = _group(await db.fetch(LIST_COLUMNS_SQL, schema))
    constraints = _group(await db.fetch(LIST_CONSTRAINTS_SQL, schema))
    indexes = _group(await db.fetch(LIST_INDEXES_SQL, schema))
    built = tuple(
        _table(
            schema, name, columns.get(name, []), constraints.get(name, []), indexes.get(name, [])
        )
        for name in sorted(names)
    )
    enums = tuple(
        EnumType(schema, row["name"], tuple(row["labels"]))
        for row in await db.fetch(LIST_ENUMS_SQL, schema)
    )
    domains = tuple(_domain(schema, row) for row in await db.fetch(LIST_DOMAINS_SQL, schema))
    logger.debug("introspected schema %r: %d tables, %d enums", schema, len(built), len(enums))
    return Schema(name=schema, tables=built, enums=enums, domains=domains)


def _group(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["table_name"], []).append(row)
    return grouped


def column_type(row: Mapping[str, Any]) -> str:
    """The canonical type of a ``LIST_COLUMNS_SQL`` row (user types as ``"schema"."name"``)."""
    if row["typtype"] in _USER_TYPTYPES:
        return user_type_name(row["type_schema"], row["type_name"])
    if row.get("elem_typtype") in _USER_TYPTYPES:
        return user_type_name(row["elem_schema"], row["elem_name"]) + "[]"
    return normalize_type(row["formatted"], where=f"{row['table_name']}.{row['name']}")


def _column(row: Mapping[str, Any]) -> Column:
    default = row["default_expr"]
    serial = (
        bool(row["owns_sequence"]) and isinstance(default, str) and default.startswith("nextval(")
    )
    generated = default if row["generated"] == "s" else None
    return Column(
        name=row["name"],
        type=column_type(row),
        nullable=not row["not_null"],
        default=None if serial or generated is not None else default,
        serial=serial,
        identity=_IDENTITY.get(row["identity"] or ""),
        generated=generated,
    )


def _table(
    schema: str,
    name: str,
    column_rows: Sequence[Mapping[str, Any]],
    constraint_rows: Sequence[Mapping[str, Any]],
    index_rows: Sequence[Mapping[str, Any]],
) -> Table:
    primary_key: PrimaryKey | None = None
    uniques: list[UniqueConstraint] = []
    fks: list[ForeignKey] = []
    checks: list[CheckConstraint] = []
    for row in constraint_rows:
        kind, cols = row["kind"], tuple(row["columns"])
        if kind == "p":
            primary_key = PrimaryKey(row["name"], cols)
        elif kind == "u":
            uniques.append(UniqueConstraint(row["name"], cols))
        elif kind == "f":
            fks.append(
                ForeignKey(
                    name=row["name"],
                    columns=cols,
                    ref_schema=row["ref_schema"],
                    ref_table=row["ref_table"],
                    ref_columns=tuple(row["ref_columns"]),
                    on_delete=_ACTIONS[row["on_delete"]],
                    on_update=_ACTIONS[row["on_update"]],
                )
            )
        else:
            checks.append(CheckConstraint(row["name"], row["check_expr"]))
    indexes = tuple(
        Index(
            name=row["name"],
            columns=tuple(row["columns"]),
            unique=bool(row["is_unique"]),
            method=row["method"],
            where=row["predicate"],
            definition=row["definition"],
        )
        for row in index_rows
    )
    return Table(
        name=name,
        schema=schema,
        columns=tuple(_column(row) for row in column_rows),
        primary_key=primary_key,
        uniques=tuple(sorted(uniques, key=lambda u: u.name)),
        foreign_keys=tuple(sorted(fks, key=lambda f: f.name)),
        checks=tuple(sorted(checks, key=lambda c: c.name)),
        indexes=tuple(sorted(indexes, key=lambda i: i.name)),
    )


def _domain(schema: str, row: Mapping[str, Any]) -> DomainType:
    checks = tuple(
        CheckConstraint(name, expr)
        for name, expr in zip(row["check_names"], row["check_exprs"], strict=False)
    )
    return DomainType(
        schema=schema,
        name=row["name"],
        base_type=normalize_type(row["base_type"], schema, where=f"domain {row['name']}"),
        nullable=not row["not_null"],
        default=row["default_expr"],
        checks=checks,
    )
