"""The query compiler: one ``sql`` node tree per query shape, compiled once and cached.

A query's *shape* is everything that decides its SQL text: the statement kind, the filter
shapes (field, variant, value count, negation), the ordering, the select list, DISTINCT, whether
LIMIT/OFFSET are present and the FOR UPDATE clause. The shape is the cache key in the model's
``sql_cache``; the entry is ``(sql, template, direct)`` (see ``models._persistence``), so a
repeated query only maps its bound values onto the template.

Expressions (``Q``, ``F``, functions, aggregates, windows, subqueries, CTEs) take part as
`ExprLeaf` s: a hashable template without its values. A filter leaf sits in the where shape;
annotations, GROUP BY, HAVING and CTEs form the `Extras` key beside the shape, and ``None``
there keeps a plain query on exactly the path (and cache key) it had before expressions.
Values are numbered: UPDATE assignments, WHERE, LIMIT, OFFSET, the extras in the order
`Extras.leaves` lists them, then the ordering's expressions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import count
from typing import TYPE_CHECKING, Any

from matrx_orm_core.exceptions import QueryError
from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.sql import (
    And,
    Count,
    Delete,
    Exists,
    ForUpdate,
    Node,
    Not,
    Raw,
    Select,
    SelectCount,
    SelectExists,
    SQLNode,
    Update,
    Value,
)

from ._sqlnodes import Alias, Bind, CTEList, ExprLeaf, ScopeTable, Slot, WithQuery
from .lookups import condition_node

if TYPE_CHECKING:
    from matrx_orm_core.models.options import ModelOptions

    from .builder import QueryBuilder

__all__ = [
    "Extras",
    "QueryShape",
    "WhereShape",
    "build_node",
    "compile_query",
    "subquery_template",
    "where_node",
]

WhereShape = tuple[tuple[bool, tuple[Any, ...]], ...]
"""``((negated, (condition, ...)), ...)``: one entry per filter/exclude call; a condition is
``(field, variant, n_values)`` or an `ExprLeaf` (a ``Q``/expression filter)."""

QueryShape = tuple[
    str,  # kind: select, count, exists, update, delete
    WhereShape,
    tuple[tuple[Any, bool], ...],  # ordering: (field name or ExprLeaf, descending)
    tuple[str, ...] | None,  # select list (None: every column)
    bool,  # DISTINCT
    tuple[str, ...],  # DISTINCT ON
    bool,  # has LIMIT
    bool,  # has OFFSET
    ForUpdate | None,
    tuple[str, ...],  # UPDATE column names
]
"""The cache key of one compiled query (model aside: each model has its own cache)."""


@dataclass(frozen=True, slots=True)
class Extras:
    """The expression parts of a SELECT besides its filters (hashable: a cache key part).

    Attributes:
        annotations: ``(alias, leaf, is_aggregate)`` of the selected annotations, in order.
        group_by: Field names, or leaves for annotation aliases.
        having: Conditions ANDed into HAVING.
        ctes: ``(name, leaf)`` of the WITH clause.
        recursive: Whether the WITH clause is RECURSIVE.
        group_all: Group by the selected field columns when an aggregate is selected and no
            GROUP BY is given.
    """

    annotations: tuple[tuple[str, ExprLeaf, bool], ...] = ()
    group_by: tuple[str | ExprLeaf, ...] = ()
    having: tuple[ExprLeaf, ...] = ()
    ctes: tuple[tuple[str, ExprLeaf], ...] = ()
    recursive: bool = False

    def leaves(self) -> list[ExprLeaf]:
        """The leaves in value order (annotations, group by, having, CTEs); the ordering's
        leaves follow them."""
        result = [leaf for _, leaf, _ in self.annotations]
        result += [leaf for leaf in self.group_by if isinstance(leaf, ExprLeaf)]
        result += list(self.having)
        result += [leaf for _, leaf in self.ctes]
        return result


def _counter() -> Iterator[_p._Slot]:
    """The compiler's value markers, numbered from 0."""
    return map(_p._Slot, count())


def _relative() -> Iterator[Slot]:
    """Markers of a template with its own value list (a subquery or CTE), numbered from 0."""
    return map(Slot, count())


