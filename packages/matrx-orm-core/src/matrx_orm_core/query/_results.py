"""Query results: partial-row hydration, values() rows, async iteration and model_value."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from matrx_orm_core import _execution
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.drivers.base import Row
from matrx_orm_core.models import _persistence as _p

from .compiler import QueryShape, WhereShape, compile_query
from .lookups import prepare_condition

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model
    from matrx_orm_core.models.options import LoadConverter

    from .builder import QueryBuilder

M = TypeVar("M", bound="Model")

CHUNK_SIZE = 500
"""Rows fetched per round trip by ``async for`` outside a transaction."""


def hydrate(qb: QueryBuilder[M], rows: Sequence[Row]) -> list[M]:
    """``qb``'s instances from ``rows`` (select_related rows through ``hydrate_related``)."""
    if qb._select_related:
        from ._select_related import hydrate_related  # it calls back into hydrate_plain

        return hydrate_related(qb, rows)
    return hydrate_plain(qb, rows)


def hydrate_plain(qb: QueryBuilder[M], rows: Sequence[Row]) -> list[M]:
    """``qb``'s instances from rows of the queried model's own columns: complete rows through
    ``hydrate_many``; partial rows (``only``/``defer``) with the unloaded fields blank and marked
    deferred. ``qb``'s select_related steps are not looked at."""
    cls = qb.model_cls
    if qb._columns is None:
        return _p.hydrate_many(cls, rows)
    deferred = qb._deferred
    blanks = dict.fromkeys(deferred)
    converters = cls._meta.load_converters
    result: list[M] = []
    for row in rows:
        obj = cls.__new__(cls)
        data = obj.__dict__
        data.update(blanks)
        data.update(row.items())
        for name, convert in converters:
            value = data[name]
            if value is not None:
                data[name] = convert(value)
        data["_persisted"] = True
        data["_deferred"] = deferred
        result.append(obj)
    return result


def load_conversions(
    cls: type[Model], names: tuple[str, ...], extra: Mapping[str, LoadConverter] | None = None
) -> list[tuple[int, str, Any]]:
    """``(position, name, converter)`` for the selected columns that need converting: the
    model's fields, and the annotations in ``extra`` (see ``annotation_converters``)."""
    converters = dict(cls._meta.load_converters)
    if extra:
        converters.update(extra)
    return [(i, name, converters[name]) for i, name in enumerate(names) if name in converters]


def plain_rows(
    cls: type[Model],
    rows: Sequence[Row],
    names: tuple[str, ...],
    extra: Mapping[str, LoadConverter] | None = None,
) -> list[list[Any]]:
    """The rows as lists of the ``names`` columns, converted as loading would (``extra``:
    converters of annotation aliases)."""
    conversions = load_conversions(cls, names, extra)
    table: list[list[Any]]
    if rows and tuple(rows[0].keys()) != names:
        # A field named twice: read every position by name.
        table = [[row[name] for name in names] for row in rows]
    else:
        table = [list(row.values()) for row in rows]
    for values in table if conversions else ():
        for i, _name, convert in conversions:
            value = values[i]
            if value is not None:
                values[i] = convert(value)
    return table


def value_dicts(
    cls: type[Model],
    rows: Sequence[Row],
    names: tuple[str, ...],
    extra: Mapping[str, LoadConverter] | None = None,
) -> list[dict[str, Any]]:
    """The rows as dicts of the ``names`` columns, converted as loading would (``values()``;
    ``extra``: converters of annotation aliases)."""
    if not rows:
        return []
    if tuple(rows[0].keys()) != names:
        # A field named twice: the row has one column per position, the dict one key.
        table = plain_rows(cls, rows, names, extra)
        return [dict(zip(names, values, strict=True)) for values in table]
    conversions = load_conversions(cls, names, extra)
    if not conversions:
        return [dict(row.items()) for row in rows]
    result: list[dict[str, Any]] = []
    append = result.append
    for row in rows:
        data = dict(row.items())
        for _i, name, convert in conversions:
            value = data[name]
            if value is not None:
                data[name] = convert(value)
        append(data)
    return result


async def iterate(query: QueryBuilder[M]) -> AsyncIterator[M]:
    """Yield instances without loading the whole result.

    Inside a transaction on this database a server-side cursor streams one consistent
    snapshot. Outside, rows come in LIMIT/OFFSET pages of `CHUNK_SIZE` ordered by the query's
    ordering plus the primary key; each page is its own statement, so rows written between
    pages may be skipped or seen twice (use a transaction when that matters).
    """
    connections = _execution.current_connection.get()
    conn = None if connections is None else connections.get(query.database)
    if conn is not None:
        sql, params = query._compiled("select")
        driver = AsyncDatabaseManager.driver_for(query.database)
        # annotations go through ``_hydrate`` (output fields, ``_extra_data``); plain rows skip it
        load = partial(hydrate, query) if query._x is None else query._hydrate
        async for row in driver.stream(conn, sql, params, prefetch=CHUNK_SIZE):
            yield load([row])[0]
        return
    qb = query._clone()
    pk_order = query._pk_order()
    taken = {name for name, _ in query._order}
    qb._order = query._order + tuple(term for term in pk_order if term[0] not in taken)
    start = query._offset or 0
    remaining = query._limit
    while remaining is None or remaining > 0:
        size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
        page = qb._clone()
        page._limit = size
        page._offset = start
        batch = page._hydrate(await page._rows("iterate"))
        for instance in batch:
            yield instance
        if len(batch) < size:
            return
        start += size
        if remaining is not None:
            remaining -= size


async def model_value(model_cls: type[Model], kind: str, lookups: Mapping[str, Any]) -> Any:
    """``Model.count(**lookups)`` (``kind="count"``) or ``Model.exists`` (``"exists"``).

    The same SQL, parameters and errors as ``QueryBuilder(model_cls).filter(**lookups)``
    followed by the terminal, without building the intermediate builders.

    Returns:
        The value of the single-column result (``None`` when there is no row).

    Raises:
        ConfigurationError: ``model_cls`` is not a concrete model.
        FieldError: Unknown field or lookup (nothing is sent).
        ValidationError: A value does not suit its lookup or field.
        DatabaseError: The server rejected the query.
    """
    if "_meta" not in vars(model_cls):
        from .builder import QueryBuilder  # the builder imports this module

        QueryBuilder(model_cls)  # raises the ConfigurationError for an abstract model
    meta = model_cls._meta
    conditions = [
        prepare_condition(model_cls, key, value, "filter") for key, value in lookups.items()
    ]
    where: WhereShape = ((False, tuple([c.shape for c in conditions])),) if conditions else ()
    shape: QueryShape = (kind, where, (), None, False, (), False, False, None, ())
    compiled = compile_query(meta, shape)
    values = tuple([v for c in conditions for v in c.values])
    return await _execution.fetch_val(
        meta.database,
        compiled[0],
        _p.params_for(compiled, values),
        model=model_cls,
        operation=kind,
        filters=lookups,
    )
