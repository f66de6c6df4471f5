"""Aggregates (Sum, Avg, Min, Max, Count, StdDev, Variance), ``Window`` and window functions.

An aggregate in ``annotate()`` makes the query grouped (see ``_expression_methods``); inside
``Window(...)`` it is computed over the window instead. Window functions (RowNumber, Rank, ...)
are only valid inside ``Window``. The window frame is SQL text, so it is checked against the
PostgreSQL frame grammar and re-spelled from the parsed words before it is used.
"""

from __future__ import annotations

import re
from typing import Any

from matrx_orm_core.exceptions import QueryUsageError, ValidationError
from matrx_orm_core.fields.base import Field, OrderBy
from matrx_orm_core.sql import ColumnRef, Node, OrderTerm

from ._sqlnodes import Call, CastAs, Over
from .expressions import BaseExpression, OrderedExpression, Resolver, check_output_field

__all__ = [
    "Aggregate",
    "Avg",
    "Count",
    "CumeDist",
    "DenseRank",
    "FirstValue",
    "Lag",
    "LastValue",
    "Lead",
    "Max",
    "Min",
    "NthValue",
    "Ntile",
    "PercentRank",
    "Rank",
    "RowNumber",
    "StdDev",
    "Sum",
    "Variance",
    "Window",
    "WindowFunction",
    "parse_frame",
]


class Aggregate(BaseExpression):
    """``FN([DISTINCT] x)``; the base of the aggregates.

    Args:
        field: A column name or an expression (``Count`` also takes none: ``COUNT(*)``).
        distinct: Aggregate distinct values only.
        output_field: A field instance whose ``from_db_value`` loads the result (``Min`` and
            ``Max`` otherwise take their argument's field; the others have a fixed type).

    Raises:
        QueryUsageError: No field (except for ``Count``).
        ValidationError: ``distinct`` is not a bool, or ``output_field`` not a field instance.
    """

    function = ""
    __slots__ = ("distinct", "field", "output_field")

    def __init__(
        self, field: Any = None, *, distinct: bool = False, output_field: Any = None
    ) -> None:
        if field is None and not isinstance(self, Count):
            raise QueryUsageError(message=f"{type(self).__name__}() needs a field or expression")
        if type(distinct) is not bool:
            raise ValidationError(field="distinct", value=distinct, reason="distinct= takes a bool")
        self.field = field
        self.distinct = distinct
        self.output_field = check_output_field(output_field, type(self).__name__)

    def resolve(self, resolver: Resolver) -> Node:
        resolver.aggregate = True
        if self.field is None or self.field == "*":
            if self.distinct:
                raise QueryUsageError(message="Count(distinct=True) needs a field")
            return Call(self.function, star=True)
        return Call(self.function, (resolver.arg(self.field),), self.distinct)

    def resolve_output_field(self, resolver: Resolver) -> Field[Any] | None:
        if self.output_field is not None:
            return self.output_field
        return resolver.output_of(self.field) if self.output_from_first else None

    def __repr__(self) -> str:
        extra = ", distinct=True" if self.distinct else ""
        return f"{type(self).__name__}({self.field!r}{extra})"


class Sum(Aggregate):
    """``SUM(x)`` (``None`` over no rows)."""

    function = "SUM"


class Avg(Aggregate):
    """``AVG(x)`` (a ``Decimal`` for integer and numeric columns)."""

    function = "AVG"


class Min(Aggregate):
    """``MIN(x)``."""

    function = "MIN"
    output_from_first = True


class Max(Aggregate):
    """``MAX(x)``."""

    function = "MAX"
    output_from_first = True


class Count(Aggregate):
    """``COUNT(x)``, ``COUNT(DISTINCT x)``, or ``COUNT(*)`` without a field (an ``int``)."""

    function = "COUNT"


class StdDev(Aggregate):
    """``STDDEV(x)`` (sample standard deviation)."""

    function = "STDDEV"


class Variance(Aggregate):
    """``VARIANCE(x)`` (sample variance)."""

    function = "VARIANCE"


