"""Cross-process invalidation: publish committed writes with NOTIFY, LISTEN for others'.

One channel, ``matrx_orm_cache``. PostgreSQL delivers a NOTIFY only to sessions connected to
the same database, so the one name is already a channel per database. Messages name the table
(schema-qualified), not the model class, so processes whose model classes are named differently
still understand each other. A message is JSON under 7,000 bytes (NOTIFY refuses 8,000):

- ``{"v": 1, "s": sender, "t": table, "k": [key, ...]}``: rows of ``table`` changed;
- ``{"v": 1, "s": sender, "t": table}``: any row of ``table`` may have changed;
- ``{"v": 1, "s": sender}``: anything in the database may have changed.

Keys that do not fit in one message are split over several; beyond :data:`MAX_CHUNKS` messages,
or for keys JSON cannot carry exactly, the table is flushed instead. A process skips its own
messages (it evicted locally before publishing).

Each process LISTENs on one dedicated session per database (opened with the driver's
``connect``, never borrowed from the pool). The database's cache is bypassed until the first
LISTEN succeeds, and again from the moment the session is lost until a new one has subscribed;
each (re)subscribe flushes that database, so nothing missed while deaf survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from matrx_orm_core import AsyncDatabaseManager, ConfigurationWarning
from matrx_orm_core.config import get_config
from matrx_orm_core.drivers.base import Session, SessionDriver

from . import settings

__all__ = ["CHANNEL", "MAX_CHUNKS", "MAX_PAYLOAD", "SENDER", "Coherence", "encode", "merge"]

logger = logging.getLogger("matrx_orm_cache")

CHANNEL = "matrx_orm_cache"
MAX_PAYLOAD = 7000
"""Bytes per NOTIFY payload (PostgreSQL's limit is 8,000)."""
MAX_CHUNKS = 8
"""Messages per table and write before a table flush is sent instead."""
HEARTBEAT = 5.0
"""Seconds between liveness checks of an idle listener session."""
SENDER = secrets.token_hex(6)
"""This process's sender id in published messages."""

_JSON_SCALARS = (str, int)


def _portable(key: Any) -> bool:
    if isinstance(key, bool):
        return False
    if isinstance(key, _JSON_SCALARS):
        return True
    return isinstance(key, tuple) and all(
        isinstance(part, _JSON_SCALARS) and not isinstance(part, bool) for part in key
    )


def encode(table: str | None, keys: Sequence[Any] | None) -> list[str]:
    """The NOTIFY payloads for one change (see the module docstring for the format).

    Args:
        table: The schema-qualified table, or ``None`` for "the whole database".
        keys: Primary-key cache keys, or ``None`` for "any row of the table".

    Returns:
        One or more JSON payloads, each under :data:`MAX_PAYLOAD` bytes.
    """
    head: dict[str, Any] = {"v": 1, "s": SENDER}
    if table is None:
        return [json.dumps(head, separators=(",", ":"))]
    head["t"] = table
    flush = [json.dumps(head, separators=(",", ":"))]
    if keys is None or not all(_portable(key) for key in keys):
        return flush
    base = len(json.dumps({**head, "k": []}, separators=(",", ":")).encode())
    payloads: list[str] = []
    chunk: list[Any] = []
    size = base
    for key in keys:
        item = json.dumps(list(key) if isinstance(key, tuple) else key, separators=(",", ":"))
        cost = len(item.encode()) + 1
        if base + cost > MAX_PAYLOAD:
            return flush
        if size + cost > MAX_PAYLOAD:
            payloads.append(json.dumps({**head, "k": chunk}, separators=(",", ":")))
            if len(payloads) >= MAX_CHUNKS:
                return flush
            chunk, size = [], base
        chunk.append(list(key) if isinstance(key, tuple) else key)
        size += cost
    if chunk:
        payloads.append(json.dumps({**head, "k": chunk}, separators=(",", ":")))
    return payloads


Apply = Callable[[str, str | None, list[Any] | None], None]
"""``apply(database, table or None, keys or None)``: evict what another process changed."""


class Listener:
    """The LISTEN session of one database, bound to the event loop that started it."""

    def __init__(self, hub: Coherence, database: str, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.database = database
        self.loop = loop
        self.live = False
        self.stopped = False
        self.session: Session | None = None
        self.backend_pid: int | None = None
        self.subscriptions = 0
        self.lock = asyncio.Lock()
        self.task = loop.create_task(self._run(), name=f"matrx-orm-cache-listener:{database}")

    def usable(self) -> bool:
        """True while subscribed on a loop that is still open."""
        if not self.live or self.stopped or self.loop.is_closed():
            return False
        session = self.session
        if session is None or session.is_closed():
            # The driver knows the session ended before its lost callback has run.
            self.live = False
            return False
        return True

    def _lost(self, event: asyncio.Event) -> None:
        if self.live:
            logger.warning(
                "cache listener for database %r lost its session; the cache is bypassed "
                "until it has subscribed again",
                self.database,
            )
        self.live = False
        event.set()

    async def _notice(self, _channel: str, payload: str) -> None:
        self.hub.receive(self.database, payload)

    async def _run(self) -> None:
        delay = 0.05
        try:
            while not self.stopped:
                try:
                    config = get_config(self.database)
                except Exception:
                    logger.info("cache listener for %r stops: database unregistered", self.database)
                    return
                listen_config = config.direct_config() or config
                driver = AsyncDatabaseManager.driver_for(self.database)
                if not isinstance(driver, SessionDriver):
                    return
                try:
                    session = await driver.connect(listen_config)
                except Exception as err:
                    logger.warning(
                        "cache listener for database %r cannot connect (%s); retrying in %.2fs",
                        self.database,
                        err,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                if await self._serve(session):
                    delay = 0.05
                else:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            self.live = False
            session_left = self.session
            self.session = None
            if session_left is not None and not session_left.is_closed():
                session_left.terminate()

    async def _serve(self, session: Session) -> bool:
        """Subscribe on ``session`` and watch it; True if it was live for a while."""
        lost = asyncio.Event()
        session.add_lost_callback(lambda: self._lost(lost))
        self.session = session
        try:
            await session.listen(CHANNEL, self._notice)
            self.backend_pid = await session.fetch_val("SELECT pg_backend_pid()")
            if lost.is_set():
                return False
            self.subscriptions += 1
            self.hub.subscribed(self.database)
            self.live = True
            while not lost.is_set() and not self.stopped:
                try:
                    await asyncio.wait_for(lost.wait(), HEARTBEAT)
                except asyncio.TimeoutError:
                    try:
                        async with self.lock:
                            await session.fetch_val("SELECT 1", timeout=HEARTBEAT)
                    except Exception:
                        self._lost(lost)
            return True
        except Exception as err:
            logger.warning("cache listener for database %r failed: %s", self.database, err)
            return False
        finally:
            self.live = False
            self.session = None
            if not session.is_closed():
                try:
                    await session.close()
                except Exception:
                    session.terminate()

    async def stop(self) -> None:
        """Unsubscribe and close the session."""
        self.stopped = True
        self.live = False
        if not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


class Coherence:
    """The per-process publisher and the listeners, one per database."""

    def __init__(self, apply: Apply, flush_database: Callable[[str], None]) -> None:
        self._apply = apply
        self._flush_database = flush_database
        self.listeners: dict[str, Listener] = {}
        self._modes: dict[str, str] = {}
        self._outbox: dict[
            tuple[str, asyncio.AbstractEventLoop], list[tuple[str | None, list[Any] | None]]
        ] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.published = 0
        self.received = 0

    # -- mode -------------------------------------------------------------------------------

    def mode(self, database: str) -> str:
        """``"listen"`` (cross-process invalidation), ``"ttl"`` (pooler without a direct URL:
        TTL only, warned once) or ``"off"`` (the driver cannot open a session: bypassed)."""
        mode = self._modes.get(database)
        if mode is None:
            mode = self._decide(database)
            self._modes[database] = mode
        return mode

    def _decide(self, database: str) -> str:
        try:
            config = get_config(database)
            driver = AsyncDatabaseManager.driver_for(database)
        except Exception:
            return "off"
        if not isinstance(driver, SessionDriver):
            # A driver with no sessions (the recording test driver): nothing could tell this
            # process about other writers, and the pooler exception below does not apply.
            logger.debug("cache bypassed for %r: driver %r has no sessions", database, driver)
            return "off"
        if config.uses_pooler and config.direct_config() is None:
            reason = (
                f"database {database!r} is reached through a transaction pooler and has no "
                "direct_url, so the cache cannot LISTEN for other processes' writes; rows are "
                "kept only for their cache policy's TTL. Set direct_url (a session connection) "
                "to get cross-process invalidation."
            )
            warnings.warn(reason, ConfigurationWarning, stacklevel=4)
            logger.warning(reason)
            return "ttl"
        return "listen"

    def forget(self) -> None:
        """Forget decided modes (tests, or after re-registering databases)."""
        self._modes.clear()

    # -- listening --------------------------------------------------------------------------

    def ready(self, database: str) -> bool:
        """True when the cache of ``database`` may serve and store rows now.

        Starts the listener on the running loop if it is missing or its loop has closed.
        """
        listener = self.listeners.get(database)
        if listener is not None and listener.usable():
            return True
        if listener is None or listener.stopped or listener.loop.is_closed():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return False
            self.listeners[database] = Listener(self, database, loop)
        return False

    def subscribed(self, database: str) -> None:
        """A listener (re)subscribed: drop everything cached while it was deaf."""
        self._flush_database(database)

    def receive(self, database: str, payload: str) -> None:
        """Apply one message from another process (malformed ones flush the database)."""
        try:
            message = json.loads(payload)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError:
            logger.warning("malformed cache notice on %r; flushing its cache", database)
            self._flush_database(database)
            return
        if message.get("s") == SENDER:
            return
        self.received += 1
        table = message.get("t")
        keys = message.get("k")
        self._apply(
            database,
            table if isinstance(table, str) else None,
            keys if isinstance(keys, list) else None,
        )

    async def stop(self, database: str | None = None) -> None:
        """Stop the listener of ``database`` (all listeners when None)."""
        names = list(self.listeners) if database is None else [database]
        for name in names:
            listener = self.listeners.pop(name, None)
            if listener is not None and not listener.loop.is_closed():
                if listener.loop is asyncio.get_running_loop():
                    await listener.stop()
                else:
                    listener.stopped = True
                    future = asyncio.run_coroutine_threadsafe(listener.stop(), listener.loop)
                    await asyncio.wrap_future(future)

    # -- publishing -------------------------------------------------------------------------

    def publish(self, database: str, table: str | None, keys: Sequence[Any] | None) -> None:
        """Queue a committed change; it is sent from the running loop right after the current
        step. Changes queued while a send is in flight are merged (per table) and go out
        together in one statement."""
        if not settings.get_settings().cross_process or self.mode(database) != "listen":
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        slot = (database, loop)
        change = (table, None if keys is None else list(keys))
        pending = self._outbox.get(slot)
        if pending is not None:
            pending.append(change)
            return
        self._outbox[slot] = [change]
        task = loop.create_task(self._send(slot), name=f"matrx-orm-cache-publish:{database}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, slot: tuple[str, asyncio.AbstractEventLoop]) -> None:
        database, loop = slot
        try:
            await asyncio.sleep(0)
            while True:
                changes = self._outbox.get(slot)
                if not changes:
                    return
                self._outbox[slot] = []
                payloads = merge(changes)
                await self._notify(database, loop, payloads)
                self.published += len(payloads)
        except Exception as err:
            # Nothing else can be done from here: the writer has returned. Others keep the
            # row until their TTL; say so loudly.
            logger.error(
                "could not publish a cache invalidation for database %r (%s); other processes "
                "may serve the old rows until their cache TTL",
                database,
                err,
            )
        finally:
            self._outbox.pop(slot, None)

    async def _notify(
        self, database: str, loop: asyncio.AbstractEventLoop, payloads: list[str]
    ) -> None:
        sql = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload"
        listener = self.listeners.get(database)
        session = None if listener is None else listener.session
        if (
            listener is not None
            and session is not None
            and listener.loop is loop
            and listener.usable()
        ):
            async with listener.lock:
                await session.execute(sql, (CHANNEL, payloads))
            return
        async with AsyncDatabaseManager.get_connection(database) as conn:
            await conn.execute(sql, (CHANNEL, payloads))


def merge(changes: Sequence[tuple[str | None, list[Any] | None]]) -> list[str]:
    """The payloads for several queued changes: one database flush if any change was one,
    else per table the union of the keys (or a table flush if any change had no keys)."""
    if any(table is None for table, _ in changes):
        return encode(None, None)
    tables: dict[str, list[Any] | None] = {}
    for table, keys in changes:
        assert table is not None
        if table in tables and tables[table] is None:
            continue
        if keys is None:
            tables[table] = None
        else:
            tables.setdefault(table, [])
            merged = tables[table]
            assert merged is not None
            merged.extend(keys)
    payloads: list[str] = []
    for table, keys in tables.items():
        if keys is not None:
            try:
                keys = list(dict.fromkeys(keys))
            except TypeError:
                keys = None
        payloads.extend(encode(table, keys))
    return payloads
