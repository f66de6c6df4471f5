"""The asyncpg driver: pools, connections, codecs and error translation (the only asyncpg user)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import ssl as ssl_module
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import asyncpg

from matrx_orm_core._quoting import copy_statement, quote_ident, quote_qualified
from matrx_orm_core.exceptions import ConfigurationError, ORMException

from ._codecs import creates_extension, install_codecs, refresh_after_extension
from ._errors import connection_error, state_error, timeout_error, translate_sqlstate
from .base import Connection, Driver, NotificationHandler, Pool, Row

if TYPE_CHECKING:
    from typing import TypeAlias

    from asyncpg.pool import PoolConnectionProxy

    from matrx_orm_core.config import DatabaseProjectConfig

__all__ = [
    "APPLICATION_NAME",
    "AsyncpgConnection",
    "AsyncpgDriver",
    "AsyncpgPool",
    "AsyncpgSession",
    "create_driver",
    "init_connection",
    "pool_options",
]

logger = logging.getLogger(__name__)

APPLICATION_NAME = "matrx-orm"
"""``application_name`` sent to the server unless ``server_settings`` sets one."""

# DISCARD TEMP joins asyncpg's own reset query (advisory locks, cursors, LISTEN, settings) so
# temporary tables do not leak to the next borrower either (API.md §10.31); one round trip.
_EXTRA_RESET_SQL = "DISCARD TEMP;"

if TYPE_CHECKING:
    _RawConnection: TypeAlias = asyncpg.Connection[asyncpg.Record]
    _Proxy: TypeAlias = PoolConnectionProxy[asyncpg.Record]


def _encode_uuid(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"a UUID column takes a str or uuid.UUID, not {type(value).__name__}")


def _encode_json(value: Any) -> str:
    return json.dumps(value)


async def init_connection(connection: _RawConnection) -> None:
    """Install the ORM's codecs on a new connection (the pool's ``init=``).

    uuid values come back as ``str`` and are sent from ``str`` or ``uuid.UUID``; json and jsonb
    are encoded with ``json.dumps`` and decoded with ``json.loads`` (a Python ``str`` is stored
    as a JSON string). These are built-in types, so no catalog query is sent for them. Then
    ``_codecs.install_codecs`` adds point, money and, where the extension exists, hstore (one
    ``pg_type`` query).
    """
    await connection.set_type_codec(
        "uuid", schema="pg_catalog", encoder=_encode_uuid, decoder=str, format="text"
    )
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=_encode_json, decoder=json.loads, format="text"
        )
    await install_codecs(connection)


_PROXY_CLASS: Any = getattr(asyncpg.pool, "PoolConnectionProxy", None)
"""asyncpg's pooled connection proxy (``None`` if a future asyncpg moves it: no shortcut)."""

_SKIP_RESET: weakref.WeakSet[Any] = weakref.WeakSet()
"""Raw connections borrowed with ``reset=False``: their next release sends no reset query."""

_RESET_COUNTS = {"full": 0, "skipped": 0}
"""Releases that sent the reset query and releases that skipped it (read by tests)."""


async def _reset_connection(connection: _RawConnection) -> None:
    """The pool's ``reset=``: the full session reset, unless the borrower opted out.

    asyncpg has already rolled back an open transaction and dropped listener callbacks
    (``Connection._reset``) before calling this, whatever the borrower asked for.
    """
    if connection in _SKIP_RESET:
        _SKIP_RESET.discard(connection)
        _RESET_COUNTS["skipped"] += 1
        return
    _RESET_COUNTS["full"] += 1
    await connection.execute(f"{connection.get_reset_query()}\n{_EXTRA_RESET_SQL}")


def pool_options(config: DatabaseProjectConfig) -> dict[str, Any]:
    """The ``asyncpg.create_pool`` keyword arguments for ``config`` (password included).

    Never log the result: it holds the password.

    Returns:
        Keyword arguments for ``asyncpg.create_pool``.
    """
    server_settings = dict(config.server_settings)
    server_settings.setdefault("application_name", APPLICATION_NAME)
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port_number,
        "user": config.user,
        "password": config.password or None,
        "database": config.database_name,
        "min_size": config.min_size,
        "max_size": config.max_size,
        "command_timeout": config.command_timeout,
        "ssl": _ssl_option(config.ssl),
        "timeout": config.connect_timeout,
        "server_settings": server_settings,
        "init": init_connection,
        "reset": _reset_connection,
    }
    # None = asyncpg's default; 0 behind a transaction pooler unless set explicitly.
    cache_size = config.effective_statement_cache_size
    if cache_size is not None:
        options["statement_cache_size"] = cache_size
    return options


