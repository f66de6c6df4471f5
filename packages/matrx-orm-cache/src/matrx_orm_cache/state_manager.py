"""``StateManager``: the spec's class-level API over the installed cache (API.md §3)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, TypeVar

from matrx_orm_core import ConfigurationError, StateError, ValidationError
from matrx_orm_core.hooks import MISS
from matrx_orm_core.transaction import in_transaction

from ._hook import StateCache
from .model_state import ModelState

__all__ = ["StateManager"]

M = TypeVar("M")

_cache = StateCache()
"""The one cache of this process (installed into core's hook by ``matrx_orm_cache``)."""


def _lookup(model_cls: type[M], kw: dict[str, Any]) -> Any:
    """The cached row, or ``MISS`` (always ``MISS`` inside a transaction or without criteria)."""
    if not kw or in_transaction(model_cls._meta.database):  # type: ignore[attr-defined]
        return MISS
    return _cache.lookup(model_cls, kw)


def _check_model(model_cls: Any, operation: str) -> None:
    meta = getattr(model_cls, "_meta", None)
    if not isinstance(model_cls, type) or meta is None or not getattr(meta, "database", None):
        name = getattr(model_cls, "__name__", type(model_cls).__name__)
        raise StateError(
            model=name,
            operation=operation,
            reason=f"StateManager.{operation}() needs a concrete model class with a _database; "
            f"got {name!r}. Pass the model class (not an instance or an abstract model).",
        )


class StateManager:
    """Class-level access to the per-model caches, keyed by (database, model class name).

    Everything is async except :meth:`register_model`, :meth:`state` and :meth:`reset`.
    """

    @staticmethod
    def cache_hook() -> StateCache:
        """The ``ModelCache`` implementation behind this manager."""
        return _cache

    @staticmethod
    def register_model(model_cls: type[Any]) -> ModelState:
        """Create (or return) the state of ``model_cls``.

        States are also made on first use, so calling this is optional.

        Raises:
            ConfigurationError: ``model_cls`` has no ``_database`` (``state_registration``).
        """
        meta = getattr(model_cls, "_meta", None)
        if meta is None or not getattr(meta, "database", None):
            name = getattr(model_cls, "__name__", repr(model_cls))
            reason = (
                f"{name} cannot be registered with the state cache: it has no _database. "
                "Set _database = '<project name>' on the model class."
            )
            raise ConfigurationError(
                model=name, config_key="state_registration", reason=reason, message=reason
            )
        return _cache.state(model_cls)

    @staticmethod
    def state(model_cls: type[Any]) -> ModelState:
        """The :class:`ModelState` of ``model_cls``.

        Raises:
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "state")
        return _cache.state(model_cls)

    @staticmethod
    async def get(model_cls: type[M], **kw: Any) -> M:
        """The row matching ``kw``: from the cache, else ``model_cls.get(use_cache=False)``
        (which caches it).

        Raises:
            DoesNotExist: No row matches.
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "get")
        found = _lookup(model_cls, kw)
        if found is not MISS:
            hit: M = found
            return hit
        fetched: M = await model_cls.get(use_cache=False, **kw)  # type: ignore[attr-defined]
        return fetched

    @staticmethod
    async def get_or_none(model_cls: type[M], **kw: Any) -> M | None:
        """Like :meth:`get`, but ``None`` when no row matches.

        Raises:
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "get_or_none")
        found = _lookup(model_cls, kw)
        if found is not MISS:
            cached: M | None = found
            return cached
        fetched: M | None = await model_cls.get_or_none(  # type: ignore[attr-defined]
            use_cache=False, **kw
        )
        return fetched

    @staticmethod
    async def get_all(model_cls: type[M], **kw: Any) -> list[M]:
        """Every row matching ``kw``, always read from the database (the cache is refreshed
        with them): a cache never holds a known-complete set, so it never answers this.

        Raises:
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "get_all")
        rows: list[M] = await model_cls.filter(**kw).all()  # type: ignore[attr-defined]
        return rows

    @staticmethod
    async def cache(model_cls: type[Any], record: Any) -> None:
        """Put ``record`` in the cache (replacing an older copy).

        Raises:
            ValidationError: ``record`` is None.
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "cache")
        await _cache.state(model_cls).cache(record)

    @staticmethod
    async def update(model_cls: type[Any], record: Any) -> None:
        """Same as :meth:`cache`."""
        await StateManager.cache(model_cls, record)

    @staticmethod
    async def cache_bulk(model_cls: type[Any], records: Iterable[Any]) -> None:
        """Cache each record (``None`` entries are refused).

        Raises:
            ValidationError: A record is None (nothing is cached).
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "cache_bulk")
        items = list(records)
        if any(item is None for item in items):
            raise ValidationError(model=model_cls, reason="Cannot cache None record").enrich(
                operation="cache_bulk"
            )
        state = _cache.state(model_cls)
        for item in items:
            state.put(item)

    @staticmethod
    async def remove(model_cls: type[Any], record: Any) -> None:
        """Forget the cached copy of ``record`` in this process.

        Raises:
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "remove")
        await _cache.state(model_cls).remove(record)

    @staticmethod
    async def remove_bulk(model_cls: type[Any], records: Iterable[Any]) -> None:
        """Forget the cached copies of ``records`` in this process.

        Raises:
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "remove_bulk")
        state = _cache.state(model_cls)
        state.evict_keys([state._get_record_cache_key(r) for r in records if r is not None])

    @staticmethod
    async def clear_cache(model_cls: type[Any]) -> None:
        """Forget every cached row of ``model_cls`` in this process.

        Raises:
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "clear_cache")
        _cache.state(model_cls).clear_cache()

    @staticmethod
    async def count(model_cls: type[Any]) -> int:
        """The number of rows of ``model_cls`` held in this process's cache.

        Raises:
            StateError: ``model_cls`` is not a concrete model.
        """
        _check_model(model_cls, "count")
        return _cache.state(model_cls).count()

    @staticmethod
    def reset() -> None:
        """Forget every state (tests): all cached rows, held notices and decided modes."""
        _cache.states.clear()
        _cache._pending.clear()
        _cache._remote.clear()
        _cache._remote_flush.clear()
        _cache.coherence.forget()

    @staticmethod
    async def wait_until_live(database: str, timeout: float = 5.0) -> bool:
        """Wait until the cache of ``database`` serves rows (its listener has subscribed).

        Reads never wait for the listener: until it has subscribed they go to the database.
        This is for tests and warm-up code that want the cache serving.

        Returns:
            True when the cache serves rows for ``database``; False after ``timeout`` seconds
            (or when the cache is off for it).
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while not _cache.serving(database):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    @staticmethod
    async def stop_listeners(database: str | None = None) -> None:
        """Close the cross-process listener session(s); the next cache use reopens them."""
        await _cache.coherence.stop(database)
