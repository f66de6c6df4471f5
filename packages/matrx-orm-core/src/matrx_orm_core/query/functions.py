"""SQL functions: ``Func`` and the built-ins (Coalesce, Lower, Upper, Length, Trim, Now, Concat,
Greatest, Least, Abs, Round, Cast, Extract, DateTrunc).

Arguments follow one rule: a ``str`` is a column (field or annotation) name, an expression is
nested, anything else is bound as a parameter with a cast from its Python type (use
``Value("text")`` for a literal string); in ``Coalesce``/``Greatest``/``Least`` a bound
``datetime``/``time`` takes the time zone variant of the other arguments' field. ``Cast``
types and ``Extract`` parts are checked against allow-lists, since PostgreSQL cannot bind them
as parameters.
"""

from __future__ import annotations

import re
from typing import Any

from matrx_orm_core.exceptions import QueryUsageError, ValidationError
from matrx_orm_core.sql import Node

from ._sqlnodes import FUNCTION_NAME, Call, CastAs, ExtractFrom
from .expressions import BaseExpression, Resolver, check_output_field

__all__ = [
    "CAST_TYPES",
    "EXTRACT_PARTS",
    "TRUNC_PRECISIONS",
    "Abs",
    "Cast",
    "Coalesce",
    "Concat",
    "DateTrunc",
    "Extract",
    "Func",
    "Greatest",
    "Least",
    "Length",
    "Lower",
    "Now",
    "Round",
    "Trim",
    "Upper",
]

CAST_TYPES = frozenset(
    {
        "smallint",
        "integer",
        "int",
        "bigint",
        "numeric",
        "decimal",
        "real",
        "double precision",
        "float",
        "text",
        "varchar",
        "char",
        "character varying",
        "boolean",
        "bool",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "uuid",
        "json",
        "jsonb",
        "bytea",
        "inet",
        "cidr",
        "macaddr",
    }
)
"""The base types ``Cast`` accepts (optionally with ``(n)``/``(p, s)`` and ``[]``)."""

EXTRACT_PARTS = frozenset(
    {
        "century",
        "day",
        "decade",
        "dow",
        "doy",
        "epoch",
        "hour",
        "isodow",
        "isoyear",
        "julian",
        "microseconds",
        "millennium",
        "milliseconds",
        "minute",
        "month",
        "quarter",
        "second",
        "timezone",
        "timezone_hour",
        "timezone_minute",
        "week",
        "year",
    }
)
"""The fields ``Extract`` accepts."""

TRUNC_PRECISIONS = frozenset(
    {
        "microseconds",
        "milliseconds",
        "second",
        "minute",
        "hour",
        "day",
        "week",
        "month",
        "quarter",
        "year",
        "decade",
        "century",
        "millennium",
    }
)
"""The precisions ``DateTrunc`` accepts."""

_CAST = re.compile(r"([a-z ]+?)\s*(\(\s*\d+\s*(?:,\s*\d+\s*)?\))?\s*((?:\[\])*)\Z")


class Func(BaseExpression):
    """A SQL function call ``FUNCTION(arg, ...)``. Subclass it and set ``function`` to call a
    function this module does not cover (the name must be a plain identifier).

    Args:
        *args: Column names, expressions or values (see the module docstring).
        output_field: A field instance whose ``from_db_value`` loads the result (overrides the
            rule of the function: ``Coalesce``/``Greatest``/``Least`` take their first
            argument's field, the others have a fixed type that needs no conversion).

    Raises:
        QueryUsageError: The wrong number of arguments.
        ValidationError: ``output_field`` is not a field instance.
    """

    function = ""
    arity: int | None = None
    __slots__ = ("args", "output_field")

    def __init__(self, *args: Any, output_field: Any = None) -> None:
        if self.arity is not None and len(args) != self.arity:
            raise QueryUsageError(
                message=(
                    f"{type(self).__name__}() takes {self.arity} argument(s), got {len(args)}"
                ),
            )
        self.args = args
        self.output_field = check_output_field(output_field, type(self).__name__)

    def resolve(self, resolver: Resolver) -> Node:
        if not FUNCTION_NAME.match(self.function):
            raise QueryUsageError(
                message=(
                    f"{type(self).__name__}.function = {self.function!r} is not a plain SQL "
                    "function name; set it to an identifier such as 'lower'"
                ),
            )
        # Arguments of a function whose result has its arguments' common type (Coalesce,
        # Greatest, Least) are combined: a bound one is typed next to the others' field.
        sibling = resolver.sibling_of(self.args) if self.output_from_first else None
        return Call(self.function.upper(), tuple([resolver.arg(arg, sibling) for arg in self.args]))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(a) for a in self.args)})"


