"""MigrationExecutor against a real server: transactions, checksums, rollback, status, locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from matrx_orm_core.config import DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.exceptions import ConfigurationError, MigrationError
from matrx_orm_core.testing import DatabaseServer, create_database, drop_database
from matrx_orm_core.transaction import transaction
from matrx_orm_migrations import (
    MigrationDB,
    MigrationExecutor,
    create_empty,
    migrate,
    migration_status,
    rollback,
    sql_preview,
)
from matrx_orm_migrations._session import LOCK_KEY

pytestmark = pytest.mark.level2


def write(
    folder: Path, stem: str, deps: list[str], up: list[str], down: list[str], extra: str = ""
) -> Path:
    lines = [f'"""{stem}."""', "", f"dependencies = {deps!r}", extra, "", "async def up(db):"]
    lines += [f"    await db.execute({sql!r})" for sql in up] or ["    pass"]
    if down:
        lines += ["", "", "async def down(db):"]
        lines += [f"    await db.execute({sql!r})" for sql in down]
    path = folder / f"{stem}.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    return path


@pytest.fixture
def server_db(matrx_test_server: DatabaseServer) -> Iterator[str]:
    """A fresh database on the test server (dropped afterwards)."""
    name = create_database(matrx_test_server)
    try:
        yield name
    finally:
        drop_database(matrx_test_server, name)


@pytest.fixture
async def database(matrx_test_server: DatabaseServer, server_db: str) -> AsyncIterator[str]:
    """A registered project name for a fresh database."""
    config_name = f"migexec_{uuid4().hex[:10]}"
    register_database(matrx_test_server.config(config_name, database=server_db))
    try:
        yield config_name
    finally:
        await AsyncDatabaseManager.close_pools_for_loop()
        DatabaseRegistry.unregister(config_name)


async def tables(database: str) -> set[str]:
    rows = await MigrationDB(database).fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    return {row["tablename"] for row in rows}


async def recorded(database: str) -> list[str]:
    rows = await MigrationDB(database).fetch('SELECT name FROM "_matrx_migrations" ORDER BY id')
    return [row["name"] for row in rows]


@pytest.fixture
def two(tmp_path: Path) -> Path:
    write(
        tmp_path,
        "0001_author",
        [],
        ["CREATE TABLE mx_author (id int PRIMARY KEY)"],
        ["DROP TABLE mx_author"],
    )
    write(
        tmp_path,
        "0002_book",
        ["0001_author"],
        [
            "CREATE TABLE mx_book (id int PRIMARY KEY, author_id int REFERENCES mx_author(id))",
            "INSERT INTO mx_author VALUES (1)",
        ],
        ["DROP TABLE mx_book", "DELETE FROM mx_author WHERE id = 1"],
    )
    return tmp_path


async def test_migrate_applies_in_order_once(database: str, two: Path) -> None:
    assert await migrate(database, two) == ["0001_author", "0002_book"]
    assert {"mx_author", "mx_book", "_matrx_migrations"} <= await tables(database)
    assert await recorded(database) == ["0001_author", "0002_book"]
    assert await migrate(database, two) == []
    assert await migration_status(database, two) == {
        "0001_author": "applied",
        "0002_book": "applied",
    }


async def test_failure_halfway_leaves_nothing(database: str, two: Path) -> None:
    write(
        two,
        "0003_broken",
        ["0002_book"],
        [
            "CREATE TABLE mx_half (id int)",
            "ALTER TABLE mx_author ADD COLUMN name text",
            "INSERT INTO mx_nowhere VALUES (1)",
        ],
        ["DROP TABLE mx_half"],
    )
    with pytest.raises(MigrationError) as info:
        await migrate(database, two)
    assert info.value.details["migration"] == "0003_broken"
    assert "rolled back" in info.value.message
    assert "mx_nowhere" in info.value.message
    assert "mx_half" not in await tables(database)
    columns = await MigrationDB(database).fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'mx_author'"
    )
    assert [c["column_name"] for c in columns] == ["id"]
    assert await recorded(database) == ["0001_author", "0002_book"]
    status = await migration_status(database, two)
    assert status["0003_broken"] == "pending"


async def test_edited_applied_file_stops_migrate(database: str, two: Path) -> None:
    await migrate(database, two)
    path = two / "0001_author.py"
    path.write_text(path.read_text() + "# an edit\n")
    write(
        two, "0003_more", ["0002_book"], ["CREATE TABLE mx_more (id int)"], ["DROP TABLE mx_more"]
    )
    with pytest.raises(MigrationError, match="modified after being applied") as info:
        await migrate(database, two)
    assert str(path) in info.value.message
    assert info.value.details["migration"] == "0001_author"
    assert "mx_more" not in await tables(database)
    with pytest.raises(MigrationError, match="0001_author"):
        await sql_preview(database, two)


def to_crlf(folder: Path) -> None:
    for path in folder.glob("*.py"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


async def test_crlf_checkout_is_not_an_edit(database: str, two: Path) -> None:
    await migrate(database, two)
    to_crlf(two)
    assert b"\r\n" in (two / "0001_author.py").read_bytes()
    assert await migrate(database, two) == []


async def test_rollback_steps(database: str, two: Path) -> None:
    write(
        two, "0003_more", ["0002_book"], ["CREATE TABLE mx_more (id int)"], ["DROP TABLE mx_more"]
    )
    await migrate(database, two)
    assert await rollback(database, two, steps=2) == ["0003_more", "0002_book"]
    assert "mx_more" not in await tables(database)
    assert "mx_book" not in await tables(database)
    assert await recorded(database) == ["0001_author"]
    assert await MigrationDB(database).fetch_val("SELECT count(*) FROM mx_author") == 0
    assert await rollback(database, two) == ["0001_author"]
    assert await rollback(database, two) == []
    with pytest.raises(MigrationError, match="positive integer"):
        await rollback(database, two, steps=0)


async def test_rollback_without_down_or_file(database: str, two: Path) -> None:
    write(two, "0003_oneway", ["0002_book"], ["CREATE TABLE mx_oneway (id int)"], [])
    await migrate(database, two)
    with pytest.raises(MigrationError, match="no 'down' function"):
        await rollback(database, two)
    (two / "0003_oneway.py").unlink()
    assert (await migration_status(database, two))["0003_oneway"] == "missing"
    assert await migrate(database, two) == []  # a record without a file is ignored
    with pytest.raises(MigrationError, match="not found on disk"):
        await rollback(database, two)
    assert await recorded(database) == ["0001_author", "0002_book", "0003_oneway"]


async def test_failing_down_is_rolled_back(database: str, two: Path) -> None:
    write(
        two,
        "0003_baddown",
        ["0002_book"],
        ["CREATE TABLE mx_bd (id int)"],
        ["DROP TABLE mx_bd", "DROP TABLE mx_not_there"],
    )
    await migrate(database, two)
    with pytest.raises(MigrationError, match=r"failed in down\(\)"):
        await rollback(database, two)
    assert "mx_bd" in await tables(database)
    assert (await recorded(database))[-1] == "0003_baddown"


async def test_fake_records_without_running(database: str, two: Path) -> None:
    assert await migrate(database, two, fake=True) == ["0001_author", "0002_book"]
    assert "mx_author" not in await tables(database)
    assert await recorded(database) == ["0001_author", "0002_book"]


async def test_non_atomic_file_runs_concurrently_index(database: str, two: Path) -> None:
    write(
        two,
        "0003_index",
        ["0002_book"],
        ["CREATE INDEX CONCURRENTLY mx_book_author ON mx_book (author_id)"],
        ["DROP INDEX CONCURRENTLY mx_book_author"],
        extra="atomic = False",
    )
    await migrate(database, two)
    indexes = await MigrationDB(database).fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'mx_book'"
    )
    assert "mx_book_author" in {row["indexname"] for row in indexes}
    assert await rollback(database, two) == ["0003_index"]


async def test_sql_preview_runs_nothing(database: str, two: Path) -> None:
    preview = await sql_preview(database, two)
    assert list(preview) == ["0001_author", "0002_book"]
    assert preview["0001_author"] == ["CREATE TABLE mx_author (id int PRIMARY KEY);"]
    assert "_matrx_migrations" not in await tables(database)
    await migrate(database, two)
    assert await sql_preview(database, two) == {}


async def test_status_without_table_is_all_pending(database: str, two: Path) -> None:
    assert await migration_status(database, two) == {
        "0001_author": "pending",
        "0002_book": "pending",
    }
    assert "_matrx_migrations" not in await tables(database)


async def test_create_empty_uses_full_stem(database: str, two: Path) -> None:
    path = await create_empty(database, two, name="backfill")
    assert path.name == "0003_backfill.py"
    assert 'dependencies = ["0002_book"]' in path.read_text()
    assert await migrate(database, two) == ["0001_author", "0002_book", "0003_backfill"]


async def test_inside_transaction_is_refused(database: str, two: Path) -> None:
    async with transaction(database):
        with pytest.raises(MigrationError, match="inside a transaction"):
            await migrate(database, two)


async def test_waits_for_the_lock_then_times_out(database: str, two: Path) -> None:
    async with AsyncDatabaseManager.get_connection(database) as holder:
        await holder.fetch_val("SELECT pg_advisory_lock($1)", (LOCK_KEY,))
        executor = MigrationExecutor(MigrationDB(database), two, lock_timeout=0.5)
        with pytest.raises(MigrationError, match="kept the lock"):
            await executor.migrate()
        waiting = asyncio.create_task(migrate(database, two))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await holder.fetch_val("SELECT pg_advisory_unlock($1)", (LOCK_KEY,))
        assert await asyncio.wait_for(waiting, 10) == ["0001_author", "0002_book"]


async def test_pooler_needs_direct_url(
    matrx_test_server: DatabaseServer, server_db: str, two: Path
) -> None:
    pooled = f"migexec_pool_{uuid4().hex[:8]}"
    register_database(matrx_test_server.config(pooled, database=server_db, pooler=True))
    try:
        with pytest.raises(ConfigurationError, match="direct_url"):
            await migrate(pooled, two)
    finally:
        await AsyncDatabaseManager.close_pools_for_loop()
        DatabaseRegistry.unregister(pooled)
    plain = matrx_test_server.config("x", database=server_db)
    direct = f"migexec_direct_{uuid4().hex[:8]}"
    register_database(
        matrx_test_server.config(
            direct, database=server_db, pooler=True, direct_url=plain.dsn(redacted=False)
        )
    )
    try:
        assert await migrate(direct, two) == ["0001_author", "0002_book"]
        assert await recorded(direct) == ["0001_author", "0002_book"]
    finally:
        await AsyncDatabaseManager.close_pools_for_loop()
        DatabaseRegistry.unregister(direct)


async def test_inconsistent_history_is_refused(database: str, two: Path) -> None:
    await migrate(database, two)
    # a file numbered below an applied one, which the applied one now depends on
    write(two, "0000_late", [], ["CREATE TABLE mx_late (id int)"], ["DROP TABLE mx_late"])
    path = two / "0001_author.py"
    path.write_text(path.read_text().replace("dependencies = []", "dependencies = ['0000_late']"))
    await MigrationDB(database).execute(
        "UPDATE _matrx_migrations SET checksum = $1 WHERE name = '0001_author'",
        MigrationExecutor(MigrationDB(database), two).loader.discover()["0001_author"].checksum,
    )
    with pytest.raises(MigrationError, match="inconsistent") as info:
        await migrate(database, two)
    assert "'0000_late'" in info.value.message
    assert "mx_late" not in await tables(database)


async def test_sql_preview_captures_orm_calls_and_sends_nothing(database: str, two: Path) -> None:
    await migrate(database, two)
    body = (
        '"""Data fix."""\n\ndependencies = ["0002_book"]\n\n\n'
        "async def up(db):\n"
        "    from matrx_orm_core import _execution\n\n"
        "    await db.execute('INSERT INTO mx_author VALUES ($1)', 41)\n"
        "    # what every ORM model call on this database goes through\n"
        "    await _execution.execute(db.config_name, 'INSERT INTO mx_author VALUES ($1)', (42,))\n"
        "    assert await db.fetch_val('SELECT count(*) FROM mx_author') is None\n"
    )
    (two / "0003_data.py").write_text(body)
    preview = await sql_preview(database, two)
    assert preview == {
        "0003_data": [
            "INSERT INTO mx_author VALUES ($1);\n-- parameters: [41]",
            "INSERT INTO mx_author VALUES ($1);\n-- parameters: [42]",
            "SELECT count(*) FROM mx_author;",
        ]
    }
    assert await MigrationDB(database).fetch_val("SELECT count(*) FROM mx_author") == 1
