"""The query compiler: one ``sql`` node tree per query shape, compiled once and cached.

A query's *shape* is everything that decides its SQL text: the statement kind, the filter
shapes (field, variant, value count, negation), the ordering, the select list, DISTINCT, whether
LIMIT/OFFSET are present and the FOR UPDATE clause. The shape is the cache key in the model's
``sql_cache``; the entry is ``(sql, template, direct)`` (see ``models._persistence``), so a
repeated query only maps its bound values onto the template.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.sql import (
    And,
    Count,
    Delete,
    Exists,
    ForUpdate,
    Not,
    Select,
    SelectCount,
    SelectExists,
    SQLNode,
    Update,
    Value,
)

from .lookups import condition_node

if TYPE_CHECKING:
    from matrx_orm_core.models.options import ModelOptions

__all__ = ["QueryShape", "WhereShape", "compile_query"]

WhereShape = tuple[tuple[bool, tuple[tuple[str, str, int], ...]], ...]
"""``((negated, ((field, variant, n_values), ...)), ...)``: one entry per filter/exclude call."""

QueryShape = tuple[
    str,  # kind: select, count, exists, update, delete
    WhereShape,
    tuple[tuple[str, bool], ...],  # ordering
    tuple[str, ...] | None,  # select list (None: every column)
    bool,  # DISTINCT
    tuple[str, ...],  # DISTINCT ON
    bool,  # has LIMIT
    bool,  # has OFFSET
    ForUpdate | None,
    tuple[str, ...],  # UPDATE column names
]
"""The cache key of one compiled query (model aside: each model has its own cache)."""


def _counter(start: int) -> Iterator[_p._Slot]:
    index = start
    while True:
        yield _p._Slot(index)
        index += 1


def where_node(shape: WhereShape, slots: Iterator[Any]) -> SQLNode | None:
    """The WHERE node of a where shape (positive groups flattened, excludes as ``NOT (...)``).

    Returns:
        The node, or ``None`` when there is no condition.
    """
    children: list[SQLNode] = []
    for negated, conditions in shape:
        nodes = [condition_node(field, variant, slots) for field, variant, _ in conditions]
        if negated:
            children.append(Not(And(tuple(nodes))))
        else:
            children.extend(nodes)
    return And(tuple(children)) if children else None


def _select(meta: ModelOptions, shape: QueryShape, slots: Iterator[Any]) -> Select:
    _, where, order, columns, distinct, distinct_on, has_limit, has_offset, for_update, _ = shape
    where_sql = where_node(where, slots)
    return Select(
        meta.table,
        columns if columns is not None else meta.select_columns,
        where_sql,
        order_by=order,
        limit=Value(next(slots)) if has_limit else None,
        offset=Value(next(slots)) if has_offset else None,
        distinct=distinct,
        distinct_on=distinct_on,
        for_update=for_update,
    )


def build_node(meta: ModelOptions, shape: QueryShape) -> SQLNode:
    """The statement node of ``shape`` with ``_Slot`` markers for its values.

    Values are numbered: UPDATE assignments first, then the WHERE values in text order, then
    LIMIT and OFFSET.

    Returns:
        The node.
    """
    kind = shape[0]
    if kind == "select":
        return _select(meta, shape, _counter(0))
    if kind in ("count", "exists"):
        plain = not (shape[4] or shape[5] or shape[6] or shape[7])
        if plain:
            where = where_node(shape[1], _counter(0))
            return Count(meta.table, where) if kind == "count" else Exists(meta.table, where)
        inner = _select(meta, shape, _counter(0))
        return SelectCount(inner) if kind == "count" else SelectExists(inner)
    if kind == "update":
        names = shape[9]
        slots = _counter(0)
        assignments = tuple((name, next(slots)) for name in names)
        return Update(meta.table, assignments, where_node(shape[1], slots))
    return Delete(meta.table, where_node(shape[1], _counter(0)))


def compile_query(meta: ModelOptions, shape: QueryShape) -> _p.Compiled:
    """The cached ``(sql, template, direct)`` entry of ``shape``, compiled on first use.

    Returns:
        The compiled entry (see ``models._persistence.params_for``).

    Raises:
        FieldError: An identifier is invalid.
        QueryError: The shape is not valid SQL (e.g. DISTINCT ON against the ordering).
    """
    return meta.compiled(("qb", shape), lambda: _p.compile_statement(build_node(meta, shape)))  # type: ignore[no-any-return]
