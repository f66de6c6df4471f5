"""Tests for transaction(): exact BEGIN/SAVEPOINT/RELEASE/ROLLBACK/COMMIT sequences, task-local
binding, cache hooks and the pool-release reset rule, against the recording driver."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import _execution, hooks
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.exceptions import (
    ConfigurationError,
    DatabaseError,
    IntegrityError,
    TransactionError,
)
from matrx_orm_core.testing import Recorder
from matrx_orm_core.testing.recording import RecordingPool
from matrx_orm_core.transaction import (
    TransactionContext,
    get_active_connection,
    in_transaction,
    transaction,
)

DB = "recorded"
SP = re.compile(r'^"sp_[0-9a-f]{12}"$')


class Boom(Exception):
    pass


async def _pool() -> RecordingPool:
    pool = await AsyncDatabaseManager.get_pool(DB)
    assert isinstance(pool, RecordingPool)
    return pool


async def test_outermost_block_commits() -> None:
    async with recording() as rec:
        async with transaction(DB) as tx:
            assert isinstance(tx, TransactionContext)
            assert tx.database == DB
            assert tx.savepoint is None
            assert not tx.is_nested
            await _execution.execute(DB, "UPDATE t SET a = $1", (1,), operation="update")
        assert rec.statements == [("BEGIN", ()), ("UPDATE t SET a = $1", (1,)), ("COMMIT", ())]
        pool = await _pool()
        assert pool.get_idle_size() == pool.get_size() == 1


async def test_exception_rolls_back_and_is_reraised() -> None:
    async with recording() as rec:
        with pytest.raises(Boom):
            await _failing_block("DELETE FROM t")
        assert rec.sql == ["BEGIN", "DELETE FROM t", "ROLLBACK"]


async def test_nested_block_is_a_released_savepoint() -> None:
    async with recording() as rec:
        async with transaction(DB), transaction(DB) as inner:
            assert inner.is_nested
            assert inner.savepoint is not None
            await _execution.execute(DB, "INSERT INTO t VALUES (1)", operation="create")
        name = f'"{inner.savepoint}"'
        assert SP.match(name)
        assert rec.sql == [
            "BEGIN",
            f"SAVEPOINT {name}",
            "INSERT INTO t VALUES (1)",
            f"RELEASE SAVEPOINT {name}",
            "COMMIT",
        ]


async def test_failed_nested_block_rolls_back_to_its_savepoint_and_outer_commits() -> None:
    async with recording() as rec:
        async with transaction(DB):
            await _execution.execute(DB, "INSERT INTO t VALUES (1)", operation="create")
            inner = transaction(DB)
            with pytest.raises(Boom):
                await _failing_block("INSERT INTO t VALUES (2)", block=inner)
            await _execution.execute(DB, "INSERT INTO t VALUES (3)", operation="create")
        name = f'"{inner.savepoint}"'
        assert rec.sql == [
            "BEGIN",
            "INSERT INTO t VALUES (1)",
            f"SAVEPOINT {name}",
            "INSERT INTO t VALUES (2)",
            f"ROLLBACK TO SAVEPOINT {name}",
            f"RELEASE SAVEPOINT {name}",
            "INSERT INTO t VALUES (3)",
            "COMMIT",
        ]


async def test_two_levels_of_savepoints_get_distinct_names() -> None:
    async with recording() as rec:
        async with transaction(DB), transaction(DB) as a, transaction(DB) as b:
            pass
        assert a.savepoint != b.savepoint
        assert rec.sql == [
            "BEGIN",
            f'SAVEPOINT "{a.savepoint}"',
            f'SAVEPOINT "{b.savepoint}"',
            f'RELEASE SAVEPOINT "{b.savepoint}"',
            f'RELEASE SAVEPOINT "{a.savepoint}"',
            "COMMIT",
        ]


async def test_begin_failure_raises_database_error_and_releases_the_connection() -> None:
    async with recording() as rec:
        rec.add_control_error(OSError("socket closed"))
        with pytest.raises(
            DatabaseError, match=r"Failed to begin transaction: OSError: socket closed"
        ) as info:
            async with transaction(DB):
                pytest.fail("the block must not run")  # pragma: no cover
        assert isinstance(info.value, TransactionError)
        assert rec.sql == ["BEGIN"]
        assert not in_transaction(DB)
        pool = await _pool()
        assert pool.get_idle_size() == pool.get_size()


async def test_commit_failure_is_translated_and_rolled_back() -> None:
    from matrx_orm_core.testing.recording import RecordedServerError

    cache = _CacheSpy()
    async with recording() as rec, cache.installed():

        async def deferred_violation() -> None:
            async with transaction(DB):
                rec.add_control_error(RecordedServerError("23505", "duplicate key (deferred)"))
                await _execution.execute(DB, "INSERT INTO t VALUES (1)", operation="create")

        with pytest.raises(IntegrityError):
            await deferred_violation()
        assert rec.sql == ["BEGIN", "INSERT INTO t VALUES (1)", "COMMIT", "ROLLBACK"]
        assert cache.calls == [("rollback", DB), ("clear", DB)]


async def test_rollback_failure_discards_the_connection_and_keeps_the_error() -> None:
    async with recording() as rec:
        rollback_fails = OSError("connection lost")
        with pytest.raises(Boom):
            await _failing_block(before_raise=lambda: rec.add_control_error(rollback_fails))
        pool = await _pool()
        assert pool.get_size() == 0  # terminated, not returned to the pool
        assert rec.sql == ["BEGIN", "ROLLBACK"]


async def test_cancellation_rolls_back() -> None:
    async with recording() as rec:
        started = asyncio.Event()

        async def work() -> None:
            async with transaction(DB):
                started.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(work())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert rec.sql == ["BEGIN", "ROLLBACK"]
        pool = await _pool()
        assert pool.get_idle_size() == pool.get_size()


async def test_cache_hooks_fire_for_the_outermost_block_only() -> None:
    cache = _CacheSpy()
    async with recording(), cache.installed():
        async with transaction(DB):
            with pytest.raises(Boom):
                async with transaction(DB):
                    raise Boom
            assert cache.calls == []
        assert cache.calls == [("commit", DB)]
        with pytest.raises(Boom):
            async with transaction(DB):
                raise Boom
        assert cache.calls == [("commit", DB), ("rollback", DB)]


async def test_active_connection_is_task_local_and_inherited_by_child_tasks() -> None:
    async with recording():
        assert get_active_connection(DB) is None
        assert not in_transaction(DB)
        assert not in_transaction()
        outside_seen: list[bool] = []
        gate = asyncio.Event()

        async def outsider() -> None:
            await gate.wait()
            outside_seen.append(in_transaction(DB))

        other = asyncio.create_task(outsider())
        async with transaction(DB) as tx:
            conn = get_active_connection(DB)
            assert conn is tx.connection
            assert in_transaction(DB)
            assert in_transaction()
            assert not in_transaction("some_other_db")

            async def child() -> Any:
                return get_active_connection(DB)

            assert await asyncio.create_task(child()) is conn
            gate.set()
            await other
        assert outside_seen == [False]
        assert get_active_connection(DB) is None


async def test_two_concurrent_transactions_use_two_connections() -> None:
    async with recording():
        seen: list[Any] = []
        both_in = asyncio.Event()

        async def worker() -> None:
            async with transaction(DB):
                seen.append(get_active_connection(DB))
                if len(seen) == 2:
                    both_in.set()
                await both_in.wait()

        await asyncio.gather(worker(), worker())
        assert len(seen) == 2
        assert seen[0] is not seen[1]
        pool = await _pool()
        assert pool.get_size() == 2


async def test_gathered_statements_in_one_transaction_share_its_connection() -> None:
    async with recording() as rec:
        async with transaction(DB):
            await asyncio.gather(
                _execution.fetch(DB, "SELECT 1", operation="get"),
                _execution.fetch(DB, "SELECT 2", operation="get"),
            )
        assert rec.sql[0] == "BEGIN"
        assert rec.sql[-1] == "COMMIT"
        assert sorted(rec.sql[1:3]) == ["SELECT 1", "SELECT 2"]
        pool = await _pool()
        assert pool.get_size() == 1


async def test_task_outliving_its_transaction_fails_clearly() -> None:
    async with recording() as rec:
        release = asyncio.Event()

        async def late() -> None:
            await release.wait()
            await _execution.execute(DB, "UPDATE t SET a = 1", operation="update")

        async with transaction(DB):
            task = asyncio.create_task(late())
        release.set()
        with pytest.raises(TransactionError, match="has already ended"):
            await task
        assert rec.sql == ["BEGIN", "COMMIT"]


async def test_concurrent_savepoints_from_sibling_tasks_are_refused() -> None:
    async with recording():
        inner_open = asyncio.Event()
        done = asyncio.Event()

        async def first() -> None:
            async with transaction(DB):
                inner_open.set()
                await done.wait()

        async def second() -> None:
            await inner_open.wait()
            try:
                async with transaction(DB):
                    pytest.fail("must be refused")  # pragma: no cover
            finally:
                done.set()

        async with transaction(DB):
            results = await asyncio.gather(first(), second(), return_exceptions=True)
        assert results[0] is None
        assert isinstance(results[1], TransactionError)
        assert "nested transaction() (savepoint) open" in str(results[1])


async def test_entered_and_exited_in_different_contexts() -> None:
    # Some frameworks run the two halves of one ``async with`` in different contexts.
    async with recording() as rec:
        tx = transaction(DB)
        await asyncio.create_task(tx.__aenter__())
        await asyncio.create_task(tx.__aexit__(None, None, None))
        assert rec.sql == ["BEGIN", "COMMIT"]
        pool = await _pool()
        assert pool.get_idle_size() == pool.get_size()


async def test_savepoint_from_a_task_that_outlived_its_nested_block_is_refused() -> None:
    async with recording():
        go = asyncio.Event()

        async def late_savepoint() -> None:
            await go.wait()
            async with transaction(DB):
                pytest.fail("must be refused")  # pragma: no cover

        async with transaction(DB):
            async with transaction(DB):
                task = asyncio.create_task(late_savepoint())
            go.set()
            with pytest.raises(TransactionError, match="has already exited"):
                await task


async def test_a_block_is_single_use() -> None:
    async with recording():
        tx = transaction(DB)
        async with tx:
            pass
        with pytest.raises(TransactionError, match="entered only once"):
            async with tx:
                pass  # pragma: no cover
        with pytest.raises(TransactionError, match="not been entered"):
            _ = transaction(DB).connection


async def test_unknown_database_sends_nothing() -> None:
    async with recording() as rec:
        with pytest.raises(ConfigurationError):
            async with transaction("no_such_db"):
                pass  # pragma: no cover
        assert rec.statements == []


async def test_default_database_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    async with recording() as rec:
        monkeypatch.setenv("MATRX_DEFAULT_DATABASE", DB)
        async with transaction() as tx:
            assert tx.database == DB
            assert get_active_connection() is tx.connection
        assert rec.sql == ["BEGIN", "COMMIT"]


async def test_other_databases_are_not_bound() -> None:
    async with recording(), transaction(DB):
        assert get_active_connection("elsewhere") is None
        assert _execution.current_connection.get() is not None
        assert set(_execution.current_connection.get() or {}) == {DB}


# --- §10.31: which releases reset the session ----------------------------------------------------


async def test_orm_statements_outside_transactions_skip_the_reset() -> None:
    async with recording():
        pool = await _pool()
        await _execution.fetch(DB, "SELECT 1", operation="get")
        await _execution.execute(DB, "UPDATE t SET a = 1", operation="update")
        assert (pool.skipped_resets, pool.full_resets) == (2, 0)


@pytest.mark.parametrize(
    "operation", [None, "raw", "raw_sql", "execute_query", "MigrationDB.execute", "unknown_op"]
)
async def test_user_sql_and_unknown_operations_get_the_full_reset(operation: str | None) -> None:
    async with recording():
        pool = await _pool()
        await _execution.fetch(DB, "SELECT set_config('a.b', '1', false)", operation=operation)
        assert (pool.skipped_resets, pool.full_resets) == (0, 1)


async def test_borrowed_and_transaction_connections_get_the_full_reset() -> None:
    async with recording():
        pool = await _pool()
        async with AsyncDatabaseManager.get_connection(DB):
            pass
        async with transaction(DB):
            await _execution.fetch(DB, "SELECT 1", operation="get")
        assert (pool.skipped_resets, pool.full_resets) == (0, 2)


# --- helpers -------------------------------------------------------------------------------------


async def _failing_block(
    *statements: str,
    block: TransactionContext | None = None,
    before_raise: Callable[[], None] | None = None,
) -> None:
    """Run ``statements`` in a transaction block (a new one unless given), then raise Boom."""
    async with block if block is not None else transaction(DB):
        for sql in statements:
            await _execution.execute(DB, sql, operation="create")
        if before_raise is not None:
            before_raise()
        raise Boom


class _CacheSpy(hooks.NullModelCache):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def on_commit(self, database: str) -> None:
        self.calls.append(("commit", database))

    def on_rollback(self, database: str) -> None:
        self.calls.append(("rollback", database))

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        self.calls.append(("clear", database))

    def lookup(self, model: type[Any], lookup: Mapping[str, Any]) -> Any:
        return hooks.MISS

    def store(self, model: type[Any], instances: Sequence[Any]) -> None:
        return None

    def installed(self) -> _Installed:
        return _Installed(self)


class _Installed:
    def __init__(self, cache: _CacheSpy) -> None:
        self._cache = cache
        self._previous: hooks.ModelCache | None = None

    async def __aenter__(self) -> None:
        self._previous = hooks.set_model_cache(self._cache)

    async def __aexit__(self, *exc: object) -> None:
        hooks.set_model_cache(self._previous)


class recording:
    """The "recorded" database on a fresh pool (closed at exit, so counters start at zero)."""

    async def __aenter__(self) -> Recorder:
        from matrx_orm_core.testing.recording import recording_database

        await AsyncDatabaseManager.close_pools_for_loop()
        self._ctx = recording_database(DB)
        return self._ctx.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        await AsyncDatabaseManager.close_pools_for_loop()
        self._ctx.__exit__(None, None, None)
