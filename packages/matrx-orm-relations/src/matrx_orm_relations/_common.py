"""Helpers shared by the relation loader: reference lookup, errors, warnings, key handling."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from matrx_orm_core import Model
from matrx_orm_core.exceptions import (
    FieldError,
    ORMException,
    RelationshipError,
    StateError,
    ValidationError,
)
from matrx_orm_core.models import (
    ForeignKeyReference,
    InverseForeignKeyReference,
    ManyToManyReference,
)
from matrx_orm_core.transaction import in_transaction

__all__ = [
    "fk_reference",
    "ifk_reference",
    "logger",
    "m2m_reference",
    "merged_filters",
    "one_line",
    "pk_name",
    "prep_keys",
    "run_all",
    "source_key",
    "warn_unfetchable",
]

logger = logging.getLogger("matrx_orm_relations")

T = TypeVar("T")


def _unknown(model: type[Model], name: str, kind: str, known: Iterable[str], label: str) -> None:
    names = ", ".join(known) or "(none)"
    reason = (
        f"No {kind} found for {label} '{name}' on {model.__name__}. {kind.capitalize()}s: {names}."
    )
    raise FieldError(model=model, field=str(name), reason=reason, message=reason)


def fk_reference(model: type[Model], name: str) -> tuple[str, ForeignKeyReference]:
    """The FK ``name`` (or ``name`` + ``_id``, API.md §10.28) of ``model``: ``(key, reference)``.

    Raises:
        FieldError: No such FK (also a ``ValueError``, as the spec's ``ValueError("No foreign
            key found for field f")``); the message lists the model's FKs.
    """
    fks = model._meta.foreign_keys
    if isinstance(name, str):
        if name in fks:
            return name, fks[name]
        if f"{name}_id" in fks:
            return f"{name}_id", fks[f"{name}_id"]
    _unknown(model, name, "foreign key", fks, "field")
    raise AssertionError("unreachable")  # pragma: no cover


def ifk_reference(model: type[Model], name: str) -> InverseForeignKeyReference:
    """The inverse FK ``name`` of ``model``.

    Raises:
        FieldError: No such inverse FK (also a ``ValueError``); the message lists them.
    """
    ifks = model._meta.inverse_foreign_keys
    if isinstance(name, str) and name in ifks:
        return ifks[name]
    _unknown(model, name, "inverse foreign key", ifks, "name")
    raise AssertionError("unreachable")  # pragma: no cover


def m2m_reference(model: type[Model], name: str) -> ManyToManyReference:
    """The many-to-many relation ``name`` of ``model``.

    Raises:
        FieldError: No such relation (also a ``ValueError``; upstream's message
            ``No M2M relationship 'x' on Model`` starts it).
    """
    m2ms = model._meta.many_to_many_keys
    if isinstance(name, str) and name in m2ms:
        return m2ms[name]
    reason = (
        f"No M2M relationship '{name}' on {model.__name__}. Many-to-many relations: "
        f"{', '.join(m2ms) or '(none)'}."
    )
    raise FieldError(model=model, field=str(name), reason=reason, message=reason)


def pk_name(model: type[Model], role: str, relation: str, owner: type[Model]) -> str:
    """The single primary key field of ``model`` (a junction column references it).

    Raises:
        RelationshipError: ``model`` has a composite primary key.
    """
    names = model._meta.pk_names
    if len(names) != 1:
        reason = (
            f"The many-to-many relation '{relation}' on {owner.__name__} needs a single-column "
            f"primary key on its {role} model {model.__name__}, which has "
            f"({', '.join(names)}); declare the relation on models with one key field."
        )
        raise RelationshipError(
            model=owner, related_model=model, field=relation, reason=reason, message=reason
        )
    return names[0]


def source_key(instance: Model, relation: str, *, required: bool) -> Any:
    """The primary key value of ``instance`` for a junction query.

    Returns:
        The value, or ``None`` for an unsaved instance when not ``required``.

    Raises:
        StateError: ``required`` and the instance has no primary key value yet.
    """
    model = type(instance)
    name = pk_name(model, "source", relation, model)
    value = instance.__dict__.get(name)
    if value is None and required:
        reason = (
            f"{model.__name__} has no {name} value yet, so its many-to-many relation "
            f"'{relation}' cannot be changed; save the instance first."
        )
        raise StateError(model=model, operation=relation, reason=reason, message=reason)
    return value


def prep_keys(
    owner: type[Model], relation: str, target: type[Model], values: Iterable[Any]
) -> list[Any]:
    """Validate target keys (or target instances) for a junction write; duplicates dropped.

    Raises:
        ValidationError: A value is None, not acceptable for the target's primary key, or an
            unsaved target instance (nothing is sent).
    """
    name = pk_name(target, "target", relation, owner)
    field = target._meta.fields[name]
    result: dict[Any, None] = {}
    for value in values:
        raw = value.__dict__.get(name) if isinstance(value, target) else value
        if raw is None:
            raise ValidationError(
                f"{owner.__name__}.{relation}: a target has no {target.__name__}.{name} value "
                f"(None or an unsaved instance); pass saved {target.__name__} instances or "
                f"their {name} values.",
                model=owner,
                field=relation,
                value=value,
            )
        try:
            result[field.get_db_prep_value(raw)] = None
        except ValidationError as err:
            raise ValidationError(
                f"{owner.__name__}.{relation}: a target id is not a valid {target.__name__}."
                f"{name} ({err.message}); pass {target.__name__} instances or their {name} "
                "values.",
                model=owner,
                field=relation,
                value=raw,
            ) from err
    return list(result)


def one_line(err: BaseException) -> str:
    """A one-line description of ``err`` for a log line (ORM errors: their message)."""
    text = err.message if isinstance(err, ORMException) else str(err)
    return f"{type(err).__name__}: {' '.join(text.split())}"


def warn_unfetchable(
    method: str, name: str, owner: type[Model], target: type[Model], stacklevel: int = 2
) -> None:
    """Emit the one ``UserWarning`` API.md §4.2 words for a skipped ``_unfetchable`` target.

    ``stacklevel`` counts frames from the caller of this function to the user's code.
    """
    warnings.warn(
        f"{method}('{name}') skipped: {target.__name__} is marked _unfetchable = True, so "
        f"{owner.__name__}.{name} is not loaded. If the table is reachable, remove "
        f"_unfetchable and set {target.__name__}._db_schema (another schema of the same "
        "database) or the ForeignKey's to_db (another registered database).",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


async def run_all(factories: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the awaitables the factories make: concurrently, or one after another when the task
    is inside a transaction (its single connection, API.md §10.29)."""
    if in_transaction() or len(factories) < 2:
        return [await factory() for factory in factories]
    return list(await asyncio.gather(*(factory() for factory in factories)))


def merged_filters(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` and ``extra`` as one filter dict (``extra`` may not redefine a ``base`` key)."""
    clash = sorted(set(base) & set(extra))
    if clash:
        reason = (
            f"The filter {clash[0]!r} is already set by the relation itself; filter on other "
            "fields."
        )
        raise FieldError(field=clash[0], reason=reason, message=reason)
    return {**base, **extra}
