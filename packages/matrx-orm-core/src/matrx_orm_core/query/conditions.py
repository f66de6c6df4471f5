"""Condition nodes of ``Q`` objects and of lookups whose target is an annotation or whose value
is an expression (``views__gt=F("id")``, ``id__in=Subquery(qs)``).

Plain lookups on fields are prepared by ``lookups.prepare_condition`` exactly as keyword
filters are, then rendered through the same ``condition_node``. `resolve_filters` sorts the
conditions of one ``filter()``/``exclude()``/``having()`` call into WHERE and HAVING leaves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matrx_orm_core.exceptions import QueryError, QueryUsageError, ValidationError
from matrx_orm_core.sql import And, ColumnRef, Compare, Not, SQLNode

from ._sqlnodes import ExprLeaf, InQuery, Shift
from .expressions import Annotation, BaseExpression, Exists, Q, Resolver, Subquery
from .lookups import LOOKUPS, condition_node, like_escape, prepare_condition

if TYPE_CHECKING:
    from matrx_orm_core.fields.base import Field
    from matrx_orm_core.models.base import Model

__all__ = ["condition", "lookup_node", "resolve_filters"]

_COMPARE = {"exact": "=", "eq": "=", "ne": "!=", "exclude": "!=", "gt": ">", "gte": ">="}
_COMPARE.update({"lt": "<", "lte": "<="})


def condition(resolver: Resolver, item: Any) -> SQLNode:
    """The condition node of a positional ``filter()`` argument (``Q`` or ``Exists``).

    Raises:
        QueryUsageError: Anything else (also a ``TypeError``).
    """
    if isinstance(item, Q):
        return item.resolve(resolver)
    if isinstance(item, Exists):
        return item.resolve(resolver)
    raise QueryUsageError(
        message=(
            f"{resolver.model.__name__}.{resolver.operation}(): positional arguments must be Q "
            f"or Exists objects, got {item!r}; pass lookups as keywords"
        ),
        model=resolver.model,
    )


def _split(resolver: Resolver, key: str) -> tuple[str, str] | None:
    """``(alias, op)`` when ``key`` targets an annotation, else ``None``."""
    annotations = resolver.annotations
    if key in annotations:
        return key, "exact"
    name, sep, op = key.rpartition("__")
    if sep and op in LOOKUPS and name in annotations:
        return name, op
    return None


def _slots(resolver: Resolver, values: tuple[Any, ...]) -> Iterator[Any]:
    return iter([resolver.bind(value) for value in values])


def _expression_lookup(
    resolver: Resolver, lhs: ColumnRef, op: str, value: Any, key: str, field: Field[Any] | None
) -> SQLNode:
    if op in ("in", "not_in") and isinstance(value, Subquery):
        scalar = value.resolve(resolver)
        return InQuery(lhs, scalar, op == "not_in")
    if op in _COMPARE:
        # a Value on the right is typed next to the left side's field (naive stays naive)
        return Compare(lhs, _COMPARE[op], resolver.operand(value, field))
    raise ValidationError(
        model=resolver.model,
        field=key,
        reason=(
            f"{resolver.model.__name__}.{resolver.operation}(): the lookup __{op} in {key!r} "
            "does not take an expression; use =, !=, gt, gte, lt, lte (or __in with a "
            "Subquery)"
        ),
    )


def _alias_values(
    resolver: Resolver, alias: str, op: str, value: Any
) -> tuple[str, tuple[Any, ...]]:
    """``(variant, values)`` of a plain-value lookup on an annotation (no field to clean by)."""
    if op in ("exact", "eq", "ne", "exclude") and value is None:
        return ("isnull" if op in ("exact", "eq") else "notnull"), ()
    if op in ("exact", "eq"):
        return "eq", (value,)
    if op in ("ne", "exclude"):
        return "ne", (value,)
    if op in ("gt", "gte", "lt", "lte") and value is not None:
        return op, (value,)
    if op in ("in", "not_in") and isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        return (op, (items,)) if items else (op + "_empty", ())
    if op == "isnull" and isinstance(value, bool):
        return ("isnull" if value else "notnull"), ()
    if op == "range" and isinstance(value, (list, tuple)) and len(value) == 2:
        return "range", tuple(value)
    if op in ("contains", "icontains") and isinstance(value, str):
        return ("ilike" if op == "icontains" else "like"), ("%" + like_escape(value) + "%",)
    raise ValidationError(
        model=resolver.model,
        field=alias,
        value=value,
        reason=(
            f"{resolver.model.__name__}.{resolver.operation}(): the lookup __{op} on annotation "
            f"{alias!r} does not accept {value!r}"
        ),
    )


def lookup_node(resolver: Resolver, key: str, value: Any) -> SQLNode:
    """The condition node of one ``key=value`` lookup, on a field or an annotation; the value
    may be an expression.

    Raises:
        FieldError: Unknown field, annotation or lookup.
        ValidationError: The value does not suit the lookup.
    """
    target = _split(resolver, key)
    if target is not None:
        alias, op = target
        lhs = resolver.column(alias)
        if isinstance(value, BaseExpression):
            return _expression_lookup(resolver, lhs, op, value, key, resolver.field_of(alias))
        variant, values = _alias_values(resolver, alias, op, value)
        return condition_node(lhs, variant, _slots(resolver, values))  # type: ignore[arg-type]
    if isinstance(value, BaseExpression):
        name, _, op = key.rpartition("__")
        if not name or op not in LOOKUPS:
            name, op = key, "exact"
        if name not in resolver.model._meta.fields:
            # the lookup parser gives the usual FieldError (unknown field or lookup)
            prepare_condition(resolver.model, key, 0, resolver.operation)
        field = resolver.model._meta.fields.get(name)
        return _expression_lookup(resolver, name, op, value, key, field)
    prepared = prepare_condition(resolver.model, key, value, resolver.operation)
    return condition_node(prepared.field, prepared.variant, _slots(resolver, prepared.values))


def resolve_filters(
    cls: type[Model],
    items: Sequence[Any],
    lookups: Mapping[str, Any],
    annotations: Mapping[str, Annotation],
    negated: bool,
    operation: str,
) -> tuple[list[ExprLeaf], list[ExprLeaf], frozenset[str]]:
    """``(where leaves, having leaves, outer refs)`` of positional Q/Exists and lookups.

    A condition that reads an aggregate goes to HAVING; a window cannot be filtered on.
    A negated group (``exclude``) is one condition, so it cannot mix the two.
    """
    pieces: list[tuple[Any, Any, bool]] = [(item, None, True) for item in items]
    pieces += [(key, value, False) for key, value in lookups.items()]
    resolvers: list[Resolver] = []
    nodes: list[SQLNode] = []
    for item, value, positional in pieces:
        resolver = Resolver(cls, operation, annotations)
        node = condition(resolver, item) if positional else lookup_node(resolver, item, value)
        if resolver.window:
            raise QueryError(
                message=(
                    f"{cls.__name__}.{operation}(): a window function cannot be filtered on in "
                    "the same query (SQL computes windows after WHERE and HAVING); filter on it "
                    "from an outer query, e.g. with a CTE"
                ),
                model=cls,
            )
        resolvers.append(resolver)
        nodes.append(node)
    outer = frozenset().union(*[r.outer_refs for r in resolvers]) if resolvers else frozenset()
    if not negated:
        where = [
            ExprLeaf(n, tuple(r.values))
            for n, r in zip(nodes, resolvers, strict=True)
            if not r.aggregate
        ]
        having = [
            ExprLeaf(n, tuple(r.values))
            for n, r in zip(nodes, resolvers, strict=True)
            if r.aggregate
        ]
        return where, having, outer
    kinds = {r.aggregate for r in resolvers}
    if len(kinds) > 1:
        raise QueryError(
            message=(
                f"{cls.__name__}.{operation}(): one exclude() cannot mix conditions on aggregates "
                "with conditions on columns; split it into two exclude() calls"
            ),
            model=cls,
        )
    values: list[Any] = []
    shifted: list[SQLNode] = []
    for node, resolver in zip(nodes, resolvers, strict=True):
        shifted.append(Shift(node, len(values), len(resolver.values)))
        values.extend(resolver.values)
    leaf = ExprLeaf(Not(And(tuple(shifted))), tuple(values))
    return ([], [leaf], outer) if kinds == {True} else ([leaf], [], outer)