def _bind(leaf: ExprLeaf, slots: Iterator[Any]) -> Bind:
    return Bind(leaf.template, tuple([next(slots) for _ in range(leaf.count)]))


def _marker(marker: Any) -> Node:
    return marker if isinstance(marker, Node) else Value(marker)


def _assignments(
    names: tuple[str, ...], sets: tuple[ExprLeaf | None, ...], slots: Iterator[Any]
) -> tuple[tuple[str, Any], ...]:
    """UPDATE's ``(column, value node)`` pairs: a marker for a plain value, the bound leaf of an
    expression value (``sets`` empty: every value is plain)."""
    leaves = sets or (None,) * len(names)
    return tuple(
        [
            (name, next(slots) if leaf is None else _bind(leaf, slots))
            for name, leaf in zip(names, leaves, strict=True)
        ]
    )


def where_node(shape: WhereShape, slots: Iterator[Any]) -> SQLNode | None:
    """The WHERE node of a where shape (positive groups flattened, excludes as ``NOT (...)``).

    Returns:
        The node, or ``None`` when there is no condition.
    """
    children: list[SQLNode] = []
    for negated, conditions in shape:
        nodes = [
            condition_node(cond[0], cond[1], slots) if type(cond) is tuple else _bind(cond, slots)
            for cond in conditions
        ]
        if negated:
            children.append(Not(And(tuple(nodes))))
        else:
            children.extend(nodes)
    return And(tuple(children)) if children else None


def _select(
    meta: ModelOptions,
    shape: QueryShape,
    slots: Iterator[Any],
    extras: Extras | None = None,
    table: Any = None,
) -> Node:
    _, where, order, columns, distinct, distinct_on, has_limit, has_offset, for_update, _ = shape
    where_sql = where_node(where, slots)
    limit = _marker(next(slots)) if has_limit else None
    offset = _marker(next(slots)) if has_offset else None
    table = meta.table if table is None else table
    cols: tuple[Any, ...] = columns if columns is not None else meta.select_columns
    group: tuple[Any, ...] = ()
    having: list[SQLNode] = []
    ctes: tuple[tuple[str, SQLNode], ...] = ()
    if extras is not None:
        cols, group, having, ctes, order = _extra_parts(meta, columns, order, extras, slots)
    node: Node = Select(
        table,
        cols,
        where_sql,
        order_by=order,
        limit=limit,
        offset=offset,
        distinct=distinct,
        distinct_on=distinct_on,
        for_update=for_update,
        group_by=group,
        having=And(tuple(having)) if having else None,
    )
    if ctes and extras is not None:
        node = WithQuery(CTEList(ctes, extras.recursive), node)
    return node


def _extra_parts(
    meta: ModelOptions,
    columns: tuple[str, ...] | None,
    order: tuple[tuple[Any, bool], ...],
    extras: Extras,
    slots: Iterator[Any],
) -> tuple[
    tuple[Any, ...],
    tuple[Any, ...],
    list[SQLNode],
    tuple[tuple[str, SQLNode], ...],
    tuple[tuple[Any, bool], ...],
]:
    """``(columns, group by, having, ctes, order)`` of a SELECT with `Extras`, binding the
    leaves in value order."""
    annotations = {alias: (_bind(leaf, slots), agg) for alias, leaf, agg in extras.annotations}
    group: tuple[Any, ...] = tuple(
        [_bind(g, slots) if isinstance(g, ExprLeaf) else g for g in extras.group_by]
    )
    having: list[SQLNode] = [_bind(leaf, slots) for leaf in extras.having]
    ctes = tuple([(name, _bind(leaf, slots)) for name, leaf in extras.ctes])
    order = tuple([(_bind(t, slots) if isinstance(t, ExprLeaf) else t, desc) for t, desc in order])
    cols: tuple[Any, ...]
    if columns is None:
        cols = meta.select_columns + tuple([Alias(n, a) for a, (n, _) in annotations.items()])
    else:
        cols = tuple([Alias(annotations[c][0], c) if c in annotations else c for c in columns])
    if not group and (having or any(agg for _, agg in annotations.values())):
        group = tuple([col for col in cols if isinstance(col, str)])
    elif group and columns is None and not set(meta.pk_names) <= set(group):
        raise QueryError(
            message=(
                f"group_by{tuple(g for g in extras.group_by if isinstance(g, str))!r} selects "
                "groups, not rows: read them with .values('field', 'alias', ...) rather than "
                "all()/first()/get()"
            ),
        )
    return cols, group, having, ctes, order


