"""The command line: pick a server, make a scratch database, run the rounds, write the report."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bench.libs import ALL_LIBS, load_adapters
from bench.libs.base import Adapter, ConnInfo
from bench.report import BASELINE, Results, markdown_table, performance_page
from bench.workloads import WORKLOADS, WRITES, Dataset, Sizes, cleanup, create_tables, make_dataset
from bench.workloads import run_burst as _run_burst

__all__ = ["BenchRun", "main", "run_suite"]

logger = logging.getLogger("bench")

CONCURRENCY = (1, 4)
SLICES = 4


async def _harness_connection(conn: ConnInfo) -> asyncpg.Connection[Any]:
    """The suite's own connection for DDL, seeding and cleanup (never timed)."""
    connection: asyncpg.Connection[Any] = await asyncpg.connect(
        host=conn.host,
        port=conn.port,
        user=conn.user,
        password=conn.password,
        database=conn.database,
        ssl=False,
    )
    return connection


class BenchRun:
    """One run of the suite against an existing (empty) database.

    Args:
        conn: The database.
        adapters: The libraries; the first must be raw asyncpg for the ratios to exist.
        workloads: Workload names.
        sizes: Operation counts.
        rounds: Timed rounds (at least 1).
        concurrency: The worker counts to run (1 and 4 by default).
    """

    def __init__(
        self,
        conn: ConnInfo,
        adapters: Sequence[Adapter],
        workloads: Sequence[str],
        sizes: Sizes,
        rounds: int,
        concurrency: Sequence[int] = CONCURRENCY,
    ) -> None:
        self.conn = conn
        self.adapters = list(adapters)
        self.workloads = list(workloads)
        self.sizes = sizes
        self.rounds = rounds
        self.concurrency = tuple(concurrency)
        self.results = Results()
        self.dataset: Dataset = make_dataset(sizes.seed)
        self.server_version = ""
        self._harness: asyncpg.Connection[Any] | None = None

    async def __aenter__(self) -> BenchRun:
        self._harness = await _harness_connection(self.conn)
        self.server_version = str(await self._harness.fetchval("SHOW server_version"))
        # Commits do not wait for the WAL flush, so insert_single and update_single measure the
        # libraries rather than the disk (every library's sessions get the same setting).
        await self._harness.execute(
            f'ALTER DATABASE "{self.conn.database}" SET synchronous_commit = off'
        )
        await create_tables(self._harness, self.adapters, self.dataset)
        started: list[Adapter] = []
        try:
            for adapter in self.adapters:
                await adapter.setup(self.conn)
                started.append(adapter)
        except BaseException:
            for adapter in started:
                await adapter.teardown()
            await self._harness.close()
            raise
        for adapter in self.adapters:
            for workload in self.workloads:
                reason = adapter.unavailable(workload)
                if reason is not None:
                    self.results.unavailable.setdefault(adapter.key, {})[workload] = reason
        # Everything alive now lives for the whole run: freeze it so that the collection before
        # each burst only walks what the previous burst left behind (a few milliseconds).
        gc.collect()
        gc.freeze()
        return self

    async def __aexit__(self, *exc: object) -> None:
        gc.unfreeze()
        try:
            for adapter in self.adapters:
                await adapter.teardown()
        finally:
            if self._harness is not None:
                await self._harness.close()

    def _runs(self, adapter: Adapter, workload: str) -> bool:
        return workload not in self.results.unavailable.get(adapter.key, {})

    async def burst(
        self, workload: str, adapter: Adapter, sizes: Sizes, workers: int, *, check: bool
    ) -> float:
        """Run one burst (after an untimed garbage collection); return its elapsed seconds."""
        gc.collect()
        return await _run_burst(
            workload, adapter, self.dataset, sizes, workers=workers, check=check
        )

    async def _cleanup(self, workload: str) -> None:
        """After an insert workload, delete the added rows of every library (untimed)."""
        if workload in WRITES:
            assert self._harness is not None
            for adapter in self.adapters:
                await cleanup(self._harness, adapter)

    async def run(self) -> Results:
        """Warm up (checking results), then the timed, interleaved rounds.

        A round runs each workload in ``SLICES`` slices (bulk workloads in one): every library
        runs slice 1, then every library slice 2, and so on, in an order rotating with the round
        (and reversed on every other slice), so that libraries take turns in short bursts. A
        library's time for the round is the sum of its slices.

        Returns:
            The results (also kept on ``self.results``).
        """
        warm = self.sizes.warmup()
        for workers in self.concurrency:
            for workload in self.workloads:
                for adapter in self.adapters:
                    if self._runs(adapter, workload):
                        await self.burst(workload, adapter, warm, workers, check=True)
                await self._cleanup(workload)
        for workers in self.concurrency:
            for round_index in range(self.rounds):
                shift = round_index % len(self.adapters)
                order = self.adapters[shift:] + self.adapters[:shift]
                for workload in self.workloads:
                    await self._round(workload, order, workers, round_index)
                    await self._cleanup(workload)
        return self.results

    async def _round(
        self, workload: str, order: Sequence[Adapter], workers: int, round_index: int
    ) -> None:
        slices = self.sizes.slices(workload, SLICES)
        elapsed: dict[str, float] = {}
        for index, part in enumerate(slices):
            # Alternate the direction too, so no library always follows the same neighbour.
            turn = order if index % 2 == 0 else list(reversed(order))
            for adapter in turn:
                if self._runs(adapter, workload):
                    seconds = await self.burst(workload, adapter, part, workers, check=False)
                    elapsed[adapter.key] = elapsed.get(adapter.key, 0.0) + seconds
        for adapter in order:
            if adapter.key in elapsed:
                ops = self.sizes.ops(workload) / elapsed[adapter.key]
                self.results.add(workers, workload, adapter.key, ops)
                logger.info(
                    "workers=%d round=%d %-13s %-18s %10.1f ops/s",
                    workers,
                    round_index + 1,
                    workload,
                    adapter.label,
                    ops,
                )

    async def profile(self, library: str, workload: str) -> str:
        """One warm-up and one profiled burst of ``workload`` for ``library``.

        Returns:
            pyinstrument's text report.
        """
        from pyinstrument import Profiler

        adapter = next(a for a in self.adapters if a.key == library)
        await self.burst(workload, adapter, self.sizes.warmup(), 1, check=True)
        await self._cleanup(workload)
        profiler = Profiler(async_mode="enabled", interval=0.0005)
        profiler.start()
        try:
            await _run_burst(workload, adapter, self.dataset, self.sizes)
        finally:
            profiler.stop()
            await self._cleanup(workload)
        text: str = profiler.output_text(unicode=True, color=False, show_all=False)
        return text


