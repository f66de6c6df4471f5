"""AsyncDatabaseManager: one connection pool per (database name, event loop), created lazily."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from .config import DatabaseProjectConfig, get_config
from .drivers import get_driver
from .drivers.base import Connection, Driver, Pool, Row
from .exceptions import ORMException

__all__ = ["CLOSE_TIMEOUT", "AsyncDatabaseManager"]

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0
"""Seconds a graceful pool close may wait for borrowed connections before terminating them."""

_Loop = asyncio.AbstractEventLoop


class _HotPools(threading.local):
    """Per thread: the last running loop seen and its pools dict (skips the weak-key lookup).

    A thread runs at most one loop at a time, so this is one identity check per statement.
    Dicts are cleared in place when their loop's pools close, so a stale entry only misses.
    """

    loop: _Loop | None = None
    pools: dict[str, Pool] | None = None


_hot = _HotPools()


def _take(pools: dict[str, Pool] | None) -> list[Pool]:
    """Empty a loop's pools dict in place (so cached references to it miss) and return them."""
    if pools is None:
        return []
    taken = list(pools.values())
    pools.clear()
    return taken


def _consume_exception(task: asyncio.Task[Pool]) -> None:
    # Pool creation errors reach every awaiting caller; this only silences asyncio's
    # "exception was never retrieved" when all of them were cancelled.
    if not task.cancelled():
        task.exception()


async def _close_gracefully(pools: list[Pool]) -> None:
    for pool in pools:
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except Exception:
            logger.warning("Closing a pool failed; terminating its connections", exc_info=True)
            pool.terminate()


def _terminate(pools: list[Pool]) -> None:
    for pool in pools:
        try:
            pool.terminate()
        except Exception:
            logger.warning("Terminating a pool of a closed event loop failed", exc_info=True)