def build_node(
    meta: ModelOptions,
    shape: QueryShape,
    extras: Extras | None = None,
    sets: tuple[ExprLeaf | None, ...] = (),
) -> SQLNode:
    """The statement node of ``shape`` with ``_Slot`` markers for its values.

    Values are numbered: UPDATE assignments first, then the WHERE values in text order, then
    LIMIT and OFFSET, then the `Extras` leaves.

    Args:
        meta: The model's options.
        shape: The query shape.
        extras: Annotations, grouping and CTEs (SELECT, count and exists only).
        sets: For an UPDATE, one entry per column of ``shape[9]``: the leaf of an expression
            value, or ``None`` for a plain value (empty: every value is plain).

    Returns:
        The node.
    """
    kind = shape[0]
    if kind == "select":
        return _select(meta, shape, _counter(), extras)
    if kind in ("count", "exists"):
        plain = not (shape[4] or shape[5] or shape[6] or shape[7]) and extras is None
        if plain:
            where = where_node(shape[1], _counter())
            return Count(meta.table, where) if kind == "count" else Exists(meta.table, where)
        inner = _select(meta, shape, _counter(), extras)
        return SelectCount(inner) if kind == "count" else SelectExists(inner)
    if kind == "update":
        names = shape[9]
        slots = _counter()
        return Update(meta.table, _assignments(names, sets, slots), where_node(shape[1], slots))
    return Delete(meta.table, where_node(shape[1], _counter()))


def subquery_template(query: QueryBuilder[Any], mode: str) -> tuple[SQLNode, tuple[Any, ...]]:
    """A QuerySet as a template with its own values, to embed in another statement.

    Args:
        query: The inner query.
        mode: ``"scalar"`` (``Subquery``: exactly one column), ``"exists"`` (``Exists``:
            selects ``1``) or ``"cte"`` (a CTE body: its own columns, its table not aliased).

    Returns:
        ``(template, values)``.

    Raises:
        QueryError: A scalar subquery that does not select exactly one column.
    """
    meta = query.model_cls._meta
    columns: tuple[str, ...] | None
    scalar = mode == "scalar"
    if scalar:
        chosen = query._columns or ()
        if len(chosen) > 1:
            chosen = tuple([c for c in chosen if c not in meta.pk_names]) or chosen
        if len(chosen) != 1:
            raise QueryError(
                message=(
                    f"Subquery({query.model_cls.__name__}...) must select exactly one column: "
                    f"add .select('field') (it selects {list(chosen) or 'every column'})"
                ),
                model=query.model_cls,
            )
        columns = chosen
    else:
        columns = query._columns
    shape = query._shape("select", columns)
    extras, extra_values = query._extras(columns)
    values = (*query._wvalues, *query._paging(), *extra_values)
    table = ScopeTable(meta.table_name, meta.db_schema) if mode != "cte" else None
    node = _select(meta, shape, _relative(), extras, table)
    exists = mode == "exists"
    if exists and isinstance(node, Select) and (extras is None or not extras.annotations):
        node = replace(node, columns=(Raw("1"),))
    return node, values


def compile_query(
    meta: ModelOptions,
    shape: QueryShape,
    extras: Extras | None = None,
    sets: tuple[ExprLeaf | None, ...] = (),
) -> _p.Compiled:
    """The cached ``(sql, template, direct)`` entry of ``shape``, compiled on first use.

    Returns:
        The compiled entry (see ``models._persistence.params_for``).

    Raises:
        FieldError: An identifier is invalid.
        QueryError: The shape is not valid SQL (e.g. DISTINCT ON against the ordering).
    """
    if extras is None and not sets:
        return meta.compiled(("qb", shape), lambda: _p.compile_statement(build_node(meta, shape)))  # type: ignore[no-any-return]
    return meta.compiled(  # type: ignore[no-any-return]
        ("qbx", shape, extras, sets),
        lambda: _p.compile_statement(build_node(meta, shape, extras, sets)),
    )
