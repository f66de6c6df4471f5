"""The one place statements run: pick the connection, execute, translate errors with context."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any

from ._quoting import copy_statement
from .config import get_config
from .connections import AsyncDatabaseManager
from .drivers.base import Connection, NotificationHandler, Row
from .exceptions import ORMException, TransactionError

__all__ = [
    "ACQUIRE_TIMEOUT",
    "SESSION_SAFE_OPERATIONS",
    "SerialConnection",
    "copy_records",
    "current_connection",
    "execute",
    "execute_many",
    "fetch",
    "fetch_one",
    "fetch_val",
    "rows_affected",
]

ACQUIRE_TIMEOUT = 10.0
"""Seconds a statement waits for a free pooled connection before failing (DatabaseError)."""

current_connection: ContextVar[dict[str, Connection] | None] = ContextVar(
    "matrx_orm_current_connection", default=None
)
"""Connections statements must use, by database name (set by an open transaction)."""

SESSION_SAFE_OPERATIONS: frozenset[str] = frozenset(
    {
        # Operations whose SQL the ORM compiles itself: a single statement outside a
        # transaction leaves no session state, so its connection is released without the
        # reset query (API.md §10.31). Raw SQL, MigrationDB and unknown operations are absent
        # and always get the full reset.
        "get",
        "get_or_none",
        "filter",
        "all",
        "first",
        "last",
        "count",
        "exists",
        "values",
        "values_list",
        "aggregate",
        "create",
        "save",
        "update",
        "delete",
        "bulk_create",
        "bulk_update",
        "bulk_delete",
        "upsert",
        "bulk_upsert",
        "update_where",
        "delete_where",
        "get_or_create",
        "update_or_create",
        "refresh_from_db",
        "in_bulk",
        "get_many",
        # matrx-orm-relations' single statements (ids bound, names quoted by the compiler).
        "fetch_m2m",
        "prefetch_related",
        "add_m2m",
        "remove_m2m",
        "clear_m2m",
    }
)
"""Operation names whose pooled connection is released without the session reset."""


class SerialConnection:
    """A transaction's connection that runs one operation at a time (API.md §10.29).

    ``asyncio.gather`` of two queries inside one transaction would otherwise make the driver
    fail with "another operation is in progress"; here the second waits for the first. After
    the transaction ends, every use raises :class:`TransactionError` (a task that inherited
    the transaction outlived it). Connections outside transactions never pass through here.
    """

    __slots__ = ("_lock", "database", "ended", "wrapped")

    def __init__(self, wrapped: Connection, database: str) -> None:
        self.wrapped = wrapped
        self.database = database
        self.ended = False
        self._lock = asyncio.Lock()

    def _check(self) -> None:
        if self.ended:
            raise TransactionError(
                message=(
                    f"The transaction on database {self.database!r} has already ended; this "
                    "task inherited it but outlived the 'async with transaction()' block. Await "
                    "tasks started inside a transaction before the block exits."
                ),
                operation="statement",
            )

    async def execute(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> str:
        """Run a statement after any operation already running on this connection."""
        self._check()
        async with self._lock:
            return await self.wrapped.execute(sql, params, timeout=timeout)

    async def fetch(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> list[Row]:
        """Run a query (serialised) and return every row."""
        self._check()
        async with self._lock:
            return await self.wrapped.fetch(sql, params, timeout=timeout)

    async def fetch_one(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Row | None:
        """Run a query (serialised) and return its first row, or ``None``."""
        self._check()
        async with self._lock:
            return await self.wrapped.fetch_one(sql, params, timeout=timeout)

    async def fetch_val(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Any:
        """Run a query (serialised) and return its first value, or ``None``."""
        self._check()
        async with self._lock:
            return await self.wrapped.fetch_val(sql, params, timeout=timeout)

    async def execute_many(
        self, sql: str, params_seq: Iterable[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Run one statement per parameter tuple (serialised)."""
        self._check()
        async with self._lock:
            await self.wrapped.execute_many(sql, params_seq, timeout=timeout)

    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Load ``records`` into ``table`` with COPY (serialised)."""
        self._check()
        async with self._lock:
            return await self.wrapped.copy_records(
                table, columns, records, schema=schema, timeout=timeout
            )

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """The driver's own transaction block (prefer ``matrx_orm_core.transaction``)."""
        self._check()
        return self.wrapped.transaction()

    async def listen(self, channel: str, handler: NotificationHandler) -> None:
        """Subscribe ``handler`` to ``channel`` (serialised)."""
        self._check()
        async with self._lock:
            await self.wrapped.listen(channel, handler)

    async def unlisten(self, channel: str, handler: NotificationHandler) -> None:
        """Remove a handler added by :meth:`listen` (serialised)."""
        async with self._lock:
            await self.wrapped.unlisten(channel, handler)

    def is_in_transaction(self) -> bool:
        """True while the server session has a transaction open."""
        return self.wrapped.is_in_transaction()

    async def control(self, sql: str, *, timeout: float | None = None) -> None:
        """Run a transaction-control statement after any running operation."""
        async with self._lock:
            await self.wrapped.control(sql, timeout=timeout)

    def terminate(self) -> None:
        """Close the session at once."""
        self.ended = True
        self.wrapped.terminate()


