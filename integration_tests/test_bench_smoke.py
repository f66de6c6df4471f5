"""The benchmark harness runs every workload for every library on tiny sizes (level 2).

The peer libraries (SQLAlchemy, Tortoise, Piccolo) are in the ``bench`` dependency group, not in
the ``test`` group, so a test venv usually lacks them: then only raw asyncpg (both pool modes)
and matrx-orm run. That is the only thing left out; every workload runs for every library that
is installed, with its results checked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a scripts folder at the repository root
    sys.path.insert(0, str(ROOT))

from bench.libs import ALL_LIBS, PEER_LIBS, load_adapters  # noqa: E402
from bench.libs.base import ConnInfo  # noqa: E402
from bench.report import markdown_table, performance_page  # noqa: E402
from bench.run import run_suite  # noqa: E402
from bench.workloads import WORKLOADS, Sizes  # noqa: E402
from matrx_orm_core.testing._server import create_database, drop_database  # noqa: E402

TINY = Sizes(seed=20, single=20, filter_small=20, bulk=20, large=1)


async def test_every_workload_runs_for_every_library(matrx_test_server: Any) -> None:
    server = matrx_test_server
    adapters, missing = load_adapters(list(ALL_LIBS), skip_missing=True)
    assert set(missing) <= set(PEER_LIBS)
    assert [a.key for a in adapters][:3] == ["raw", "raw_noreset", "matrx"]
    database = create_database(server)
    try:
        conn = ConnInfo(server.host, server.port, server.user, server.password, database)
        bench = await run_suite(conn, adapters, WORKLOADS, TINY, rounds=1)
    finally:
        drop_database(server, database)

    results = bench.results
    assert results.unavailable == {}, "every library must run every workload"
    for workers in (1, 4):
        for workload in WORKLOADS:
            for adapter in adapters:
                ops = results.median(workers, workload, adapter.key)
                assert ops is not None, (workers, workload, adapter.key)
                assert ops > 0
        table = markdown_table(results, adapters, WORKLOADS, workers)
        assert table.count("\n") == len(WORKLOADS) + 1
        assert "n/a" not in table

    page = performance_page(
        results=results,
        adapters=adapters,
        workloads=WORKLOADS,
        sizes=TINY,
        rounds=1,
        scale=0.002,
        server_version=bench.server_version,
        server_source=server.source,
        date="today",
        elapsed=1.0,
        missing=dict.fromkeys(missing, "not installed"),
        load=(0.0, 0.0),
    )
    assert "## One operation in flight" in page
    assert "## Four operations in flight" in page
    assert bench.server_version in page
