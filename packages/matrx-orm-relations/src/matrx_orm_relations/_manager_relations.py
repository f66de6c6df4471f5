"""BaseManager's relation helpers, active-set methods and their dict views (API.md §4.5).

Methods that work on several items load each relation for all of them at once
(``prefetch_related_objects``: one query per relation), never one query per item. A method
for one active item takes the item's id explicitly (upstream's four broken ones included).
The ``*_dict`` views give the item's dict with each loaded relation added under its name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from matrx_orm_core import Model
from matrx_orm_core.exceptions import RelationshipError
from matrx_orm_core.query import resolve_relation

from ._errors import handle_errors
from ._prefetch import prefetch_related_objects

if TYPE_CHECKING:
    from ._dto import BaseDTO

__all__ = ["RelationMethods"]

_Dict = dict[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class RelationMethods:
    """Relation and active-set methods of ``BaseManager`` (a mixin)."""

    model: type[Model]
    _active_items: dict[str, Model]
    dto_class: type[BaseDTO] | None

    if TYPE_CHECKING:

        async def load_by_id(self, item_id: Any) -> Model: ...

        async def load_items(self, **kwargs: Any) -> list[Model]: ...

        async def load_items_by_ids(self, item_ids: Iterable[Any]) -> list[Model]: ...

        async def _initialize_item(self, item: Model) -> Model: ...

        def _to_dict(self, item: Model | None) -> _Dict | None: ...

        def _activate(self, items: Iterable[Model]) -> None: ...

        def _key(self, item_id: Any) -> str: ...

        async def _retry(self, method: str, *args: Any, **kwargs: Any) -> Any: ...

    # -- helpers -------------------------------------------------------------------------------

    def _names(self, kind: str) -> list[str]:
        meta = self.model._meta
        if kind == "fk":
            return list(meta.foreign_keys)
        if kind == "ifk":
            return list(meta.inverse_foreign_keys)
        if kind == "m2m":
            return list(meta.many_to_many_keys)
        return [*meta.foreign_keys, *meta.inverse_foreign_keys, *meta.many_to_many_keys]

    def _related_dict(self, item: Model, names: Iterable[str]) -> _Dict | None:
        result = self._to_dict(item)
        if result is not None:
            for name in names:
                result[name] = _plain(item.get_related(name))
        return result

    async def _with(self, items: Sequence[Model], names: Sequence[str]) -> list[Model]:
        if items and names:
            await prefetch_related_objects(items, *names)
        return list(items)

    @staticmethod
    def _gathered(item: Model, names: Iterable[str]) -> dict[str, Any]:
        return {name: item.get_related(name) for name in names}

    # -- one item with its relations -----------------------------------------------------------

    @handle_errors
    async def get_item_with_related(
        self, item_id: Any, relation: str, *, use_join: bool | None = None
    ) -> tuple[Model, Any]:
        """``(item, related)`` for one relation of the item ``item_id``.

        An FK is loaded with a JOIN in the same query (``select_related``) unless
        ``use_join=False`` or it points to another database; an inverse FK or many-to-many
        relation takes a second query.

        Raises:
            AppError: Unknown relation, ``use_join=True`` for a to-many relation or a
                cross-database FK, or a missing item.
        """
        step = resolve_relation(self.model, relation, "get_item_with_related")
        join_ok = step.kind == "fk" and step.reference.to_db in (None, self.model._meta.database)
        if use_join and not join_ok:
            reason = (
                f"{type(self).__name__}.get_item_with_related(use_join=True): '{relation}' "
                f"cannot be joined ({'another database' if step.kind == 'fk' else 'to-many'}); "
                "leave use_join unset."
            )
            raise RelationshipError(model=self.model, field=relation, reason=reason, message=reason)
        if join_ok and use_join is not False:
            pk = self.model._meta.pk_names[0]
            item = await self.model.filter(**{pk: item_id}).select_related(step.name).get()
            self._activate([item])
            return await self._initialize_item(item), item.get_related(step.name)
        item = await self.load_by_id(item_id)
        return item, await item.fetch_one_relation(step.name)

    async def get_item_with_related_with_retry(
        self, item_id: Any, relation: str
    ) -> tuple[Model, Any]:
        """``get_item_with_related``, retried on connection errors."""
        result: tuple[Model, Any] = await self._retry("get_item_with_related", item_id, relation)
        return result

    @handle_errors
    async def get_items_with_related(
        self, relation: str, *, use_join: bool | None = None
    ) -> list[Model]:
        """Every item (they join the active set) with ``relation`` loaded: an FK by JOIN,
        other kinds with one extra query for all items."""
        step = resolve_relation(self.model, relation, "get_items_with_related")
        join_ok = step.kind == "fk" and step.reference.to_db in (None, self.model._meta.database)
        if join_ok and use_join is not False:
            items = await self.model.filter().select_related(step.name).all()
            self._activate(items)
            return [await self._initialize_item(item) for item in items]
        return await self._with(await self.load_items(), [step.name])

    @handle_errors
    async def get_item_with_all_related(self, item_id: Any) -> tuple[Model, dict[str, Any]]:
        """``(item, {"foreign_keys", "inverse_foreign_keys", "many_to_many"})``."""
        item = await self.load_by_id(item_id)
        return item, await item.fetch_all_related()

    async def get_items_with_all_related(self) -> list[Model]:
        """The active items with every relation loaded (one query per relation)."""
        return await self._with(list(self._active_items.values()), self._names("all"))

    @handle_errors
    async def get_item_with_m2m(self, item_id: Any, relation: str) -> tuple[Model, list[Any]]:
        """``(item, targets)`` of a many-to-many relation."""
        item = await self.load_by_id(item_id)
        return item, await item.fetch_m2m(relation)

    @handle_errors
    async def add_m2m(self, item_id: Any, relation: str, *target_ids: Any) -> int:
        """Link targets to the item; returns the junction rows inserted."""
        return await (await self.load_by_id(item_id)).add_m2m(relation, *target_ids)

    @handle_errors
    async def remove_m2m(self, item_id: Any, relation: str, *target_ids: Any) -> int:
        """Unlink targets; returns the junction rows deleted."""
        return await (await self.load_by_id(item_id)).remove_m2m(relation, *target_ids)

    @handle_errors
    async def set_m2m(self, item_id: Any, relation: str, target_ids: Iterable[Any]) -> None:
        """Make the item's linked targets exactly ``target_ids`` (atomically)."""
        await (await self.load_by_id(item_id)).set_m2m(relation, target_ids)

    @handle_errors
    async def clear_m2m(self, item_id: Any, relation: str) -> int:
        """Unlink every target; returns the junction rows deleted."""
        return await (await self.load_by_id(item_id)).clear_m2m(relation)

    async def get_items_with_related_list(self, relations: Sequence[str]) -> list[Model]:
        """The active items with each relation in ``relations`` loaded."""
        return await self._with(list(self._active_items.values()), list(relations))

    @handle_errors
    async def get_item_through_fk(
        self, item_id: Any, first: str, second: str
    ) -> tuple[Model, Model | None, Any]:
        """``(item, fk_object, fk_object's relation second)`` (``None`` past a NULL FK)."""
        item = await self.load_by_id(item_id)
        middle = await item.fetch_fk(first)
        return item, middle, None if middle is None else await middle.fetch_one_relation(second)

    # -- the active set ----------------------------------------------------------------------

    async def add_active_by_id(self, item_id: Any) -> Model:
        """Load the item and add it to the active set."""
        return await self.load_by_id(item_id)

    async def add_active_by_ids(self, item_ids: Iterable[Any]) -> list[Model]:
        """Load the items and add them to the active set."""
        return await self.load_items_by_ids(item_ids)

    def remove_active_by_id(self, item_id: Any) -> None:
        """Drop an item from the active set (no query)."""
        self._active_items.pop(self._key(item_id), None)

    def remove_active_by_ids(self, item_ids: Iterable[Any]) -> None:
        """Drop items from the active set (no query)."""
        for item_id in item_ids:
            self._active_items.pop(self._key(item_id), None)

    def remove_all_active(self) -> None:
        """Empty the active set."""
        self._active_items.clear()

    @property
    def active_item_ids(self) -> set[str]:
        """The primary keys (as text) of the active items (a copy)."""
        return set(self._active_items)

    async def get_active_items(self) -> list[Model]:
        """The active items."""
        return list(self._active_items.values())

    async def get_active_item(self, item_id: Any) -> Model:
        """The active item ``item_id``, loaded (and made active) when it is not."""
        item = self._active_items.get(self._key(item_id))
        return item if item is not None else await self.load_by_id(item_id)

    async def add_active_by_id_or_not(self, item_id: Any = None) -> Model | None:
        """``add_active_by_id`` when ``item_id`` is given, else ``None``."""
        return None if item_id is None else await self.add_active_by_id(item_id)

    async def add_active_by_item_or_not(self, item: Model | None = None) -> Model | None:
        """Add an instance already loaded to the active set (``None`` passes through)."""
        if item is not None:
            self._activate([item])
        return item

    async def add_active_by_ids_or_not(self, item_ids: Iterable[Any] | None = None) -> list[Model]:
        """``add_active_by_ids`` when ids are given, else ``[]``."""
        return [] if not item_ids else await self.add_active_by_ids(item_ids)

    async def add_active_by_items_or_not(self, items: Iterable[Model] | None = None) -> list[Model]:
        """Add instances already loaded to the active set."""
        chosen = list(items or [])
        self._activate(chosen)
        return chosen

    async def get_active_item_with_fk(self, item_id: Any, relation: str) -> tuple[Model, Any]:
        """``(item, fk_object)`` for an active item."""
        item = await self.get_active_item(item_id)
        return item, await item.fetch_fk(relation)

    async def get_active_items_with_fks(self) -> list[Model]:
        """The active items with every FK loaded (one query per FK)."""
        return await self._with(list(self._active_items.values()), self._names("fk"))

    async def get_active_item_with_ifk(self, item_id: Any, relation: str) -> tuple[Model, Any]:
        """``(item, rows)`` of an inverse FK of the active item ``item_id``."""
        item = await self.get_active_item(item_id)
        return item, await item.fetch_ifk(relation)

    async def get_active_items_with_ifks(self) -> list[Model]:
        """The active items with every inverse FK loaded."""
        return await self._with(list(self._active_items.values()), self._names("ifk"))

    async def get_active_item_with_all_related(self, item_id: Any) -> tuple[Model, _Dict]:
        """``(item, fetch_all_related())`` for the active item ``item_id``."""
        item = await self.get_active_item(item_id)
        return item, await item.fetch_all_related()

    async def get_active_items_with_all_related(self) -> list[Model]:
        """The active items with every relation loaded."""
        return await self.get_items_with_all_related()

    async def get_active_item_with_one_relation(self, item_id: Any, relation: str) -> list[Any]:
        """``[item, related]`` (a list, as upstream) for the active item ``item_id``."""
        item = await self.get_active_item(item_id)
        return [item, await item.fetch_one_relation(relation)]

    async def get_active_items_with_one_relation(self, relation: str) -> list[Model]:
        """The active items with ``relation`` loaded."""
        return await self._with(list(self._active_items.values()), [relation])

    async def get_active_item_with_related_models_list(
        self, item_id: Any, relations: Sequence[str]
    ) -> tuple[Model, dict[str, Any]]:
        """``(item, {name: related})`` for each name in ``relations``."""
        item = await self.get_active_item(item_id)
        await prefetch_related_objects([item], *relations)
        return item, self._gathered(item, [resolve_relation(self.model, r).name for r in relations])

    async def get_active_items_with_related_models_list(
        self, relations: Sequence[str]
    ) -> list[Model]:
        """The active items with each relation in ``relations`` loaded."""
        return await self.get_items_with_related_list(relations)

    async def get_active_item_with_through_fk(
        self, item_id: Any, first: str, second: str
    ) -> tuple[Model, Model | None, Any]:
        """``get_item_through_fk`` for an active item."""
        item = await self.get_active_item(item_id)
        middle = await item.fetch_fk(first)
        return item, middle, None if middle is None else await middle.fetch_one_relation(second)

    async def get_active_item_through_ifk(
        self, item_id: Any, first: str, second: str
    ) -> tuple[Model, list[Model]]:
        """``(item, rows of inverse FK first)`` with relation ``second`` loaded on each row
        (one query for all rows)."""
        item = await self.get_active_item(item_id)
        rows = await item.fetch_ifk(first)
        if rows:
            await prefetch_related_objects(rows, second)
        return item, rows

    # -- dict views -------------------------------------------------------------------------

    async def get_active_items_dict(self) -> list[_Dict | None]:
        """The active items as dicts."""
        return [self._to_dict(item) for item in self._active_items.values()]

    async def get_active_item_dict(self, item_id: Any) -> _Dict | None:
        """``get_active_item`` as a dict."""
        return self._to_dict(await self.get_active_item(item_id))

    async def get_items_with_related_dict(self, relation: str) -> list[_Dict | None]:
        """``get_items_with_related`` as dicts (the relation under its name)."""
        name = resolve_relation(self.model, relation).name
        items = await self.get_items_with_related(relation)
        return [self._related_dict(item, [name]) for item in items]

    async def get_items_with_all_related_dict(self) -> list[_Dict | None]:
        """``get_items_with_all_related`` as dicts (every relation under its name)."""
        names = self._names("all")
        return [self._related_dict(i, names) for i in await self.get_items_with_all_related()]

    async def get_active_items_with_ifks_dict(self) -> list[_Dict | None]:
        """``get_active_items_with_ifks`` as dicts."""
        names = self._names("ifk")
        return [self._related_dict(i, names) for i in await self.get_active_items_with_ifks()]

    async def get_active_items_with_all_related_dict(self) -> list[_Dict | None]:
        """``get_active_items_with_all_related`` as dicts."""
        return await self.get_items_with_all_related_dict()

    async def get_active_item_with_one_relation_dict(
        self, item_id: Any, relation: str
    ) -> _Dict | None:
        """``get_active_item_with_one_relation`` as the item's dict with the relation."""
        item, _ = await self.get_active_item_with_one_relation(item_id, relation)
        return self._related_dict(item, [resolve_relation(self.model, relation).name])

    async def get_active_item_with_related_models_list_dict(
        self, item_id: Any, relations: Sequence[str]
    ) -> _Dict | None:
        """``get_active_item_with_related_models_list`` as the item's dict with the relations."""
        item, related = await self.get_active_item_with_related_models_list(item_id, relations)
        return self._related_dict(item, related)
