"""``RelationLoader``: the FK / inverse-FK / many-to-many I/O behind core's ``Model`` methods.

Core's ``Model.fetch_fk()`` and friends delegate here once this package is imported (its
``_install()`` registers :class:`RelationLoader`). Loaded values are stored on the instance
with ``set_related`` so ``get_related`` reads them later without a query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

from matrx_orm_core import Model, QueryBuilder
from matrx_orm_core.exceptions import ValidationError
from matrx_orm_core.models import ForeignKeyReference
from matrx_orm_core.query import resolve_relation

from . import _m2m
from ._common import (
    fk_reference,
    ifk_reference,
    logger,
    merged_filters,
    one_line,
    run_all,
    source_key,
    warn_unfetchable,
)
from ._prefetch import prefetch_related_objects

__all__ = ["RelationLoader"]


async def _fetch_each(
    instance: Model,
    names: list[str],
    fetch: Callable[..., Awaitable[Any]],
    operation: str,
    on_failure: Callable[[], Any],
) -> dict[str, Any]:
    """``fetch(instance, name, operation, warn=False)`` for every name (concurrently outside a
    transaction, see ``run_all``). A failing relation is logged and gets ``on_failure()`` so the
    others still load (API.md §4.2)."""

    async def one(name: str) -> Any:
        try:
            return await fetch(instance, name, operation, warn=False)
        except Exception as err:  # report and carry on
            logger.warning(
                "%s.%s: %s failed: %s", type(instance).__name__, operation, name, one_line(err)
            )
            return on_failure()

    values = await run_all([partial(one, name) for name in names])
    return dict(zip(names, values, strict=True))


def _fk_lookup(
    instance: Model, key: str, ref: ForeignKeyReference
) -> tuple[str, dict[str, Any]] | None:
    """``(database of the target, {target column: value})`` for the FK ``key`` described by
    ``ref``, or ``None`` when the FK holds no value."""
    value = instance.__dict__.get(key)
    if value is None:
        return None
    target: type[Model] = ref.related_model
    return ref.to_db or target._meta.database, {ref.related_column: value}


def _forget(instance: Model, name: str) -> None:
    """Drop a loaded many-to-many list after the junction changed (it would be stale)."""
    loaded = instance.__dict__.get("_dynamic_data")
    if loaded is not None:
        loaded.pop(name, None)


class RelationLoader:
    """The relation hook implementation (see ``matrx_orm_core.hooks.RelationLoader``).

    Return values and errors follow API.md §4.3: an unknown name raises ``FieldError`` (also a
    ``ValueError``); ``fetch_fks``/``fetch_ifks``/``fetch_m2ms``/``fetch_all_related`` log a
    failing relation on the ``matrx_orm_relations`` logger and give ``None`` (FK) or ``[]``;
    an ``_unfetchable`` target is not queried (``None``/``[]`` with one ``UserWarning`` from
    the single-relation methods, a log line from the resilient ones). Inside a transaction
    the multi-query methods run their queries one after another (API.md §10.29).
    """

    # -- foreign keys ----------------------------------------------------------------------

    async def _fetch_fk(self, instance: Model, name: str, method: str, warn: bool) -> Any:
        model = type(instance)
        key, ref = fk_reference(model, name)
        target: type[Model] = ref.related_model
        if target._meta.unfetchable:
            if warn:
                # frames: _fetch_fk, RelationLoader.fetch_fk, Model.fetch_fk, the user's code
                warn_unfetchable(method, key, model, target, stacklevel=4)
            else:
                logger.warning(
                    "%s.%s: skipped, %s is marked _unfetchable",
                    model.__name__,
                    key,
                    target.__name__,
                )
            instance.set_related(key, None)
            return None
        found = _fk_lookup(instance, key, ref)
        if found is None:
            result = None
        elif found[0] == target._meta.database:
            result = await target.get(**found[1])
        else:  # another registered database: that database's pool, never the cache
            database, lookup = found
            result = await QueryBuilder(target, database=database).filter(**lookup).get()
        instance.set_related(key, result)
        return result

    async def fetch_fk(self, instance: Model, name: str) -> Any:
        """The object the FK ``name`` points to, or ``None`` when the FK is ``None``.

        Raises:
            FieldError: ``name`` is not an FK of the model.
            DoesNotExist: The FK names a row that does not exist (the target's class).
        """
        return await self._fetch_fk(instance, name, "fetch_fk", warn=True)

    async def fetch_fks(self, instance: Model) -> dict[str, Any]:
        """Every FK target (``None`` for a failing one, logged)."""
        keys = list(instance._meta.foreign_keys)
        return await _fetch_each(instance, keys, self._fetch_fk, "fetch_fks", lambda: None)

    async def filter_fk(self, instance: Model, name: str, /, **filters: Any) -> list[Any]:
        """The FK target matching ``filters`` too, as a list (empty when none matches)."""
        key, ref = fk_reference(type(instance), name)
        found = _fk_lookup(instance, key, ref)
        if found is None:
            return []
        database, lookup = found
        qb: QueryBuilder[Any] = QueryBuilder(ref.related_model, database=database)
        return await qb.filter(**merged_filters(lookup, filters)).all()

    # -- inverse foreign keys ----------------------------------------------------------------

    def _ifk_query(
        self, instance: Model, name: str, method: str, warn: bool
    ) -> QueryBuilder[Any] | None:
        model = type(instance)
        ref = ifk_reference(model, name)
        source: type[Model] = ref.related_model
        if source._meta.unfetchable:
            if warn:
                warn_unfetchable(method, name, model, source, stacklevel=5)
            return None
        value = instance.__dict__.get(ref.referenced_field)
        if value is None:
            return None
        return QueryBuilder(source).filter(**{ref.from_field: value})

    async def _fetch_ifk(self, instance: Model, name: str, method: str, warn: bool) -> list[Any]:
        qb = self._ifk_query(instance, name, method, warn)
        rows: list[Any] = [] if qb is None else await qb.all()
        instance.set_related(name, rows, is_inverse=True)
        return rows

    async def fetch_ifk(self, instance: Model, name: str) -> list[Any]:
        """The rows whose FK points at ``instance`` (``[]`` when the referenced value is None).

        Raises:
            FieldError: ``name`` is not an inverse FK of the model.
        """
        return await self._fetch_ifk(instance, name, "fetch_ifk", warn=True)

    async def fetch_ifks(self, instance: Model) -> dict[str, list[Any]]:
        """Every inverse FK (``[]`` for a failing one, logged)."""
        names = list(instance._meta.inverse_foreign_keys)
        return await _fetch_each(instance, names, self._fetch_ifk, "fetch_ifks", list)

    async def filter_ifk(self, instance: Model, name: str, /, **filters: Any) -> list[Any]:
        """The inverse FK rows that also match ``filters``."""
        model = type(instance)
        ref = ifk_reference(model, name)
        value = instance.__dict__.get(ref.referenced_field)
        if value is None:
            return []
        base = {ref.from_field: value}
        return await QueryBuilder(ref.related_model).filter(**merged_filters(base, filters)).all()

    # -- many-to-many ----------------------------------------------------------------------

    async def _fetch_m2m(self, instance: Model, name: str, method: str, warn: bool) -> list[Any]:
        model = type(instance)
        j = _m2m.junction_for(model, name)
        rows: list[Any] = []
        if j.target._meta.unfetchable:
            if warn:
                warn_unfetchable(method, name, model, j.target, stacklevel=4)
        else:
            key = source_key(instance, name, required=False)
            if key is not None:
                rows = await _m2m.fetch_targets(j, (key,), many=False)
        instance.set_related(name, rows, is_m2m=True)
        return rows

    async def fetch_m2m(self, instance: Model, name: str) -> list[Any]:
        """The targets linked through the junction (one JOIN query; ``[]`` when unsaved).

        Raises:
            FieldError: ``name`` is not a many-to-many relation of the model.
        """
        return await self._fetch_m2m(instance, name, "fetch_m2m", warn=True)

    async def fetch_m2ms(self, instance: Model) -> dict[str, list[Any]]:
        """Every many-to-many relation (``[]`` for a failing one, logged)."""
        names = list(instance._meta.many_to_many_keys)
        return await _fetch_each(instance, names, self._fetch_m2m, "fetch_m2ms", list)

    async def add_m2m(self, instance: Model, name: str, *ids: Any) -> int:
        """Link targets (keys or instances); returns the junction rows actually inserted.

        Raises:
            StateError: ``instance`` is not saved.
            ValidationError: An id is not a valid target key (nothing sent).
            IntegrityError: An id names no target row (foreign key violation).
        """
        j = _m2m.junction_for(type(instance), name)
        key = source_key(instance, name, required=True)
        added = await _m2m.add_links(j, key, ids)
        _forget(instance, name)
        return added

    async def remove_m2m(self, instance: Model, name: str, *ids: Any) -> int:
        """Unlink targets; returns the junction rows deleted."""
        j = _m2m.junction_for(type(instance), name)
        key = source_key(instance, name, required=True)
        removed = await _m2m.remove_links(j, key, ids)
        _forget(instance, name)
        return removed

    async def set_m2m(self, instance: Model, name: str, ids: Iterable[Any]) -> None:
        """Make the linked targets exactly ``ids``, atomically, as a diff.

        Raises:
            ValidationError: ``ids`` is a str/bytes (pass a list) or holds an invalid key.
            IntegrityError: An id names no target row; the old links are left intact.
        """
        j = _m2m.junction_for(type(instance), name)
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise ValidationError(
                f"{type(instance).__name__}.set_m2m('{name}', {ids!r}): pass a list of "
                f"{j.target.__name__} keys or instances.",
                model=type(instance),
                field=name,
                value=ids,
            )
        key = source_key(instance, name, required=True)
        await _m2m.set_links(j, key, ids)
        _forget(instance, name)

    async def clear_m2m(self, instance: Model, name: str) -> int:
        """Unlink every target; returns the junction rows deleted."""
        j = _m2m.junction_for(type(instance), name)
        key = source_key(instance, name, required=True)
        removed = await _m2m.clear_links(j, key)
        _forget(instance, name)
        return removed

    # -- everything, one relation, batches ------------------------------------------------------

    async def fetch_all_related(self, instance: Model) -> dict[str, dict[str, Any]]:
        """FKs, inverse FKs and many-to-many relations; always the three keys."""
        fks, ifks, m2ms = await run_all(
            [
                lambda: self.fetch_fks(instance),
                lambda: self.fetch_ifks(instance),
                lambda: self.fetch_m2ms(instance),
            ]
        )
        return {"foreign_keys": fks, "inverse_foreign_keys": ifks, "many_to_many": m2ms}

    async def fetch_one_relation(self, instance: Model, name: str) -> Any:
        """Load the relation ``name`` of any kind.

        Raises:
            FieldError: ``name`` is no relation (the message lists the valid names).
        """
        step = resolve_relation(type(instance), name, "fetch_one_relation")
        if step.kind == "fk":
            return await self.fetch_fk(instance, step.name)
        if step.kind == "ifk":
            return await self.fetch_ifk(instance, step.name)
        return await self.fetch_m2m(instance, step.name)

    async def filter_one_relation(self, instance: Model, name: str, /, **filters: Any) -> list[Any]:
        """The rows of relation ``name`` that match ``filters`` (honoured for every kind)."""
        step = resolve_relation(type(instance), name, "filter_one_relation")
        if step.kind == "fk":
            return await self.filter_fk(instance, step.name, **filters)
        if step.kind == "ifk":
            return await self.filter_ifk(instance, step.name, **filters)
        j = _m2m.junction_for(type(instance), step.name)
        key = source_key(instance, step.name, required=False)
        if key is None:
            return []
        keys = await _m2m.linked_keys(j, key)
        base = {f"{j.target_pk}__in": keys}
        return await QueryBuilder(j.target).filter(**merged_filters(base, filters)).all()

    async def prefetch_related(self, instances: Sequence[Any], paths: Sequence[str]) -> None:
        """Batch-load ``paths`` into ``instances`` (see :func:`prefetch_related_objects`)."""
        await prefetch_related_objects(instances, *paths)
