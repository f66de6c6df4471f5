"""An in-memory driver that records every statement and answers with results queued by a test."""

from __future__ import annotations

import inspect
import re
from collections import deque
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from matrx_orm_core._quoting import copy_statement
from matrx_orm_core.exceptions import ConnectionError, ORMException, TransactionError

if TYPE_CHECKING:
    from matrx_orm_core.config import DatabaseProjectConfig
    from matrx_orm_core.drivers.base import Connection, NotificationHandler, Row

__all__ = [
    "RECORDING_DRIVER_NAME",
    "RecordedRow",
    "RecordedServerError",
    "Recorder",
    "RecordingConnection",
    "RecordingDriver",
    "RecordingPool",
    "Responder",
    "Result",
    "Statement",
    "recording_database",
]

RECORDING_DRIVER_NAME = "recording"
"""The driver name :func:`recording_database` registers the shared recording driver under."""


class Statement(NamedTuple):
    """One statement as the server would have received it: SQL text and bound parameters.

    A plain ``(sql, params)`` tuple compares equal to it, so tests can write
    ``assert recorder.statements == [('SELECT 1', ())]``.
    """

    sql: str
    params: tuple[Any, ...]


class RecordedRow(dict[str, Any]):
    """A result row: a ``dict`` that can also be indexed by column position, like a driver row."""

    def __getitem__(self, key: str | int, /) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None, /) -> Any:
        return super().get(key, default)


@dataclass(frozen=True)
class Result:
    """What the recording driver answers to one statement.

    Attributes:
        rows: The rows to return (column name → value, in column order).
        tag: The command tag ``execute`` returns. ``None`` derives one from the statement and
            the row count (``"INSERT 0 1"``, ``"UPDATE 2"``, ``"SELECT 0"``, ``"CREATE TABLE"``).
        error: If set, the statement raises this exception instead of returning.
    """

    rows: Sequence[Mapping[str, Any]] = ()
    tag: str | None = None
    error: BaseException | None = None


Responder = Callable[[str, tuple[Any, ...]], Result | Sequence[Mapping[str, Any]] | None]
"""A callable answering one statement: gets ``(sql, params)``, returns a :class:`Result`, a list of
row mappings, or ``None`` (no rows)."""