class WindowFunction(BaseExpression):
    """A function that is only valid inside ``Window(...)``."""

    function = ""
    __slots__ = ("args",)

    def __init__(self, *args: Any) -> None:
        self.args = args

    def resolve(self, resolver: Resolver) -> Node:
        raise QueryUsageError(
            message=(
                f"{type(self).__name__}() is a window function; wrap it: "
                f"Window({type(self).__name__}(...), order_by=...)"
            ),
        )

    def resolve_window(self, resolver: Resolver) -> Node:
        """The call node, for ``Window``."""
        return Call(self.function, tuple([resolver.arg(arg) for arg in self.args]))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(a) for a in self.args)})"


def _count(value: Any, what: str, minimum: int) -> int:
    if type(value) is not int or value < minimum:
        raise ValidationError(field=what, value=value, reason=f"{what} must be an int >= {minimum}")
    return value


class RowNumber(WindowFunction):
    """``ROW_NUMBER()``: 1, 2, 3, ... within the partition."""

    function = "ROW_NUMBER"

    def __init__(self) -> None:
        super().__init__()


class Rank(WindowFunction):
    """``RANK()``: ties share a rank, with gaps after them."""

    function = "RANK"

    def __init__(self) -> None:
        super().__init__()


class DenseRank(WindowFunction):
    """``DENSE_RANK()``: ties share a rank, without gaps."""

    function = "DENSE_RANK"

    def __init__(self) -> None:
        super().__init__()


class CumeDist(WindowFunction):
    """``CUME_DIST()``."""

    function = "CUME_DIST"

    def __init__(self) -> None:
        super().__init__()


class PercentRank(WindowFunction):
    """``PERCENT_RANK()``."""

    function = "PERCENT_RANK"

    def __init__(self) -> None:
        super().__init__()


class Ntile(WindowFunction):
    """``NTILE(n)``: the bucket number, 1..n."""

    function = "NTILE"

    def __init__(self, num_buckets: int) -> None:
        super().__init__(_count(num_buckets, "Ntile(num_buckets)", 1))

    def resolve_window(self, resolver: Resolver) -> Node:
        return Call(self.function, (CastAs(resolver.bind(self.args[0]), "integer"),))


class FirstValue(WindowFunction):
    """``FIRST_VALUE(x)``."""

    function = "FIRST_VALUE"
    output_from_first = True

    def __init__(self, field: Any) -> None:
        super().__init__(field)


class LastValue(WindowFunction):
    """``LAST_VALUE(x)`` (mind the default frame, which ends at the current row)."""

    function = "LAST_VALUE"
    output_from_first = True

    def __init__(self, field: Any) -> None:
        super().__init__(field)


class NthValue(WindowFunction):
    """``NTH_VALUE(x, n)``."""

    function = "NTH_VALUE"
    output_from_first = True

    def __init__(self, field: Any, n: int) -> None:
        super().__init__(field, _count(n, "NthValue(n)", 1))

    def resolve_window(self, resolver: Resolver) -> Node:
        nth = CastAs(resolver.bind(self.args[1]), "integer")
        return Call(self.function, (resolver.arg(self.args[0]), nth))


class Lag(WindowFunction):
    """``LAG(x, offset[, default])``: the value ``offset`` rows before; the default is bound."""

    function = "LAG"
    output_from_first = True

    def __init__(self, field: Any, offset: int = 1, default: Any = None) -> None:
        super().__init__(field, _count(offset, f"{type(self).__name__}(offset)", 0), default)

    def resolve_window(self, resolver: Resolver) -> Node:
        field, offset, default = self.args
        args: tuple[ColumnRef, ...] = (
            resolver.arg(field),
            CastAs(resolver.bind(offset), "integer"),
        )
        if default is not None:
            args += (resolver.operand(default),)
        return Call(self.function, args)


class Lead(Lag):
    """``LEAD(x, offset[, default])``: the value ``offset`` rows after."""

    function = "LEAD"


_BOUND = (
    r"(?:UNBOUNDED\s+PRECEDING|UNBOUNDED\s+FOLLOWING|CURRENT\s+ROW|\d+\s+PRECEDING|\d+\s+FOLLOWING)"
)
_FRAME = re.compile(
    rf"(ROWS|RANGE|GROUPS)\s+(?:BETWEEN\s+({_BOUND})\s+AND\s+({_BOUND})|({_BOUND}))"
    r"(?:\s+EXCLUDE\s+(CURRENT\s+ROW|GROUP|TIES|NO\s+OTHERS))?\Z",
    re.IGNORECASE,
)


