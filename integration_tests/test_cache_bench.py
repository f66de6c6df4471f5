"""The cached-get benchmark workload runs end to end on tiny sizes (level 2)."""

from __future__ import annotations

import sys
from pathlib import Path

from matrx_orm_core.config import DatabaseProjectConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cache_get import markdown, run_cache_bench
from bench.libs.base import ConnInfo


async def test_cached_get_is_faster_than_a_round_trip(
    matrx_test_database: DatabaseProjectConfig,
) -> None:
    config = matrx_test_database
    conn = ConnInfo(
        config.host, config.port_number, config.user, config.password, config.database_name
    )
    result = await run_cache_bench(conn, ops=2000, rounds=1)
    assert result.cached_us > 0
    assert result.ratio > 2, result  # a dictionary lookup beats a network round trip
    assert "get_by_pk_cached" in markdown(result)