class _AtLeastOne(Func):
    def __init__(self, *args: Any, output_field: Any = None) -> None:
        if not args:
            raise QueryUsageError(message=f"{type(self).__name__}() needs at least one argument")
        super().__init__(*args, output_field=output_field)


class Coalesce(_AtLeastOne):
    """``COALESCE(a, b, ...)``: the first argument that is not NULL."""

    function = "coalesce"
    output_from_first = True


class Concat(_AtLeastOne):
    """``CONCAT(a, b, ...)`` (NULL arguments are skipped)."""

    function = "concat"


class Greatest(_AtLeastOne):
    """``GREATEST(a, b, ...)``."""

    function = "greatest"
    output_from_first = True


class Least(_AtLeastOne):
    """``LEAST(a, b, ...)``."""

    function = "least"
    output_from_first = True


class Lower(Func):
    """``LOWER(x)``."""

    function = "lower"
    arity = 1


class Upper(Func):
    """``UPPER(x)``."""

    function = "upper"
    arity = 1


class Length(Func):
    """``LENGTH(x)``."""

    function = "length"
    arity = 1


class Trim(Func):
    """``TRIM(x)``: leading and trailing spaces removed."""

    function = "trim"
    arity = 1


class Abs(Func):
    """``ABS(x)``."""

    function = "abs"
    arity = 1


class Now(Func):
    """``NOW()``: the transaction's start time."""

    function = "now"
    arity = 0


class Round(Func):
    """``ROUND(x)``, or ``ROUND(CAST(x AS numeric), places)`` with ``places``."""

    function = "round"
    __slots__ = ("places",)

    def __init__(self, expression: Any, places: int = 0, *, output_field: Any = None) -> None:
        if type(places) is not int:
            raise ValidationError(
                field="places", value=places, reason="Round(places=) takes an int"
            )
        super().__init__(expression, output_field=output_field)
        self.places = places

    def resolve(self, resolver: Resolver) -> Node:
        value = resolver.arg(self.args[0])
        if not self.places:
            return Call("ROUND", (value,))
        return Call(
            "ROUND", (CastAs(value, "numeric"), CastAs(resolver.bind(self.places), "integer"))
        )


def _cast_type(as_type: Any) -> str:
    text = as_type.strip().lower() if isinstance(as_type, str) else ""
    match = _CAST.match(text)
    if match is None or " ".join(match.group(1).split()) not in CAST_TYPES:
        raise ValidationError(
            field="as_type",
            value=as_type,
            reason=(
                f"Cast(): unsupported type {as_type!r}; use one of {', '.join(sorted(CAST_TYPES))} "
                "(optionally with (n) or (p, s) and [])"
            ),
        )
    base = " ".join(match.group(1).split())
    size = re.sub(r"\s+", "", match.group(2) or "").replace(",", ", ")
    return base + size + (match.group(3) or "")


class Cast(Func):
    """``CAST(x AS type)``; ``as_type`` is checked against `CAST_TYPES` when ``Cast`` is built."""

    __slots__ = ("as_type",)

    def __init__(self, expression: Any, as_type: str, *, output_field: Any = None) -> None:
        super().__init__(expression, output_field=output_field)
        self.as_type = _cast_type(as_type)

    def resolve(self, resolver: Resolver) -> Node:
        return CastAs(resolver.arg(self.args[0]), self.as_type)


def _part(value: Any, allowed: frozenset[str], what: str) -> str:
    text = value.lower() if isinstance(value, str) else ""
    if text not in allowed:
        raise ValidationError(
            field=what,
            value=value,
            reason=f"unsupported {what} {value!r}; use one of {', '.join(sorted(allowed))}",
        )
    return text


class Extract(Func):
    """``EXTRACT(PART FROM x)``; ``part`` is checked against `EXTRACT_PARTS`."""

    __slots__ = ("part",)

    def __init__(self, part: str, expression: Any, *, output_field: Any = None) -> None:
        super().__init__(expression, output_field=output_field)
        self.part = _part(part, EXTRACT_PARTS, "Extract part").upper()

    def resolve(self, resolver: Resolver) -> Node:
        return ExtractFrom(self.part, resolver.arg(self.args[0]))


class DateTrunc(Func):
    """``DATE_TRUNC($n, x)``; ``precision`` is checked against `TRUNC_PRECISIONS` and bound."""

    __slots__ = ("precision",)

    def __init__(self, precision: str, expression: Any, *, output_field: Any = None) -> None:
        super().__init__(expression, output_field=output_field)
        self.precision = _part(precision, TRUNC_PRECISIONS, "DateTrunc precision")

    def resolve(self, resolver: Resolver) -> Node:
        precision = CastAs(resolver.bind(self.precision), "text")
        return Call("DATE_TRUNC", (precision, resolver.arg(self.args[0])))