def _words(text: str | None) -> str:
    return " ".join(text.upper().split()) if text else ""


def parse_frame(frame: Any) -> str:
    """Check a window frame against the PostgreSQL grammar and re-spell it.

    Returns:
        The frame in canonical spelling (upper case, single spaces).

    Raises:
        ValidationError: Not a frame clause (nothing is sent).
    """
    match = _FRAME.match(frame.strip()) if isinstance(frame, str) else None
    if match is None:
        raise ValidationError(
            field="frame",
            value=frame,
            reason=(
                f"Window(frame=...): {frame!r} is not a frame clause; write e.g. 'ROWS BETWEEN "
                "UNBOUNDED PRECEDING AND CURRENT ROW' ({ROWS|RANGE|GROUPS} [BETWEEN] bound "
                "[AND bound] [EXCLUDE ...])"
            ),
        )
    mode, start, end, single, exclude = match.groups()
    text = mode.upper() + " "
    text += f"BETWEEN {_words(start)} AND {_words(end)}" if start else _words(single)
    if exclude:
        text += " EXCLUDE " + _words(exclude)
    return text


def _names(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, BaseExpression, OrderedExpression)):
        return [value]
    return list(value)


class Window(BaseExpression):
    """``expr OVER (PARTITION BY ... ORDER BY ... frame)``.

    Args:
        expression: A window function or an aggregate.
        partition_by: A field name, an expression, or a list of them.
        order_by: ``"field"``, ``"-field"``, an expression, ``expr.desc()``, or a list.
        frame: A frame clause such as ``"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"``.

    Raises:
        QueryUsageError: ``expression`` is not a window function or aggregate.
        ValidationError: ``frame`` is not a frame clause.
    """

    __slots__ = ("expression", "frame", "order_by", "partition_by")

    def __init__(
        self,
        expression: Any,
        partition_by: Any = None,
        order_by: Any = None,
        frame: str | None = None,
    ) -> None:
        if not isinstance(expression, (WindowFunction, Aggregate)):
            raise QueryUsageError(
                message=(
                    f"Window() takes a window function (RowNumber(), Rank(), Lag(...), ...) or an "
                    f"aggregate (Sum(...), ...), got {expression!r}"
                ),
            )
        self.expression = expression
        self.partition_by = _names(partition_by)
        self.order_by = _names(order_by)
        self.frame = None if frame is None else parse_frame(frame)

    def _order(self, resolver: Resolver) -> tuple[OrderTerm, ...]:
        terms: list[OrderTerm] = []
        for term in self.order_by:
            if isinstance(term, OrderedExpression):
                terms.append((term.expression.resolve(resolver), term.descending))
            elif isinstance(term, BaseExpression):
                terms.append((term.resolve(resolver), False))
            elif isinstance(term, str):
                parsed = OrderBy.parse(term)
                terms.append((resolver.column(parsed.field_name), parsed.descending))
            else:
                resolver.column(term)  # raises the FieldError naming the valid names
        return tuple(terms)

    def resolve(self, resolver: Resolver) -> Node:
        grouped = resolver.aggregate
        expression = self.expression
        if isinstance(expression, WindowFunction):
            call = expression.resolve_window(resolver)
        else:
            call = expression.resolve(resolver)
        resolver.aggregate = grouped
        partition = tuple(
            [
                name.resolve(resolver)
                if isinstance(name, BaseExpression)
                else resolver.column(name)
                for name in self.partition_by
            ]
        )
        over = Over(call, partition, self._order(resolver), self.frame)
        resolver.window = True
        return over

    def resolve_output_field(self, resolver: Resolver) -> Field[Any] | None:
        return self.expression.resolve_output_field(resolver)

    def __repr__(self) -> str:
        return (
            f"Window({self.expression!r}, partition_by={self.partition_by!r}, "
            f"order_by={self.order_by!r}, frame={self.frame!r})"
        )
