"""The narrow driver protocol that every database driver implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from matrx_orm_core.config import DatabaseProjectConfig
    from matrx_orm_core.exceptions import ORMException

__all__ = [
    "Connection",
    "Driver",
    "NotificationHandler",
    "Pool",
    "Row",
    "Session",
    "SessionDriver",
]


@runtime_checkable
class Row(Protocol):
    """One result row: read by column name or position, and as key/value pairs.

    asyncpg's ``Record`` satisfies this protocol as it is, so the fast path copies nothing.
    """

    def __getitem__(self, key: str | int, /) -> Any: ...

    def __len__(self) -> int: ...

    def get(self, key: str, default: Any = None, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...

    def values(self) -> Iterable[Any]: ...

    def items(self) -> Iterable[tuple[str, Any]]: ...


NotificationHandler = Callable[[str, str], Awaitable[None] | None]
"""Called with ``(channel, payload)`` for every NOTIFY on a listened channel."""


class Connection(Protocol):
    """One server session borrowed from a pool.

    ``params`` are always positional and match ``$1..$n`` in ``sql``. ``timeout`` is in seconds;
    ``None`` means the pool's ``command_timeout``.
    """

    async def execute(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> str:
        """Run a statement and return the server's command tag (``"UPDATE 3"``).

        With no ``params`` the text may hold several statements (simple query protocol).
        """
        ...

    async def fetch(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> list[Row]:
        """Run a query and return every row."""
        ...

    async def fetch_one(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Row | None:
        """Run a query and return its first row, or ``None``."""
        ...

    async def fetch_val(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Any:
        """Run a query and return the first column of its first row, or ``None``."""
        ...

    async def execute_many(
        self, sql: str, params_seq: Iterable[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Run one statement once per parameter tuple, in a single round trip where possible."""
        ...

    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Load ``records`` into ``table`` with ``COPY ... FROM STDIN`` and return its tag.

        ``table``, ``schema`` and ``columns`` are plain (unquoted) names; the driver quotes them
        with :func:`~matrx_orm_core._quoting.quote_ident`. Each record holds one value per
        column, in ``columns`` order, in the form the driver's built-in binary encoder for the
        column's type takes (the ORM's own codecs do not apply: a ``uuid`` value is a ``str``
        or ``uuid.UUID``, a ``json``/``jsonb`` value its JSON text). Returns the command tag
        (``"COPY 10000"``). COPY fires no RETURNING and no rules; outside a transaction a
        failure leaves no row behind (COPY is one statement).
        """
        ...

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """A transaction block (a savepoint when one is already open on this connection)."""
        ...

    async def listen(self, channel: str, handler: NotificationHandler) -> None:
        """Subscribe ``handler`` to NOTIFY messages on ``channel``."""
        ...

    async def unlisten(self, channel: str, handler: NotificationHandler) -> None:
        """Remove a handler added by :meth:`listen`."""
        ...

    def is_in_transaction(self) -> bool:
        """True while a transaction block is open on this connection."""
        ...

    async def control(self, sql: str, *, timeout: float | None = None) -> None:
        """Run one transaction-control statement (``BEGIN``, ``COMMIT``, ``SAVEPOINT "sp_1"``...).

        Kept apart from :meth:`execute` so test drivers can log it without consuming a result
        queued for the next ordinary statement.
        """
        ...

    def terminate(self) -> None:
        """Close the session at once; the pool replaces it (used when its state is unknown)."""
        ...


class Pool(Protocol):
    """A pool of connections to one database, bound to one event loop."""

    def acquire(
        self, *, timeout: float | None = None, reset: bool = True
    ) -> AbstractAsyncContextManager[Connection]:
        """Borrow a connection; it goes back to the pool when the block exits.

        With ``reset=True`` (the default) the session is reset on release: open transaction
        rolled back, settings, LISTEN, advisory locks, cursors and temporary tables cleared.
        ``reset=False`` skips that round trip and is only for borrowers that provably leave no
        session state (the ORM's own single statements outside a transaction, API.md §10.31).
        """
        ...

    async def close(self) -> None:
        """Close every connection gracefully."""
        ...

    def terminate(self) -> None:
        """Close every connection at once (used when the owning loop is gone)."""
        ...

    def get_size(self) -> int:
        """Connections currently open."""
        ...

    def get_idle_size(self) -> int:
        """Connections open and not borrowed."""
        ...


class Driver(Protocol):
    """A database driver: creates pools and translates its own errors."""

    name: str

    async def create_pool(self, config: DatabaseProjectConfig) -> Pool:
        """Open a pool for ``config`` on the running event loop.

        Raises:
            ConnectionError: the server could not be reached or refused the login.
            ConfigurationError: the configuration cannot be used with this driver.
        """
        ...

    def translate_error(
        self,
        error: BaseException,
        *,
        sql: str | None = None,
        params: Sequence[Any] = (),
        timeout: float | None = None,
    ) -> ORMException | None:
        """Map one of this driver's errors to the ORM hierarchy, or ``None`` if it is not one.

        ``timeout`` is the limit that applied to the statement (named in timeout messages).
        """
        ...

    def stream(
        self, connection: Connection, sql: str, params: Sequence[Any] = (), *, prefetch: int = 500
    ) -> AsyncIterator[Row]:
        """Iterate a query with a server-side cursor (the connection must be in a transaction)."""
        ...


class Session(Connection, Protocol):
    """A dedicated server session opened outside every pool (e.g. for LISTEN).

    Nothing resets or reuses it: the opener closes it. ``on_lost`` callbacks run once when the
    session ends for any reason other than :meth:`close` (server restart,
    ``pg_terminate_backend``, network loss).
    """

    def add_lost_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (on the session's loop) when the session is lost."""
        ...

    def is_closed(self) -> bool:
        """True once the session has ended (closed or lost)."""
        ...

    async def close(self) -> None:
        """End the session gracefully (no lost callbacks run)."""
        ...


@runtime_checkable
class SessionDriver(Protocol):
    """A driver that can open a dedicated :class:`Session` (the cache's listener needs one)."""

    async def connect(self, config: DatabaseProjectConfig) -> Session:
        """Open one session for ``config`` on the running loop, outside the pool.

        Raises:
            ConnectionError: the server could not be reached or refused the login.
        """
        ...
