"""Lookup operators (``field__op=value``): parse the key, prepare the value, build the condition.

A condition is prepared once, when ``filter()``/``exclude()`` is called: the key is split into a
field and an operator, both are validated against the model, and the value is cleaned by the
field. What is kept is a `Condition`: its *shape* (field, variant, number of bound values)
decides the SQL text, its values are bound at run time. `condition_node` builds the ``sql``
node of a shape with ``_Slot`` markers so the compiled text can be cached per shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from matrx_orm_core.fields.array import ArrayField
from matrx_orm_core.fields.json import JSONField
from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.sql import (
    AnyOf,
    Between,
    BinaryOp,
    Compare,
    IsNull,
    Like,
    Raw,
    SQLNode,
)

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model

__all__ = ["LOOKUPS", "Condition", "condition_node", "like_escape", "prepare_condition"]

LOOKUPS: tuple[str, ...] = (
    "exact",
    "eq",
    "ne",
    "exclude",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "isnull",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "iexact",
    "range",
    "regex",
    "iregex",
    "json_has_key",
    "json_has_any",
    "json_has_all",
    "json_contains",
    "json_contained_by",
    "json_key",
    "json_path",
)
"""Every operator accepted after ``__`` (API.md §2.8)."""

_LOOKUP_SET = frozenset(LOOKUPS)
_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_LIKE = {
    "contains": ("%", "%", False),
    "icontains": ("%", "%", True),
    "startswith": ("", "%", False),
    "istartswith": ("", "%", True),
    "endswith": ("%", "", False),
    "iendswith": ("%", "", True),
    "iexact": ("", "", True),
}
_JSON = {
    "json_has_key": "?",
    "json_has_any": "?|",
    "json_has_all": "?&",
    "json_contains": "@>",
    "json_contained_by": "<@",
}


class Condition(NamedTuple):
    """One prepared condition: ``(field, variant)`` decide the SQL, ``values`` are bound."""

    field: str
    variant: str
    values: tuple[Any, ...]

    @property
    def shape(self) -> tuple[str, str, int]:
        """The part of the condition that decides the SQL text."""
        return self.field, self.variant, len(self.values)


def like_escape(text: str) -> str:
    """Escape the LIKE metacharacters ``\\``, ``%`` and ``_`` (used with ``ESCAPE '\\'``).

    Returns:
        ``text`` with each metacharacter preceded by a backslash.
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _split(cls: type[Model], key: str, operation: str) -> tuple[str, str]:
    fields = cls._meta.fields
    if key in fields:
        return key, "exact"
    name, sep, op = key.rpartition("__")
    if sep and op in _LOOKUP_SET and name in fields:
        return name, op
    valid = ", ".join(fields)
    if sep and op in _LOOKUP_SET:
        reason = (
            f"{cls.__name__}.{operation}(): '{name}' (in '{key}') is not a field of "
            f"{cls.__name__}. Valid fields: {valid}."
        )
        raise _p.field_error(cls, name, reason)
    if sep and name in fields:
        reason = (
            f"{cls.__name__}.{operation}(): unknown lookup '{op}' in '{key}'. Valid lookups: "
            f"{', '.join(LOOKUPS)}."
        )
        raise _p.field_error(cls, key, reason)
    reason = (
        f"{cls.__name__}.{operation}(): '{key}' is not a field of {cls.__name__}. "
        f"Valid fields: {valid}. Lookups are written field__op with op one of: "
        f"{', '.join(LOOKUPS)}."
    )
    raise _p.field_error(cls, key, reason)


def _invalid(cls: type[Model], name: str, value: Any, operation: str, reason: str) -> Exception:
    return cls.ValidationError(
        model=cls, field=name, value=value, reason=f"{cls.__name__}.{name}: {reason}"
    ).enrich(operation=operation)


def _prep(cls: type[Model], name: str, value: Any, operation: str) -> Any:
    field = cls._meta.fields[name]
    return _p._convert(cls, field, name, value, operation, field.get_db_prep_value)


def _prep_list(cls: type[Model], name: str, value: Any, op: str, operation: str) -> list[Any]:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise _invalid(cls, name, value, operation, f"__{op} takes a list, tuple or set")
    items = list(value)
    if any(item is None for item in items):
        raise _invalid(
            cls,
            name,
            value,
            operation,
            f"__{op} lists cannot hold None (NULL never compares equal); use __isnull",
        )
    return [_prep(cls, name, item, operation) for item in items]


def _text(cls: type[Model], name: str, value: Any, op: str, operation: str) -> str:
    if not isinstance(value, str):
        raise _invalid(cls, name, value, operation, f"__{op} takes a str, got {value!r}")
    return value


