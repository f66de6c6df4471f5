"""Transactions: ``async with transaction():`` binds one connection to the task tree (§2.11)."""

from __future__ import annotations

import logging
import secrets
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar, Token
from types import TracebackType
from typing import NoReturn, TypeVar, cast

from . import hooks
from ._execution import ACQUIRE_TIMEOUT, SerialConnection, current_connection
from ._quoting import quote_ident
from .config import get_config, get_default_database
from .connections import AsyncDatabaseManager
from .drivers.base import Connection
from .exceptions import ORMException, TransactionError

__all__ = [
    "TransactionContext",
    "ending_connection",
    "get_active_connection",
    "in_transaction",
    "transaction",
]

logger = logging.getLogger(__name__)

_blocks: ContextVar[dict[str, TransactionContext] | None] = ContextVar(
    "matrx_orm_transaction_blocks", default=None
)
"""The innermost open ``transaction()`` block of this task, by database name."""

_ending: ContextVar[Connection | None] = ContextVar("matrx_orm_ending_transaction", default=None)
"""The connection of the transaction being ended while the cache hook hears of it."""


class _State:
    """What the blocks of one outermost transaction share."""

    __slots__ = ("acquired", "connection", "database", "stack")

    def __init__(
        self,
        database: str,
        connection: SerialConnection,
        acquired: AbstractAsyncContextManager[Connection],
    ) -> None:
        self.database = database
        self.connection = connection
        self.acquired = acquired
        self.stack: list[TransactionContext] = []


def _raise_control_error(err: Exception, database: str, sql: str, operation: str) -> NoReturn:
    """Raise the ORM error for a failed control statement (``err`` itself if not translatable).

    Raises:
        ORMException: ``err`` translated by the driver (chained from it), or ``err`` enriched.
        Exception: ``err`` unchanged when the driver does not know it.
    """
    if isinstance(err, ORMException):
        raise err.enrich(operation=operation, database=database)
    translated = AsyncDatabaseManager.driver_for(database).translate_error(err, sql=sql)
    if translated is None:
        raise err
    raise translated.enrich(operation=operation, database=database) from err


_T = TypeVar("_T")


def _restore(var: ContextVar[_T], token: Token[_T]) -> None:
    """Undo ``var.set()``; also when the block exits in another context than it entered.

    Frameworks may run the setup and teardown of one ``async with`` in different contexts
    (e.g. dependency teardown); ``ContextVar.reset`` refuses that, so the old value is set.
    """
    try:
        var.reset(token)
    except ValueError:
        old = token.old_value
        var.set(cast("_T", None) if old is Token.MISSING else old)


