"""Five OS processes run ``migrate`` at the same moment: each migration is applied exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from matrx_orm_core.testing import DatabaseServer, create_database, drop_database

pytestmark = pytest.mark.level2

PROCESSES = 5

CHILD = textwrap.dedent(
    """
    import asyncio, json, logging, os, sys, time
    from matrx_orm_core.config import DatabaseProjectConfig, register_database
    from matrx_orm_migrations import migrate

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    register_database(DatabaseProjectConfig.from_url("race", os.environ["RACE_DSN"]))
    delay = float(os.environ["RACE_START"]) - time.time()
    if delay > 0:
        time.sleep(delay)
    applied = asyncio.run(migrate("race", os.environ["RACE_DIR"]))
    print(json.dumps(applied))
    """
)


def write_migrations(folder: Path) -> list[str]:
    names = ["0001_runs", "0002_slow_a", "0003_slow_b"]
    bodies = [
        ["CREATE TABLE mx_runs (name text NOT NULL)"],
        ["SELECT pg_sleep(0.3)", "CREATE TABLE mx_race_a (id int)"],
        ["SELECT pg_sleep(0.3)", "CREATE TABLE mx_race_b (id int)"],
    ]
    previous: list[str] = []
    for name, statements in zip(names, bodies, strict=True):
        lines = [f'"""{name}."""', "", f"dependencies = {previous!r}", "", "", "async def up(db):"]
        lines += [f"    await db.execute({sql!r})" for sql in statements]
        lines.append(f"    await db.execute('INSERT INTO mx_runs VALUES ($1)', {name!r})")
        (folder / f"{name}.py").write_text("\n".join(lines) + "\n")
        previous = [name]
    return names


@pytest.fixture
def race_db(matrx_test_server: DatabaseServer) -> Iterator[str]:
    name = create_database(matrx_test_server)
    try:
        yield name
    finally:
        drop_database(matrx_test_server, name)


async def read_back(dsn: str) -> tuple[list[str], list[str]]:
    connection = await asyncpg.connect(dsn)
    try:
        runs = await connection.fetch("SELECT name FROM mx_runs ORDER BY name")
        tracked = await connection.fetch('SELECT name FROM "_matrx_migrations" ORDER BY id')
    finally:
        await connection.close()
    return [row["name"] for row in runs], [row["name"] for row in tracked]


def test_five_processes_apply_each_migration_once(
    matrx_test_server: DatabaseServer, race_db: str, tmp_path: Path
) -> None:
    names = write_migrations(tmp_path)
    dsn = matrx_test_server.config("race", database=race_db).dsn(redacted=False)
    env = {
        **os.environ,
        "RACE_DSN": dsn,
        "RACE_DIR": str(tmp_path),
        "RACE_START": str(time.time() + 3.0),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results: list[list[str]] = []
    logs: list[str] = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
        logs.append(err)

    winners = [applied for applied in results if applied]
    assert winners == [names], results
    assert sum(1 for applied in results if applied == []) == PROCESSES - 1
    assert sum("No pending migrations." in log for log in logs) == PROCESSES - 1
    # At least one process found the lock taken and said it was waiting.
    assert any("waiting for it to finish" in log for log in logs), logs

    runs, tracked = asyncio.run(read_back(dsn))
    assert runs == names
    assert tracked == names
