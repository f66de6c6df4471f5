"""MigrationDB against a real server: scripts, rows, args, one-connection batches, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from matrx_orm_core.config import DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.exceptions import DatabaseError, ORMException, ParameterError
from matrx_orm_core.testing import DatabaseServer, create_database, drop_database
from matrx_orm_migrations import MigrationDB

pytestmark = pytest.mark.level2

SCRIPT = """
-- schema for the MigrationDB test; a comment with a ; in it
CREATE TABLE note (
    id serial PRIMARY KEY,
    body text NOT NULL DEFAULT 'first; second',
    touched int NOT NULL DEFAULT 0
);
CREATE TABLE tag (id int PRIMARY KEY, label text NOT NULL);
/* a block comment; /* nested; */ still a comment */
CREATE FUNCTION note_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.touched := NEW.touched + 1;
    NEW.body := NEW.body || ';';
    RETURN NEW;
END;
$$;
CREATE TRIGGER note_touch BEFORE INSERT ON note FOR EACH ROW EXECUTE FUNCTION note_touch();
INSERT INTO tag (id, label) VALUES (1, E'it\\'s; one'), (2, 'two''s; two');
"""


@pytest.fixture
async def db(matrx_test_server: DatabaseServer) -> AsyncIterator[MigrationDB]:
    """A fresh database registered under a fresh name, dropped and unregistered afterwards."""
    config_name = f"migration_db_{uuid4().hex[:12]}"
    database_name = create_database(matrx_test_server)
    try:
        register_database(
            matrx_test_server.config(
                config_name, database=database_name, ssl="disable", min_size=2, max_size=2
            )
        )
        try:
            yield MigrationDB(config_name)
        finally:
            await AsyncDatabaseManager.close_pools_for_loop()
            DatabaseRegistry.unregister(config_name)
    finally:
        drop_database(matrx_test_server, database_name)


async def test_multi_statement_script_then_rows(db: MigrationDB) -> None:
    assert await db.execute(SCRIPT) == []

    tags = await db.fetch("SELECT id, label FROM tag ORDER BY id")
    assert tags == [{"id": 1, "label": "it's; one"}, {"id": 2, "label": "two's; two"}]

    inserted = await db.execute("INSERT INTO note DEFAULT VALUES RETURNING id, body, touched")
    assert inserted == [{"id": 1, "body": "first; second;", "touched": 1}]

    assert await db.fetch_one("SELECT body FROM note WHERE id = $1", 1) == {
        "body": "first; second;"
    }
    assert await db.fetch_one("SELECT body FROM note WHERE id = $1", 99) is None
    assert await db.fetch_val("SELECT count(*) FROM note") == 1
    assert await db.fetch_val("SELECT id FROM note WHERE id = $1", 99) is None


async def test_execute_with_args(db: MigrationDB) -> None:
    await db.execute(SCRIPT)
    rows = await db.execute(
        "INSERT INTO note (body, touched) VALUES ($1, $2), ($3, $4) RETURNING id, body, touched",
        "a",
        10,
        "b'; DROP TABLE note; --",
        20,
    )
    assert rows == [
        {"id": 1, "body": "a;", "touched": 11},
        {"id": 2, "body": "b'; DROP TABLE note; --;", "touched": 21},
    ]
    assert await db.fetch_val("SELECT count(*) FROM note") == 2
    assert await db.execute("UPDATE note SET touched = $1 WHERE id = $2", 0, 1) == []
    assert await db.fetch_val("SELECT touched FROM note WHERE id = 1") == 0


async def test_args_with_several_statements_send_nothing(db: MigrationDB) -> None:
    with pytest.raises(ParameterError, match="found 2"):
        await db.execute("CREATE TABLE never (x int); SELECT $1::int", 1)
    assert await db.fetch_val("SELECT to_regclass('never') IS NULL") is True


async def test_execute_many_runs_on_one_connection_in_order(db: MigrationDB) -> None:
    await db.execute_many(
        [
            "CREATE TEMP TABLE seen (n int, pid int)",
            "INSERT INTO seen VALUES (1, pg_backend_pid())",
            "INSERT INTO seen VALUES (2, pg_backend_pid()); INSERT INTO seen VALUES (3, 0)",
            "CREATE TABLE copied AS SELECT n, pid FROM seen",
        ]
    )
    rows = await db.fetch("SELECT n FROM copied ORDER BY n")
    assert rows == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert await db.fetch_val("SELECT count(DISTINCT pid) FROM copied WHERE pid <> 0") == 1


async def test_script_inside_an_explicit_transaction_is_not_aborted(db: MigrationDB) -> None:
    await db.execute_many(
        [
            "BEGIN",
            "CREATE TABLE t1 (a int); CREATE TABLE t2 (a int)",
            "INSERT INTO t1 VALUES (1)",
            "COMMIT",
        ]
    )
    assert await db.fetch_val("SELECT count(*) FROM t1") == 1
    assert await db.fetch_val("SELECT to_regclass('t2') IS NOT NULL") is True


async def test_execute_many_failure_reports_the_statement(db: MigrationDB) -> None:
    with pytest.raises(ORMException) as info:
        await db.execute_many(["CREATE TABLE ok (a int)", "INSERT INTO missing VALUES (1)"])
    assert info.value.details["statement_index"] == 1
    assert info.value.details["sql"] == "INSERT INTO missing VALUES (1)"
    assert await db.fetch_val("SELECT to_regclass('ok') IS NOT NULL") is True


async def test_server_error_carries_context(db: MigrationDB) -> None:
    await db.execute(SCRIPT)
    with pytest.raises(DatabaseError) as info:
        await db.execute("INSERT INTO tag (id, label) VALUES ($1, $2)", 1, "dup")
    assert info.value.details["sql"] == "INSERT INTO tag (id, label) VALUES ($1, $2)"
    assert info.value.details["database"] == db.config_name
    assert info.value.method_name == "MigrationDB.execute"
    assert isinstance(info.value.__cause__, asyncpg.PostgresError)


async def test_timeout_raises_database_error_and_cancels(db: MigrationDB) -> None:
    with pytest.raises(DatabaseError):
        await db.execute("SELECT pg_sleep(5)", timeout=0.2)
    with pytest.raises(DatabaseError):
        await db.execute("SELECT 1; SELECT pg_sleep(5)", timeout=0.2)
    with pytest.raises(DatabaseError):
        await db.execute_many(["SELECT 1", "SELECT pg_sleep(5)"], timeout=0.2)
    assert await db.fetch_val("SELECT 1") == 1
    # The timed-out statements were cancelled on the server, not left running.
    busy = None
    for _ in range(40):
        busy = await db.fetch_val(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(5)%' "
            "AND state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()"
        )
        if busy == 0:
            break
        await asyncio.sleep(0.05)
    assert busy == 0
