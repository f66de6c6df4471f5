"""Condition nodes of ``Q`` objects and of lookups whose target is an annotation or whose value
is an expression (``views__gt=F("id")``, ``id__in=Subquery(qs)``).

Plain lookups on fields are prepared by ``lookups.prepare_condition`` exactly as keyword
filters are, then rendered through the same ``condition_node``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from matrx_orm_core.exceptions import QueryUsageError, ValidationError
from matrx_orm_core.sql import ColumnRef, Compare, SQLNode

from ._sqlnodes import InQuery
from .expressions import BaseExpression, Exists, Q, Resolver, Subquery
from .lookups import LOOKUPS, condition_node, like_escape, prepare_condition

__all__ = ["condition", "lookup_node"]

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
    resolver: Resolver, lhs: ColumnRef, op: str, value: Any, key: str
) -> SQLNode:
    if op in ("in", "not_in") and isinstance(value, Subquery):
        scalar = value.resolve(resolver)
        return InQuery(lhs, scalar, op == "not_in")
    if op in _COMPARE:
        return Compare(lhs, _COMPARE[op], resolver.operand(value))
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
            return _expression_lookup(resolver, lhs, op, value, key)
        variant, values = _alias_values(resolver, alias, op, value)
        return condition_node(lhs, variant, _slots(resolver, values))  # type: ignore[arg-type]
    if isinstance(value, BaseExpression):
        name, _, op = key.rpartition("__")
        if not name or op not in LOOKUPS:
            name, op = key, "exact"
        if name not in resolver.model._meta.fields:
            # the lookup parser gives the usual FieldError (unknown field or lookup)
            prepare_condition(resolver.model, key, 0, resolver.operation)
        return _expression_lookup(resolver, name, op, value, key)
    prepared = prepare_condition(resolver.model, key, value, resolver.operation)
    return condition_node(prepared.field, prepared.variant, _slots(resolver, prepared.values))
