"""Expressions: ``F``, ``Value``, arithmetic, ``Q``, ``OuterRef``, ``Subquery`` and ``Exists``.

An expression is a user-facing description. It is *resolved* against a model when a chain
method is called (names checked, values bound): `Resolver` turns it into a template node (see
``_sqlnodes``) plus the tuple of values it binds. Functions, aggregates and window functions
live in ``functions``, ``aggregates`` and ``window``; they follow the same protocol.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from matrx_orm_core.exceptions import FieldError, QueryError, QueryUsageError, ValidationError
from matrx_orm_core.fields.base import Field
from matrx_orm_core.fields.relations import _SERIAL_TYPES
from matrx_orm_core.fields.temporal import DateTimeField, TimeField
from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.models._bulk_sql import _CAST_TYPE
from matrx_orm_core.sql import And, Column, Node, Not, Or, Raw, SQLNode

from ._sqlnodes import (
    Arith,
    CastAs,
    ExistsQuery,
    Negate,
    OuterColumn,
    ScalarQuery,
    Shift,
    Slot,
)

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model
    from matrx_orm_core.models.options import LoadConverter

    from .builder import QueryBuilder

__all__ = [
    "ARITH_OPS",
    "Annotation",
    "BaseExpression",
    "Exists",
    "Expression",
    "F",
    "OrderedExpression",
    "OuterRef",
    "Q",
    "Resolver",
    "Subquery",
    "Value",
    "annotation_converters",
    "check_alias",
    "check_output_field",
]

ARITH_OPS = ("+", "-", "*", "/", "%")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_PY_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "bigint"),
    (float, "double precision"),
    (Decimal, "numeric"),
    (str, "text"),
    (bytes, "bytea"),
    (date, "date"),
    (timedelta, "interval"),
)
"""Cast types by Python kind. ``datetime`` and ``time`` are not here: their type also depends on
the time zone (see `temporal_type`)."""


def temporal_type(
    value: datetime | time, sibling: Field[Any] | None
) -> tuple[str, Field[Any] | None]:
    """The cast type of a bound ``datetime``/``time``, and the field that converts it.

    Next to a ``DateTimeField``/``TimeField`` (the sibling it is combined with), the value takes
    that field's variant (``timestamp`` or ``timestamptz``; ``time`` or ``timetz``) and is
    converted the way the field converts input, so ``COALESCE(naive_col, $1)`` stays naive.
    Otherwise a naive value is ``timestamp``/``time`` and an aware one ``timestamptz``/``timetz``.

    Returns:
        ``(type, field)``; ``field`` is ``None`` when the value binds as it is.
    """
    if isinstance(value, datetime):
        if isinstance(sibling, DateTimeField):
            return ("timestamptz" if sibling.timezone else "timestamp"), sibling
        return ("timestamp" if value.utcoffset() is None else "timestamptz"), None
    if isinstance(sibling, TimeField):
        return ("timetz" if sibling.timezone else "time"), sibling
    return ("time" if value.utcoffset() is None else "timetz"), None


def column_cast_type(field: Field[Any], owner: str) -> str:
    """The type a value cast to ``field``'s column uses (``serial`` types as their integer).

    Raises:
        ValidationError: The field's ``db_type`` is not a plain type name.
    """
    db_type = field.db_type
    db_type = _SERIAL_TYPES.get(db_type.lower(), db_type)
    if not _CAST_TYPE.fullmatch(db_type):
        raise ValidationError(
            field="output_field",
            value=field,
            reason=(
                f"{owner}(output_field=...): db_type {db_type!r} cannot be used in a type cast; "
                "use a field with a plain PostgreSQL type name such as 'varchar(100)'"
            ),
        )
    return db_type


def check_alias(model: type[Model], alias: Any, what: str, operation: str) -> str:
    """Check a name the user chooses (annotation alias, CTE name): a plain ASCII identifier of
    at most 63 characters.

    Returns:
        ``alias``.

    Raises:
        FieldError: Anything else (nothing is sent).
    """
    if not isinstance(alias, str) or not _ALIAS.match(alias) or len(alias) > 63:
        reason = (
            f"{model.__name__}.{operation}(): {what} {alias!r} is not a plain identifier; use "
            "letters, digits and underscores (not starting with a digit), at most 63 characters."
        )
        raise _p.field_error(model, alias if isinstance(alias, str) else repr(alias), reason)
    return alias


def check_output_field(value: Any, owner: str) -> Field[Any] | None:
    """Check an ``output_field=`` argument: ``None`` or a field instance.

    Returns:
        ``value``.

    Raises:
        ValidationError: Anything else, such as a field class that was not instantiated.
    """
    if value is None or isinstance(value, Field):
        return value
    hint = (
        f"; instantiate it: output_field={value.__name__}(...)"
        if isinstance(value, type) and issubclass(value, Field)
        else ""
    )
    raise ValidationError(
        field="output_field",
        value=value,
        reason=(
            f"{owner}(output_field=...) takes a field instance such as EnumField(Status) or "
            f"DateTimeField(timezone=False), got {value!r}{hint}"
        ),
    )


class Annotation(NamedTuple):
    """A resolved annotation: its template, its values, its kind and the field its values
    load through (``None``: the driver's value is final)."""

    template: SQLNode
    values: tuple[Any, ...]
    aggregate: bool
    window: bool
    output_field: Field[Any] | None = None


def annotation_converters(
    annotations: Mapping[str, Annotation], names: Iterable[str]
) -> dict[str, LoadConverter]:
    """``{alias: output_field.from_db_value}`` for the annotations among ``names`` whose output
    field needs load conversion (empty in the common case, so callers skip per-row work)."""
    converters: dict[str, LoadConverter] = {}
    for name in names:
        annotation = annotations.get(name)
        field = None if annotation is None else annotation.output_field
        if field is not None and field.needs_load_conversion:
            converters[name] = field.from_db_value
    return converters


class Resolver:
    """Resolves expressions against one model: checks names and collects bound values.

    Args:
        model: The model the expression reads.
        operation: The chain method, for error messages.
        annotations: Annotation aliases the expression may reference.
    """

    __slots__ = ("aggregate", "annotations", "model", "operation", "outer_refs", "values", "window")

    def __init__(
        self,
        model: type[Model],
        operation: str,
        annotations: Mapping[str, Annotation] | None = None,
    ) -> None:
        self.model = model
        self.operation = operation
        self.annotations: Mapping[str, Annotation] = annotations or {}
        self.values: list[Any] = []
        self.aggregate = False
        self.window = False
        self.outer_refs: set[str] = set()

    def bind(self, value: Any) -> Slot:
        """Bind ``value`` as it is (the server infers its type from the context).

        Returns:
            The slot that renders its placeholder.
        """
        self.values.append(value)
        return Slot(len(self.values) - 1)

    def typed(self, value: Any, sibling: Field[Any] | None = None) -> Node:
        """Bind ``value`` with a cast from its Python kind (for places with no context, such as
        function arguments); ``None`` renders ``NULL``. A ``datetime``/``time`` takes its time
        zone variant from ``sibling``, the field of the expression it is combined with, when
        that is a temporal field (see `temporal_type`).

        The cast type is part of the template, so the SQL text (and its cache key) varies only
        with the value's kind (and, for a ``datetime``/``time`` with no sibling, with whether
        it is aware), never with the value itself.

        Returns:
            The node.
        """
        if value is None:
            return Raw("NULL")
        if isinstance(value, (datetime, time)):
            pg_type, converter = temporal_type(value, sibling)
            if converter is not None:
                value = converter.get_db_prep_value(value)
            return CastAs(self.bind(value), pg_type)
        for kind, pg_type in _PY_TYPES:
            if isinstance(value, kind):
                return CastAs(self.bind(value), pg_type)
        return self.bind(value)

    def as_field(self, value: Any, field: Field[Any]) -> Node:
        """Bind ``value`` converted by ``field`` and cast to its column type
        (``Value(x, output_field=field)``); ``None`` renders ``NULL``.

        Returns:
            The node.

        Raises:
            ValidationError: ``field`` rejects the value, or its type cannot be cast to.
        """
        if value is None:
            return Raw("NULL")
        pg_type = column_cast_type(field, "Value")
        return CastAs(self.bind(field.get_db_prep_value(value)), pg_type)

    def embed(self, template: SQLNode, values: tuple[Any, ...]) -> Node:
        """Embed a template that has its own values.

        Returns:
            The template, shifted to where its values now start.
        """
        base = len(self.values)
        self.values.extend(values)
        return Shift(template, base, len(values))

    def column(self, name: Any) -> Node:
        """A field or annotation reference.

        Returns:
            The column name (a field) or the annotation's expression.

        Raises:
            FieldError: Not a field or annotation of the model.
        """
        fields = self.model._meta.fields
        if isinstance(name, str):
            if name in fields:
                return Column(name)
            annotation = self.annotations.get(name)
            if annotation is not None:
                self.aggregate = self.aggregate or annotation.aggregate
                self.window = self.window or annotation.window
                return self.embed(annotation.template, annotation.values)
        cls = self.model
        known = ", ".join([*fields, *self.annotations])
        reason = (
            f"{cls.__name__}.{self.operation}(): {name!r} is not a field or annotation of "
            f"{cls.__name__}. Valid names: {known}."
        )
        raise _p.field_error(cls, name if isinstance(name, str) else repr(name), reason)

    def field_of(self, name: Any) -> Field[Any] | None:
        """The field a column name reads (a model field, or an annotation's output field).

        Returns:
            The field, or ``None`` for an unknown name or an annotation without one.
        """
        if not isinstance(name, str):
            return None
        field = self.model._meta.fields.get(name)
        if field is not None:
            return field
        annotation = self.annotations.get(name)
        return None if annotation is None else annotation.output_field

    def output_of(self, value: Any) -> Field[Any] | None:
        """The output field of a function argument (see `arg`): a column's field, an
        expression's output field, ``None`` for a bound value.

        Returns:
            The field or ``None``.
        """
        if isinstance(value, str):
            return self.field_of(value)
        if isinstance(value, BaseExpression):
            return value.resolve_output_field(self)
        return None

    def sibling_of(self, values: Iterable[Any]) -> Field[Any] | None:
        """The output field of the first of ``values`` (the arguments or operands combined
        together) that is a column or an expression with a known one; bound values and plain
        ``Value`` s give none.

        Returns:
            The field or ``None``.
        """
        for value in values:
            if isinstance(value, str) or (
                isinstance(value, BaseExpression) and not isinstance(value, Value)
            ):
                field = self.output_of(value)
                if field is not None:
                    return field
        return None

    def arg(self, value: Any, sibling: Field[Any] | None = None) -> Node:
        """A function argument: a string is a column name, an expression is resolved, anything
        else is bound with a cast from its Python type (see `typed`; ``sibling`` is the field
        of the arguments it is combined with).

        Returns:
            The node or column name.
        """
        if isinstance(value, str):
            return self.column(value)
        if isinstance(value, Value):
            return value.resolve_next_to(self, sibling)
        if isinstance(value, BaseExpression):
            return value.resolve(self)
        return self.typed(value, sibling)

    def operand(self, value: Any, sibling: Field[Any] | None = None) -> Node:
        """An arithmetic or comparison operand: an expression is resolved (a ``Value`` typed
        next to ``sibling``, the other side's field), anything else is bound as it is (the
        server takes its type from the other side).

        Returns:
            The node.
        """
        if isinstance(value, Value):
            return value.resolve_next_to(self, sibling)
        if isinstance(value, BaseExpression):
            return value.resolve(self)
        if isinstance(value, (Q, str)):
            raise QueryUsageError(
                message=(
                    f"{self.model.__name__}.{self.operation}(): {value!r} cannot be an arithmetic "
                    "operand; use F('name') for a column or Value('text') for a string"
                ),
                model=self.model,
            )
        return self.bind(value)


class BaseExpression(ABC):
    """Base of every expression; supports ``+ - * / %`` (both ways), unary ``-``, ``asc()`` and
    ``desc()``."""

    __slots__ = ()

    output_from_first: ClassVar[bool] = False
    """Whether the result has the type of the first argument (``Coalesce``, ``Max``, ``Lag``):
    its output field is then the first argument's."""

    @abstractmethod
    def resolve(self, resolver: Resolver) -> Node:
        """The template node of this expression (names checked, values bound)."""

    def resolve_output_field(self, resolver: Resolver) -> Field[Any] | None:
        """The field whose ``from_db_value`` loads this expression's values: an explicit
        ``output_field=``, else the first argument's when `output_from_first`, else ``None``
        (a fixed type the driver already returns as the final Python value).

        Returns:
            The field or ``None``.
        """
        explicit: Field[Any] | None = getattr(self, "output_field", None)
        if explicit is not None:
            return explicit
        if self.output_from_first:
            args: tuple[Any, ...] = getattr(self, "args", ())
            return resolver.output_of(args[0]) if args else None
        return None

    def _combine(self, op: str, other: Any, reverse: bool) -> Expression:
        return Expression(other, op, self) if reverse else Expression(self, op, other)

    def __add__(self, other: Any) -> Expression:
        return self._combine("+", other, False)

    def __radd__(self, other: Any) -> Expression:
        return self._combine("+", other, True)

    def __sub__(self, other: Any) -> Expression:
        return self._combine("-", other, False)

    def __rsub__(self, other: Any) -> Expression:
        return self._combine("-", other, True)

    def __mul__(self, other: Any) -> Expression:
        return self._combine("*", other, False)

    def __rmul__(self, other: Any) -> Expression:
        return self._combine("*", other, True)

    def __truediv__(self, other: Any) -> Expression:
        return self._combine("/", other, False)

    def __rtruediv__(self, other: Any) -> Expression:
        return self._combine("/", other, True)

    def __mod__(self, other: Any) -> Expression:
        return self._combine("%", other, False)

    def __rmod__(self, other: Any) -> Expression:
        return self._combine("%", other, True)

    def __neg__(self) -> Expression:
        return Expression(0, "neg", self)

    def asc(self) -> OrderedExpression:
        """Ascending ordering by this expression (for ``order_by``)."""
        return OrderedExpression(self, False)

    def desc(self) -> OrderedExpression:
        """Descending ordering by this expression (for ``order_by``)."""
        return OrderedExpression(self, True)


@dataclass(frozen=True, slots=True)
class OrderedExpression:
    """``order_by(expr.desc())``: an expression and a direction."""

    expression: BaseExpression
    descending: bool


class F(BaseExpression):
    """A reference to a field (or an annotation) of the queried model: ``F("views") + 1``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def resolve(self, resolver: Resolver) -> Node:
        return resolver.column(self.name)

    def resolve_output_field(self, resolver: Resolver) -> Field[Any] | None:
        return resolver.field_of(self.name)

    def __repr__(self) -> str:
        return f"F({self.name!r})"


class Value(BaseExpression):
    """A literal value, bound as a parameter (cast from its Python type): ``Value("n/a")``.

    Args:
        value: The value.
        output_field: A field instance whose ``from_db_value`` loads the result.
    """

    __slots__ = ("output_field", "value")

    def __init__(self, value: Any, *, output_field: Any = None) -> None:
        self.value = value
        self.output_field = check_output_field(output_field, "Value")

    def resolve(self, resolver: Resolver) -> Node:
        return self.resolve_next_to(resolver, None)

    def resolve_next_to(self, resolver: Resolver, sibling: Field[Any] | None) -> Node:
        """The bound value: cast to ``output_field``'s column type when given, else typed
        from its Python kind next to ``sibling`` (see `Resolver.typed`).

        Returns:
            The node.
        """
        if self.output_field is not None:
            return resolver.as_field(self.value, self.output_field)
        return resolver.typed(self.value, sibling)

    def __repr__(self) -> str:
        return f"Value({self.value!r})"


class Expression(BaseExpression):
    """``left op right`` with ``op`` one of ``+ - * / %``; an operand that is not an expression
    is bound as a parameter. Built by the arithmetic operators of ``F`` and the functions."""

    __slots__ = ("left", "op", "right")

    def __init__(self, left: Any, op: str, right: Any) -> None:
        if op not in ARITH_OPS and op != "neg":
            raise QueryUsageError(
                message=f"unsupported operator {op!r}; use one of {', '.join(ARITH_OPS)}",
            )
        self.left = left
        self.op = op
        self.right = right

    def resolve(self, resolver: Resolver) -> Node:
        if self.op == "neg":
            return Negate(resolver.operand(self.right))
        sibling = resolver.sibling_of((self.left, self.right))
        return Arith(
            resolver.operand(self.left, sibling), self.op, resolver.operand(self.right, sibling)
        )

    def __repr__(self) -> str:
        return f"Expression({self.left!r}, {self.op!r}, {self.right!r})"


class OuterRef(BaseExpression):
    """A column of the query that encloses a ``Subquery``/``Exists`` (correlation)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def resolve(self, resolver: Resolver) -> Node:
        if not isinstance(self.name, str):
            raise FieldError(field=repr(self.name), reason="OuterRef() takes a field name")
        resolver.outer_refs.add(self.name)
        return OuterColumn(self.name)

    def __repr__(self) -> str:
        return f"OuterRef({self.name!r})"


def _query_template(query: Any, resolver: Resolver, what: str) -> tuple[SQLNode, tuple[Any, ...]]:
    from .builder import QueryBuilder
    from .compiler import subquery_template

    if not isinstance(query, QueryBuilder):
        raise QueryUsageError(
            message=f"{what}() takes a QuerySet (Model.filter(...)), got {type(query).__name__}",
        )
    outer = resolver.model
    for name in query._x.outer_refs if query._x is not None else ():
        if name not in outer._meta.fields:
            reason = (
                f"OuterRef({name!r}) in a {what}() of {query.model_cls.__name__}: {name!r} is not "
                f"a field of the enclosing model {outer.__name__}. Valid fields: "
                f"{', '.join(outer._meta.fields)}."
            )
            raise _p.field_error(outer, name, reason)
    if query.database != outer._meta.database:
        raise QueryError(
            message=(
                f"{what}() over {query.model_cls.__name__} runs on database {query.database!r} "
                f"but the enclosing query on {outer.__name__} runs on "
                f"{outer._meta.database!r}; one statement cannot span two databases"
            ),
        )
    return subquery_template(query, "scalar" if what == "Subquery" else "exists")


class Subquery(BaseExpression):
    """``(SELECT ...)`` of a QuerySet: a scalar in ``annotate``/comparisons, a set with
    ``field__in=Subquery(qs)``. The QuerySet must select one column (``.select("f")``)."""

    __slots__ = ("query",)

    def __init__(self, query: QueryBuilder[Any]) -> None:
        self.query = query

    def resolve(self, resolver: Resolver) -> ScalarQuery:
        template, values = _query_template(self.query, resolver, "Subquery")
        table = resolver.model._meta.table_name
        return ScalarQuery(resolver.embed(template, values), table)

    def resolve_output_field(self, resolver: Resolver) -> Field[Any] | None:
        """The field of the one column the subquery selects (``.select("f")``; the primary
        key that ``select`` adds is left out, as ``subquery_template`` does)."""
        meta = self.query.model_cls._meta
        chosen: tuple[str, ...] = getattr(self.query, "_columns", None) or ()
        if len(chosen) > 1:
            chosen = tuple([c for c in chosen if c not in meta.pk_names]) or chosen
        fields: Mapping[str, Field[Any]] = meta.fields
        return fields.get(chosen[0]) if len(chosen) == 1 else None

    def __repr__(self) -> str:
        return f"Subquery({self.query!r})"


class Exists(BaseExpression):
    """``EXISTS (SELECT ...)`` of a QuerySet, for ``filter()``; ``~Exists(qs)`` is NOT EXISTS."""

    __slots__ = ("negated", "query")

    def __init__(self, query: QueryBuilder[Any], negated: bool = False) -> None:
        self.query = query
        self.negated = negated

    def resolve(self, resolver: Resolver) -> ExistsQuery:
        template, values = _query_template(self.query, resolver, "Exists")
        table = resolver.model._meta.table_name
        return ExistsQuery(resolver.embed(template, values), table, self.negated)

    def __invert__(self) -> Exists:
        return Exists(self.query, not self.negated)

    def __repr__(self) -> str:
        return f"{'~' if self.negated else ''}Exists({self.query!r})"


class Q:
    """Boolean composition of lookups: ``Q(a=1) | Q(b=2)``, ``&``, ``~``, nesting.

    The keyword lookups of one ``Q`` are ANDed, and so are positional children (``Q``,
    ``Exists``) together with them.

    Attributes:
        children: The positional children.
        kwargs: The keyword lookups.
        connector: ``"AND"`` or ``"OR"``, joining children and lookups.
        negated: Whether the whole is negated.
    """

    AND = "AND"
    OR = "OR"
    __slots__ = ("children", "connector", "kwargs", "negated")

    def __init__(
        self, *children: Any, _connector: str = "AND", _negated: bool = False, **lookups: Any
    ) -> None:
        for child in children:
            if not isinstance(child, (Q, Exists)):
                raise QueryUsageError(
                    message=(
                        f"Q() positional arguments must be Q or Exists objects, got {child!r}; "
                        "pass lookups as keywords: Q(name='x')"
                    ),
                )
        self.children: list[Any] = list(children)
        self.kwargs: dict[str, Any] = dict(lookups)
        self.connector = _connector
        self.negated = _negated

    @property
    def is_leaf(self) -> bool:
        """Whether this Q only holds keyword lookups."""
        return not self.children

    def _join(self, other: Any, connector: str) -> Q:
        if not isinstance(other, (Q, Exists)):
            raise QueryUsageError(
                message=f"cannot combine Q with {type(other).__name__}; use Q(...) on both sides",
            )
        return Q(self, other, _connector=connector)

    def __and__(self, other: Any) -> Q:
        return self._join(other, self.AND)

    def __or__(self, other: Any) -> Q:
        return self._join(other, self.OR)

    def __invert__(self) -> Q:
        clone = Q(*self.children, _connector=self.connector, _negated=not self.negated)
        clone.kwargs = dict(self.kwargs)
        return clone

    def __repr__(self) -> str:
        parts = [repr(child) for child in self.children]
        parts += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        inner = f" {self.connector} ".join(parts)
        return f"{'~' if self.negated else ''}Q({inner})"

    def resolve(self, resolver: Resolver) -> SQLNode:
        """The condition node of this Q (names checked, values bound)."""
        from .conditions import condition, lookup_node  # conditions.py builds on this module

        nodes: list[SQLNode] = [condition(resolver, child) for child in self.children]
        nodes += [lookup_node(resolver, key, value) for key, value in self.kwargs.items()]
        node: SQLNode = And(tuple(nodes)) if self.connector == self.AND else Or(tuple(nodes))
        return Not(node) if self.negated else node
