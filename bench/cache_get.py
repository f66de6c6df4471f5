"""The cache workload: ``Model.get`` by primary key served by the state cache, against the
same call with ``use_cache=False`` (a round trip to PostgreSQL), as a ratio.

Run alone with ``python -m bench.cache_get [--ops N]``; ``python -m bench`` runs it after the
suite (``--no-cache-bench`` leaves it out) and appends its table to the report.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matrx_orm_cache  # noqa: F401  (installs the cache into core's hook)
from bench.libs.base import ConnInfo
from bench.libs.matrx import register_project
from matrx_orm_cache.state_manager import StateManager
from matrx_orm_core.config import DatabaseRegistry
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.fields import CharField, IntegerField
from matrx_orm_core.models import Model

__all__ = ["CacheResult", "markdown", "run_cache_bench"]

PROJECT = "matrx_bench_cache"
ROWS = 1000
GOAL = 20.0
"""The issue's goal: a cached get at least 20 times faster than an uncached one."""


class CacheItem(Model):
    """A row of the cached-get workload."""

    id = IntegerField(primary_key=True)
    name = CharField(max_length=100)
    qty = IntegerField()

    _table_name = "bench_cache_item"
    _database = PROJECT


@dataclass(frozen=True)
class CacheResult:
    """Microseconds per get (median of the rounds) and the speed-up."""

    ops: int
    rounds: int
    cached_us: float
    uncached_us: float

    @property
    def ratio(self) -> float:
        """How many times faster the cached get is."""
        return self.uncached_us / self.cached_us


async def _timed(ops: int, use_cache: bool) -> float:
    started = time.perf_counter()
    for i in range(ops):
        row = await CacheItem.get(use_cache=use_cache, id=i % ROWS + 1)
        if row.qty != (i % ROWS + 1) * 2:
            raise AssertionError(f"row {row.id} came back with qty {row.qty}")
    return (time.perf_counter() - started) / ops * 1e6


async def run_cache_bench(conn: ConnInfo, ops: int = 20_000, rounds: int = 3) -> CacheResult:
    """Seed ``ROWS`` rows, warm the cache, then time cached and uncached gets by pk.

    Returns:
        The median microseconds per get of each kind over ``rounds`` rounds.
    """
    register_project(conn, PROJECT)
    try:
        async with AsyncDatabaseManager.get_connection(PROJECT) as db:
            await db.execute(
                'CREATE TABLE IF NOT EXISTS "bench_cache_item" '
                '("id" integer PRIMARY KEY, "name" varchar(100) NOT NULL, "qty" integer NOT NULL)'
            )
            await db.execute('TRUNCATE "bench_cache_item"')
            await db.execute(
                'INSERT INTO "bench_cache_item" SELECT g, $1 || g, g * 2 '
                "FROM generate_series(1, $2) AS g",
                ("item-", ROWS),
            )
        if not await StateManager.wait_until_live(PROJECT, timeout=10):
            raise RuntimeError("the cache of the benchmark database did not start serving")
        await _timed(ROWS, True)  # warm: every row cached
        if await StateManager.count(CacheItem) != ROWS:
            raise RuntimeError("the warm-up did not cache every row")
        cached: list[float] = []
        uncached: list[float] = []
        for _ in range(rounds):
            cached.append(await _timed(ops, True))
            uncached.append(await _timed(max(ops // 10, ROWS), False))
        return CacheResult(ops, rounds, statistics.median(cached), statistics.median(uncached))
    finally:
        await StateManager.stop_listeners(PROJECT)
        async with AsyncDatabaseManager.get_connection(PROJECT) as db:
            await db.execute('DROP TABLE IF EXISTS "bench_cache_item"')
        await AsyncDatabaseManager.close_pool(PROJECT)
        DatabaseRegistry.unregister(PROJECT)


def markdown(result: CacheResult) -> str:
    """The report section for one result."""
    verdict = "met" if result.ratio >= GOAL else "NOT met"
    return (
        "## Cached get by primary key (matrx-orm-cache)\n\n"
        "| workload | cached µs/op | uncached µs/op | speed-up | goal |\n"
        "|---|---:|---:|---:|---|\n"
        f"| get_by_pk_cached | {result.cached_us:.2f} | {result.uncached_us:.2f} | "
        f"{result.ratio:.1f}x | >= {GOAL:g}x ({verdict}) |\n\n"
        f"Median of {result.rounds} rounds; {result.ops} cached gets per round over "
        f"{ROWS} cached rows, uncached gets with `use_cache=False` on a pool of 4.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run only the cache workload on the test server (or an embedded one)."""
    from matrx_orm_core.testing._server import create_database, drop_database, start_test_server

    parser = argparse.ArgumentParser(prog="python -m bench.cache_get")
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    server = start_test_server()
    result: Any = None
    try:
        database = create_database(server, f"matrx_bench_cache_{int(time.time())}")
        try:
            conn = ConnInfo(server.host, server.port, server.user, server.password, database)
            result = asyncio.run(run_cache_bench(conn, args.ops, args.rounds))
        finally:
            drop_database(server, database)
    finally:
        if server.embedded is not None:
            server.embedded.stop()
    sys.stdout.write(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
