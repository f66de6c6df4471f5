"""``QueryBuilder.prefetch_related``: batch loading of relations, delegated to the relation hook.

The builder keeps the requested paths; its terminals (``all``, ``first``, ``last``, ``get``,
``get_or_none``, and ``async for`` chunk by chunk) hand the instances they return to
``RelationLoader.prefetch_related`` (installed by
matrx-orm-relations), which runs one query per relation level for all of them. Paths are
checked against the models' relation metadata when ``prefetch_related()`` is called, so a typo
fails before any SQL is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Self

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import FieldError

from ._results import CHUNK_SIZE, iterate

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model

__all__ = ["PrefetchMethods", "RelationStep", "resolve_relation", "resolve_relation_path"]

RelationKind = Literal["fk", "ifk", "m2m"]


@dataclass(frozen=True)
class RelationStep:
    """One resolved segment of a relation path.

    Attributes:
        kind: ``"fk"``, ``"ifk"`` or ``"m2m"``.
        name: The relation's key in ``_meta`` (an FK's field name, with its ``_id``).
        model: The model that declares the relation.
        target: The model the relation loads.
        reference: The ``ForeignKeyReference`` / ``InverseForeignKeyReference`` /
            ``ManyToManyReference`` from ``_meta``.
    """

    kind: RelationKind
    name: str
    model: type[Model]
    target: type[Model]
    reference: Any


def resolve_relation(model: type[Model], name: str, operation: str = "relation") -> RelationStep:
    """Resolve the relation ``name`` of ``model``: an FK field name (or the same without its
    ``_id`` suffix, API.md §10.28), an inverse-FK key or a many-to-many key.

    Raises:
        FieldError: ``name`` is not a relation of ``model`` (the message lists the relations).
        ConfigurationError: The relation's target model is not registered.
    """
    meta = model._meta
    if isinstance(name, str):
        key = name if name in meta.foreign_keys else f"{name}_id"
        if key in meta.foreign_keys:
            fk = meta.foreign_keys[key]
            return RelationStep("fk", key, model, fk.related_model, fk)
        if name in meta.inverse_foreign_keys:
            ifk = meta.inverse_foreign_keys[name]
            return RelationStep("ifk", name, model, ifk.related_model, ifk)
        if name in meta.many_to_many_keys:
            m2m = meta.many_to_many_keys[name]
            return RelationStep("m2m", name, model, m2m.resolved_model, m2m)
    known = [*meta.foreign_keys, *meta.inverse_foreign_keys, *meta.many_to_many_keys]
    reason = (
        f"{model.__name__}.{operation}(): {name!r} is not a relation of {model.__name__}. "
        f"Relations: {', '.join(known) or '(none)'}."
    )
    raise FieldError(
        model=model,
        field=name if isinstance(name, str) else repr(name),
        reason=reason,
        message=reason,
    )


def resolve_relation_path(
    model: type[Model], path: str, operation: str = "prefetch_related"
) -> list[RelationStep]:
    """Resolve ``"posts__tags"`` into one :class:`RelationStep` per ``__``-separated segment.

    Raises:
        FieldError: ``path`` is not a non-empty str, or a segment is not a relation of the
            model reached so far.
    """
    if not isinstance(path, str) or not path or "" in path.split("__"):
        reason = (
            f"{model.__name__}.{operation}(): {path!r} is not a relation path; pass names such "
            "as 'author_id', 'tags' or 'posts__tags'."
        )
        raise FieldError(model=model, field=repr(path), reason=reason, message=reason)
    steps: list[RelationStep] = []
    current: type[Model] = model
    for segment in path.split("__"):
        step = resolve_relation(current, segment, operation)
        steps.append(step)
        current = step.target
    return steps


class PrefetchMethods:
    """The ``prefetch_related`` part of ``QueryBuilder`` (a mixin; the builder holds the slot
    ``_prefetch`` and copies it in ``_clone``)."""

    __slots__ = ()

    model_cls: Any
    _prefetch: tuple[str, ...]

    if TYPE_CHECKING:

        def _clone(self) -> Self:  # provided by QueryBuilder
            ...

    def prefetch_related(self, *paths: str) -> Self:
        """Load the relations ``paths`` for every returned row, one query per relation.

        Each path is a relation name of the model (FK field, with or without ``_id``; inverse
        FK key; many-to-many key) or a chain through related models (``"posts__tags"``).
        ``prefetch_related("author_id", "tags", "posts")`` on 100 rows runs 1 + 3 queries,
        where fetching per row would run 1 + 300. Loaded values are read with
        ``get_related(name)``. Calls add up; a repeated path is loaded once. Streaming
        (``async for``) prefetches each chunk of ``CHUNK_SIZE`` rows before yielding it.

        Returns:
            A new QueryBuilder.

        Raises:
            FieldError: A path is not a relation path of the model (nothing sent).
            ConfigurationError: matrx-orm-relations is not installed (it does the loading).
        """
        if isinstance(hooks.get_relation_loader(), hooks.MissingRelationLoader):
            hooks._missing("prefetch_related", None)
        for path in paths:
            resolve_relation_path(self.model_cls, path)
        clone = self._clone()
        slots: Any = clone  # the slot lives on QueryBuilder, not on this mixin
        slots._prefetch = tuple(dict.fromkeys((*self._prefetch, *paths)))
        return clone

    async def _run_prefetch(self, instances: Sequence[Any]) -> None:
        """Hand ``instances`` to the relation hook when paths were requested."""
        if self._prefetch and instances:
            await hooks.get_relation_loader().prefetch_related(instances, self._prefetch)

    async def _iterate_prefetched(self) -> AsyncIterator[Any]:
        """Stream the rows (``async for``) in chunks of ``CHUNK_SIZE``, prefetching each chunk
        before yielding it: one query per relation per chunk."""
        batch: list[Any] = []
        query: Any = self  # a QueryBuilder: the mixin is only ever used through it
        async for instance in iterate(query):
            batch.append(instance)
            if len(batch) >= CHUNK_SIZE:
                await self._run_prefetch(batch)
                for item in batch:
                    yield item
                batch = []
        if batch:
            await self._run_prefetch(batch)
            for item in batch:
                yield item
