"""AsyncDatabaseManager and _execution against an in-memory driver (no database)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from matrx_orm_core import _execution, drivers
from matrx_orm_core._execution import current_connection, rows_affected
from matrx_orm_core.config import DatabaseProjectConfig, DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.drivers._errors import timeout_error, translate_sqlstate
from matrx_orm_core.drivers.base import Connection, NotificationHandler, Pool, Row
from matrx_orm_core.exceptions import (
    ConfigurationError,
    ConnectionError,
    DatabaseError,
    IntegrityError,
    ORMException,
    QueryError,
    StateError,
    TransactionError,
)

ROWS: Any = [{"id": 1}]
"""What the fake driver returns (typed Any: compared with Row results)."""


# --- the in-memory driver ----------------------------------------------------------------------


class FakeServerError(Exception):
    """What the fake driver raises for a failed statement."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class FakeConnection:
    def __init__(self, pool: FakePool) -> None:
        self.pool = pool
        self.calls: list[tuple[Any, ...]] = []

    def _run(self, op: str, sql: str, params: Any, timeout: float | None) -> None:
        self.calls.append((op, sql, list(params), timeout))
        self.pool.driver.log.append((op, sql, list(params), timeout))
        if self.pool.driver.fail is not None:
            raise self.pool.driver.fail

    async def execute(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> str:
        self._run("execute", sql, params, timeout)
        return self.pool.driver.tag

    async def fetch(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> list[Row]:
        self._run("fetch", sql, params, timeout)
        return list(self.pool.driver.rows)

    async def fetch_one(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Row | None:
        self._run("fetch_one", sql, params, timeout)
        return self.pool.driver.rows[0] if self.pool.driver.rows else None

    async def fetch_val(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Any:
        self._run("fetch_val", sql, params, timeout)
        return 42

    async def execute_many(
        self, sql: str, params_seq: Iterable[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        self._run("execute_many", sql, [list(p) for p in params_seq], timeout)

    def transaction(self) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    async def listen(self, channel: str, handler: NotificationHandler) -> None:
        raise NotImplementedError

    async def unlisten(self, channel: str, handler: NotificationHandler) -> None:
        raise NotImplementedError

    def is_in_transaction(self) -> bool:
        return False

    async def control(self, sql: str, *, timeout: float | None = None) -> None:
        self._run("control", sql, (), timeout)

    def terminate(self) -> None:
        self.pool.driver.log.append(("terminate",))


class FakePool:
    def __init__(self, driver: FakeDriver, config: DatabaseProjectConfig) -> None:
        self.driver = driver
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.terminated = False
        self.acquire_timeouts: list[float | None] = []
        self.acquire_resets: list[bool] = []
        self.borrowed = 0

    @asynccontextmanager
    async def _borrow(self, timeout: float | None, reset: bool) -> AsyncIterator[Connection]:
        self.acquire_timeouts.append(timeout)
        self.acquire_resets.append(reset)
        if self.driver.acquire_fails:
            raise timeout_error(timeout, what="Acquire")
        self.borrowed += 1
        try:
            yield FakeConnection(self)
        finally:
            self.borrowed -= 1

    def acquire(
        self, *, timeout: float | None = None, reset: bool = True
    ) -> AbstractAsyncContextManager[Connection]:
        return self._borrow(timeout, reset)

    async def close(self) -> None:
        assert asyncio.get_running_loop() is self.loop, "closed on a foreign loop"
        self.closed = True

    def terminate(self) -> None:
        self.terminated = True

    def get_size(self) -> int:
        return 1

    def get_idle_size(self) -> int:
        return 1 - self.borrowed


class FakeDriver:
    name = "fake"

    def __init__(self) -> None:
        self.pools: list[FakePool] = []
        self.log: list[tuple[Any, ...]] = []
        self.fail: BaseException | None = None
        self.create_fail: BaseException | None = None
        self.acquire_fails = False
        self.tag = "UPDATE 3"
        self.rows: list[Any] = [{"id": 1}]
        self.gate: asyncio.Event | None = None

    async def create_pool(self, config: DatabaseProjectConfig) -> Pool:
        await asyncio.sleep(0)
        if self.gate is not None:
            await self.gate.wait()
        if self.create_fail is not None:
            raise self.create_fail
        pool = FakePool(self, config)
        self.pools.append(pool)
        return pool

    def translate_error(
        self,
        error: BaseException,
        *,
        sql: str | None = None,
        params: Sequence[Any] = (),
        timeout: float | None = None,
    ) -> ORMException | None:
        if isinstance(error, FakeServerError):
            return translate_sqlstate(error.sqlstate, str(error), sql=sql, params=params)
        if isinstance(error, asyncio.TimeoutError):
            return timeout_error(timeout, sql=sql, params=params)
        return None

    async def stream(
        self, connection: Connection, sql: str, params: Sequence[Any] = (), *, prefetch: int = 500
    ) -> AsyncIterator[Row]:
        for row in self.rows:
            yield row


# --- fixtures ----------------------------------------------------------------------------------


MAIN = "drvtest_main"
OTHER = "drvtest_other"


def _unregister() -> None:
    # Only this module's names: other tests may have registered databases for the session.
    for name in (MAIN, OTHER):
        if name in DatabaseRegistry.get_all_database_project_names():
            DatabaseRegistry.unregister(name)


def _config(name: str = MAIN, **overrides: Any) -> DatabaseProjectConfig:
    values: dict[str, Any] = {
        "name": name,
        "host": "localhost",
        "port": 5432,
        "database_name": name,
        "user": "u",
        "password": "hunter2",
        "alias": name,
        "driver": "fake",
    }
    values.update(overrides)
    return DatabaseProjectConfig(**values)


@pytest.fixture
def driver() -> Iterator[FakeDriver]:
    fake = FakeDriver()
    drivers.register_driver("fake", lambda: fake)
    _unregister()
    register_database(_config(MAIN))
    register_database(_config(OTHER, command_timeout=4.0))
    AsyncDatabaseManager._drivers.clear()
    yield fake
    for loop in list(AsyncDatabaseManager._pools):
        AsyncDatabaseManager._pools.pop(loop, None)
    AsyncDatabaseManager._drivers.clear()
    _unregister()
    drivers.unregister_driver("fake")


# --- pools -------------------------------------------------------------------------------------


async def test_pool_is_created_lazily_and_reused(driver: FakeDriver) -> None:
    # Earlier test modules may have left pools of their own databases on this session loop.
    before = AsyncDatabaseManager.pool_count()
    assert AsyncDatabaseManager.cached_pool(MAIN) is None
    pool = await AsyncDatabaseManager.get_pool(MAIN)
    assert await AsyncDatabaseManager.get_pool(MAIN) is pool
    assert AsyncDatabaseManager.cached_pool(MAIN) is pool
    assert len(driver.pools) == 1
    assert driver.pools[0].config.name == MAIN
    assert AsyncDatabaseManager.pool_count() == before + 1
    other = await AsyncDatabaseManager.get_pool(OTHER)
    assert other is not pool
    assert AsyncDatabaseManager.pool_count() == before + 2
    await AsyncDatabaseManager.close_all_pools()


async def test_closed_pools_are_not_served_from_the_cache(driver: FakeDriver) -> None:
    first = await AsyncDatabaseManager.get_pool(MAIN)
    assert AsyncDatabaseManager.cached_pool(MAIN) is first
    await AsyncDatabaseManager.close_all_pools()
    assert AsyncDatabaseManager.cached_pool(MAIN) is None
    second = await AsyncDatabaseManager.get_pool(MAIN)
    assert second is not first
    assert AsyncDatabaseManager.cached_pool(MAIN) is second
    assert await _execution.fetch_val(MAIN, "SELECT 1") == 42
    assert len(driver.pools) == 2
    await AsyncDatabaseManager.close_all_pools()


async def test_close_pool_closes_one_database_only(driver: FakeDriver) -> None:
    main = await AsyncDatabaseManager.get_pool(MAIN)
    other = await AsyncDatabaseManager.get_pool(OTHER)
    assert isinstance(main, FakePool)
    assert isinstance(other, FakePool)
    assert await AsyncDatabaseManager.close_pool(MAIN) is True
    assert main.closed
    assert not other.closed
    assert AsyncDatabaseManager.cached_pool(MAIN) is None
    assert AsyncDatabaseManager.cached_pool(OTHER) is other
    assert await AsyncDatabaseManager.close_pool(MAIN) is False  # nothing open: no error
    reopened = await AsyncDatabaseManager.get_pool(MAIN)
    assert reopened is not main
    await AsyncDatabaseManager.close_all_pools()


async def test_concurrent_first_use_creates_one_pool(driver: FakeDriver) -> None:
    driver.gate = asyncio.Event()
    waiters = [asyncio.ensure_future(AsyncDatabaseManager.get_pool(MAIN)) for _ in range(10)]
    await asyncio.sleep(0.01)
    driver.gate.set()
    pools = await asyncio.gather(*waiters)
    assert len(driver.pools) == 1
    assert all(pool is driver.pools[0] for pool in pools)
    await AsyncDatabaseManager.close_all_pools()


async def test_cancelled_first_caller_does_not_break_creation(driver: FakeDriver) -> None:
    driver.gate = asyncio.Event()
    first = asyncio.ensure_future(AsyncDatabaseManager.get_pool(MAIN))
    second = asyncio.ensure_future(AsyncDatabaseManager.get_pool(MAIN))
    await asyncio.sleep(0.01)
    first.cancel()
    driver.gate.set()
    pool = await second
    assert first.cancelled()
    assert pool is driver.pools[0]
    assert len(driver.pools) == 1
    await AsyncDatabaseManager.close_all_pools()


async def test_failed_creation_reaches_every_caller_and_is_retried(driver: FakeDriver) -> None:
    driver.create_fail = ConnectionError(message="refused")
    results = await asyncio.gather(
        AsyncDatabaseManager.get_pool(MAIN),
        AsyncDatabaseManager.get_pool(MAIN),
        return_exceptions=True,
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    assert AsyncDatabaseManager.pool_count() == 0
    driver.create_fail = None
    assert await AsyncDatabaseManager.get_pool(MAIN) is driver.pools[0]
    await AsyncDatabaseManager.close_all_pools()


async def test_unregistered_database_names_the_registered_ones(driver: FakeDriver) -> None:
    with pytest.raises(ConfigurationError) as info:
        await AsyncDatabaseManager.get_pool("missing")
    assert "missing" in info.value.message
    assert repr(MAIN) in info.value.message
    assert repr(OTHER) in info.value.message
    assert AsyncDatabaseManager.pool_count() == 0


def test_two_loops_get_two_pools_and_closed_loops_are_terminated(driver: FakeDriver) -> None:
    first_loop = asyncio.new_event_loop()
    second_loop = asyncio.new_event_loop()
    try:
        first = first_loop.run_until_complete(AsyncDatabaseManager.get_pool(MAIN))
        second = second_loop.run_until_complete(AsyncDatabaseManager.get_pool(MAIN))
        assert first is not second
        assert AsyncDatabaseManager.pool_count() == 2
        first_loop.close()
        second_loop.run_until_complete(AsyncDatabaseManager.close_all_pools())
        assert isinstance(first, FakePool)
        assert isinstance(second, FakePool)
        assert (first.terminated, first.closed) == (True, False)
        assert (second.closed, second.terminated) == (True, False)
        assert AsyncDatabaseManager.pool_count() == 0
    finally:
        first_loop.close()
        second_loop.close()


def test_new_pool_creation_sweeps_pools_of_closed_loops(driver: FakeDriver) -> None:
    old_loop = asyncio.new_event_loop()
    old = old_loop.run_until_complete(AsyncDatabaseManager.get_pool(MAIN))
    old_loop.close()
    new_loop = asyncio.new_event_loop()
    try:
        new_loop.run_until_complete(AsyncDatabaseManager.get_pool(MAIN))
        assert isinstance(old, FakePool)
        assert old.terminated
        assert AsyncDatabaseManager.pool_count() == 1
        new_loop.run_until_complete(AsyncDatabaseManager.cleanup())
        assert AsyncDatabaseManager.pool_count() == 0
    finally:
        new_loop.close()


async def test_close_pools_of_a_loop_running_in_another_thread(driver: FakeDriver) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        future = asyncio.run_coroutine_threadsafe(AsyncDatabaseManager.get_pool(MAIN), loop)
        pool = await asyncio.wrap_future(future)
        await AsyncDatabaseManager.close_pools_for_loop(loop)
        assert isinstance(pool, FakePool)
        assert pool.closed
        assert AsyncDatabaseManager.pool_count() == 0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def test_close_pools_for_the_running_loop_only(driver: FakeDriver) -> None:
    idle_loop = asyncio.new_event_loop()  # open but not running: its pools are not touched
    try:
        foreign = FakePool.__new__(FakePool)
        foreign.closed = foreign.terminated = False
        AsyncDatabaseManager._pools[idle_loop] = {MAIN: foreign}
        pool = await AsyncDatabaseManager.get_pool(MAIN)
        await AsyncDatabaseManager.close_all_pools()
        assert isinstance(pool, FakePool)
        assert pool.closed
        assert (foreign.closed, foreign.terminated) == (False, False)
        assert AsyncDatabaseManager.pool_count() == 1
        await AsyncDatabaseManager.close_pools_for_loop(idle_loop)  # not running: terminated
        assert foreign.terminated
        assert AsyncDatabaseManager.pool_count() == 0
        await AsyncDatabaseManager.close_pools_for_loop()  # nothing left: no error
    finally:
        idle_loop.close()


async def test_get_connection_borrows_with_timeout(driver: FakeDriver) -> None:
    async with AsyncDatabaseManager.get_connection(MAIN, timeout=2.5) as conn:
        assert await conn.execute("SET x = 1") == "UPDATE 3"
    assert driver.pools[0].acquire_timeouts == [2.5]
    assert driver.pools[0].borrowed == 0
    await AsyncDatabaseManager.close_all_pools()


async def test_get_connection_translates_driver_errors(driver: FakeDriver) -> None:
    driver.fail = FakeServerError("42601", 'syntax error at or near "SELEC"')
    with pytest.raises(QueryError) as info:
        async with AsyncDatabaseManager.get_connection(MAIN) as conn:
            await conn.execute("SELEC 1")
    assert info.value.operation == "get_connection"
    assert isinstance(info.value.__cause__, FakeServerError)
    driver.fail = None
    with pytest.raises(KeyError):
        async with AsyncDatabaseManager.get_connection(MAIN):
            raise KeyError("user code")
    await AsyncDatabaseManager.close_all_pools()


async def test_get_connection_acquire_timeout(driver: FakeDriver) -> None:
    driver.acquire_fails = True
    with pytest.raises(DatabaseError, match="Timeout acquiring connection after 1s"):
        async with AsyncDatabaseManager.get_connection(MAIN, timeout=1.0):
            pass
    await AsyncDatabaseManager.close_all_pools()


async def test_execute_query_returns_rows(driver: FakeDriver) -> None:
    rows = await AsyncDatabaseManager.execute_query(MAIN, "SELECT $1, $2", 1, "a", timeout=3.0)
    assert rows == ROWS
    assert driver.log == [("fetch", "SELECT $1, $2", [1, "a"], 3.0)]
    await AsyncDatabaseManager.close_all_pools()


# --- _execution --------------------------------------------------------------------------------


async def test_execute_returns_the_tag(driver: FakeDriver) -> None:
    driver.tag = "DELETE 2"
    assert await _execution.execute(MAIN, "DELETE FROM t WHERE a = $1", (5,)) == "DELETE 2"
    assert driver.log == [("execute", "DELETE FROM t WHERE a = $1", [5], None)]
    assert driver.pools[0].acquire_timeouts == [_execution.ACQUIRE_TIMEOUT]
    await AsyncDatabaseManager.close_all_pools()


async def test_fetch_variants_forward_sql_params_and_timeout(driver: FakeDriver) -> None:
    assert await _execution.fetch(MAIN, "SELECT $1", [1], timeout=1.5) == ROWS
    assert await _execution.fetch_one(MAIN, "SELECT 2") == ROWS[0]
    driver.rows = []
    assert await _execution.fetch_one(MAIN, "SELECT 3") is None
    assert await _execution.fetch_val(MAIN, "SELECT 4", (4,)) == 42
    await _execution.execute_many(MAIN, "INSERT $1", ((i,) for i in range(3)), timeout=9.0)
    assert driver.log == [
        ("fetch", "SELECT $1", [1], 1.5),
        ("fetch_one", "SELECT 2", [], None),
        ("fetch_one", "SELECT 3", [], None),
        ("fetch_val", "SELECT 4", [4], None),
        ("execute_many", "INSERT $1", [[0], [1], [2]], 9.0),
    ]
    assert len(driver.pools) == 1
    await AsyncDatabaseManager.close_all_pools()


async def test_current_connection_is_used_first(driver: FakeDriver) -> None:
    pool = FakePool(driver, _config())
    bound = FakeConnection(pool)
    token = current_connection.set({MAIN: bound})
    try:
        assert await _execution.execute(MAIN, "UPDATE a SET b = 1") == "UPDATE 3"
        assert await _execution.fetch(MAIN, "SELECT 1") == ROWS
        assert await _execution.fetch_one(MAIN, "SELECT 1") == ROWS[0]
        assert await _execution.fetch_val(MAIN, "SELECT 1") == 42
        await _execution.execute_many(MAIN, "INSERT $1", [(1,)])
        assert [call[0] for call in bound.calls] == [
            "execute",
            "fetch",
            "fetch_one",
            "fetch_val",
            "execute_many",
        ]
        assert driver.pools == []  # no pool was needed
        await _execution.fetch(OTHER, "SELECT 2")  # another database: its own pool
        assert len(driver.pools) == 1
        assert driver.pools[0].config.name == OTHER
    finally:
        current_connection.reset(token)
    await AsyncDatabaseManager.close_all_pools()


async def test_errors_are_translated_enriched_and_chained(driver: FakeDriver) -> None:
    driver.fail = FakeServerError("23505", "duplicate key value violates unique constraint")
    with pytest.raises(IntegrityError) as info:
        await _execution.execute(
            MAIN,
            'INSERT INTO "user" ("email") VALUES ($1)',
            ("a@b.c",),
            model="User",
            operation="create",
            filters={"email": "a@b.c"},
        )
    exc = info.value
    assert exc.constraint == "unique"
    assert exc.model == "User"
    assert exc.operation == "create"
    assert exc.details["sql"] == 'INSERT INTO "user" ("email") VALUES ($1)'
    assert exc.details["params"] == ["a@b.c"]
    assert exc.details["filters"] == {"email": "a@b.c"}
    assert exc.details["database"] == MAIN
    assert exc.__cause__ is driver.fail
    assert "a@b.c" not in str(exc)
    await AsyncDatabaseManager.close_all_pools()


@pytest.mark.parametrize("name", ["execute", "fetch", "fetch_one", "fetch_val"])
async def test_every_entry_point_translates(driver: FakeDriver, name: str) -> None:
    driver.fail = FakeServerError("42P01", 'relation "nope" does not exist')
    with pytest.raises(QueryError) as info:
        await getattr(_execution, name)(MAIN, "SELECT * FROM nope", model=dict, operation="op")
    assert info.value.model == "dict"
    assert info.value.operation == "op"
    assert isinstance(info.value.__cause__, FakeServerError)
    await AsyncDatabaseManager.close_all_pools()


async def test_execute_many_error_keeps_every_tuple(driver: FakeDriver) -> None:
    driver.fail = FakeServerError("22P02", "invalid input")
    with pytest.raises(ORMException) as info:
        await _execution.execute_many(MAIN, "INSERT $1", [(1,), (2,)])
    assert info.value.details["params"] == [(1,), (2,)]
    await AsyncDatabaseManager.close_all_pools()


async def test_timeout_message_uses_the_config_command_timeout(driver: FakeDriver) -> None:
    driver.fail = asyncio.TimeoutError()
    with pytest.raises(DatabaseError, match="Statement timed out after 4s"):
        await _execution.fetch(OTHER, "SELECT pg_sleep(10)")
    with pytest.raises(DatabaseError, match=r"Statement timed out after 0\.25s"):
        await _execution.fetch(OTHER, "SELECT pg_sleep(10)", timeout=0.25)
    await AsyncDatabaseManager.close_all_pools()


async def test_non_database_errors_pass_through_unchanged(driver: FakeDriver) -> None:
    driver.fail = ValueError("a bug")
    with pytest.raises(ValueError, match="a bug") as info:
        await _execution.fetch(MAIN, "SELECT 1")
    assert info.value is driver.fail
    await AsyncDatabaseManager.close_all_pools()


async def test_orm_errors_from_the_pool_are_enriched_not_wrapped(driver: FakeDriver) -> None:
    driver.acquire_fails = True
    with pytest.raises(DatabaseError) as info:
        await _execution.fetch(MAIN, "SELECT 1", model="User", operation="get")
    assert info.value.message.startswith("Timeout acquiring connection after 10s")
    assert info.value.model == "User"
    assert info.value.details["sql"] == "SELECT 1"
    await AsyncDatabaseManager.close_all_pools()


async def test_state_errors_keep_their_class(driver: FakeDriver) -> None:
    driver.fail = StateError(reason="released")
    with pytest.raises(StateError):
        await _execution.execute(MAIN, "SELECT 1")
    await AsyncDatabaseManager.close_all_pools()


@pytest.mark.parametrize(
    ("tag", "count"),
    [
        ("UPDATE 3", 3),
        ("DELETE 0", 0),
        ("INSERT 0 5", 5),
        ("SELECT 2", 2),
        ("COPY 5", 5),
        ("MERGE 7", 7),
        ("CREATE TABLE", 0),
        ("", 0),
    ],
)
def test_rows_affected(tag: str, count: int) -> None:
    assert rows_affected(tag) == count


# --- the per-release reset (API.md §10.31) and transaction serialisation (§10.29) ---------------


async def test_only_orm_operations_outside_transactions_skip_the_reset(driver: FakeDriver) -> None:
    await _execution.fetch(MAIN, "SELECT 1", operation="get")
    await _execution.execute(MAIN, "UPDATE t SET a = 1", operation="update_where")
    await _execution.fetch(MAIN, "SELECT 1")  # user SQL: no operation
    await _execution.fetch(MAIN, "SELECT 1", operation="MigrationDB.fetch")
    await AsyncDatabaseManager.execute_query(MAIN, "SELECT 1")
    async with AsyncDatabaseManager.get_connection(MAIN):
        pass
    assert driver.pools[0].acquire_resets == [False, False, True, True, True, True]


class _SlowConnection(FakeConnection):
    """Fails like asyncpg when two operations overlap on it."""

    def __init__(self, pool: FakePool) -> None:
        super().__init__(pool)
        self.busy = False
        self.order: list[str] = []

    async def fetch_val(
        self, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
    ) -> Any:
        if self.busy:
            raise RuntimeError("another operation is in progress")
        self.busy = True
        try:
            self.order.append(f"start {sql}")
            await asyncio.sleep(0.01)
            self.order.append(f"end {sql}")
            return sql
        finally:
            self.busy = False


async def test_serial_connection_runs_gathered_operations_one_at_a_time(
    driver: FakeDriver,
) -> None:
    pool = await AsyncDatabaseManager.get_pool(MAIN)
    assert isinstance(pool, FakePool)
    raw = _SlowConnection(pool)
    serial = _execution.SerialConnection(raw, MAIN)
    token = current_connection.set({MAIN: serial})
    try:
        results = await asyncio.gather(
            _execution.fetch_val(MAIN, "a"), _execution.fetch_val(MAIN, "b")
        )
    finally:
        current_connection.reset(token)
    assert list(results) == ["a", "b"]
    assert raw.order == ["start a", "end a", "start b", "end b"]
    assert pool.acquire_resets == []  # the bound connection was used, not the pool


async def test_serial_connection_refuses_use_after_its_transaction_ended(
    driver: FakeDriver,
) -> None:
    pool = await AsyncDatabaseManager.get_pool(MAIN)
    assert isinstance(pool, FakePool)
    serial = _execution.SerialConnection(FakeConnection(pool), MAIN)
    await serial.control("BEGIN")
    assert serial.is_in_transaction() is False
    serial.ended = True
    token = current_connection.set({MAIN: serial})
    try:
        with pytest.raises(TransactionError, match="has already ended") as info:
            await _execution.execute(MAIN, "UPDATE t SET a = 1", operation="update")
    finally:
        current_connection.reset(token)
    assert info.value.details["database"] == MAIN
    serial.terminate()
    assert driver.log[-1] == ("terminate",)