class AsyncDatabaseManager:
    """Class-level owner of every pool, keyed by database name and event loop.

    A pool is bound to the loop that created it, so each running loop gets its own pool per
    database. Loops are held in a ``WeakKeyDictionary`` (never ``id(loop)``, which Python reuses).
    """

    _pools: ClassVar[WeakKeyDictionary[_Loop, dict[str, Pool]]] = WeakKeyDictionary()
    _pending: ClassVar[WeakKeyDictionary[_Loop, dict[str, asyncio.Task[Pool]]]] = (
        WeakKeyDictionary()
    )
    _drivers: ClassVar[dict[str, Driver]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def cached_pool(cls, name: str) -> Pool | None:
        """The running loop's pool for ``name`` if it exists already (no I/O, no awaiting).

        Returns:
            The pool, or ``None`` when it has not been created on this loop yet.
        """
        loop = asyncio.get_running_loop()
        hot = _hot
        if hot.loop is loop and hot.pools is not None:
            pool = hot.pools.get(name)
            if pool is not None:
                return pool
        pools = cls._pools.get(loop)
        if pools is None:
            return None
        hot.loop, hot.pools = loop, pools
        return pools.get(name)

    @classmethod
    async def get_pool(cls, name: str) -> Pool:
        """Return the pool for database ``name`` on the running loop, creating it on first use.

        Concurrent first calls on one loop share a single creation, so they get one pool.

        Returns:
            The pool.

        Raises:
            ConfigurationError: ``name`` is not registered (the message lists registered names),
                or its driver cannot be loaded.
            ConnectionError: the server could not be reached or refused the login.
        """
        loop = asyncio.get_running_loop()
        pools = cls._pools.get(loop)
        if pools is not None:
            pool = pools.get(name)
            if pool is not None:
                return pool
        with cls._lock:
            pending = cls._pending.setdefault(loop, {})
        task = pending.get(name)
        if task is None:
            config = get_config(name)
            driver = get_driver(config.driver)
            cls._drivers[name] = driver
            cls._sweep_closed_loops()
            task = loop.create_task(
                cls._open(name, driver, config, loop), name=f"matrx-orm pool {name}"
            )
            task.add_done_callback(_consume_exception)
            pending[name] = task
        return await asyncio.shield(task)

    @classmethod
    async def _open(
        cls, name: str, driver: Driver, config: DatabaseProjectConfig, loop: _Loop
    ) -> Pool:
        try:
            pool = await driver.create_pool(config)
            with cls._lock:
                cls._pools.setdefault(loop, {})[name] = pool
            logger.debug("Opened a %s pool for database %r", driver.name, name)
            return pool
        finally:
            pending = cls._pending.get(loop)
            if pending is not None:
                pending.pop(name, None)

    @classmethod
    def driver_for(cls, name: str) -> Driver:
        """The driver that serves database ``name``.

        Returns:
            The driver.

        Raises:
            ConfigurationError: ``name`` is not registered or its driver cannot be loaded.
        """
        driver = cls._drivers.get(name)
        if driver is None:
            driver = get_driver(get_config(name).driver)
        return driver

    @classmethod
    @asynccontextmanager
    async def get_connection(cls, name: str, timeout: float = 10.0) -> AsyncIterator[Connection]:
        """Borrow a connection from ``name``'s pool for the duration of the block.

        Driver errors leaving the block are translated into the ORM hierarchy. The connection
        always gets the full session reset when it goes back (API.md §10.31): settings, LISTEN,
        advisory locks, cursors, temporary tables and an open transaction never reach the next
        borrower. Inside a ``transaction()`` this still borrows a *separate* connection; use
        :func:`matrx_orm_core.transaction.get_active_connection` for the transaction's own.

        Yields:
            The connection (returned to the pool, reset, when the block exits).

        Raises:
            DatabaseError: no connection became free within ``timeout`` seconds.
            StateError: the connection was used after release or is closed.
        """
        pool = cls.cached_pool(name) or await cls.get_pool(name)
        try:
            async with pool.acquire(timeout=timeout) as connection:
                yield connection
        except ORMException:
            raise
        except Exception as err:
            translated = cls.driver_for(name).translate_error(err)
            if translated is None:
                raise
            raise translated.enrich(operation="get_connection", database=name) from err

    @classmethod
    async def execute_query(
        cls, name: str, query: str, *args: Any, timeout: float = 10.0
    ) -> list[Row]:
        """Run ``query`` with positional ``args`` and return every row.

        Inside a ``transaction()`` the query runs on that transaction's connection.

        Returns:
            The rows.

        Raises:
            DatabaseError: (or a subclass) the statement failed; translated by SQLSTATE.
        """
        from . import _execution  # _execution imports this module

        return await _execution.fetch(name, query, args, operation="execute_query", timeout=timeout)

    @classmethod
    async def close_pools_for_loop(cls, loop: _Loop | None = None) -> None:
        """Close the pools of ``loop`` (default: the running loop).

        Pools of the running loop close gracefully; pools of a loop running in another thread
        are closed on that loop; pools of a closed (or stopped) loop are terminated.
        """
        running = asyncio.get_running_loop()
        target = running if loop is None else loop
        with cls._lock:
            pools = _take(cls._pools.pop(target, None))
        if not pools:
            return
        if target is running:
            await _close_gracefully(pools)
        elif target.is_running() and not target.is_closed():
            future = asyncio.run_coroutine_threadsafe(_close_gracefully(pools), target)
            await asyncio.wrap_future(future)
        else:
            _terminate(pools)

    @classmethod
    async def close_pool(cls, name: str) -> bool:
        """Close database ``name``'s pool on the running loop (other databases keep theirs).

        The close is graceful (borrowed connections are awaited up to :data:`CLOSE_TIMEOUT`,
        then terminated). The next statement for ``name`` opens a new pool.

        Returns:
            ``True`` when a pool was open and has been closed, ``False`` when there was none.
        """
        loop = asyncio.get_running_loop()
        with cls._lock:
            pools = cls._pools.get(loop)
            pool = None if pools is None else pools.pop(name, None)
        if pool is None:
            return False
        await _close_gracefully([pool])
        return True

    @classmethod
    async def close_all_pools(cls) -> None:
        """Close the running loop's pools and terminate the pools of closed loops."""
        await cls.close_pools_for_loop()
        cls._sweep_closed_loops()

    @classmethod
    async def cleanup(cls) -> None:
        """Same as :meth:`close_all_pools` (the upstream name)."""
        await cls.close_all_pools()

    @classmethod
    def pool_count(cls) -> int:
        """Pools currently open, across every loop.

        Returns:
            The number of pools.
        """
        with cls._lock:
            return sum(len(pools) for pools in cls._pools.values())

    @classmethod
    def _sweep_closed_loops(cls) -> None:
        with cls._lock:
            closed = [loop for loop in cls._pools if loop.is_closed()]
            stale = [pool for loop in closed for pool in _take(cls._pools.pop(loop))]
        if stale:
            logger.debug("Terminating %d pool(s) left by closed event loops", len(stale))
            _terminate(stale)
