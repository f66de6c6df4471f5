"""SQL nodes for expressions, and the template machinery that lets their SQL be cached.

An expression is resolved once, when a chain method is called, into a *template*: a tree of
frozen ``sql`` nodes (hashable, so the tree itself is the cache key of the statement shape) in
which every bound value is a `Slot` (its index in the expression's value list) and never the
value itself. The values travel beside the template, in a plain tuple.

When the statement is compiled (once per shape), `Bind` gives a template the compiler's
``_Slot`` markers: a `Slot` renders the marker at its index, so the cached text carries the
right ``$n`` and the cached template maps each one back to the call's value. `Shift` embeds a
template that has its own value list (a subquery, a CTE) at an offset of the enclosing one.
Nothing edits SQL text after rendering.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from matrx_orm_core._quoting import quote_ident, quote_qualified
from matrx_orm_core.exceptions import QueryError
from matrx_orm_core.sql import (
    ColumnRef,
    Node,
    OrderTerm,
    Params,
    SQLNode,
    Table,
    render_order_by,
)

__all__ = [
    "Alias",
    "Arith",
    "Bind",
    "Call",
    "CastAs",
    "CTEList",
    "ExistsQuery",
    "ExprLeaf",
    "FUNCTION_NAME",
    "ExtractFrom",
    "InQuery",
    "Negate",
    "OuterColumn",
    "Over",
    "RawPieces",
    "ScalarQuery",
    "ScopeTable",
    "Shift",
    "Slot",
    "WithQuery",
]

_MARKERS: ContextVar[tuple[Any, ...]] = ContextVar("matrx_expr_markers", default=())
_SCOPES: ContextVar[tuple[str, ...]] = ContextVar("matrx_expr_scopes", default=())

ARITH_OPS = frozenset({"+", "-", "*", "/", "%", "||"})
FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""A plain SQL function name (`Call` checks it; ``Func`` too, to name the class at fault)."""


@dataclass(frozen=True, slots=True)
class Slot(Node):
    """The ``index``-th value of the enclosing `Bind`/`Shift` scope."""

    index: int

    def as_sql(self, params: Params) -> str:
        return params.add(_MARKERS.get()[self.index])


@dataclass(frozen=True, slots=True)
class Bind(Node):
    """Render ``node`` with its `Slot` s standing for ``markers`` (built at compile time)."""

    node: SQLNode
    markers: tuple[Any, ...]

    def as_sql(self, params: Params) -> str:
        # A marker that is itself a Slot (a subquery compiled into a template) reads the
        # enclosing scope; a compiler marker is used as it is.
        outer = _MARKERS.get()
        markers = tuple([outer[m.index] if type(m) is Slot else m for m in self.markers])
        token = _MARKERS.set(markers)
        try:
            return self.node.as_sql(params)
        finally:
            _MARKERS.reset(token)


@dataclass(frozen=True, slots=True)
class Shift(Node):
    """Render ``node`` whose `Slot` s index from ``base`` in the enclosing scope's values."""

    node: SQLNode
    base: int
    count: int

    def as_sql(self, params: Params) -> str:
        outer = _MARKERS.get()
        token = _MARKERS.set(outer[self.base : self.base + self.count])
        try:
            return self.node.as_sql(params)
        finally:
            _MARKERS.reset(token)


def _ref(ref: ColumnRef, params: Params) -> str:
    return ref.as_sql(params) if isinstance(ref, Node) else quote_ident(ref)


@dataclass(frozen=True, slots=True)
class Alias(Node):
    """``expr AS "alias"``."""

    expr: ColumnRef
    alias: str

    def as_sql(self, params: Params) -> str:
        return _ref(self.expr, params) + " AS " + quote_ident(self.alias)


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """``(left op right)`` for an operator in ``ARITH_OPS`` (checked by the expression)."""

    left: ColumnRef
    op: str
    right: ColumnRef

    def __post_init__(self) -> None:
        if self.op not in ARITH_OPS:
            raise QueryError(message=f"unsupported arithmetic operator {self.op!r}")

    def as_sql(self, params: Params) -> str:
        return "(" + _ref(self.left, params) + " " + self.op + " " + _ref(self.right, params) + ")"