_ModelRef = type | str | None


def rows_affected(tag: str) -> int:
    """The row count of a command tag (``"UPDATE 3"`` → 3, ``"INSERT 0 5"`` → 5).

    Returns:
        The trailing count, or 0 for tags without one (``"CREATE TABLE"``).
    """
    last = tag.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _translate(
    err: Exception,
    database: str,
    sql: str,
    params: Any,
    model: _ModelRef,
    operation: str | None,
    filters: Mapping[str, Any] | None,
    timeout: float | None,
) -> ORMException | None:
    """The enriched ORM error for ``err``, or ``None`` when ``err`` is not a database error."""
    if isinstance(err, ORMException):
        exc = err
    else:
        driver = AsyncDatabaseManager.driver_for(database)
        if timeout is None:
            timeout = get_config(database).command_timeout
        translated = driver.translate_error(err, sql=sql, params=params, timeout=timeout)
        if translated is None:
            return None
        exc = translated
    extra: dict[str, Any] = {"database": database, "sql": sql, "params": params}
    if filters is not None:
        extra["filters"] = dict(filters)
    return exc.enrich(model=model, operation=operation, **extra)


def _raise(
    err: Exception,
    database: str,
    sql: str,
    params: Any,
    model: _ModelRef,
    operation: str | None,
    filters: Mapping[str, Any] | None,
    timeout: float | None,
) -> None:
    exc = _translate(err, database, sql, params, model, operation, filters, timeout)
    if exc is None or exc is err:
        raise err
    raise exc from err


def _bound(database: str) -> Connection | None:
    connections = current_connection.get()
    return None if connections is None else connections.get(database)


# The five entry points below repeat one shape (bound connection, else pool; translate errors)
# on purpose: sharing it through a helper that takes the method name would add a getattr and a
# coroutine frame to every statement the ORM runs, and this is its hottest path.


