"""The SQL compiler core: the parameter accumulator, the node protocol and the statement nodes.

Every node renders itself with ``as_sql(params)``: identifiers go through `quote_ident`, values
become ``$n`` placeholders through the one `Params` accumulator passed down the tree, and nodes
compose by rendering their children into the same accumulator in text order. Nothing ever edits
SQL text after it is rendered (no renumbering, no cutting clauses out of other statements).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._quoting import quote_ident, quote_qualified
from .exceptions import FieldError, ParameterError, QueryError, ValidationError

__all__ = [
    "COMPARE_OPS",
    "MAX_PARAMS",
    "BINARY_OPS",
    "And",
    "AnyOf",
    "Between",
    "BinaryOp",
    "Column",
    "ColumnRef",
    "Compare",
    "Count",
    "Delete",
    "Exists",
    "ForUpdate",
    "Identifier",
    "Insert",
    "IsNull",
    "Like",
    "Node",
    "Not",
    "Or",
    "OrderTerm",
    "Params",
    "Raw",
    "SQLNode",
    "Select",
    "SelectCount",
    "SelectExists",
    "Table",
    "Update",
    "Value",
    "compile_sql",
    "render_order_by",
]

MAX_PARAMS = 32767
"""Most ``$n`` parameters one statement may carry (asyncpg's limit; the server allows 65535)."""

COMPARE_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
"""The operators `Compare` accepts."""

BINARY_OPS = frozenset({"~", "~*", "?", "?|", "?&", "@>", "<@", "#>", "#>>", "->>"})
"""The operators `BinaryOp` accepts (regex match and the jsonb operators)."""

CASTS = frozenset({"jsonb", "text[]"})
"""The casts `BinaryOp` may put on its bound value."""


class Params:
    """Collects bound values in order and hands out their ``$n`` placeholders (1-based).

    One accumulator is shared by a whole statement, so numbering follows the text order in
    which nodes render.
    """

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: list[Any] = []

    def add(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder.

        Returns:
            ``"$n"``, where n is the 1-based position of ``value``.

        Raises:
            ParameterError: the statement would exceed `MAX_PARAMS` parameters.
        """
        values = self._values
        if len(values) >= MAX_PARAMS:
            raise ParameterError(
                reason=(
                    f"a statement may carry at most {MAX_PARAMS} bound parameters; split the "
                    "operation into smaller batches"
                ),
            )
        values.append(value)
        return f"${len(values)}"

    @property
    def values(self) -> list[Any]:
        """A copy of the bound values, in placeholder order."""
        return list(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params(<{len(self._values)} values>)"


@runtime_checkable
class SQLNode(Protocol):
    """Anything that renders to SQL text, binding its values into ``params``."""

    def as_sql(self, params: Params) -> str:
        """Render this node, adding every value it binds to ``params`` in text order."""
        ...


class Node:
    """Base class of the nodes in this module (and of the nodes later modules add).

    Where a node takes a value (`Compare`, `Insert` rows, `Update` assignments), an instance of
    `Node` is rendered as SQL; anything else is bound as a parameter. Only classes that inherit
    from `Node` get this treatment, never arbitrary objects that happen to have ``as_sql``.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def as_sql(self, params: Params) -> str: ...


ColumnRef = str | Node
"""A column name (quoted with `quote_ident`) or a node such as `Column` rendered as it is."""

OrderTerm = tuple[ColumnRef, bool]
"""``(column, descending)``."""


def compile_sql(node: SQLNode) -> tuple[str, tuple[Any, ...]]:
    """Render a statement with a fresh accumulator.

    Returns:
        ``(sql, params)``: SQL with ``$1..$n`` placeholders and the values in that order.

    Raises:
        FieldError: an identifier is invalid (see `quote_ident`).
        ParameterError: more than `MAX_PARAMS` values.
    """
    params = Params()
    sql = node.as_sql(params)
    return sql, tuple(params._values)


def _name(ref: ColumnRef, params: Params) -> str:
    if isinstance(ref, Node):
        return ref.as_sql(params)
    return quote_ident(ref)


def _value(value: Any, params: Params) -> str:
    if isinstance(value, Node):
        return value.as_sql(params)
    return params.add(value)


def _as_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return value if type(value) is tuple else tuple(value)


def render_order_by(terms: Iterable[OrderTerm], params: Params) -> str:
    """Render an ORDER BY list (without the keyword): ``"name" ASC, "id" DESC``.

    Args:
        terms: ``(column, descending)`` pairs; a column is a name or a `Node`.
        params: The statement's accumulator (a node column may bind values).

    Returns:
        The comma-separated list, or ``""`` when ``terms`` is empty.

    Raises:
        QueryError: a term is not a ``(column, bool)`` pair.
        FieldError: a column name is not a valid identifier.
    """
    parts: list[str] = []
    for term in terms:
        if type(term) is not tuple or len(term) != 2 or type(term[1]) is not bool:
            raise QueryError(
                message=(
                    f"order_by term {term!r} must be a (column, descending: bool) pair, "
                    'e.g. ("name", False)'
                ),
            )
        parts.append(_name(term[0], params) + (" DESC" if term[1] else " ASC"))
    return ", ".join(parts)


def _where(where: SQLNode | None, params: Params) -> str:
    return "" if where is None else " WHERE " + where.as_sql(params)


def _returning(returning: tuple[str, ...] | None) -> str:
    if not returning:
        return ""
    if returning == ("*",):
        return " RETURNING *"
    return " RETURNING " + ", ".join([quote_ident(name) for name in returning])


def _check_count(value: int | None, what: str) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise ValidationError(
            field=what,
            value=value,
            reason=f"{what} must be a non-negative int or None, got {value!r}",
        )


# --- names and values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identifier(Node):
    """One quoted identifier: ``"name"``."""

    name: str

    def as_sql(self, params: Params) -> str:
        return quote_ident(self.name)


@dataclass(frozen=True, slots=True)
class Table(Node):
    """A table, optionally schema-qualified: ``"schema"."name"`` or ``"name"``."""

    name: str
    schema: str | None = None

    def as_sql(self, params: Params) -> str:
        return quote_qualified(self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Column(Node):
    """A column, optionally qualified by a table or alias: ``"t"."name"`` or ``"name"``."""

    name: str
    table_alias: str | None = None

    def as_sql(self, params: Params) -> str:
        return quote_qualified(self.table_alias, self.name)


@dataclass(frozen=True, slots=True)
class Value(Node):
    """A bound parameter: renders ``$n`` and adds ``value`` to the accumulator."""

    value: Any

    def as_sql(self, params: Params) -> str:
        return params.add(self.value)


@dataclass(frozen=True, slots=True)
class Raw(Node):
    """SQL text rendered verbatim. Trusted ORM-internal text only, never user input."""

    sql: str

    def __post_init__(self) -> None:
        if not isinstance(self.sql, str):
            raise QueryError(message=f"Raw() takes SQL text, got {type(self.sql).__name__}")

    def as_sql(self, params: Params) -> str:
        return self.sql


# --- conditions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """``column op value`` with ``op`` in `COMPARE_OPS`; the value is bound (a `Node` renders).

    Raises:
        FieldError: ``op`` is not in `COMPARE_OPS`.
        ValidationError: ``value`` is None (SQL comparisons with NULL are never true; use
            `IsNull`, or ``Value(None)`` if a NULL parameter is really meant).
    """

    column: ColumnRef
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in COMPARE_OPS:
            raise FieldError(
                field=self.column if isinstance(self.column, str) else repr(self.column),
                reason=(
                    f"unsupported comparison operator {self.op!r}; use one of "
                    f"{', '.join(sorted(COMPARE_OPS))}"
                ),
            )
        if self.value is None:
            raise ValidationError(
                field=self.column if isinstance(self.column, str) else repr(self.column),
                reason=(
                    f"comparison {self.op!r} with None is never true in SQL; use "
                    "IsNull(column) / IsNull(column, negated=True)"
                ),
            )

    def as_sql(self, params: Params) -> str:
        return f"{_name(self.column, params)} {self.op} {_value(self.value, params)}"


@dataclass(frozen=True, slots=True)
class IsNull(Node):
    """``column IS NULL``, or ``column IS NOT NULL`` when ``negated``."""

    column: ColumnRef
    negated: bool = False

    def as_sql(self, params: Params) -> str:
        return _name(self.column, params) + (" IS NOT NULL" if self.negated else " IS NULL")


def _join(children: tuple[SQLNode, ...], sep: str, params: Params) -> str:
    return sep.join([child.as_sql(params) for child in children])


@dataclass(frozen=True, slots=True)
class And(Node):
    """Conjunction: no children → ``TRUE``; one → that child; more → ``(a AND b)``."""

    children: tuple[SQLNode, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", _as_tuple(self.children))

    def as_sql(self, params: Params) -> str:
        children = self.children
        if not children:
            return "TRUE"
        if len(children) == 1:
            return children[0].as_sql(params)
        return "(" + _join(children, " AND ", params) + ")"


@dataclass(frozen=True, slots=True)
class Or(Node):
    """Disjunction: no children → ``FALSE``; one → that child; more → ``(a OR b)``."""

    children: tuple[SQLNode, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", _as_tuple(self.children))

    def as_sql(self, params: Params) -> str:
        children = self.children
        if not children:
            return "FALSE"
        if len(children) == 1:
            return children[0].as_sql(params)
        return "(" + _join(children, " OR ", params) + ")"


@dataclass(frozen=True, slots=True)
class Not(Node):
    """Negation: ``NOT (child)``; an And/Or of 2+ children is not parenthesised twice."""

    child: SQLNode

    def as_sql(self, params: Params) -> str:
        child = self.child
        if isinstance(child, And) and len(child.children) > 1:
            return "NOT (" + _join(child.children, " AND ", params) + ")"
        if isinstance(child, Or) and len(child.children) > 1:
            return "NOT (" + _join(child.children, " OR ", params) + ")"
        return "NOT (" + child.as_sql(params) + ")"


@dataclass(frozen=True, slots=True)
class Like(Node):
    """``column LIKE $n ESCAPE '\\'`` (``ILIKE`` when ``case_insensitive``).

    The pattern is bound as it is: escaping ``%``, ``_`` and ``\\`` in user text is the
    caller's job (see ``matrx_orm_core.query.lookups.like_escape``).
    """

    column: ColumnRef
    pattern: Any
    case_insensitive: bool = False

    def as_sql(self, params: Params) -> str:
        op = " ILIKE " if self.case_insensitive else " LIKE "
        return _name(self.column, params) + op + _value(self.pattern, params) + " ESCAPE '\\'"


@dataclass(frozen=True, slots=True)
class AnyOf(Node):
    """``column = ANY($n)`` (one array parameter), or ``column <> ALL($n)`` when ``negated``.

    An empty array matches nothing (``= ANY``) or everything (``<> ALL``); callers that know the
    list is empty render ``FALSE``/``TRUE`` instead so the server never sees a pointless query.
    """

    column: ColumnRef
    values: Any
    negated: bool = False

    def as_sql(self, params: Params) -> str:
        op = " <> ALL(" if self.negated else " = ANY("
        return _name(self.column, params) + op + _value(self.values, params) + ")"


@dataclass(frozen=True, slots=True)
class Between(Node):
    """``column BETWEEN $n AND $m`` (both ends included)."""

    column: ColumnRef
    low: Any
    high: Any

    def as_sql(self, params: Params) -> str:
        column = _name(self.column, params)
        return column + " BETWEEN " + _value(self.low, params) + " AND " + _value(self.high, params)


@dataclass(frozen=True, slots=True)
class BinaryOp(Node):
    """``column op $n[::cast]`` for an operator in `BINARY_OPS` (jsonb and regex operators).

    Compose it with `IsNull` (``"f" #> $1 IS NOT NULL``) or `Compare`
    (``"f" #>> $1 = $2``) when the operator does not yield a boolean.

    Raises:
        QueryError: ``op`` is not in `BINARY_OPS` or ``cast`` is not in `CASTS`.
    """

    column: ColumnRef
    op: str
    value: Any
    cast: str | None = None

    def __post_init__(self) -> None:
        if self.op not in BINARY_OPS:
            raise QueryError(
                message=(
                    f"unsupported operator {self.op!r}; use one of {', '.join(sorted(BINARY_OPS))}"
                ),
            )
        if self.cast is not None and self.cast not in CASTS:
            raise QueryError(
                message=f"unsupported cast {self.cast!r}; use one of {', '.join(sorted(CASTS))}",
            )

    def as_sql(self, params: Params) -> str:
        value = _value(self.value, params)
        if self.cast is not None:
            value += "::" + self.cast
        return _name(self.column, params) + " " + self.op + " " + value


@dataclass(frozen=True, slots=True)
class ForUpdate(Node):
    """``FOR UPDATE [OF "t", ...] [NOWAIT | SKIP LOCKED]`` (NOWAIT wins when both are set)."""

    of: tuple[str, ...] = ()
    nowait: bool = False
    skip_locked: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "of", _as_tuple(self.of))

    def as_sql(self, params: Params) -> str:
        sql = "FOR UPDATE"
        if self.of:
            sql += " OF " + ", ".join([quote_ident(name) for name in self.of])
        if self.nowait:
            sql += " NOWAIT"
        elif self.skip_locked:
            sql += " SKIP LOCKED"
        return sql


# --- statements -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Select(Node):
    """``SELECT [DISTINCT [ON (...)]] cols FROM table [WHERE w] [GROUP BY ...] [HAVING h]
    [ORDER BY ...] [LIMIT $n] [OFFSET $m] [FOR UPDATE ...]``.

    ``columns=None`` selects ``*``. LIMIT and OFFSET are bound parameters (an int, or a `Node`
    such as ``Value(marker)``), so one statement text serves every page. ``distinct=True``
    renders ``DISTINCT``; a non-empty ``distinct_on`` renders ``DISTINCT ON (...)`` and, as
    PostgreSQL requires, the ORDER BY must start with those columns.

    Raises:
        QueryError: ``columns`` is an empty tuple, or ``distinct_on`` and ``order_by`` disagree.
        ValidationError: ``limit`` or ``offset`` is not a non-negative int.
    """

    table: Table
    columns: tuple[ColumnRef, ...] | None = None
    where: SQLNode | None = None
    order_by: tuple[OrderTerm, ...] = ()
    limit: int | Node | None = None
    offset: int | Node | None = None
    distinct: bool = False
    distinct_on: tuple[ColumnRef, ...] = ()
    for_update: ForUpdate | None = None
    group_by: tuple[ColumnRef, ...] = ()
    having: SQLNode | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_by", _as_tuple(self.group_by))
        if self.columns is not None:
            columns = _as_tuple(self.columns)
            if not columns:
                raise QueryError(
                    message="Select needs at least one column; pass columns=None for *",
                )
            object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "order_by", _as_tuple(self.order_by))
        distinct_on = _as_tuple(self.distinct_on)
        object.__setattr__(self, "distinct_on", distinct_on)
        if distinct_on and self.order_by:
            leading = tuple(term[0] for term in self.order_by[: len(distinct_on)])
            if set(leading) != set(distinct_on) or len(self.order_by) < len(distinct_on):
                raise QueryError(
                    message=(
                        f"SELECT DISTINCT ON {distinct_on!r} needs an ORDER BY that starts with "
                        f"those columns (PostgreSQL rule); got ORDER BY "
                        f"{tuple(term[0] for term in self.order_by)!r}"
                    ),
                )
        if not isinstance(self.limit, Node):
            _check_count(self.limit, "limit")
        if not isinstance(self.offset, Node):
            _check_count(self.offset, "offset")

    def as_sql(self, params: Params) -> str:
        if self.columns is None:
            cols = "*"
        else:
            cols = ", ".join([_name(col, params) for col in self.columns])
        head = "SELECT "
        if self.distinct_on:
            head += "DISTINCT ON (" + ", ".join([_name(c, params) for c in self.distinct_on]) + ") "
        elif self.distinct:
            head += "DISTINCT "
        sql = head + cols + " FROM " + self.table.as_sql(params) + _where(self.where, params)
        if self.group_by:
            sql += " GROUP BY " + ", ".join([_name(ref, params) for ref in self.group_by])
        if self.having is not None:
            sql += " HAVING " + self.having.as_sql(params)
        if self.order_by:
            sql += " ORDER BY " + render_order_by(self.order_by, params)
        if self.limit is not None:
            sql += " LIMIT " + _value(self.limit, params)
        if self.offset is not None:
            sql += " OFFSET " + _value(self.offset, params)
        if self.for_update is not None:
            sql += " " + self.for_update.as_sql(params)
        return sql


@dataclass(frozen=True, slots=True)
class SelectCount(Node):
    """``SELECT count(*) FROM (query) AS "_q"``: counts what a whole query returns (DISTINCT,
    LIMIT and OFFSET included)."""

    query: Node

    def as_sql(self, params: Params) -> str:
        return "SELECT count(*) FROM (" + self.query.as_sql(params) + ') AS "_q"'


@dataclass(frozen=True, slots=True)
class SelectExists(Node):
    """``SELECT EXISTS(query)``."""

    query: Node

    def as_sql(self, params: Params) -> str:
        return "SELECT EXISTS(" + self.query.as_sql(params) + ")"


@dataclass(frozen=True, slots=True)
class Count(Node):
    """``SELECT count(*) FROM table [WHERE w]``."""

    table: Table
    where: SQLNode | None = None

    def as_sql(self, params: Params) -> str:
        return "SELECT count(*) FROM " + self.table.as_sql(params) + _where(self.where, params)


@dataclass(frozen=True, slots=True)
class Exists(Node):
    """``SELECT EXISTS(SELECT 1 FROM table [WHERE w])``."""

    table: Table
    where: SQLNode | None = None

    def as_sql(self, params: Params) -> str:
        inner = "SELECT 1 FROM " + self.table.as_sql(params) + _where(self.where, params)
        return "SELECT EXISTS(" + inner + ")"


@dataclass(frozen=True, slots=True)
class Insert(Node):
    """``INSERT INTO table (cols) VALUES ($1, $2), ($3, $4) [RETURNING ...]``.

    An empty ``columns`` tuple renders ``INSERT INTO table DEFAULT VALUES`` (one row). A value
    that is a `Node` renders as SQL (``Raw("DEFAULT")``); anything else is bound.
    ``returning=("*",)`` renders ``RETURNING *``.

    Raises:
        QueryError: no rows, a row whose length differs from ``columns``, or more than one row
            with no columns.
    """

    table: Table
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    returning: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        columns = _as_tuple(self.columns)
        rows = tuple([_as_tuple(row) for row in self.rows])
        width = len(columns)
        if width == 0:
            if len(rows) > 1 or (rows and rows[0]):
                raise QueryError(
                    message=(
                        f"INSERT INTO {self.table.name!r} with no columns inserts one row of "
                        "defaults (DEFAULT VALUES); give columns to insert several rows"
                    ),
                )
        else:
            if not rows:
                raise QueryError(
                    message=f"INSERT INTO {self.table.name!r} needs at least one row of values",
                )
            for index, row in enumerate(rows):
                if len(row) != width:
                    raise QueryError(
                        message=(
                            f"INSERT INTO {self.table.name!r}: row {index} has {len(row)} "
                            f"values for {width} columns {columns!r}"
                        ),
                    )
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", rows)
        if self.returning is not None:
            object.__setattr__(self, "returning", _as_tuple(self.returning))

    def as_sql(self, params: Params) -> str:
        head = "INSERT INTO " + self.table.as_sql(params)
        if not self.columns:
            return head + " DEFAULT VALUES" + _returning(self.returning)
        cols = ", ".join([quote_ident(col) for col in self.columns])
        groups = [
            "(" + ", ".join([_value(value, params) for value in row]) + ")" for row in self.rows
        ]
        return head + " (" + cols + ") VALUES " + ", ".join(groups) + _returning(self.returning)


@dataclass(frozen=True, slots=True)
class Update(Node):
    """``UPDATE table SET "a" = $1, ... [WHERE w] [RETURNING ...]``.

    A value that is a `Node` renders as SQL; anything else is bound.

    Raises:
        QueryError: no assignments.
    """

    table: Table
    assignments: tuple[tuple[str, Any], ...]
    where: SQLNode | None = None
    returning: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        assignments = _as_tuple(self.assignments)
        if not assignments:
            raise QueryError(
                message=f"UPDATE {self.table.name!r} needs at least one column to set",
            )
        object.__setattr__(self, "assignments", assignments)
        if self.returning is not None:
            object.__setattr__(self, "returning", _as_tuple(self.returning))

    def as_sql(self, params: Params) -> str:
        sets = ", ".join(
            [quote_ident(col) + " = " + _value(value, params) for col, value in self.assignments]
        )
        return (
            "UPDATE "
            + self.table.as_sql(params)
            + " SET "
            + sets
            + _where(self.where, params)
            + _returning(self.returning)
        )


@dataclass(frozen=True, slots=True)
class Delete(Node):
    """``DELETE FROM table [WHERE w] [RETURNING ...]``."""

    table: Table
    where: SQLNode | None = None
    returning: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.returning is not None:
            object.__setattr__(self, "returning", _as_tuple(self.returning))

    def as_sql(self, params: Params) -> str:
        return (
            "DELETE FROM "
            + self.table.as_sql(params)
            + _where(self.where, params)
            + _returning(self.returning)
        )
