"""Batch loading: one query per relation level for a whole list of instances (no N+1).

``QuerySet.prefetch_related(...)`` (core) ends here through the relation hook, and
:func:`prefetch_related_objects` offers the same for instances already in hand. Paths are
resolved by core's ``resolve_relation_path`` (FK field names with or without ``_id``, inverse-FK
keys, many-to-many keys, joined by ``__``). Results are stored with ``set_related`` on every
instance; a related row shared by several parents is one object.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from matrx_orm_core import Model, QueryBuilder
from matrx_orm_core.exceptions import ValidationError
from matrx_orm_core.query import RelationStep, resolve_relation, resolve_relation_path

from . import _m2m
from ._common import run_all, warn_unfetchable

__all__ = ["prefetch_related_objects"]

_Tree = dict[str, "_Tree"]


def _distinct(instances: Sequence[Model], name: str) -> list[Any]:
    return list(
        dict.fromkeys(v for v in (i.__dict__.get(name) for i in instances) if v is not None)
    )


def _skip(step: RelationStep, instances: Sequence[Model], empty: Any) -> bool:
    if not step.target._meta.unfetchable:
        return False
    warn_unfetchable("prefetch_related", step.name, step.model, step.target)
    for instance in instances:
        instance.set_related(step.name, empty() if callable(empty) else empty)
    return True


async def _load_fk(step: RelationStep, instances: Sequence[Model]) -> list[Model]:
    if _skip(step, instances, None):
        return []
    ref, key, target = step.reference, step.name, step.target
    column = ref.related_column
    values = _distinct(instances, key)
    found: dict[Any, Model] = {}
    if values:
        database = ref.to_db or target._meta.database
        qb: QueryBuilder[Any] = QueryBuilder(target, database=database)
        rows = await qb.filter(**{f"{column}__in": values}).all()
        found = {row.__dict__[column]: row for row in rows}
    for instance in instances:
        instance.set_related(key, found.get(instance.__dict__.get(key)))
    return list(found.values())


async def _load_ifk(step: RelationStep, instances: Sequence[Model]) -> list[Model]:
    if _skip(step, instances, list):
        return []
    ref = step.reference
    values = _distinct(instances, ref.referenced_field)
    groups: dict[Any, list[Model]] = {}
    rows: list[Model] = []
    if values:
        qb: QueryBuilder[Any] = QueryBuilder(step.target)
        rows = await qb.filter(**{f"{ref.from_field}__in": values}).all()
        for row in rows:
            groups.setdefault(row.__dict__[ref.from_field], []).append(row)
    for instance in instances:
        loaded = groups.get(instance.__dict__.get(ref.referenced_field), [])
        instance.set_related(step.name, list(loaded), is_inverse=True)
    return rows


async def _load_m2m(step: RelationStep, instances: Sequence[Model]) -> list[Model]:
    if _skip(step, instances, list):
        return []
    j = _m2m.junction_for(step.model, step.name)
    source_pk = step.model._meta.pk_names[0]
    source_field = step.model._meta.fields[source_pk]
    convert = source_field.from_db_value if source_field.needs_load_conversion else None
    keys = _distinct(instances, source_pk)
    groups: dict[Any, list[Model]] = {}
    canonical: dict[Any, Model] = {}
    if keys:
        for target in await _m2m.fetch_targets(j, keys, many=True):
            source = target.__dict__.pop(_m2m.SOURCE_ALIAS)
            if convert is not None and source is not None:
                source = convert(source)
            shared = canonical.setdefault(target.__dict__[j.target_pk], target)
            groups.setdefault(source, []).append(shared)
    for instance in instances:
        loaded = groups.get(instance.__dict__.get(source_pk), [])
        instance.set_related(step.name, list(loaded), is_m2m=True)
    return list(canonical.values())


_LOADERS = {"fk": _load_fk, "ifk": _load_ifk, "m2m": _load_m2m}


async def _level(model: type[Model], instances: Sequence[Model], tree: _Tree) -> None:
    async def branch(name: str, subtree: _Tree) -> None:
        step = resolve_relation(model, name, "prefetch_related")
        related = await _LOADERS[step.kind](step, instances)
        if subtree and related:
            await _level(step.target, related, subtree)

    await run_all([partial(branch, name, subtree) for name, subtree in tree.items()])


async def prefetch_related_objects(instances: Sequence[Model], *paths: str) -> None:
    """Load the relations ``paths`` into ``instances`` with one query per relation level.

    ``instances`` are model instances of one class (``None`` entries are ignored). Each path
    is a relation of that model (``"author_id"`` or ``"author"``, an inverse-FK key, a
    many-to-many key) or a chain (``"posts__tags"``). Afterwards ``get_related(name)`` returns
    the loaded value on every instance: the FK target or ``None`` (also for a dangling key),
    or a list. Inside a transaction the queries run one after another; outside, relations of
    one level run concurrently. A target marked ``_unfetchable`` is not queried (one
    ``UserWarning``; ``None``/``[]``).

    Raises:
        ValidationError: ``instances`` mixes model classes or holds a non-model.
        FieldError: A path is not a relation path of the model (nothing sent).
    """
    items = [item for item in instances if item is not None]
    if not items or not paths:
        return
    model = type(items[0])
    strays = [item for item in items if type(item) is not model]
    if strays or not isinstance(items[0], Model):
        raise ValidationError(
            f"prefetch_related_objects() needs instances of one model class; got "
            f"{type(items[0]).__name__} and {type((strays or items)[0]).__name__}. Call it once "
            "per model.",
            field="instances",
        )
    tree: _Tree = {}
    for path in paths:
        node = tree
        for step in resolve_relation_path(model, path, "prefetch_related"):
            node = node.setdefault(step.name, {})
    await _level(model, items, tree)