async def execute(
    database: str,
    sql: str,
    params: Sequence[Any] = (),
    *,
    model: type | str | None = None,
    operation: str | None = None,
    filters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> str:
    """Run a statement on ``database`` and return its command tag (``"DELETE 2"``).

    With no ``params`` the text may hold several statements.

    Returns:
        The server's command tag (see :func:`rows_affected`).

    Raises:
        DatabaseError: (or a subclass) translated by SQLSTATE, with model, operation, SQL,
            parameters and filters attached; chained from the driver error.
        QueryError, ParameterError, UnknownDatabaseError: likewise, by SQLSTATE.
    """
    try:
        conn = _bound(database)
        if conn is not None:
            return await conn.execute(sql, params, timeout=timeout)
        pool = AsyncDatabaseManager.cached_pool(database) or await AsyncDatabaseManager.get_pool(
            database
        )
        async with pool.acquire(
            timeout=ACQUIRE_TIMEOUT, reset=operation not in SESSION_SAFE_OPERATIONS
        ) as conn:
            return await conn.execute(sql, params, timeout=timeout)
    except Exception as err:
        _raise(err, database, sql, params, model, operation, filters, timeout)
        raise  # pragma: no cover - _raise always raises


async def fetch(
    database: str,
    sql: str,
    params: Sequence[Any] = (),
    *,
    model: type | str | None = None,
    operation: str | None = None,
    filters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> list[Row]:
    """Run a query on ``database`` and return every row.

    Returns:
        The rows (the driver's row objects; see :class:`~matrx_orm_core.drivers.base.Row`).

    Raises:
        DatabaseError: as :func:`execute`.
    """
    try:
        conn = _bound(database)
        if conn is not None:
            return await conn.fetch(sql, params, timeout=timeout)
        pool = AsyncDatabaseManager.cached_pool(database) or await AsyncDatabaseManager.get_pool(
            database
        )
        async with pool.acquire(
            timeout=ACQUIRE_TIMEOUT, reset=operation not in SESSION_SAFE_OPERATIONS
        ) as conn:
            return await conn.fetch(sql, params, timeout=timeout)
    except Exception as err:
        _raise(err, database, sql, params, model, operation, filters, timeout)
        raise  # pragma: no cover - _raise always raises


async def fetch_one(
    database: str,
    sql: str,
    params: Sequence[Any] = (),
    *,
    model: type | str | None = None,
    operation: str | None = None,
    filters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> Row | None:
    """Run a query on ``database`` and return its first row, or ``None``.

    Returns:
        The first row or ``None``.

    Raises:
        DatabaseError: as :func:`execute`.
    """
    try:
        conn = _bound(database)
        if conn is not None:
            return await conn.fetch_one(sql, params, timeout=timeout)
        pool = AsyncDatabaseManager.cached_pool(database) or await AsyncDatabaseManager.get_pool(
            database
        )
        async with pool.acquire(
            timeout=ACQUIRE_TIMEOUT, reset=operation not in SESSION_SAFE_OPERATIONS
        ) as conn:
            return await conn.fetch_one(sql, params, timeout=timeout)
    except Exception as err:
        _raise(err, database, sql, params, model, operation, filters, timeout)
        raise  # pragma: no cover - _raise always raises


async def fetch_val(
    database: str,
    sql: str,
    params: Sequence[Any] = (),
    *,
    model: type | str | None = None,
    operation: str | None = None,
    filters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> Any:
    """Run a query on ``database`` and return the first column of its first row.

    Returns:
        The value, or ``None`` when there is no row.

    Raises:
        DatabaseError: as :func:`execute`.
    """
    try:
        conn = _bound(database)
        if conn is not None:
            return await conn.fetch_val(sql, params, timeout=timeout)
        pool = AsyncDatabaseManager.cached_pool(database) or await AsyncDatabaseManager.get_pool(
            database
        )
        async with pool.acquire(
            timeout=ACQUIRE_TIMEOUT, reset=operation not in SESSION_SAFE_OPERATIONS
        ) as conn:
            return await conn.fetch_val(sql, params, timeout=timeout)
    except Exception as err:
        _raise(err, database, sql, params, model, operation, filters, timeout)
        raise  # pragma: no cover - _raise always raises


async def execute_many(
    database: str,
    sql: str,
    params_seq: Iterable[Sequence[Any]],
    *,
    model: type | str | None = None,
    operation: str | None = None,
    filters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> None:
    """Run one statement on ``database`` once per parameter tuple (pipelined).

    Raises:
        DatabaseError: as :func:`execute`; ``params`` in the error holds every tuple.
    """
    if not isinstance(params_seq, (list, tuple)):
        params_seq = list(params_seq)
    try:
        conn = _bound(database)
        if conn is not None:
            await conn.execute_many(sql, params_seq, timeout=timeout)
            return
        pool = AsyncDatabaseManager.cached_pool(database) or await AsyncDatabaseManager.get_pool(
            database
        )
        async with pool.acquire(
            timeout=ACQUIRE_TIMEOUT, reset=operation not in SESSION_SAFE_OPERATIONS
        ) as conn:
            await conn.execute_many(sql, params_seq, timeout=timeout)
    except Exception as err:
        _raise(err, database, sql, params_seq, model, operation, filters, timeout)
        raise  # pragma: no cover - _raise always raises


async def copy_records(
    database: str,
    table: str,
    columns: Sequence[str],
    records: Sequence[Sequence[Any]],
    *,
    schema: str | None = None,
    model: type | str | None = None,
    operation: str | None = None,
    timeout: float | None = None,
) -> int:
    """Load ``records`` into ``table`` on ``database`` with COPY; return the rows copied.

    Uses the transaction's connection when one is bound (COPY into a temporary table must run
    on the connection that created it), otherwise a pooled one, released with the session
    reset unless ``operation`` is in ``SESSION_SAFE_OPERATIONS``.

    Raises:
        DatabaseError: as :func:`execute`; the error's ``sql`` names the COPY target and its
            ``params`` hold the row count, not the rows.
        FieldError: a name is not a valid identifier (before a connection is taken).
    """
    described = copy_statement(table, columns, schema)
    try:
        conn = _bound(database)
        if conn is not None:
            tag = await conn.copy_records(table, columns, records, schema=schema, timeout=timeout)
        else:
            pool = AsyncDatabaseManager.cached_pool(
                database
            ) or await AsyncDatabaseManager.get_pool(database)
            async with pool.acquire(
                timeout=ACQUIRE_TIMEOUT, reset=operation not in SESSION_SAFE_OPERATIONS
            ) as conn:
                tag = await conn.copy_records(
                    table, columns, records, schema=schema, timeout=timeout
                )
    except Exception as err:
        _raise(err, database, described, (len(records),), model, operation, None, timeout)
        raise  # pragma: no cover - _raise always raises
    return rows_affected(tag)