@dataclass(frozen=True, slots=True)
class Negate(Node):
    """``(-expr)``."""

    expr: ColumnRef

    def as_sql(self, params: Params) -> str:
        return "(-" + _ref(self.expr, params) + ")"


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``NAME([DISTINCT ]arg, ...)``; ``star`` renders ``NAME(*)``. ``name`` is trusted text
    from the function classes, never user input."""

    name: str
    args: tuple[ColumnRef, ...] = ()
    distinct: bool = False
    star: bool = False

    def __post_init__(self) -> None:
        if not FUNCTION_NAME.match(self.name):
            raise QueryError(message=f"{self.name!r} is not a plain SQL function name")

    def as_sql(self, params: Params) -> str:
        if self.star:
            return self.name + "(*)"
        inner = ", ".join([_ref(arg, params) for arg in self.args])
        return self.name + "(" + ("DISTINCT " if self.distinct else "") + inner + ")"


@dataclass(frozen=True, slots=True)
class CastAs(Node):
    """``CAST(expr AS type)``; ``type`` comes from the allow-list in ``functions``."""

    expr: ColumnRef
    type: str

    def as_sql(self, params: Params) -> str:
        return "CAST(" + _ref(self.expr, params) + " AS " + self.type + ")"


@dataclass(frozen=True, slots=True)
class ExtractFrom(Node):
    """``EXTRACT(PART FROM expr)``; ``part`` comes from the allow-list in ``functions``."""

    part: str
    expr: ColumnRef

    def as_sql(self, params: Params) -> str:
        return "EXTRACT(" + self.part + " FROM " + _ref(self.expr, params) + ")"


@dataclass(frozen=True, slots=True)
class Over(Node):
    """``expr OVER ([PARTITION BY ...] [ORDER BY ...] [frame])``; ``frame`` is validated text."""

    expr: ColumnRef
    partition_by: tuple[ColumnRef, ...] = ()
    order_by: tuple[OrderTerm, ...] = ()
    frame: str | None = None

    def as_sql(self, params: Params) -> str:
        parts: list[str] = []
        if self.partition_by:
            parts.append(
                "PARTITION BY " + ", ".join([_ref(ref, params) for ref in self.partition_by])
            )
        if self.order_by:
            parts.append("ORDER BY " + render_order_by(self.order_by, params))
        if self.frame:
            parts.append(self.frame)
        return _ref(self.expr, params) + " OVER (" + " ".join(parts) + ")"


@dataclass(frozen=True, slots=True)
class ScopeTable(Table):
    """A subquery's table: ``"t" AS "_sqN"``, N being the nesting depth.

    Aliasing hides the table's own name inside the subquery, so an `OuterColumn` qualified by
    the enclosing query's name never binds to the inner table, even when both are one table.
    """

    def as_sql(self, params: Params) -> str:
        depth = len(_SCOPES.get())
        return quote_qualified(self.schema, self.name) + " AS " + quote_ident(f"_sq{depth}")


@dataclass(frozen=True, slots=True)
class ExprLeaf(Node):
    """A resolved expression kept in a query shape: its template and the values it binds.

    The values take no part in equality or hashing, so two leaves of one shape are one cache
    key whatever their values. The compiler replaces a leaf by ``Bind(template, markers)``
    before rendering; rendering a leaf directly is a bug in the caller.
    """

    template: SQLNode
    values: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @property
    def count(self) -> int:
        """How many values the template binds."""
        return len(self.values)

    def as_sql(self, params: Params) -> str:
        raise QueryError(message="internal error: an expression was rendered without its values")


def _scoped(query: SQLNode, outer_name: str, params: Params) -> str:
    scopes = _SCOPES.get()
    visible = outer_name if not scopes else f"_sq{len(scopes)}"
    token = _SCOPES.set((*scopes, visible))
    try:
        return query.as_sql(params)
    finally:
        _SCOPES.reset(token)


@dataclass(frozen=True, slots=True)
class OuterColumn(Node):
    """``OuterRef(name)``: the column of the query enclosing the current subquery."""

    name: str

    def as_sql(self, params: Params) -> str:
        scopes = _SCOPES.get()
        if not scopes:
            raise QueryError(
                message=f"OuterRef({self.name!r}) is only valid inside Subquery()/Exists()",
            )
        return quote_qualified(scopes[-1], self.name)


@dataclass(frozen=True, slots=True)
class ScalarQuery(Node):
    """``(SELECT ...)``; ``outer_name`` is how the enclosing query names its table."""

    query: SQLNode
    outer_name: str

    def as_sql(self, params: Params) -> str:
        return "(" + _scoped(self.query, self.outer_name, params) + ")"


@dataclass(frozen=True, slots=True)
class ExistsQuery(Node):
    """``EXISTS (SELECT ...)`` or ``NOT EXISTS (...)``."""

    query: SQLNode
    outer_name: str
    negated: bool = False

    def as_sql(self, params: Params) -> str:
        head = "NOT EXISTS (" if self.negated else "EXISTS ("
        return head + _scoped(self.query, self.outer_name, params) + ")"


@dataclass(frozen=True, slots=True)
class InQuery(Node):
    """``column IN (SELECT ...)`` (``NOT IN`` when ``negated``)."""

    column: ColumnRef
    query: ScalarQuery
    negated: bool = False

    def as_sql(self, params: Params) -> str:
        op = " NOT IN " if self.negated else " IN "
        return _ref(self.column, params) + op + self.query.as_sql(params)


@dataclass(frozen=True, slots=True)
class RawPieces(Node):
    """Raw SQL split around its ``$n`` placeholders: ``pieces[0] $a pieces[1] $b ...``.

    ``slots[i]`` is the 0-based index of the value that the i-th placeholder reads, so the
    text is renumbered into the enclosing statement without editing SQL text.
    """

    pieces: tuple[str, ...]
    slots: tuple[int, ...]

    def as_sql(self, params: Params) -> str:
        markers = _MARKERS.get()
        out = [self.pieces[0]]
        for index, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append(params.add(markers[index]))
            out.append(piece)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class CTEList(Node):
    """``WITH [RECURSIVE] "a" AS (...), "b" AS (...)`` (no trailing space)."""

    items: tuple[tuple[str, SQLNode], ...]
    recursive: bool = False

    def as_sql(self, params: Params) -> str:
        parts = [
            quote_ident(name) + " AS (" + body.as_sql(params) + ")" for name, body in self.items
        ]
        return ("WITH RECURSIVE " if self.recursive else "WITH ") + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class WithQuery(Node):
    """``WITH ... <statement>``."""

    ctes: CTEList
    statement: SQLNode

    def as_sql(self, params: Params) -> str:
        return self.ctes.as_sql(params) + " " + self.statement.as_sql(params)