def _ssl_option(value: str | bool | ssl_module.SSLContext) -> str | bool | ssl_module.SSLContext:
    if isinstance(value, (bool, ssl_module.SSLContext)):
        return value
    if value == "disable":
        return False
    return value


class AsyncpgConnection:
    """One pooled asyncpg connection, seen through the driver protocol."""

    __slots__ = ("_listeners", "raw")

    def __init__(self, raw: _Proxy | _RawConnection) -> None:
        self.raw = raw
        # Made on the first listen(): most borrows never listen.
        self._listeners: dict[tuple[str, NotificationHandler], Any] | None = None

    async def execute(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> str:
        """Run a statement and return its command tag (multi-statement text when no params).

        Text without parameters that creates an extension refreshes the codecs (a new hstore
        type needs one: see ``_codecs``).
        """
        status = await self.raw.execute(sql, *params, timeout=timeout)
        if not params and creates_extension(sql):
            await self._extension_created()
        return status

    async def _extension_created(self) -> None:
        """Refresh the codecs after ``CREATE EXTENSION`` (statements without parameters only)."""
        await refresh_after_extension(self.raw, getattr(self, "_pool", None))

    async def fetch(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> list[Row]:
        """Run a query and return every row (asyncpg ``Record`` objects)."""
        rows = await self.raw.fetch(sql, *params, timeout=timeout)
        if not params and creates_extension(sql):
            await self._extension_created()
        return cast("list[Row]", rows)

    async def fetch_one(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Row | None:
        """Run a query and return its first row, or ``None``."""
        row = await self.raw.fetchrow(sql, *params, timeout=timeout)
        if not params and creates_extension(sql):
            await self._extension_created()
        return cast("Row | None", row)

    async def fetch_val(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Any:
        """Run a query and return the first column of its first row, or ``None``."""
        value = await self.raw.fetchval(sql, *params, timeout=timeout)
        if not params and creates_extension(sql):
            await self._extension_created()
        return value

    async def execute_many(
        self, sql: str, params_seq: Iterable[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Run one statement per parameter tuple in a single pipelined round trip."""
        await self.raw.executemany(sql, params_seq, timeout=timeout)

    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """``COPY table (columns) FROM STDIN (FORMAT binary)`` with asyncpg's built-in encoders.

        The ORM's text-format codecs (uuid, json, jsonb; see :func:`init_connection`) have no
        binary form, so this call alone encodes with asyncpg's built-in binary codecs: a uuid
        value is a ``str`` or ``uuid.UUID`` and a json/jsonb value is its JSON *text* (``str``).
        The connection's codecs are not touched (other statements keep the ORM's codecs, and
        no statement cache is dropped). Types with only a custom codec (hstore, ...) cannot be
        copied.
        """
        target = quote_qualified(schema, table)  # checks every name before anything is sent
        cols = ", ".join([quote_ident(c) for c in columns])
        raw = self.raw
        get_statement = getattr(raw, "_get_statement", None)
        protocol = getattr(raw, "_protocol", None)
        if get_statement is None or protocol is None:  # pragma: no cover - other asyncpg
            return await raw.copy_records_to_table(
                table, records=records, columns=list(columns), schema_name=schema, timeout=timeout
            )
        # What copy_records_to_table does, with the row description read through the built-in
        # codecs (asyncpg's own introspection queries use ignore_custom_codec the same way) and
        # never from the statement cache: a cached description outlives a table dropped and
        # created again under the same name with other column types (bulk_create's staging
        # table, a migration), and its encoders would then write the old types.
        intro = await get_statement(
            f"SELECT {cols} FROM {target} LIMIT 1",
            timeout,
            use_cache=False,
            ignore_custom_codec=True,
        )
        try:
            tag: str = await protocol.copy_in(
                copy_statement(table, columns, schema),
                None,
                None,
                records,
                intro,
                timeout,
            )
        except (TypeError, ValueError, OverflowError) as err:
            if isinstance(err, (asyncpg.PostgresError, asyncpg.InterfaceError)):
                raise
            # An encoder refused a value (asyncpg wraps these for bound parameters, not for
            # COPY): report it as the invalid input it is, naming the target.
            raise asyncpg.exceptions.DataError(
                f"invalid input for COPY into {target} ({cols}): {err}; a value does not "
                "suit its column's type in the table (check that the model's field types "
                "match the table's columns)"
            ) from err
        return tag

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """A transaction block (asyncpg makes it a savepoint when one is open)."""
        return cast("AbstractAsyncContextManager[None]", self.raw.transaction())

    async def listen(self, channel: str, handler: NotificationHandler) -> None:
        """Subscribe ``handler`` to NOTIFY messages on ``channel``."""

        async def _callback(_con: Any, _pid: int, chan: str, payload: object) -> None:
            result = handler(chan, str(payload))
            if inspect.isawaitable(result):
                await result

        if self._listeners is None:
            self._listeners = {}
        self._listeners[(channel, handler)] = _callback
        await self.raw.add_listener(channel, _callback)

    async def unlisten(self, channel: str, handler: NotificationHandler) -> None:
        """Remove a handler added by :meth:`listen` (unknown handlers are ignored)."""
        listeners = self._listeners
        callback = None if listeners is None else listeners.pop((channel, handler), None)
        if callback is not None:
            await self.raw.remove_listener(channel, callback)

    def is_in_transaction(self) -> bool:
        """True while a transaction block is open on this connection."""
        return self.raw.is_in_transaction()

    async def control(self, sql: str, *, timeout: float | None = None) -> None:
        """Run one transaction-control statement (simple query protocol, nothing prepared)."""
        await self.raw.execute(sql, timeout=timeout)

    def terminate(self) -> None:
        """Close the session at once; the pool opens a replacement when needed."""
        self.raw.terminate()


class _Acquire(AsyncpgConnection):
    """``async with pool.acquire()``: borrow a proxy and give it back; the block's connection.

    One object per borrow serves as both the context manager and the connection, so a borrow
    allocates nothing else; using it after the block raises (asyncpg invalidates the proxy).
    """

    __slots__ = ("_pool", "_reset", "_timeout")

    def __init__(
        self, pool: asyncpg.Pool[asyncpg.Record], timeout: float | None, reset: bool
    ) -> None:
        super().__init__(cast("_Proxy", None))
        self._pool = pool
        self._timeout = timeout
        self._reset = reset

    async def __aenter__(self) -> Connection:
        pool = self._pool
        try:
            if pool.get_idle_size():
                # A free connection is queued, so the borrow cannot wait: skip asyncpg's
                # timeout wrapper (on Python < 3.12 it runs the borrow in a separate task).
                proxy = await pool.acquire()
            else:
                proxy = await pool.acquire(timeout=self._timeout)
        except asyncio.TimeoutError as err:
            raise timeout_error(self._timeout, what="Acquire", original_error=err) from err
        self.raw = proxy
        if not self._reset:
            # The pool's reset callable receives the raw connection behind the proxy.
            _SKIP_RESET.add(proxy._con)  # type: ignore[attr-defined]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proxy = cast("_Proxy", self.raw)
        if proxy._con is None:  # type: ignore[attr-defined]
            return  # already back in the pool (the connection was closed in the block)
        if exc_type is None and not self._reset and not proxy.is_in_transaction():
            # Nothing to roll back or reset: the release sends nothing, so it needs no time
            # limit (a limit costs a timer per release) and cannot be interrupted.
            await _release_idle(self._pool, proxy)
        else:
            await self._pool.release(proxy, timeout=self._timeout)


async def _release_idle(pool: asyncpg.Pool[asyncpg.Record], proxy: _Proxy) -> None:
    """Give back a borrowed connection whose release sends nothing (no reset, no ROLLBACK).

    ``Pool.release`` runs the holder's release in a shielded task, so that a cancellation
    cannot leave the connection half returned; that task costs an extra event-loop turn per
    statement. Here the release has no suspension point (the reset callable skips, nothing is
    rolled back), so nothing can interrupt it and the holder's release is awaited directly.
    Anything unexpected (another asyncpg layout, a closed pool) takes ``Pool.release``.
    """
    holder: Any = getattr(proxy, "_holder", None)
    raw_pool: Any = pool
    if (
        type(proxy) is _PROXY_CLASS
        and holder is not None
        and getattr(holder, "_pool", None) is pool
        and raw_pool._initialized
        and not raw_pool._closed
        and raw_pool._reset is _reset_connection
    ):
        connection: Any = proxy._con  # type: ignore[attr-defined]
        connection._on_release()
        await holder.release(None)
    else:
        await pool.release(proxy, timeout=None)


def _close_sockets(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    for holder in getattr(pool, "_holders", ()):
        transport = getattr(getattr(holder, "_con", None), "_transport", None)
        connection_lost = getattr(transport, "_call_connection_lost", None)
        if connection_lost is None:
            continue
        try:
            connection_lost(None)
        except Exception:
            logger.debug("Closing a socket of a closed event loop failed", exc_info=True)


class AsyncpgPool:
    """An asyncpg pool seen through the driver protocol."""

    __slots__ = ("raw",)

    def __init__(self, raw: asyncpg.Pool[asyncpg.Record]) -> None:
        self.raw = raw

    def acquire(
        self, *, timeout: float | None = None, reset: bool = True
    ) -> AbstractAsyncContextManager[Connection]:
        """Borrow a connection; it is returned to the pool when the block exits.

        ``reset=False`` skips the reset query on release (API.md §10.31: only for borrowers
        that leave no session state); an open transaction is still rolled back by asyncpg.

        Raises:
            DatabaseError: no connection became free within ``timeout`` seconds.
        """
        return _Acquire(self.raw, timeout, reset)

    async def close(self) -> None:
        """Close every connection gracefully (waits for borrowed ones to come back)."""
        await self.raw.close()

    def terminate(self) -> None:
        """Close every connection at once (also when the pool's event loop is already closed)."""
        try:
            self.raw.terminate()
        except RuntimeError:
            # The loop is closed, so asyncio cannot schedule the transports' close callbacks and
            # the sockets would leak (ResourceWarning). Close them directly instead.
            _close_sockets(self.raw)

    def get_size(self) -> int:
        """Connections currently open."""
        return self.raw.get_size()

    def get_idle_size(self) -> int:
        """Connections open and not borrowed."""
        return self.raw.get_idle_size()


class AsyncpgSession(AsyncpgConnection):
    """A dedicated asyncpg connection outside the pool (:class:`~.base.Session`)."""

    __slots__ = ("_closing", "_lost")

    def __init__(self, raw: _RawConnection) -> None:
        super().__init__(raw)
        self._closing = False
        self._lost: list[Callable[[], None]] = []
        raw.add_termination_listener(self._on_terminated)

    def _on_terminated(self, _con: Any) -> None:
        if self._closing:
            return
        for callback in self._lost:
            try:
                callback()
            except Exception:
                logger.exception("a lost-session callback failed")

    def add_lost_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the session ends other than through :meth:`close`."""
        self._lost.append(callback)

    def is_closed(self) -> bool:
        """True once the session has ended."""
        return bool(self.raw.is_closed())

    async def close(self) -> None:
        """Close gracefully (a close that fails terminates the session instead)."""
        self._closing = True
        try:
            await self.raw.close(timeout=5)
        except Exception:
            self.raw.terminate()


class AsyncpgDriver:
    """The asyncpg implementation of :class:`~matrx_orm_core.drivers.base.Driver`."""

    name = "asyncpg"

    async def create_pool(self, config: DatabaseProjectConfig) -> AsyncpgPool:
        """Open a pool for ``config`` on the running loop (``min_size`` connections up front).

        Returns:
            The pool.

        Raises:
            ConnectionError: the server is unreachable, refused the login, or the database does
                not exist (the message never contains the password).
            ConfigurationError: asyncpg rejected the settings.
        """
        with self._opening(config, "Connecting to"):
            raw = await asyncpg.create_pool(**pool_options(config))
        return AsyncpgPool(raw)

    async def connect(self, config: DatabaseProjectConfig) -> AsyncpgSession:
        """Open one dedicated session for ``config`` (no pool; the caller closes it).

        Returns:
            The session, with the ORM's codecs installed.

        Raises:
            ConnectionError: the server is unreachable or refused the login.
            ConfigurationError: asyncpg rejected the settings.
        """
        options = pool_options(config)
        for key in ("min_size", "max_size", "init", "reset"):
            options.pop(key, None)
        with self._opening(config, "Opening a session to"):
            raw = await asyncpg.connect(**options)
        await init_connection(raw)
        return AsyncpgSession(raw)

    @contextmanager
    def _opening(self, config: DatabaseProjectConfig, action: str) -> Iterator[None]:
        """Translate what opening a pool or a session can raise (shared by both).

        Server errors go through :meth:`translate_error`; rejected settings become a
        ``ConfigurationError``; an unreachable server or a timeout a ``ConnectionError`` whose
        message names the redacted DSN (never the password).
        """
        where = config.dsn(redacted=True)
        try:
            yield
        except asyncpg.PostgresError as err:
            translated = self.translate_error(err)
            if translated is not None:
                translated.enrich(db_url=where)
                raise translated from err
            raise
        except asyncpg.exceptions.ClientConfigurationError as err:
            raise ConfigurationError(
                model=None, config_key=config.name, reason=f"asyncpg rejected the settings: {err}"
            ) from err
        except (OSError, asyncio.TimeoutError) as err:
            what = (
                f"timed out after {config.connect_timeout:g}s"
                if isinstance(err, asyncio.TimeoutError)
                else f"failed ({type(err).__name__}: {err})"
            )
            raise connection_error(
                f"{action} {where} for database '{config.name}' {what}. Check host, port "
                "and that the server is running and reachable.",
                db_url=where,
                original_error=err,
            ) from err

    def translate_error(
        self,
        error: BaseException,
        *,
        sql: str | None = None,
        params: Sequence[Any] = (),
        timeout: float | None = None,
    ) -> ORMException | None:
        """Map an asyncpg (or asyncio timeout / socket) error to the ORM hierarchy.

        Returns:
            The ORM exception, or ``None`` when ``error`` is not one this driver raises.
        """
        if isinstance(error, asyncpg.PostgresError):
            return translate_sqlstate(
                error.sqlstate,
                error.args[0] if error.args else str(error),
                constraint_name=error.constraint_name,
                table_name=error.table_name,
                column_name=error.column_name,
                schema_name=error.schema_name,
                detail=error.detail,
                hint=error.hint,
                original_error=error,
                sql=sql,
                params=params,
            )
        if isinstance(error, asyncpg.exceptions.ClientConfigurationError):
            return ConfigurationError(
                config_key="connection", reason=f"asyncpg rejected the settings: {error}"
            )
        if isinstance(error, asyncpg.InterfaceError):
            text = str(error)
            if isinstance(error, ValueError) or "the server expects" in text:
                # asyncpg's own check of the argument count: a parameter problem, not state.
                return translate_sqlstate(
                    "22023", text, original_error=error, sql=sql, params=params
                )
            return state_error(text, original_error=error)
        if isinstance(error, asyncio.TimeoutError):
            return timeout_error(timeout, original_error=error, sql=sql, params=params)
        if isinstance(error, OSError):
            return connection_error(
                f"The connection failed during a statement ({type(error).__name__}: {error}).",
                original_error=error,
            )
        return None

    async def stream(
        self, connection: Connection, sql: str, params: Sequence[Any] = (), *, prefetch: int = 500
    ) -> AsyncIterator[Row]:
        """Iterate a query with a server-side cursor (``connection`` must be in a transaction).

        Raises:
            StateError: ``connection`` was not made by this driver.
        """
        # A transaction's serialising wrapper exposes the driver connection as ``wrapped``.
        connection = getattr(connection, "wrapped", connection)
        if not isinstance(connection, AsyncpgConnection):
            raise state_error(
                f"stream() needs a connection from the asyncpg driver, got "
                f"{type(connection).__name__}."
            )
        async for record in connection.raw.cursor(sql, *params, prefetch=prefetch):
            yield cast("Row", record)


def create_driver() -> AsyncpgDriver:
    """Entry point used by :func:`matrx_orm_core.drivers.get_driver`.

    Returns:
        A new driver (``get_driver`` keeps one instance).
    """
    return AsyncpgDriver()


if TYPE_CHECKING:

    def _conforms(
        driver: AsyncpgDriver, pool: AsyncpgPool, connection: AsyncpgConnection
    ) -> tuple[Driver, Pool, Connection]:
        # mypy checks here that the classes satisfy the driver protocols structurally.
        return driver, pool, connection