class TransactionContext:
    """One ``transaction()`` block: a real transaction when outermost, a savepoint when nested.

    Use it with ``async with``; it is single-use. ``async with transaction() as tx`` gives the
    block itself (see :attr:`database`, :attr:`savepoint`, :attr:`connection`).
    """

    __slots__ = ("_conn_token", "_requested", "_state", "_tokens", "database", "savepoint")

    def __init__(self, database: str | None = None) -> None:
        self._requested = database
        self.database: str | None = database
        """The database the block is bound to (resolved on entry when omitted)."""
        self.savepoint: str | None = None
        """The savepoint name of a nested block; ``None`` for the outermost block."""
        self._state: _State | None = None
        self._tokens: tuple[Token[dict[str, TransactionContext] | None], ...] = ()
        self._conn_token: Token[dict[str, Connection] | None] | None = None

    @property
    def is_nested(self) -> bool:
        """True when this block is a savepoint inside an outer transaction."""
        return self.savepoint is not None

    @property
    def connection(self) -> Connection:
        """The transaction's connection (statements on it are serialised).

        Raises:
            TransactionError: the block has not been entered.
        """
        if self._state is None:
            raise TransactionError(
                message="This transaction() block has not been entered yet (use 'async with').",
                operation="connection",
            )
        return self._state.connection

    async def __aenter__(self) -> TransactionContext:
        if self._state is not None:
            raise TransactionError(
                message="A transaction() block can be entered only once; call transaction() "
                "again for a new block.",
                operation="begin",
            )
        database = self._requested if self._requested is not None else get_default_database()
        get_config(database)  # ConfigurationError naming the registered databases
        self.database = database
        blocks = _blocks.get()
        parent = None if blocks is None else blocks.get(database)
        if parent is not None and parent._state is not None:
            await self._enter_nested(parent, parent._state, blocks or {})
        else:
            await self._enter_outermost(database, blocks)
        return self

    async def _enter_outermost(
        self, database: str, blocks: dict[str, TransactionContext] | None
    ) -> None:
        pool = AsyncDatabaseManager.cached_pool(database) or await AsyncDatabaseManager.get_pool(
            database
        )
        acquired = pool.acquire(timeout=ACQUIRE_TIMEOUT)
        raw = await acquired.__aenter__()
        try:
            await raw.control("BEGIN")
        except BaseException as err:
            await acquired.__aexit__(type(err), err, err.__traceback__)
            if not isinstance(err, Exception):
                raise
            raise TransactionError(
                message=f"Failed to begin transaction: {type(err).__name__}: {err}",
                operation="begin",
                original_error=err,
                details={"database": database},
            ) from err
        state = _State(database, SerialConnection(raw, database), acquired)
        state.stack.append(self)
        self._state = state
        routed = dict(current_connection.get() or {})
        routed[database] = state.connection
        own = dict(blocks or {})
        own[database] = self
        self._tokens = (_blocks.set(own),)
        self._conn_token = current_connection.set(routed)

    async def _enter_nested(
        self, parent: TransactionContext, state: _State, blocks: dict[str, TransactionContext]
    ) -> None:
        database = state.database
        if state.connection.ended:
            raise TransactionError(
                message=f"The transaction on database {database!r} this task inherited has "
                "already ended; open a new transaction() outside it.",
                operation="savepoint",
            )
        if parent not in state.stack:
            raise TransactionError(
                message="The transaction() block this task was started in has already exited "
                f"(database {database!r}); await tasks before their block ends.",
                operation="savepoint",
            )
        if state.stack[-1] is not parent:
            raise TransactionError(
                message="Another task has a nested transaction() (savepoint) open on the same "
                f"transaction of database {database!r}. Savepoints of one transaction must "
                "nest; open nested blocks one after another, not from concurrent tasks.",
                operation="savepoint",
            )
        name = f"sp_{secrets.token_hex(6)}"
        sql = f"SAVEPOINT {quote_ident(name)}"
        try:
            await state.connection.control(sql)
        except Exception as err:
            _raise_control_error(err, database, sql, "savepoint")
        self.savepoint = name
        self._state = state
        state.stack.append(self)
        own = dict(blocks)
        own[database] = self
        self._tokens = (_blocks.set(own),)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        state = self._state
        if state is None:
            return
        for token in self._tokens:
            _restore(_blocks, token)
        self._tokens = ()
        if self.savepoint is not None:
            await self._exit_nested(state, self.savepoint, exc is not None)
        else:
            await self._exit_outermost(state, exc is not None)

    async def _exit_nested(self, state: _State, name: str, failed: bool) -> None:
        if state.stack and state.stack[-1] is self:
            state.stack.pop()
        quoted = quote_ident(name)
        statements = (
            [f"ROLLBACK TO SAVEPOINT {quoted}", f"RELEASE SAVEPOINT {quoted}"]
            if failed
            else [f"RELEASE SAVEPOINT {quoted}"]
        )
        for sql in statements:
            try:
                await state.connection.control(sql)
            except Exception as err:
                _raise_control_error(err, state.database, sql, "savepoint")

    async def _exit_outermost(self, state: _State, failed: bool) -> None:
        database = state.database
        connection = state.connection
        if self._conn_token is not None:
            _restore(current_connection, self._conn_token)
            self._conn_token = None
        state.stack.clear()
        # Tasks that inherited the transaction and outlive it now fail clearly instead of
        # running on a connection that returns to the pool.
        connection.ended = True
        committed = False
        uncertain = False
        try:
            if not failed:
                try:
                    await connection.control("COMMIT")
                    committed = True
                except BaseException as err:
                    # Cancelled or cut off mid-COMMIT, the server may have committed anyway.
                    uncertain = True
                    await self._rollback_or_discard(connection)
                    if isinstance(err, Exception):
                        _raise_control_error(err, database, "COMMIT", "commit")
                    raise
            else:
                # The block's own exception propagates; a failed ROLLBACK is only logged.
                await self._rollback_or_discard(connection)
        finally:
            try:
                await state.acquired.__aexit__(None, None, None)
            finally:
                cache = hooks.get_model_cache()
                ending = _ending.set(connection)
                try:
                    if committed:
                        cache.on_commit(database)
                    else:
                        cache.on_rollback(database)
                        if uncertain:
                            cache.clear(database=database)
                finally:
                    _ending.reset(ending)

    @staticmethod
    async def _rollback_or_discard(connection: SerialConnection) -> None:
        """ROLLBACK; if that fails, close the session so it never goes back to the pool open.

        A failure is logged, not raised (the exception that ended the block wins); a
        cancellation arriving during the ROLLBACK is re-raised after terminating.
        """
        try:
            await connection.control("ROLLBACK")
        except BaseException as err:
            logger.warning(
                "ROLLBACK failed on database %r; terminating the connection",
                connection.database,
                exc_info=True,
            )
            connection.wrapped.terminate()
            if not isinstance(err, Exception):
                raise


