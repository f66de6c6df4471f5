"""``BaseManager``: a per-model service object with loading, CRUD, dict views, relation helpers,
an "active items" set and the sync twins (API.md §4.5, §2.16, §10.1, §10.9).

The model comes from a class attribute (``model = Post``, the README pattern) or the
constructor (``BaseManager(Post)``). Every loaded or created item passes through
:meth:`BaseManager._initialize_item`: the ``_initialize_item_runtime`` hook, then, with a
``dto_class``, a DTO attached as ``item.dto``. Methods decorated with ``handle_errors`` raise
:class:`~matrx_orm_relations.AppError`; ``upsert_item(s)``, ``count``, ``update_where`` and
``delete_where`` raise the ORM's exceptions, as upstream does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from matrx_orm_core import Model
from matrx_orm_core.exceptions import (
    ConfigurationError,
    ConnectionError,
    IntegrityError,
    ValidationError,
)
from matrx_orm_core.transaction import transaction

from ._dto import BaseDTO
from ._errors import handle_errors
from ._manager_relations import RelationMethods
from ._manager_sync import SyncMethods

__all__ = ["BaseManager"]

RETRY_DELAYS = (0.1, 0.3)
"""Pauses between the attempts of the ``*_with_retry`` methods (connection errors only)."""


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValidationError(
            f"batch_size={size!r} is not a positive int.", field="batch_size", value=size
        )
    return (items[start : start + size] for start in range(0, len(items), size))


class BaseManager(RelationMethods, SyncMethods):
    """High-level operations on one model. Subclass it and set ``model`` (and ``dto_class``).

    Args:
        model: The model class (overrides the class attribute).
        dto_class: A :class:`BaseDTO` subclass to attach to every item (overrides the class
            attribute).
        fetch_on_init_limit: Rows :meth:`initialize` loads into the active set (0: none).
        FETCH_ON_INIT_WITH_WARNINGS_OFF: Accepted for compatibility; nothing is fetched
            implicitly any more, so there is no warning to turn off.

    Raises:
        ConfigurationError: No model (neither attribute nor argument), or not a concrete model.
    """

    model: type[Model]
    """The model class; set it on a subclass (``model = Post``) or pass it to the constructor."""
    dto_class: type[BaseDTO] | None = None
    """Optional DTO class attached to every item as ``item.dto``."""
    raise_orm_errors: ClassVar[bool] = False
    """``True``: ORM exceptions pass through ``handle_errors`` unchanged (no AppError)."""

    def __init__(
        self,
        model: type[Model] | None = None,
        dto_class: type[BaseDTO] | None = None,
        fetch_on_init_limit: int = 0,
        FETCH_ON_INIT_WITH_WARNINGS_OFF: str | None = None,
    ) -> None:
        chosen = model if model is not None else getattr(type(self), "model", None)
        if not (isinstance(chosen, type) and issubclass(chosen, Model) and "_meta" in vars(chosen)):
            reason = (
                f"{type(self).__name__} needs a concrete model: set 'model = <ModelClass>' on "
                f"the class or pass it, as in {type(self).__name__}(Post); got {chosen!r}."
            )
            raise ConfigurationError(
                model=type(self).__name__, config_key="model", reason=reason, message=reason
            )
        if isinstance(fetch_on_init_limit, bool) or not isinstance(fetch_on_init_limit, int):
            fetch_on_init_limit = -1
        if fetch_on_init_limit < 0:
            reason = f"fetch_on_init_limit must be an int >= 0; got {fetch_on_init_limit!r}."
            raise ConfigurationError(
                model=chosen, config_key="fetch_on_init_limit", reason=reason, message=reason
            )
        self.model = chosen
        self.dto_class = dto_class if dto_class is not None else type(self).dto_class
        self.fetch_on_init_limit = fetch_on_init_limit
        self.computed_fields: set[str] = set()
        self.relation_fields: set[str] = set()
        self._active_items: dict[str, Model] = {}
        self._initialize_manager()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} model={self.model.__name__}>"

    # -- hooks ---------------------------------------------------------------------------------

    def _initialize_manager(self) -> None:
        """Hook run at the end of ``__init__`` (the default does nothing)."""

    async def _initialize_item_runtime(self, item: Model) -> Model:
        """Hook run on every loaded or created item (the default returns it unchanged)."""
        return item

    async def _initialize_dto_runtime(self, dto: BaseDTO, item: Model) -> BaseDTO:
        """Hook run on every DTO after it is built (the default returns it unchanged)."""
        return dto

    async def _initialize_item(self, item: Model) -> Model:
        item = await self._initialize_item_runtime(item)
        if self.dto_class is not None:
            dto = await self.dto_class.from_model(item)
            item.dto = await self._initialize_dto_runtime(dto, item)
        return item

    async def _initialize_items(self, items: Iterable[Model]) -> list[Model]:
        return [await self._initialize_item(item) for item in items]

    def _to_dict(self, item: Model | None) -> dict[str, Any] | None:
        if item is None:
            return None
        dto = item.dto
        if dto is not None and callable(getattr(dto, "to_dict", None)):
            result: dict[str, Any] = dto.to_dict()
            return result
        return item.to_dict()

    def _pk(self) -> str:
        return self.model._meta.pk_names[0]

    def _key(self, item_id: Any) -> str:
        return str(item_id)

    def _activate(self, items: Iterable[Model]) -> None:
        for item in items:
            self._active_items[item.get_cache_key()] = item

    async def initialize(self) -> list[Model]:
        """Load ``fetch_on_init_limit`` rows into the active set (an explicit step; nothing
        is fetched by the constructor).

        Returns:
            The items loaded (``[]`` when the limit is 0).
        """
        if not self.fetch_on_init_limit:
            return []
        items = await self.model.filter().limit(self.fetch_on_init_limit).all()
        self._activate(items)
        return await self._initialize_items(items)

    # -- loading ---------------------------------------------------------------------------

    @handle_errors
    async def load_item(self, use_cache: bool = True, **kwargs: Any) -> Model:
        """The one item matching ``kwargs``; it joins the active set."""
        item = await self.model.get(use_cache=use_cache, **kwargs)
        self._activate([item])
        return await self._initialize_item(item)

    @handle_errors
    async def load_item_or_none(self, use_cache: bool = True, **kwargs: Any) -> Model | None:
        """Like ``load_item`` but ``None`` when no row matches."""
        item = await self.model.get_or_none(use_cache=use_cache, **kwargs)
        if item is None:
            return None
        self._activate([item])
        return await self._initialize_item(item)

    async def _retry(self, method: str, *args: Any, **kwargs: Any) -> Any:
        call = getattr(self, method)
        for delay in RETRY_DELAYS:
            try:
                return await call(*args, **kwargs)
            except Exception as err:
                cause = err.__cause__ if not isinstance(err, ConnectionError) else err
                if not isinstance(cause, ConnectionError):
                    raise
            await asyncio.sleep(delay)
        return await call(*args, **kwargs)

    async def load_item_with_retry(self, use_cache: bool = True, **kwargs: Any) -> Model:
        """``load_item``, tried up to three times when the database cannot be reached."""
        item: Model = await self._retry("load_item", use_cache, **kwargs)
        return item

    @handle_errors
    async def load_items(self, **kwargs: Any) -> list[Model]:
        """The items matching ``kwargs`` (an ``order_by`` keyword orders them); they join
        the active set."""
        order = kwargs.pop("order_by", None)
        query = self.model.filter(**kwargs)
        if order:
            query = query.order_by(*([order] if isinstance(order, str) else order))
        items = await query.all()
        self._activate(items)
        return await self._initialize_items(items)

    async def load_all(self) -> list[Model]:
        """Every row (``load_items()`` with no filters)."""
        return await self.load_items()

    @handle_errors
    async def load_by_id(self, item_id: Any) -> Model:
        """The item with primary key ``item_id``; it joins the active set."""
        item = await self.model.get(**{self._pk(): item_id})
        self._activate([item])
        return await self._initialize_item(item)

    async def load_by_id_with_retry(self, item_id: Any) -> Model:
        """``load_by_id``, tried up to three times when the database cannot be reached."""
        item: Model = await self._retry("load_by_id", item_id)
        return item

    @handle_errors
    async def load_items_by_ids(self, item_ids: Iterable[Any]) -> list[Model]:
        """The items whose primary key is in ``item_ids``; they join the active set."""
        items = await self.model.filter(**{f"{self._pk()}__in": list(item_ids)}).all()
        self._activate(items)
        return await self._initialize_items(items)

    @handle_errors
    async def filter_items(self, **kwargs: Any) -> list[Model]:
        """The items matching ``kwargs`` (not added to the active set)."""
        return await self._initialize_items(await self.model.filter(**kwargs).all())

    @handle_errors
    async def filter_items_by_ids(self, item_ids: Iterable[Any]) -> list[Model]:
        """The items whose primary key is in ``item_ids`` (not added to the active set)."""
        items = await self.model.filter(**{f"{self._pk()}__in": list(item_ids)}).all()
        return await self._initialize_items(items)

    # -- writing -----------------------------------------------------------------------------

    @handle_errors
    async def create_item(self, **data: Any) -> Model:
        """INSERT one row; the new item joins the active set."""
        item = await self.model.create(**data)
        self._activate([item])
        return await self._initialize_item(item)

    async def create_item_get_object(self, **data: Any) -> Model:
        """``create_item`` (the item itself, as upstream's name says)."""
        return await self.create_item(**data)

    @handle_errors
    async def create_items(
        self,
        items_data: Sequence[dict[str, Any]],
        batch_size: int = 1000,
        ignore_conflicts: bool = False,
    ) -> list[Model]:
        """INSERT many rows in ``batch_size`` statements, all in one transaction.

        With ``ignore_conflicts`` each row is inserted under its own savepoint and a row that
        violates a unique constraint is skipped (the others are kept).

        Returns:
            The created items (skipped rows are absent).
        """
        batches = list(_batches(list(items_data), batch_size))
        created: list[Model] = []
        async with transaction(self.model._meta.database):
            for batch in batches:
                if not ignore_conflicts:
                    created.extend(await self.model.bulk_create(list(batch)))
                    continue
                for data in batch:
                    try:
                        async with transaction(self.model._meta.database):
                            created.append(await self.model.create(**data))
                    except IntegrityError as err:
                        if err.constraint != "unique":
                            raise
        self._activate(created)
        return await self._initialize_items(created)

    @handle_errors
    async def update_item(self, item_id: Any, **updates: Any) -> Model:
        """UPDATE the item with primary key ``item_id``; returns it updated."""
        item = await self.model.get(**{self._pk(): item_id})
        await item.update(**updates)
        self._activate([item])
        return await self._initialize_item(item)

    @handle_errors
    async def update_items(
        self, objects: Sequence[Model], fields: list[str], batch_size: int = 1000
    ) -> int:
        """UPDATE ``fields`` of ``objects`` in ``batch_size`` statements, in one transaction.

        Returns:
            The number of rows updated.
        """
        total = 0
        async with transaction(self.model._meta.database):
            for batch in _batches(list(objects), batch_size):
                total += await self.model.bulk_update(list(batch), fields)
        return total

    @handle_errors
    async def delete_item(self, item_id: Any) -> bool:
        """DELETE the item with primary key ``item_id``.

        Returns:
            ``True`` (a missing item raises ``AppError`` with status 404).
        """
        item = await self.model.get(**{self._pk(): item_id})
        await item.delete()
        self._active_items.pop(self._key(item_id), None)
        return True

    @handle_errors
    async def delete_items(self, objects: Sequence[Model], batch_size: int = 1000) -> int:
        """DELETE ``objects`` in ``batch_size`` statements, in one transaction.

        Returns:
            The number of rows deleted.
        """
        total = 0
        async with transaction(self.model._meta.database):
            for batch in _batches(list(objects), batch_size):
                total += await self.model.bulk_delete(list(batch))
        for item in objects:
            self._active_items.pop(item.get_cache_key(), None)
        return total

    @handle_errors
    async def exists(self, item_id: Any) -> bool:
        """Whether a row with primary key ``item_id`` exists."""
        return await self.model.exists(**{self._pk(): item_id})

    @handle_errors
    async def get_or_create(self, defaults: dict[str, Any] | None = None, **kwargs: Any) -> Model:
        """The item matching ``kwargs``, created from ``kwargs`` and ``defaults`` when missing
        (also when ``defaults`` is empty; a concurrent insert of the same row is read back).

        Returns:
            The item (not a ``(item, created)`` tuple, as upstream).
        """
        item = await self.model.get_or_none(**kwargs)
        if item is None:
            try:
                async with transaction(self.model._meta.database):
                    item = await self.model.create(**{**(defaults or {}), **kwargs})
            except IntegrityError as err:
                if err.constraint != "unique":
                    raise
                item = await self.model.get(use_cache=False, **kwargs)
        self._activate([item])
        return await self._initialize_item(item)

    async def upsert_item(
        self,
        data: dict[str, Any],
        conflict_fields: list[str],
        update_fields: list[str] | None = None,
    ) -> Model:
        """``Model.upsert`` (raises the ORM's exceptions)."""
        item = await self.model.upsert(data, conflict_fields, update_fields)
        self._activate([item])
        return await self._initialize_item(item)

    async def upsert_items(
        self,
        items_data: list[dict[str, Any]],
        conflict_fields: list[str],
        update_fields: list[str] | None = None,
    ) -> list[Model]:
        """``Model.bulk_upsert`` (raises the ORM's exceptions)."""
        items = await self.model.bulk_upsert(items_data, conflict_fields, update_fields)
        self._activate(items)
        return await self._initialize_items(items)

    async def count(self, **filters: Any) -> int:
        """``Model.count`` (raises the ORM's exceptions)."""
        return await self.model.count(**filters)

    async def update_where(self, filters: dict[str, Any], **updates: Any) -> dict[str, Any]:
        """``Model.update_where`` (raises the ORM's exceptions)."""
        return await self.model.update_where(filters, **updates)

    async def delete_where(self, **filters: Any) -> int:
        """``Model.delete_where`` (raises the ORM's exceptions)."""
        return await self.model.delete_where(**filters)

    # -- dict views ----------------------------------------------------------------------------

    async def get_item_dict(self, item_id: Any) -> dict[str, Any] | None:
        """``load_by_id`` as a dict (the DTO's ``to_dict()`` when there is one)."""
        return self._to_dict(await self.load_by_id(item_id))

    async def get_items_dict(self, **kwargs: Any) -> list[dict[str, Any] | None]:
        """``load_items`` as dicts."""
        return [self._to_dict(item) for item in await self.load_items(**kwargs)]

    async def create_item_get_dict(self, **data: Any) -> dict[str, Any] | None:
        """``create_item`` as a dict."""
        return self._to_dict(await self.create_item(**data))

    async def update_item_get_dict(self, item_id: Any, **updates: Any) -> dict[str, Any] | None:
        """``update_item`` as a dict."""
        return self._to_dict(await self.update_item(item_id, **updates))

    async def load_item_get_dict(
        self, use_cache: bool = True, **kwargs: Any
    ) -> dict[str, Any] | None:
        """``load_item`` as a dict."""
        return self._to_dict(await self.load_item(use_cache, **kwargs))

    async def load_items_by_ids_get_dict(
        self, item_ids: Iterable[Any]
    ) -> list[dict[str, Any] | None]:
        """``load_items_by_ids`` as dicts."""
        return [self._to_dict(item) for item in await self.load_items_by_ids(item_ids)]

    async def filter_items_get_dict(self, **kwargs: Any) -> list[dict[str, Any] | None]:
        """``filter_items`` as dicts."""
        return [self._to_dict(item) for item in await self.filter_items(**kwargs)]

    # -- attributes (sync) -------------------------------------------------------------------

    def add_computed_field(self, name: str) -> None:
        """Remember a computed attribute name (listed by ``get_all_attributes``)."""
        self.computed_fields.add(name)

    def add_relation_field(self, name: str) -> None:
        """Remember a relation attribute name (listed by ``get_all_attributes``)."""
        self.relation_fields.add(name)

    def get_all_attributes(self) -> list[str]:
        """The model's fields, then the computed and relation names added to this manager."""
        return [
            *self.model._meta.fields,
            *sorted(self.computed_fields),
            *sorted(self.relation_fields),
        ]

    def get_item_attributes(self, item: Model) -> dict[str, Any]:
        """``{name: value}`` for ``get_all_attributes()`` (missing ones are ``None``)."""
        data = item.__dict__
        runtime = item.runtime
        result: dict[str, Any] = {}
        for name in self.get_all_attributes():
            if name in item._meta.fields:
                result[name] = data.get(name)
            else:
                result[name] = runtime.get(name, getattr(item.dto, name, None))
        return result
