"""The pytest plugin's level-2 fixtures: the test server, the scratch database, pool cleanup."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest

from matrx_orm_core import _loop
from matrx_orm_core.config import DatabaseProjectConfig, get_config
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.exceptions import ConfigurationError
from matrx_orm_core.testing import DatabaseServer, scratch_database, server_from_env


async def _database_exists(server: DatabaseServer, name: str) -> bool:
    connection = await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.admin_database,
        ssl=False,
    )
    try:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await connection.close()
    return bool(found == 1)


def test_the_server_comes_from_env_or_is_embedded(matrx_test_server: DatabaseServer) -> None:
    if os.environ.get("MATRX_TEST_DB_HOST"):
        assert matrx_test_server.source == "env"
        assert matrx_test_server.host == os.environ["MATRX_TEST_DB_HOST"]
        assert matrx_test_server.embedded is None
    else:
        assert matrx_test_server.source == "embedded"
        assert matrx_test_server.embedded is not None
        assert matrx_test_server.embedded.running is True
        assert matrx_test_server.host == matrx_test_server.embedded.host


_COUNT_PUBLIC_RELATIONS = (
    "SELECT current_database() AS db, "
    "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    " WHERE n.nspname = 'public') AS relations"
)


async def test_the_database_is_a_registered_matrx_test_database(
    matrx_test_database: DatabaseProjectConfig,
) -> None:
    expected_name = os.environ.get("MATRX_TEST_DB_ALIAS") or "matrx_test"
    assert matrx_test_database.name == expected_name
    assert matrx_test_database.alias == expected_name
    assert matrx_test_database.database_name.startswith("matrx_test_")
    assert len(matrx_test_database.database_name) == len("matrx_test_") + 12
    assert get_config(matrx_test_database.name) is matrx_test_database

    rows = await AsyncDatabaseManager.execute_query(
        matrx_test_database.name, _COUNT_PUBLIC_RELATIONS
    )

    assert rows[0]["db"] == matrx_test_database.database_name


async def test_the_database_is_writable(matrx_test_database: DatabaseProjectConfig) -> None:
    name = matrx_test_database.name
    await AsyncDatabaseManager.execute_query(name, "CREATE TABLE fixture_probe (n int)")
    try:
        await AsyncDatabaseManager.execute_query(
            name, "INSERT INTO fixture_probe (n) VALUES ($1), ($2)", 2, 3
        )
        rows = await AsyncDatabaseManager.execute_query(
            name, "SELECT sum(n)::int AS total FROM fixture_probe"
        )
        assert rows[0]["total"] == 5
    finally:
        await AsyncDatabaseManager.execute_query(name, "DROP TABLE fixture_probe")


def test_sync_calls_work_on_the_test_database(matrx_test_database: DatabaseProjectConfig) -> None:
    rows = _loop.run_sync(
        lambda: AsyncDatabaseManager.execute_query(matrx_test_database.name, "SELECT 7 AS n"),
        name="fetch",
    )
    assert rows[0]["n"] == 7


def test_scratch_database_drops_and_unregisters_afterwards(
    matrx_test_server: DatabaseServer,
) -> None:
    with scratch_database(matrx_test_server, alias="scratch_check") as config:
        database = config.database_name
        assert database.startswith("matrx_test_")
        assert asyncio.run(_database_exists(matrx_test_server, database)) is True
        assert get_config("scratch_check") is config
        rows = _loop.run_sync(
            lambda: AsyncDatabaseManager.execute_query("scratch_check", _COUNT_PUBLIC_RELATIONS),
            name="fetch",
        )
        assert rows[0]["db"] == database
        assert rows[0]["relations"] == 0  # empty
        # The pool that sync call left open must not stop the drop.

    assert asyncio.run(_database_exists(matrx_test_server, database)) is False
    with pytest.raises(ConfigurationError):
        get_config("scratch_check")


def test_server_from_env_reads_only_matrx_test_db_variables() -> None:
    assert server_from_env({"DATABASE_URL": "postgresql://u:p@elsewhere/db"}) is None

    server = server_from_env({"MATRX_TEST_DB_HOST": "db.example"})
    assert server == DatabaseServer(
        host="db.example", port=5432, user="postgres", password=None, admin_database="postgres"
    )

    server = server_from_env(
        {
            "MATRX_TEST_DB_HOST": "127.0.0.1",
            "MATRX_TEST_DB_PORT": "6543",
            "MATRX_TEST_DB_USER": "ci",
            "MATRX_TEST_DB_PASSWORD": "s3cret",
            "MATRX_TEST_DB_NAME": "maintenance",
        }
    )
    assert server == DatabaseServer(
        host="127.0.0.1", port=6543, user="ci", password="s3cret", admin_database="maintenance"
    )
    assert "s3cret" not in repr(server.config("x", database="d"))


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_bad_port_is_a_configuration_error(port: str) -> None:
    with pytest.raises(ConfigurationError, match="MATRX_TEST_DB_PORT"):
        server_from_env({"MATRX_TEST_DB_HOST": "h", "MATRX_TEST_DB_PORT": port})


def test_an_unreachable_env_server_fails_with_the_variables_to_check(tmp_path: Path) -> None:
    server = DatabaseServer(host=str(tmp_path), port=1, user="nobody", password=None)

    with (
        pytest.raises(ConfigurationError, match="MATRX_TEST_DB_HOST") as excinfo,
        scratch_database(server),
    ):
        pass

    assert "unset MATRX_TEST_DB_HOST to use the embedded server" in str(excinfo.value)


_INNER_TESTS = """
    from matrx_orm_core.connections import AsyncDatabaseManager

    async def test_query(matrx_test_database):
        rows = await AsyncDatabaseManager.execute_query(
            matrx_test_database.name,
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public') AS relations",
        )
        assert rows[0]["relations"] == 0  # a fresh session gets an empty database
        assert AsyncDatabaseManager.pool_count() == 1

    def test_after(matrx_test_database):
        assert AsyncDatabaseManager.pool_count() == EXPECTED_AFTER
"""


@pytest.mark.parametrize(
    ("loop_scope", "expected_after"),
    [("function", 0), ("session", 1)],
)
def test_pools_close_when_the_test_loop_ends(
    tmp_path: Path, loop_scope: str, expected_after: int
) -> None:
    """An inner pytest run: pools close when each loop ends, with no warning at any scope."""
    tests = tmp_path / "test_inner.py"
    tests.write_text(textwrap.dedent(_INNER_TESTS).replace("EXPECTED_AFTER", str(expected_after)))
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "dev",
            "-W",
            "error::ResourceWarning",
            "-m",
            "pytest",
            str(tests),
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            "-W",
            "error::ResourceWarning",
            "-W",
            "error::pytest.PytestUnraisableExceptionWarning",
            "-o",
            "asyncio_mode=auto",
            "-o",
            f"asyncio_default_fixture_loop_scope={loop_scope}",
            "-o",
            f"asyncio_default_test_loop_scope={loop_scope}",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "2 passed" in result.stdout
    assert "warning" not in output.lower()
    assert "Exception ignored" not in output