def transaction(database: str | None = None) -> TransactionContext:
    """A transaction block on ``database``: ``async with transaction(): ...``.

    The outermost block borrows a pool connection and sends ``BEGIN``; it commits on normal
    exit and rolls back when an exception leaves the block (the exception is re-raised, never
    suppressed). A block nested inside an open block for the same database, in the same task
    or a task started inside it, is a savepoint ``"sp_<12 hex>"``: released on success, rolled
    back to (then released) on an exception, leaving the outer transaction alive.

    Every ORM statement for ``database`` in the task tree runs on the transaction's connection,
    one at a time; statements for other databases keep using their own pools.

    Args:
        database: The registered project name (default: ``get_default_database()``).

    Returns:
        The block, to use with ``async with``.
    """
    return TransactionContext(database)


def in_transaction(database: str | None = None) -> bool:
    """True when this task runs inside an open ``transaction()`` block for ``database``.

    Args:
        database: The project name; ``None`` asks about any database.

    Returns:
        Whether a block is open (the model cache is bypassed for reads when it is).
    """
    blocks = _blocks.get()
    if not blocks:
        return False
    if database is None:
        return any(block._state is not None for block in blocks.values())
    block = blocks.get(database)
    return block is not None and block._state is not None and not block._state.connection.ended


def ending_connection() -> Connection | None:
    """The connection of the transaction whose end the cache hook is being told about.

    Set only while ``ModelCache.on_commit``/``on_rollback`` run, so a cache that held write
    notices per transaction (keyed by :func:`get_active_connection` when they arrived) applies
    or drops exactly that transaction's notices.

    Returns:
        The ended transaction's connection, or ``None`` outside those calls.
    """
    return _ending.get()


def get_active_connection(database: str | None = None) -> Connection | None:
    """The connection of the transaction this task is in, for ``database``.

    Args:
        database: The project name (default: ``get_default_database()``).

    Returns:
        The transaction's connection (statements on it are serialised), or ``None`` outside a
        transaction.

    Raises:
        ConfigurationError: ``database`` is omitted and no default database can be chosen.
    """
    name = database if database is not None else get_default_database()
    blocks = _blocks.get()
    block = None if blocks is None else blocks.get(name)
    if block is None or block._state is None or block._state.connection.ended:
        return None
    return block._state.connection
