"""BaseManager's blocking twins: exactly the upstream list (API.md §2.16, §10.1, §10.38).

Each runs its async method on the ORM-owned background event loop (``matrx_orm_core``'s sync
runner); inside a running event loop it raises ``SyncContextError`` saying to ``await`` the
async method instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matrx_orm_core._loop import run_sync

if TYPE_CHECKING:
    from matrx_orm_core import Model

__all__ = ["SyncMethods"]


class SyncMethods:
    """The ``*_sync`` methods of ``BaseManager`` (a mixin)."""

    if TYPE_CHECKING:

        async def initialize(self) -> list[Model]: ...

        async def load_item(self, use_cache: bool = True, **kwargs: Any) -> Model: ...

        async def load_item_or_none(
            self, use_cache: bool = True, **kwargs: Any
        ) -> Model | None: ...

        async def load_items(self, **kwargs: Any) -> list[Model]: ...

        async def load_by_id(self, item_id: Any) -> Model: ...

        async def filter_items(self, **kwargs: Any) -> list[Model]: ...

        async def create_item(self, **data: Any) -> Model: ...

        async def update_item(self, item_id: Any, **updates: Any) -> Model: ...

        async def delete_item(self, item_id: Any) -> bool: ...

        async def get_or_create(
            self, defaults: dict[str, Any] | None = None, **kwargs: Any
        ) -> Model: ...

        async def exists(self, item_id: Any) -> bool: ...

        async def get_active_items(self) -> list[Model]: ...

        async def get_item_dict(self, item_id: Any) -> dict[str, Any] | None: ...

        async def get_items_dict(self, **kwargs: Any) -> list[dict[str, Any] | None]: ...

        async def upsert_item(
            self,
            data: dict[str, Any],
            conflict_fields: list[str],
            update_fields: list[str] | None = None,
        ) -> Model: ...

        async def count(self, **filters: Any) -> int: ...

        async def update_where(self, filters: dict[str, Any], **updates: Any) -> dict[str, Any]: ...

        async def delete_where(self, **filters: Any) -> int: ...

    def initialize_sync(self) -> list[Model]:
        """Blocking ``initialize``."""
        return run_sync(self.initialize, name="initialize")

    def load_item_sync(self, use_cache: bool = True, **kwargs: Any) -> Model:
        """Blocking ``load_item``."""
        return run_sync(lambda: self.load_item(use_cache, **kwargs), name="load_item")

    def load_item_or_none_sync(self, use_cache: bool = True, **kwargs: Any) -> Model | None:
        """Blocking ``load_item_or_none``."""
        return run_sync(
            lambda: self.load_item_or_none(use_cache, **kwargs), name="load_item_or_none"
        )

    def load_items_sync(self, **kwargs: Any) -> list[Model]:
        """Blocking ``load_items``."""
        return run_sync(lambda: self.load_items(**kwargs), name="load_items")

    def load_by_id_sync(self, item_id: Any) -> Model:
        """Blocking ``load_by_id``."""
        return run_sync(lambda: self.load_by_id(item_id), name="load_by_id")

    def filter_items_sync(self, **kwargs: Any) -> list[Model]:
        """Blocking ``filter_items``."""
        return run_sync(lambda: self.filter_items(**kwargs), name="filter_items")

    def create_item_sync(self, **data: Any) -> Model:
        """Blocking ``create_item``."""
        return run_sync(lambda: self.create_item(**data), name="create_item")

    def update_item_sync(self, item_id: Any, **updates: Any) -> Model:
        """Blocking ``update_item``."""
        return run_sync(lambda: self.update_item(item_id, **updates), name="update_item")

    def delete_item_sync(self, item_id: Any) -> bool:
        """Blocking ``delete_item``."""
        return run_sync(lambda: self.delete_item(item_id), name="delete_item")

    def get_or_create_sync(self, defaults: dict[str, Any] | None = None, **kwargs: Any) -> Model:
        """Blocking ``get_or_create``."""
        return run_sync(lambda: self.get_or_create(defaults, **kwargs), name="get_or_create")

    def exists_sync(self, item_id: Any) -> bool:
        """Blocking ``exists``."""
        return run_sync(lambda: self.exists(item_id), name="exists")

    def get_active_items_sync(self) -> list[Model]:
        """Blocking ``get_active_items``."""
        return run_sync(self.get_active_items, name="get_active_items")

    def get_item_dict_sync(self, item_id: Any) -> dict[str, Any] | None:
        """Blocking ``get_item_dict``."""
        return run_sync(lambda: self.get_item_dict(item_id), name="get_item_dict")

    def get_items_dict_sync(self, **kwargs: Any) -> list[dict[str, Any] | None]:
        """Blocking ``get_items_dict``."""
        return run_sync(lambda: self.get_items_dict(**kwargs), name="get_items_dict")

    def upsert_item_sync(
        self,
        data: dict[str, Any],
        conflict_fields: list[str],
        update_fields: list[str] | None = None,
    ) -> Model:
        """Blocking ``upsert_item``."""
        return run_sync(
            lambda: self.upsert_item(data, conflict_fields, update_fields), name="upsert_item"
        )

    def count_sync(self, **filters: Any) -> int:
        """Blocking ``count``."""
        return run_sync(lambda: self.count(**filters), name="count")

    def update_where_sync(self, filters: dict[str, Any], **updates: Any) -> dict[str, Any]:
        """Blocking ``update_where``."""
        return run_sync(lambda: self.update_where(filters, **updates), name="update_where")

    def delete_where_sync(self, **filters: Any) -> int:
        """Blocking ``delete_where``."""
        return run_sync(lambda: self.delete_where(**filters), name="delete_where")