async def run_suite(
    conn: ConnInfo,
    adapters: Sequence[Adapter],
    workloads: Sequence[str],
    sizes: Sizes,
    rounds: int,
    concurrency: Sequence[int] = CONCURRENCY,
) -> BenchRun:
    """Run the suite on ``conn`` and return the finished run (its ``results`` filled in)."""
    bench = BenchRun(conn, adapters, workloads, sizes, rounds, concurrency)
    async with bench:
        await bench.run()
    return bench


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the sizes")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument(
        "--libs", default=",".join(ALL_LIBS), help=f"comma list of: {', '.join(ALL_LIBS)}"
    )
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help=f"comma list of: {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--output", type=Path, help="write the performance page here")
    parser.add_argument(
        "--profile",
        metavar="LIB:WORKLOAD",
        help="profile one burst with pyinstrument and print the report (no timed rounds)",
    )
    parser.add_argument("--concurrency", default="1,4", help="worker counts to run (default 1,4)")
    parser.add_argument(
        "--no-cache-bench",
        action="store_true",
        help="leave out the cached-get workload (bench/cache_get.py) that runs after the suite",
    )
    args = parser.parse_args(argv)
    args.lib_keys = [k.strip() for k in args.libs.split(",") if k.strip()]
    args.workload_names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in args.workload_names if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; valid: {', '.join(WORKLOADS)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.scale <= 0:
        parser.error("--scale must be positive")
    args.workers = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.profile:
        lib, _, workload = args.profile.partition(":")
        if lib not in ALL_LIBS or workload not in WORKLOADS:
            parser.error("--profile takes LIB:WORKLOAD, e.g. matrx:filter_large")
        args.profile = (lib, workload)
        if lib not in args.lib_keys:
            args.lib_keys.append(lib)
    if BASELINE not in args.lib_keys:
        args.lib_keys.insert(0, BASELINE)
    order = list(ALL_LIBS)
    unknown_libs = [k for k in args.lib_keys if k not in ALL_LIBS]
    if unknown_libs:
        parser.error(f"unknown librar(y/ies) {unknown_libs}; valid: {', '.join(ALL_LIBS)}")
    args.lib_keys = sorted(set(args.lib_keys), key=order.index)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line.

    Returns:
        The exit status.
    """
    from matrx_orm_core.testing._server import create_database, drop_database, start_test_server

    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    adapters, not_installed = load_adapters(args.lib_keys, skip_missing=True)
    for key in not_installed:
        logger.warning("%s is not installed: left out (install the `bench` group)", key)
    sizes = Sizes.scaled(args.scale)
    cache_section = ""
    server = start_test_server()
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    try:
        database = create_database(server, f"matrx_bench_{int(time.time())}")
        try:
            conn = ConnInfo(server.host, server.port, server.user, server.password, database)
            bench = BenchRun(conn, adapters, args.workload_names, sizes, args.rounds, args.workers)

            async def go() -> None:
                async with bench:
                    if args.profile:
                        sys.stdout.write(await bench.profile(*args.profile) + "\n")
                    else:
                        await bench.run()

            asyncio.run(go())
            if not args.profile and not args.no_cache_bench:
                # Imported only now: importing the cache installs it into core's hook, which
                # must not serve the suite's own get_by_pk workload.
                from bench.cache_get import markdown as cache_markdown
                from bench.cache_get import run_cache_bench

                cache_section = cache_markdown(asyncio.run(run_cache_bench(conn)))
        finally:
            drop_database(server, database)
    finally:
        if server.embedded is not None:
            server.embedded.stop()
    if args.profile:
        return 0
    for workers in args.workers:
        sys.stdout.write(f"\n## {workers} in flight\n\n")
        sys.stdout.write(
            markdown_table(bench.results, adapters, args.workload_names, workers) + "\n"
        )
    if cache_section:
        sys.stdout.write("\n" + cache_section)
    if args.output is not None:
        page = performance_page(
            results=bench.results,
            adapters=adapters,
            workloads=args.workload_names,
            sizes=sizes,
            rounds=args.rounds,
            scale=args.scale,
            server_version=bench.server_version,
            server_source=server.source,
            date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            elapsed=time.perf_counter() - started,
            missing=dict.fromkeys(not_installed, "not installed"),
            load=(load_start, os.getloadavg()[0]),
        )
        if cache_section:
            page = page.rstrip("\n") + "\n\n" + cache_section
        args.output.write_text(page, encoding="utf-8")
        logger.info("wrote %s", args.output)
    return 0
