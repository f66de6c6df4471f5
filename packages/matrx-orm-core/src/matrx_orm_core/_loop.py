"""The ORM-owned background event loop that every ``*_sync`` twin runs its coroutine on."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .exceptions import SyncContextError

__all__ = [
    "THREAD_NAME",
    "is_running",
    "move_exit_hook_last",
    "on_loop_thread",
    "run_sync",
    "shutdown",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

THREAD_NAME = "matrx-orm-sync"
"""Name of the daemon thread that runs the ORM-owned event loop."""

_SHUTDOWN_TIMEOUT = 30.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_atexit_registered = False


def run_sync(coro_fn: Callable[[], Awaitable[T]], *, name: str) -> T:
    """Run ``coro_fn()`` on the ORM-owned event loop and block until it finishes.

    The loop lives in one daemon thread (started on first use, thread-safe), so pools created by
    sync calls are reused by later sync calls from any thread, and are closed at interpreter exit.

    Args:
        coro_fn: A zero-argument callable returning the awaitable to run. It is called inside the
            ORM loop, so the coroutine is created and awaited on that loop.
        name: The async method's name (``"get"`` for ``get_sync``), used in the error message.

    Returns:
        Whatever the awaitable returns.

    Raises:
        SyncContextError: An event loop is already running in the calling thread (async code,
            Jupyter); the message says to ``await <name>()`` instead.
        BaseException: Any exception raised by the coroutine is re-raised unchanged (the same
            object). A ``KeyboardInterrupt`` in the caller cancels the coroutine and propagates.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise SyncContextError(
            f"{name}_sync() called in an async context. Use await {name}() instead."
        )

    async def invoke() -> T:
        return await coro_fn()

    future: concurrent.futures.Future[T] | None = None
    try:
        with _lock:
            loop = _ensure_loop_locked()
            future = asyncio.run_coroutine_threadsafe(invoke(), loop)
        return future.result()
    except BaseException:
        # KeyboardInterrupt (or any other exception raised in this thread while waiting): do not
        # leave the coroutine running on the ORM loop with nobody to receive its result.
        if future is not None and not future.done():
            future.cancel()
        raise


def is_running() -> bool:
    """Whether the ORM-owned loop thread is currently started."""
    with _lock:
        return _loop is not None and _thread is not None and _thread.is_alive()


def on_loop_thread() -> bool:
    """Whether the caller runs on the ORM-owned loop's thread."""
    with _lock:
        return _thread is not None and _thread is threading.current_thread()


def move_exit_hook_last() -> None:
    """Make the interpreter-exit shutdown run before every exit hook registered so far.

    :mod:`atexit` runs hooks last-in first-out. Code that registers a hook which must run after
    the ORM's pools are closed (stopping a database server) calls this right after registering.
    """
    with _lock:
        if _atexit_registered:
            atexit.unregister(shutdown)
            atexit.register(shutdown)


def shutdown(timeout: float = _SHUTDOWN_TIMEOUT) -> None:
    """Close the ORM loop's pools, stop the loop, close it and join its thread.

    Safe to call more than once and when the loop never started. A later :func:`run_sync` starts
    a new loop. Registered with :mod:`atexit` the first time the loop starts.

    Args:
        timeout: Seconds to wait for the loop thread to finish.

    Raises:
        SyncContextError: Called from a coroutine running on the ORM loop itself (it would wait
            for itself forever).
    """
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        if thread is not None and thread is threading.current_thread():
            raise SyncContextError(
                "shutdown() called from the matrx-orm-sync loop thread. Call it from plain "
                "synchronous code (it waits for that thread to finish)."
            )
        _loop, _thread = None, None
    if loop is None or thread is None:
        return
    if thread.is_alive() and not loop.is_closed():
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # the loop closed between the check and the call
            logger.debug("matrx-orm-sync loop already closed during shutdown")
    thread.join(timeout)
    if thread.is_alive():
        logger.warning(
            "The matrx-orm-sync thread did not stop within %.1f s; it is a daemon thread and "
            "ends with the interpreter.",
            timeout,
        )


def _ensure_loop_locked() -> asyncio.AbstractEventLoop:
    """Return the running ORM loop, starting it first if needed (caller holds ``_lock``)."""
    global _loop, _thread, _atexit_registered
    if _loop is not None and _thread is not None and _thread.is_alive() and not _loop.is_closed():
        return _loop
    loop = asyncio.new_event_loop()
    started = threading.Event()
    thread = threading.Thread(target=_run_loop, args=(loop, started), name=THREAD_NAME, daemon=True)
    thread.start()
    started.wait()
    _loop, _thread = loop, thread
    if not _atexit_registered:
        atexit.register(shutdown)
        _atexit_registered = True
    logger.debug("started the %s event loop thread", THREAD_NAME)
    return loop


def _run_loop(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
    """Thread body: run ``loop`` until stopped, then release everything it owns and close it."""
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    try:
        loop.run_forever()
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(_close_pools())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        except Exception:
            logger.exception("error while shutting down the %s event loop", THREAD_NAME)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks still pending on ``loop`` and let them finish (as ``asyncio.run`` does)."""
    pending = asyncio.all_tasks(loop)
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for task in pending:
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "a task on the %s loop failed during shutdown",
                THREAD_NAME,
                exc_info=task.exception(),
            )


async def _close_pools() -> None:
    """Close the pools that belong to the running (ORM) loop, if any were ever created."""
    # Only a program that opened a connection has imported connections; skip the import otherwise.
    if f"{__package__}.connections" not in sys.modules:
        return
    from .connections import AsyncDatabaseManager

    await AsyncDatabaseManager.close_pools_for_loop()


def _reset_after_fork() -> None:
    """In a forked child the loop thread does not exist: forget it and start afresh on demand."""
    global _lock, _loop, _thread
    _lock = threading.Lock()
    _loop, _thread = None, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
