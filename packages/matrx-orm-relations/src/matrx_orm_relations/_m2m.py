"""Many-to-many SQL: reading targets through the junction, editing junction rows, junction DDL.

Every identifier is rendered by core's quoting function (through ``matrx_orm_core.sql`` nodes)
and every value is a bound ``$n`` parameter. Reads are one JOIN query (junction → target by the
target's real primary key), for one source row (``= $1``) or for many (``= ANY($1)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from matrx_orm_core import Model, _caching, _execution, hooks
from matrx_orm_core._quoting import quote_ident, quote_qualified
from matrx_orm_core.exceptions import RelationshipError
from matrx_orm_core.models import ManyToManyReference
from matrx_orm_core.registry import model_registry
from matrx_orm_core.transaction import transaction

from ._common import m2m_reference, pk_name, prep_keys

__all__ = [
    "SOURCE_ALIAS",
    "Junction",
    "add_links",
    "clear_links",
    "ensure_m2m_tables",
    "fetch_targets",
    "junction_for",
    "linked_keys",
    "remove_links",
    "set_links",
]

SOURCE_ALIAS = "__matrx_m2m_source"
"""Column alias carrying the source key in a batched many-to-many read (removed after load)."""

_CHUNK = 10000
"""Target keys per INSERT (two parameters per row, under the 32767-parameter limit)."""

_SERIAL_TYPES = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}


@dataclass(frozen=True)
class Junction:
    """A many-to-many relation, resolved for SQL (quoted names, target and database)."""

    owner: type[Model]
    relation: str
    reference: ManyToManyReference
    target: type[Model]
    database: str
    table: str
    source: str
    target_column: str
    target_pk: str


def junction_for(model: type[Model], name: str) -> Junction:
    """Resolve the many-to-many relation ``name`` of ``model``.

    Raises:
        FieldError: ``name`` is not a many-to-many relation of ``model``.
        RelationshipError: The target lives in another database (a junction cannot join
            across databases) or a model has a composite primary key.
        ConfigurationError: The target model is not registered.
    """
    ref = m2m_reference(model, name)
    target: type[Model] = ref.resolved_model
    database = model._meta.database
    if target._meta.database != database:
        reason = (
            f"The many-to-many relation '{name}' on {model.__name__} (database {database!r}) "
            f"targets {target.__name__} in database {target._meta.database!r}; a junction "
            "table cannot join across databases. Keep both models in one database."
        )
        raise RelationshipError(
            model=model, related_model=target, field=name, reason=reason, message=reason
        )
    pk_name(model, "source", name, model)
    return Junction(
        owner=model,
        relation=name,
        reference=ref,
        target=target,
        database=database,
        table=quote_qualified(ref.junction_schema, ref.junction_table),
        source=quote_ident(ref.source_column),
        target_column=quote_ident(ref.target_column),
        target_pk=pk_name(target, "target", name, model),
    )


async def fetch_targets(j: Junction, keys: Sequence[Any], *, many: bool) -> list[Model]:
    """The targets linked to the source key ``keys[0]`` (``many=False``) or to any of ``keys``.

    With ``many`` each instance carries its source key under :data:`SOURCE_ALIAS` in
    ``__dict__`` (the caller removes it). Rows come ordered by the target key.
    """
    target = j.target
    meta = target._meta
    columns = ", ".join(f'"t".{quote_ident(name)}' for name in meta.select_columns)
    source_expr = f', "j".{j.source} AS {quote_ident(SOURCE_ALIAS)}' if many else ""
    condition = "= ANY($1)" if many else "= $1"
    sql = (
        f"SELECT {columns}{source_expr} FROM {quote_qualified(meta.db_schema, meta.table_name)} "
        f'AS "t" JOIN {j.table} AS "j" ON "j".{j.target_column} = "t".{quote_ident(j.target_pk)} '
        f'WHERE "j".{j.source} {condition} ORDER BY "t".{quote_ident(j.target_pk)}'
    )
    params = (list(keys),) if many else (keys[0],)
    operation = "prefetch_related" if many else "fetch_m2m"
    rows = await _execution.fetch(j.database, sql, params, model=j.owner, operation=operation)
    return [target._from_row(row) for row in rows]


async def linked_keys(j: Junction, key: Any, *, lock: bool = False) -> list[Any]:
    """The target keys linked to the source key ``key`` (``FOR UPDATE`` when ``lock``)."""
    sql = (
        f"SELECT {j.target_column} FROM {j.table} WHERE {j.source} = $1"
        f"{' FOR UPDATE' if lock else ''}"
    )
    rows = await _execution.fetch(j.database, sql, (key,), model=j.owner, operation="fetch_m2m")
    return [row[0] for row in rows]


def _touched(j: Junction) -> None:
    """Junction rows changed: a model declared on the junction table loses its cached rows
    (in this process and, through the cache's notices, in the others)."""
    table = j.reference.qualified_junction_table
    for model in model_registry.all_models(j.database).values():
        meta = vars(model).get("_meta")
        if meta is not None and meta.qualified_table_name == table:
            _caching.notify_write(model, hooks.ALL_ROWS)


async def _insert(j: Junction, key: Any, targets: Sequence[Any], operation: str) -> int:
    inserted = 0
    for start in range(0, len(targets), _CHUNK):
        chunk = targets[start : start + _CHUNK]
        values = ", ".join(f"($1, ${index})" for index in range(2, len(chunk) + 2))
        sql = (
            f"INSERT INTO {j.table} ({j.source}, {j.target_column}) VALUES {values} "
            "ON CONFLICT DO NOTHING"
        )
        tag = await _execution.execute(
            j.database, sql, (key, *chunk), model=j.owner, operation=operation
        )
        inserted += _execution.rows_affected(tag)
    _touched(j)
    return inserted


async def add_links(j: Junction, key: Any, values: Iterable[Any]) -> int:
    """Link ``values`` (target keys or instances); returns the junction rows inserted.

    Already linked pairs are skipped by ``ON CONFLICT DO NOTHING`` (the junction needs a
    primary key or unique constraint on the pair, as :func:`ensure_m2m_tables` creates).
    """
    targets = prep_keys(j.owner, j.relation, j.target, values)
    if not targets:
        return 0
    if len(targets) <= _CHUNK:
        return await _insert(j, key, targets, "add_m2m")
    async with transaction(j.database):
        return await _insert(j, key, targets, "add_m2m")


async def remove_links(j: Junction, key: Any, values: Iterable[Any]) -> int:
    """Unlink ``values``; returns the junction rows deleted."""
    targets = prep_keys(j.owner, j.relation, j.target, values)
    if not targets:
        return 0
    sql = f"DELETE FROM {j.table} WHERE {j.source} = $1 AND {j.target_column} = ANY($2)"
    tag = await _execution.execute(
        j.database, sql, (key, targets), model=j.owner, operation="remove_m2m"
    )
    _touched(j)
    return _execution.rows_affected(tag)


async def clear_links(j: Junction, key: Any) -> int:
    """Unlink every target of the source key; returns the junction rows deleted."""
    sql = f"DELETE FROM {j.table} WHERE {j.source} = $1"
    tag = await _execution.execute(j.database, sql, (key,), model=j.owner, operation="clear_m2m")
    _touched(j)
    return _execution.rows_affected(tag)


async def set_links(j: Junction, key: Any, values: Iterable[Any]) -> tuple[int, int]:
    """Make the linked targets exactly ``values``, as a diff, in one transaction (a savepoint
    inside an open one): existing links are locked, surplus ones deleted, missing ones added.

    Returns:
        ``(removed, added)`` row counts.
    """
    field = j.target._meta.fields[j.target_pk]
    wanted = prep_keys(j.owner, j.relation, j.target, values)
    wanted_by_value = {field.to_python(value): value for value in wanted}
    async with transaction(j.database):
        current = {field.to_python(value): value for value in await linked_keys(j, key, lock=True)}
        surplus = [raw for value, raw in current.items() if value not in wanted_by_value]
        missing = [raw for value, raw in wanted_by_value.items() if value not in current]
        removed = 0
        if surplus:
            sql = f"DELETE FROM {j.table} WHERE {j.source} = $1 AND {j.target_column} = ANY($2)"
            tag = await _execution.execute(
                j.database, sql, (key, surplus), model=j.owner, operation="set_m2m"
            )
            removed = _execution.rows_affected(tag)
            _touched(j)
        added = await _insert(j, key, missing, "set_m2m") if missing else 0
    return removed, added


def _column_type(model: type[Model], name: str) -> str:
    db_type = str(model._meta.fields[name].db_type)
    return _SERIAL_TYPES.get(db_type.lower(), db_type)


def _junction_ddl(j: Junction) -> str:
    owner_meta = j.owner._meta
    target_meta = j.target._meta
    source_pk = pk_name(j.owner, "source", j.relation, j.owner)
    owner_table = quote_qualified(owner_meta.db_schema, owner_meta.table_name)
    target_table = quote_qualified(target_meta.db_schema, target_meta.table_name)
    return (
        f"CREATE TABLE IF NOT EXISTS {j.table} ("
        f"{j.source} {_column_type(j.owner, source_pk)} NOT NULL REFERENCES "
        f"{owner_table} ({quote_ident(source_pk)}) "
        "ON DELETE CASCADE, "
        f"{j.target_column} {_column_type(j.target, j.target_pk)} NOT NULL REFERENCES "
        f"{target_table} ({quote_ident(j.target_pk)}) "
        "ON DELETE CASCADE, "
        f"PRIMARY KEY ({j.source}, {j.target_column}))"
    )


async def ensure_m2m_tables(*models: type[Model], database: str | None = None) -> list[str]:
    """Create the junction tables of the given models' many-to-many relations if missing.

    With no models, every registered model of ``database`` (or of every database) is used.
    Each table gets both key columns (typed like the primary keys they reference, with
    ``ON DELETE CASCADE`` foreign keys) and a primary key on the pair, which makes
    ``add_m2m`` idempotent. The target tables must exist. A junction declared on both sides is
    created once.

    Returns:
        The qualified names (``schema.table`` or ``table``) of the junction tables ensured.

    Raises:
        RelationshipError: A relation targets another database or a composite key.
        DatabaseError: The server rejected the DDL (e.g. a referenced table is missing).
    """
    chosen = list(models) or list(model_registry.all_models(database).values())
    seen: dict[tuple[str, str], Junction] = {}
    for model in chosen:
        meta = vars(model).get("_meta")
        if meta is None:
            continue
        for name, ref in meta.many_to_many_keys.items():
            key = (meta.database, ref.qualified_junction_table)
            if key not in seen:
                seen[key] = junction_for(model, name)
    for j in seen.values():
        await _execution.execute(
            j.database, _junction_ddl(j), (), model=j.owner, operation="ensure_m2m_tables"
        )
    return [key[1] for key in seen]