class RecordedServerError(Exception):
    """A simulated PostgreSQL error; the recording driver translates it by SQLSTATE.

    It goes through the same SQLSTATE table as real driver errors, so
    ``recorder.add_server_error("23505", ...)`` makes the ORM raise ``IntegrityError``.
    """

    def __init__(
        self,
        sqlstate: str,
        message: str,
        *,
        constraint_name: str | None = None,
        table_name: str | None = None,
        column_name: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.constraint_name = constraint_name
        self.table_name = table_name
        self.column_name = column_name
        self.detail = detail


_ROW_COUNT_TAGS = frozenset({"SELECT", "UPDATE", "DELETE", "MERGE", "FETCH", "MOVE", "COPY"})
_TWO_WORD_TAGS = frozenset({"CREATE", "DROP", "ALTER"})
_LEADING_COMMENTS = re.compile(r"^(\s+|--[^\n]*\n?|/\*.*?\*/)+", re.DOTALL)


def derive_tag(sql: str, row_count: int) -> str:
    """The command tag a server would send for ``sql`` returning ``row_count`` rows.

    Statements starting with ``WITH`` are reported as ``SELECT n``; queue an explicit ``tag``
    when a test needs the tag of a data-modifying CTE.
    """
    words = _LEADING_COMMENTS.sub("", sql).split()
    if not words:
        return "EMPTY"
    first = words[0].upper().rstrip(";")
    if first in {"WITH", "VALUES", "TABLE", "SHOW"}:
        return f"SELECT {row_count}"
    if first == "INSERT":
        return f"INSERT 0 {row_count}"
    if first in _ROW_COUNT_TAGS:
        return f"{first} {row_count}"
    if first in _TWO_WORD_TAGS and len(words) > 1:
        second = words[1].upper().rstrip(";")
        if second in {"OR", "UNIQUE", "TEMP", "TEMPORARY", "UNLOGGED", "MATERIALIZED"}:
            # CREATE OR REPLACE FUNCTION / CREATE UNIQUE INDEX ...: the object kind comes later.
            kinds = [w.upper() for w in words[2:5]]
            second = next((k for k in kinds if k not in {"REPLACE", "TEMP", "TEMPORARY"}), second)
        return f"{first} {second}"
    return first


def _as_row(mapping: Mapping[str, Any]) -> RecordedRow:
    return mapping if isinstance(mapping, RecordedRow) else RecordedRow(mapping)


class Recorder:
    """The log of statements a recording driver received, and the queue of results to send.

    Every statement (``execute``, ``fetch``, ``fetch_one``, ``fetch_val``, each parameter tuple of
    ``execute_many``, ``stream``, ``copy_records``: its SQL is ``COPY "t" ("a", ...) FROM STDIN
    (FORMAT binary)`` and its params the copied records) is appended to :attr:`statements` and
    consumes the next queued result, first in first out. With the queue empty the
    :meth:`set_responder` callable answers;
    without one a statement gets **no rows**: ``fetch`` returns ``[]``, ``fetch_one`` and
    ``fetch_val`` return ``None``, ``execute`` returns the derived tag with a count of 0
    (``"SELECT 0"``, ``"INSERT 0 0"``, ``"UPDATE 0"``).

    Transaction control is recorded as statements too (``BEGIN``, ``COMMIT``, ``ROLLBACK``,
    ``SAVEPOINT "sp_<12 hex>"``, ``RELEASE SAVEPOINT ...``, ``ROLLBACK TO SAVEPOINT ...``; from
    ``connection.transaction()``: ``SAVEPOINT matrx_sp_<n>``) but consumes no queued result;
    :meth:`add_control_error` makes the next control statement fail instead.

    Attributes:
        database: The project name the recorder is registered under (``"recorded"`` in the
            ``recording_db`` fixture).
        statements: Every statement received, in order.
        pool_configs: The configuration of every pool the driver created, in order.
    """

    def __init__(self, database: str = "recorded") -> None:
        self.database = database
        self.statements: list[Statement] = []
        self.pool_configs: list[DatabaseProjectConfig] = []
        self._queue: deque[Result | Responder] = deque()
        self._responder: Responder | None = None
        self._listeners: dict[str, list[NotificationHandler]] = {}
        self._control_errors: deque[BaseException] = deque()

    @property
    def sql(self) -> list[str]:
        """The SQL text of every recorded statement, in order."""
        return [statement.sql for statement in self.statements]

    @property
    def params(self) -> list[tuple[Any, ...]]:
        """The parameter tuple of every recorded statement, in order."""
        return [statement.params for statement in self.statements]

    @property
    def pending_results(self) -> int:
        """How many queued results no statement has consumed yet."""
        return len(self._queue)

    def add_result(
        self,
        rows: Iterable[Mapping[str, Any]] | Responder | None = None,
        *,
        tag: str | None = None,
    ) -> None:
        """Queue the answer to the next statement.

        Args:
            rows: The rows to return (each a mapping of column name to value), or a
                :data:`Responder` callable that builds the answer from ``(sql, params)``.
            tag: The command tag for ``execute`` (derived from the SQL and row count if omitted).
        """
        if callable(rows):
            if tag is not None:
                raise TypeError("add_result(): give the tag from the responder's Result instead.")
            self._queue.append(rows)
            return
        self._queue.append(Result(rows=[_as_row(row) for row in rows or ()], tag=tag))

    def add_error(self, error: BaseException) -> None:
        """Make the next statement raise ``error`` exactly as given (after recording it)."""
        self._queue.append(Result(error=error))

    def add_server_error(
        self,
        sqlstate: str,
        message: str,
        *,
        constraint_name: str | None = None,
        table_name: str | None = None,
        column_name: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Make the next statement fail like the server would with ``sqlstate``.

        The ORM translates it through the same SQLSTATE table as real driver errors
        (``"23505"`` gives ``IntegrityError(constraint="unique")``).
        """
        self.add_error(
            RecordedServerError(
                sqlstate,
                message,
                constraint_name=constraint_name,
                table_name=table_name,
                column_name=column_name,
                detail=detail,
            )
        )

    def add_control_error(self, error: BaseException) -> None:
        """Make the next transaction-control statement (``BEGIN``, ``COMMIT``...) raise ``error``.

        The statement is recorded first; ordinary statements and their queue are unaffected.
        """
        self._control_errors.append(error)

    def set_responder(self, responder: Responder | None) -> None:
        """Answer every statement with ``responder`` while the queue is empty (``None``: stop)."""
        self._responder = responder

    def clear(self) -> None:
        """Forget recorded statements, pool configurations and queued results."""
        self.statements.clear()
        self.pool_configs.clear()
        self._queue.clear()
        self._control_errors.clear()

    async def notify(self, channel: str, payload: str = "") -> int:
        """Deliver a NOTIFY to the handlers listening on ``channel``.

        Returns:
            How many handlers were called.
        """
        handlers = list(self._listeners.get(channel, ()))
        for handler in handlers:
            outcome = handler(channel, payload)
            if inspect.isawaitable(outcome):
                await outcome
        return len(handlers)

    # -- used by RecordingConnection --------------------------------------------------------

    def _record_control(self, sql: str) -> None:
        self.statements.append(Statement(sql, ()))

    def _run_control(self, sql: str) -> None:
        self._record_control(sql)
        if self._control_errors:
            raise self._control_errors.popleft()

    def _answer(
        self, sql: str, params: Sequence[Any], row_count: int | None = None
    ) -> tuple[list[RecordedRow], str]:
        """Record one statement and return its rows and command tag (or raise a queued error).

        ``row_count`` replaces the number of result rows in a derived tag (COPY returns none).
        """
        bound = tuple(params)
        self.statements.append(Statement(sql, bound))
        source: Result | Responder | None
        source = self._queue.popleft() if self._queue else self._responder
        result = source if isinstance(source, Result) or source is None else source(sql, bound)
        if result is None:
            result = Result()
        elif not isinstance(result, Result):
            result = Result(rows=result)
        if result.error is not None:
            raise result.error
        rows = [_as_row(row) for row in result.rows]
        if result.tag is not None:
            return rows, result.tag
        return rows, derive_tag(sql, len(rows) if row_count is None else row_count)

    def _copy(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        schema: str | None,
    ) -> str:
        copied = tuple([tuple(record) for record in records])
        for record in copied:
            if len(record) != len(columns):
                raise TypeError(
                    f"copy_records(): a record has {len(record)} values for {len(columns)} columns"
                )
        sql = copy_statement(table, columns, schema)
        return self._answer(sql, copied, row_count=len(copied))[1]

    def _listen(self, channel: str, handler: NotificationHandler) -> None:
        self._listeners.setdefault(channel, []).append(handler)

    def _unlisten(self, channel: str, handler: NotificationHandler) -> None:
        handlers = self._listeners.get(channel, [])
        if handler in handlers:
            handlers.remove(handler)


def _quote_channel(channel: str) -> str:
    return '"' + channel.replace('"', '""') + '"'


class RecordingConnection:
    """A :class:`~matrx_orm_core.drivers.base.Connection` that talks to a :class:`Recorder`."""

    def __init__(self, driver: RecordingDriver) -> None:
        self._driver = driver
        self._depth = 0
        self._savepoints = 0
        self._open = False
        self.closed = False

    @property
    def recorder(self) -> Recorder:
        """The recorder currently attached to this connection's driver."""
        return self._driver.recorder

    async def execute(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> str:
        return self.recorder._answer(sql, params)[1]

    async def fetch(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> list[Row]:
        return list(self.recorder._answer(sql, params)[0])

    async def fetch_one(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Row | None:
        rows = self.recorder._answer(sql, params)[0]
        return rows[0] if rows else None

    async def fetch_val(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Any:
        rows = self.recorder._answer(sql, params)[0]
        if not rows:
            return None
        return next(iter(rows[0].values()), None)

    async def execute_many(
        self, sql: str, params_seq: Iterable[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        for params in params_seq:
            self.recorder._answer(sql, params)

    async def copy_records(
        self,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence[Any]],
        *,
        schema: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Record ``COPY "t" ("a", "b") FROM STDIN (FORMAT binary)`` with the records as params.

        The statement's ``params`` is the tuple of copied records (each a tuple), so a test can
        assert exactly what was copied. It consumes one queued result like any statement (a
        queued error makes it fail); the tag is ``"COPY <number of records>"`` unless the
        queued result gives one.
        """
        return self.recorder._copy(table, columns, records, schema)

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        recorder = self.recorder
        if self._depth == 0:
            begin, commit, rollback = "BEGIN", "COMMIT", "ROLLBACK"
        else:
            self._savepoints += 1
            name = f"matrx_sp_{self._savepoints}"
            begin = f"SAVEPOINT {name}"
            commit = f"RELEASE SAVEPOINT {name}"
            rollback = f"ROLLBACK TO SAVEPOINT {name}"
        recorder._record_control(begin)
        self._depth += 1
        try:
            yield
        except BaseException:
            recorder._record_control(rollback)
            raise
        else:
            recorder._record_control(commit)
        finally:
            self._depth -= 1

    async def listen(self, channel: str, handler: NotificationHandler) -> None:
        self.recorder._record_control(f"LISTEN {_quote_channel(channel)}")
        self.recorder._listen(channel, handler)

    async def unlisten(self, channel: str, handler: NotificationHandler) -> None:
        self.recorder._record_control(f"UNLISTEN {_quote_channel(channel)}")
        self.recorder._unlisten(channel, handler)

    def is_in_transaction(self) -> bool:
        return self._depth > 0 or self._open

    async def control(self, sql: str, *, timeout: float | None = None) -> None:
        self.recorder._run_control(sql)
        if sql == "BEGIN":
            self._open = True
        elif sql in ("COMMIT", "ROLLBACK"):
            self._open = False

    def terminate(self) -> None:
        self.closed = True
        self._open = False


class RecordingPool:
    """A :class:`~matrx_orm_core.drivers.base.Pool` handing out :class:`RecordingConnection`."""

    def __init__(self, driver: RecordingDriver, config: DatabaseProjectConfig) -> None:
        self._driver = driver
        self.config = config
        self._idle: list[RecordingConnection] = []
        self._size = 0
        self.closed = False
        self.full_resets = 0
        """Releases that reset the session (``acquire(reset=True)``, the default)."""
        self.skipped_resets = 0
        """Releases that skipped the reset (``acquire(reset=False)``)."""

    def acquire(
        self, *, timeout: float | None = None, reset: bool = True
    ) -> AbstractAsyncContextManager[Connection]:
        return self._acquire(reset)

    @asynccontextmanager
    async def _acquire(self, reset: bool) -> AsyncIterator[Connection]:
        if self.closed:
            raise ConnectionError(
                db_url=f"recording://{self.config.name}",
                original_error=RuntimeError(
                    "The recording pool is closed; the event loop that owned it has ended."
                ),
            )
        if self._idle:
            connection = self._idle.pop()
        else:
            connection = RecordingConnection(self._driver)
            self._size += 1
        try:
            yield connection
        finally:
            connection._depth = 0
            connection._open = False
            if reset:
                self.full_resets += 1
            else:
                self.skipped_resets += 1
            if connection.closed:
                self._size -= 1
            else:
                self._idle.append(connection)

    async def close(self) -> None:
        self.terminate()

    def terminate(self) -> None:
        self.closed = True
        self._idle.clear()
        self._size = 0

    def get_size(self) -> int:
        return self._size

    def get_idle_size(self) -> int:
        return len(self._idle)


class RecordingDriver:
    """A :class:`~matrx_orm_core.drivers.base.Driver` that runs nothing and records everything.

    Pools created by this driver send every statement to the driver's *current*
    :attr:`recorder`, so pools cached from an earlier test follow the recorder a later test
    attaches.

    Args:
        recorder: The recorder to attach (a new one if omitted).
        name: The driver's name.
    """

    def __init__(self, recorder: Recorder | None = None, *, name: str = RECORDING_DRIVER_NAME):
        self.name = name
        self.recorder = recorder if recorder is not None else Recorder()

    async def create_pool(self, config: DatabaseProjectConfig) -> RecordingPool:
        self.recorder.pool_configs.append(config)
        return RecordingPool(self, config)

    def translate_error(
        self,
        error: BaseException,
        *,
        sql: str | None = None,
        params: Sequence[Any] = (),
        timeout: float | None = None,
    ) -> ORMException | None:
        """Translate a :class:`RecordedServerError` by SQLSTATE; anything else is not ours."""
        if not isinstance(error, RecordedServerError):
            return None
        from matrx_orm_core.drivers._errors import translate_sqlstate

        return translate_sqlstate(
            error.sqlstate,
            error.message,
            constraint_name=error.constraint_name,
            table_name=error.table_name,
            column_name=error.column_name,
            detail=error.detail,
            original_error=error,
            sql=sql,
            params=params,
        )

    async def stream(
        self, connection: Connection, sql: str, params: Sequence[Any] = (), *, prefetch: int = 500
    ) -> AsyncIterator[Row]:
        if not connection.is_in_transaction():
            raise TransactionError(
                operation="stream",
                original_error=RuntimeError(
                    "A server-side cursor needs an open transaction; wrap the stream in "
                    "connection.transaction()."
                ),
            )
        for row in self.recorder._answer(sql, params)[0]:
            yield row


_shared_driver: RecordingDriver | None = None


def shared_driver() -> RecordingDriver:
    """The process-wide recording driver registered under :data:`RECORDING_DRIVER_NAME`."""
    global _shared_driver
    if _shared_driver is None:
        _shared_driver = RecordingDriver()
    return _shared_driver


@contextmanager
def recording_database(name: str = "recorded") -> Iterator[Recorder]:
    """Register database project ``name`` on the recording driver for the ``with`` block.

    What the ``recording_db`` pytest fixture uses; call it directly from other test runners.

    Args:
        name: The project name (models select it with ``_database = name``).

    Yields:
        A fresh :class:`Recorder` receiving every statement sent to ``name``.

    Raises:
        DatabaseConfigError: A different project is already registered under ``name``.
    """
    from matrx_orm_core.config import DatabaseProjectConfig, DatabaseRegistry, register_database
    from matrx_orm_core.drivers import register_driver

    driver = shared_driver()
    register_driver(RECORDING_DRIVER_NAME, shared_driver)
    recorder = Recorder(database=name)
    config = DatabaseProjectConfig(
        name=name,
        host="recording.invalid",
        port=5432,
        database_name=name,
        user="recorder",
        password="",
        alias=name,
        ssl="disable",
        driver=RECORDING_DRIVER_NAME,
    )
    register_database(config)
    previous, driver.recorder = driver.recorder, recorder
    try:
        yield recorder
    finally:
        driver.recorder = previous
        DatabaseRegistry.unregister(name)
