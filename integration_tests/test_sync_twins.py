"""The *_sync twins work from plain scripts and threads, and refuse to run inside an event loop."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, threading
    from uuid import uuid4

    from matrx_orm import CharField, DatabaseProjectConfig, Model, UUIDField, register_database
    from matrx_orm.migrations import MigrationDB
    from matrx_orm_core.connections import AsyncDatabaseManager

    class SyncItem(Model):
        id = UUIDField(primary_key=True)
        name = CharField(max_length=50)
        _database = "sync_demo"

    register_database(DatabaseProjectConfig.from_url("sync_demo", os.environ["DATABASE_URL"]))

    async def reset():
        db = MigrationDB("sync_demo")
        await db.execute(
            'DROP TABLE IF EXISTS sync_item; '
            'CREATE TABLE sync_item (id uuid PRIMARY KEY, name varchar(50) NOT NULL)'
        )
        await AsyncDatabaseManager.close_all_pools()

    asyncio.run(reset())

    first = SyncItem.create_sync(id=str(uuid4()), name="first")
    assert SyncItem.get_sync(id=first.id).name == "first"
    assert SyncItem.get_or_none_sync(id=str(uuid4())) is None
    first.name = "renamed"
    first.save_sync()
    assert [i.name for i in SyncItem.filter_sync(name="renamed")] == ["renamed"]

    errors = []

    def worker(n):
        try:
            for k in range(5):
                item = SyncItem.create_sync(id=str(uuid4()), name=f"t{n}-{k}")
                assert SyncItem.get_sync(id=item.id).name == f"t{n}-{k}"
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors
    assert SyncItem.count_sync() == 21
    assert SyncItem.exists_sync(name="t3-4") is True
    assert len(SyncItem.all_sync()) == 21
    first.delete_sync()
    assert SyncItem.count_sync() == 20
    print("sync ok")
    """
)


def run_script(code: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATRX_TEST_DB_")}
    env["DATABASE_URL"] = dsn
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_sync_twins_from_a_script_twice_in_a_row(matrx_test_database: Any) -> None:
    dsn = matrx_test_database.dsn(redacted=False)
    for _ in range(2):
        proc = run_script(SCRIPT, dsn)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "sync ok"
        assert "Warning" not in proc.stderr, proc.stderr


def test_sync_twin_inside_a_running_loop_raises(matrx_test_database: Any) -> None:
    code = textwrap.dedent(
        """
        import asyncio
        from matrx_orm import Model, UUIDField, SyncContextError

        class Thing(Model):
            id = UUIDField(primary_key=True)
            _database = "anything"

        async def main():
            try:
                Thing.get_sync(id="x")
            except SyncContextError as exc:
                assert isinstance(exc, RuntimeError)
                print(exc)
            else:
                raise SystemExit("no error")

        asyncio.run(main())
        """
    )
    proc = run_script(code, matrx_test_database.dsn(redacted=False))
    assert proc.returncode == 0, proc.stderr
    assert "get_sync() called in an async context. Use await get() instead." in proc.stdout


@pytest.mark.parametrize("name", ["count", "exists", "all"])
def test_every_listed_twin_exists(name: str) -> None:
    from matrx_orm import Model

    assert callable(getattr(Model, f"{name}_sync"))