def _text_list(cls: type[Model], name: str, value: Any, op: str, operation: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise _invalid(cls, name, value, operation, f"__{op} takes a list of str")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise _invalid(cls, name, value, operation, f"__{op} takes a list of str")
    return items


def _path(cls: type[Model], name: str, value: Any, op: str, operation: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise _invalid(cls, name, value, operation, f"__{op} takes a non-empty path of keys")
    return [
        str(item) if isinstance(item, int) else _text(cls, name, item, op, operation)
        for item in value
    ]


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _json_lookup(cls: type[Model], name: str, op: str, value: Any, operation: str) -> Condition:
    if not isinstance(cls._meta.fields[name], JSONField):
        raise _p.field_error(
            cls,
            name,
            f"{cls.__name__}.{operation}(): __{op} needs a JSON field; "
            f"{cls.__name__}.{name} is a {type(cls._meta.fields[name]).__name__}.",
        )
    if op == "json_has_key":
        return Condition(name, op, (_text(cls, name, value, op, operation),))
    if op in ("json_has_any", "json_has_all"):
        return Condition(name, op, (_text_list(cls, name, value, op, operation),))
    if op in ("json_contains", "json_contained_by"):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as err:
                raise _invalid(cls, name, value, operation, f"__{op}: not JSON text") from err
        return Condition(name, op, (value,))
    if op == "json_key":
        if isinstance(value, tuple) and len(value) == 2:
            key = _text(cls, name, value[0], op, operation)
            return Condition(name, "json_key_eq", (key, _json_text(value[1])))
        return Condition(name, "json_key", (_text(cls, name, value, op, operation),))
    # json_path: (path...) or ((path...), expected)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (tuple, list)):
        path = _path(cls, name, value[0], op, operation)
        return Condition(name, "json_path_eq", (path, _json_text(value[1])))
    return Condition(name, "json_path", (_path(cls, name, value, op, operation),))


def prepare_condition(cls: type[Model], key: str, value: Any, operation: str) -> Condition:
    """Validate ``key=value`` against ``cls`` and prepare its bound values.

    Returns:
        The condition.

    Raises:
        FieldError: Unknown field or lookup (the message lists the valid ones).
        ValidationError: The value does not suit the lookup or the field.
    """
    name, op = _split(cls, key, operation)
    if (op in ("in", "not_in") or op in _LIKE) and isinstance(cls._meta.fields[name], ArrayField):
        raise _p.field_error(
            cls,
            name,
            f"{cls.__name__}.{operation}(): __{op} does not apply to the array field "
            f"{cls.__name__}.{name}. Compare whole arrays with {name}=[...] or {name}__ne=[...]; "
            "test elements with raw SQL (= ANY, @>).",
        )
    if op in ("exact", "eq"):
        if value is None:
            return Condition(name, "isnull", ())
        return Condition(name, "eq", (_prep(cls, name, value, operation),))
    if op in ("ne", "exclude"):
        if value is None:
            return Condition(name, "notnull", ())
        return Condition(name, "ne", (_prep(cls, name, value, operation),))
    if op in _COMPARE:
        if value is None:
            raise _invalid(cls, name, value, operation, f"__{op}=None never matches")
        return Condition(name, op, (_prep(cls, name, value, operation),))
    if op in ("in", "not_in"):
        items = _prep_list(cls, name, value, op, operation)
        if not items:
            return Condition(name, op + "_empty", ())
        return Condition(name, op, (items,))
    if op == "isnull":
        if not isinstance(value, bool):
            raise _invalid(cls, name, value, operation, "__isnull takes True or False")
        return Condition(name, "isnull" if value else "notnull", ())
    if op in _LIKE:
        before, after, insensitive = _LIKE[op]
        text = _text(cls, name, value, op, operation)
        variant = "ilike" if insensitive else "like"
        return Condition(name, variant, (before + like_escape(text) + after,))
    if op == "range":
        if not isinstance(value, (tuple, list)) or len(value) != 2 or None in value:
            raise _invalid(cls, name, value, operation, "__range takes a (low, high) pair")
        low, high = (_prep(cls, name, item, operation) for item in value)
        return Condition(name, "range", (low, high))
    if op in ("regex", "iregex"):
        return Condition(name, op, (_text(cls, name, value, op, operation),))
    return _json_lookup(cls, name, op, value, operation)


def condition_node(field: str, variant: str, slots: Iterator[Any]) -> SQLNode:
    """The ``sql`` node of one condition shape; its values come from ``slots`` in order.

    Returns:
        The node.
    """
    if variant == "eq":
        return Compare(field, "=", next(slots))
    if variant == "ne":
        return Compare(field, "!=", next(slots))
    if variant in _COMPARE:
        return Compare(field, _COMPARE[variant], next(slots))
    if variant == "isnull":
        return IsNull(field)
    if variant == "notnull":
        return IsNull(field, negated=True)
    if variant == "in":
        return AnyOf(field, next(slots))
    if variant == "not_in":
        return AnyOf(field, next(slots), negated=True)
    if variant == "in_empty":
        return Raw("FALSE")
    if variant == "not_in_empty":
        return Raw("TRUE")
    if variant in ("like", "ilike"):
        return Like(field, next(slots), variant == "ilike")
    if variant == "range":
        return Between(field, next(slots), next(slots))
    if variant == "regex":
        return BinaryOp(field, "~", next(slots))
    if variant == "iregex":
        return BinaryOp(field, "~*", next(slots))
    if variant in ("json_contains", "json_contained_by"):
        return BinaryOp(field, _JSON[variant], next(slots), "jsonb")
    if variant in _JSON:
        return BinaryOp(field, _JSON[variant], next(slots))
    if variant == "json_key":
        return IsNull(BinaryOp(field, "->>", next(slots)), negated=True)
    if variant == "json_key_eq":
        return Compare(BinaryOp(field, "->>", next(slots)), "=", next(slots))
    if variant == "json_path":
        return IsNull(BinaryOp(field, "#>", next(slots)), negated=True)
    # json_path_eq
    return Compare(BinaryOp(field, "#>>", next(slots)), "=", next(slots))
