"""The eight workloads: sizes, seed data, one timed burst per library, and result checks."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from bench.libs.base import Adapter, table_ddl

__all__ = [
    "GOALS",
    "UNITS",
    "WORKLOADS",
    "WRITES",
    "Dataset",
    "Sizes",
    "cleanup",
    "create_tables",
    "make_dataset",
    "run_burst",
]

WORKLOADS = (
    "insert_single",
    "bulk_insert",
    "bulk_insert_count",
    "get_by_pk",
    "filter_small",
    "filter_large",
    "update_single",
    "values_large",
    "count",
)
"""Workload names, in report order."""

WRITES = ("insert_single", "bulk_insert", "bulk_insert_count")

BULK = ("bulk_insert", "bulk_insert_count")
"""Workloads whose one operation is a whole bulk call (never sliced)."""
"""Workloads that add rows (removed again, untimed, after each burst)."""

GOALS: dict[str, float] = {
    "insert_single": 1.00,
    "bulk_insert": 1.00,
    "bulk_insert_count": 1.00,
    "get_by_pk": 1.00,
    "filter_small": 1.10,
    "filter_large": 1.50,
    "update_single": 1.00,
    "values_large": 1.05,
    "count": 1.00,
}
"""The issue's goal for matrx-orm: time per operation / raw asyncpg's (lower is better)."""

UNITS: dict[str, str] = {
    "insert_single": "create returning the object",
    "bulk_insert": "row inserted by one bulk call",
    "bulk_insert_count": "row inserted by one bulk call that returns no stored rows",
    "get_by_pk": "get by primary key, hydrated",
    "filter_small": "query: name = ? order by qty limit 10, hydrated",
    "filter_large": "query returning every seeded row, hydrated",
    "update_single": "UPDATE of one row by primary key",
    "values_large": "query returning every seeded row as dicts",
    "count": "count(*) where name = ? (10 rows)",
}
"""What one operation is, per workload (the unit of ops/s)."""

NEW_PREFIX = "new-"
SMALL_LIMIT = 10
ROWS_PER_NAME = 10


@dataclass(frozen=True)
class Sizes:
    """Operation counts per burst (the issue's sizes at ``scale=1.0``).

    Attributes:
        seed: Rows in every library's table for the read workloads.
        single: Operations for insert_single, get_by_pk, update_single and count.
        filter_small: Queries for filter_small.
        bulk: Rows per bulk_insert burst.
        large: Queries per filter_large / values_large burst.
    """

    seed: int = 10_000
    single: int = 2_000
    filter_small: int = 1_000
    bulk: int = 10_000
    large: int = 5

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        """The default sizes times ``scale`` (every count at least 1, the seed at least 20)."""
        base = cls()
        return cls(
            seed=max(20, round(base.seed * scale)),
            single=max(1, round(base.single * scale)),
            filter_small=max(1, round(base.filter_small * scale)),
            bulk=max(1, round(base.bulk * scale)),
            large=max(1, round(base.large * max(scale, 0.2))),
        )

    def warmup(self) -> Sizes:
        """Small bursts for the warm-up pass (a tenth of the counts)."""
        return replace(
            self,
            single=max(1, self.single // 10),
            filter_small=max(1, self.filter_small // 10),
            bulk=max(1, self.bulk // 10),
            large=1,
        )

    def slices(self, workload: str, count: int) -> list[Sizes]:
        """Split one burst of ``workload`` into up to ``count`` smaller ones.

        The bulk workloads stay whole (their one operation is the whole burst).

        Returns:
            Sizes whose ``ops(workload)`` add up to this one's.
        """
        if workload in BULK:
            return [self]
        attribute = {"filter_small": "filter_small", "filter_large": "large"}.get(
            workload, "large" if workload == "values_large" else "single"
        )
        total: int = getattr(self, attribute)
        parts = min(count, total)
        size, extra = divmod(total, parts)
        return [replace(self, **{attribute: size + (1 if i < extra else 0)}) for i in range(parts)]

    def ops(self, workload: str) -> int:
        """The number of operations (rows for bulk_insert) in one burst of ``workload``."""
        return {
            "insert_single": self.single,
            "bulk_insert": self.bulk,
            "bulk_insert_count": self.bulk,
            "get_by_pk": self.single,
            "filter_small": self.filter_small,
            "filter_large": self.large,
            "update_single": self.single,
            "values_large": self.large,
            "count": self.single,
        }[workload]


@dataclass
class Dataset:
    """The seeded rows (identical in every library's table) and the names they use."""

    ids: list[UUID]
    names: list[str]
    records: list[tuple[Any, ...]]
    rng: random.Random = field(default_factory=lambda: random.Random(1234))

    def new_rows(self, count: int) -> list[dict[str, Any]]:
        """``count`` fresh rows for the insert workloads (names start with ``new-``)."""
        base = datetime(2025, 1, 1, tzinfo=timezone.utc)
        return [
            {
                "name": f"{NEW_PREFIX}{i}",
                "qty": i % 1000,
                "price": Decimal(f"{i % 10_000}.{i % 100:02d}"),
                "created_at": base + timedelta(seconds=i),
                "tags": {"i": i, "color": ("red", "green", "blue")[i % 3]},
            }
            for i in range(count)
        ]


def make_dataset(seed_rows: int) -> Dataset:
    """Build ``seed_rows`` rows with ``seed_rows // 10`` distinct names (10 rows each)."""
    groups = max(1, seed_rows // ROWS_PER_NAME)
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    ids = [uuid4() for _ in range(seed_rows)]
    records = [
        (
            ids[i],
            f"item-{i % groups}",
            i % 1000,
            Decimal(f"{i % 10_000}.{i % 100:02d}"),
            base + timedelta(seconds=i),
            json.dumps({"i": i, "color": ("red", "green", "blue")[i % 3]}),
        )
        for i in range(seed_rows)
    ]
    return Dataset(ids=ids, names=[f"item-{g}" for g in range(groups)], records=records)


async def create_tables(
    connection: asyncpg.Connection[Any], adapters: Sequence[Adapter], dataset: Dataset
) -> None:
    """Create every library's table and copy the same seed rows into each."""
    for adapter in adapters:
        for statement in table_ddl(adapter.table):
            await connection.execute(statement)
        await connection.copy_records_to_table(
            adapter.table,
            records=dataset.records,
            columns=("id", "name", "qty", "price", "created_at", "tags"),
        )
        await connection.execute(f'ANALYZE "{adapter.table}"')


async def cleanup(connection: asyncpg.Connection[Any], adapter: Adapter) -> None:
    """Remove the rows an insert workload added, and vacuum the table (untimed)."""
    await connection.execute(f"DELETE FROM \"{adapter.table}\" WHERE name LIKE '{NEW_PREFIX}%'")
    await connection.execute(f'VACUUM ANALYZE "{adapter.table}"')


def _split(items: Sequence[Any], workers: int) -> list[Sequence[Any]]:
    size, extra = divmod(len(items), workers)
    parts: list[Sequence[Any]] = []
    start = 0
    for index in range(workers):
        end = start + size + (1 if index < extra else 0)
        if end > start:
            parts.append(items[start:end])
        start = end
    return parts


def _operations(
    workload: str, adapter: Adapter, dataset: Dataset, sizes: Sizes, workers: int
) -> list[Callable[[], Awaitable[Any]]]:
    """The burst as a list of zero-argument coroutine factories (arguments prepared now)."""
    n = sizes.ops(workload)
    rng = dataset.rng
    if workload == "insert_single":
        return [partial(adapter.insert_single, r) for r in dataset.new_rows(n)]
    if workload == "bulk_insert":
        chunks = _split(dataset.new_rows(n), workers)
        return [partial(adapter.bulk_insert, list(c)) for c in chunks]
    if workload == "bulk_insert_count":
        chunks = _split(dataset.new_rows(n), workers)
        return [partial(adapter.bulk_insert_count, list(c)) for c in chunks]
    if workload == "get_by_pk":
        return [partial(adapter.get_by_pk, pk) for pk in rng.choices(dataset.ids, k=n)]
    if workload == "filter_small":
        names = rng.choices(dataset.names, k=n)
        return [partial(adapter.filter_small, name, SMALL_LIMIT) for name in names]
    if workload == "filter_large":
        return [partial(adapter.filter_large, 0) for _ in range(n)]
    if workload == "update_single":
        pairs = [(rng.choice(dataset.ids), rng.randrange(1000)) for _ in range(n)]
        return [partial(adapter.update_single, *p) for p in pairs]
    if workload == "values_large":
        return [partial(adapter.values_large, 0) for _ in range(n)]
    if workload == "count":
        return [partial(adapter.count, name) for name in rng.choices(dataset.names, k=n)]
    raise ValueError(f"unknown workload {workload!r}; valid: {', '.join(WORKLOADS)}")


async def _worker(operations: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    return [await operation() for operation in operations]


async def run_burst(
    workload: str,
    adapter: Adapter,
    dataset: Dataset,
    sizes: Sizes,
    *,
    workers: int = 1,
    check: bool = False,
) -> float:
    """Run one burst of ``workload`` with ``workers`` operations in flight.

    Args:
        workload: A name from ``WORKLOADS``.
        adapter: The library.
        dataset: The seeded data.
        sizes: Operation counts.
        workers: Concurrent workers (``asyncio.gather``) splitting the operations.
        check: Verify every result (warm-up and smoke test; not timed runs).

    Returns:
        Elapsed seconds for the whole burst.

    Raises:
        AssertionError: ``check`` is set and a result is wrong.
    """
    operations = _operations(workload, adapter, dataset, sizes, workers)
    parts = _split(operations, workers) if workload not in BULK else [[o] for o in operations]
    started = time.perf_counter()
    if len(parts) == 1:
        results = await _worker(parts[0])
    else:
        gathered = await asyncio.gather(*(_worker(part) for part in parts))
        results = [result for part in gathered for result in part]
    elapsed = time.perf_counter() - started
    if check:
        _check(workload, adapter, dataset, results)
    return elapsed


def _value(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _check(workload: str, adapter: Adapter, dataset: Dataset, results: list[Any]) -> None:
    """Assert that each result has the shape the workload promises."""
    seeded = len(dataset.ids)
    per_name = seeded // len(dataset.names)
    where = f"{adapter.label} {workload}"
    for result in results:
        if workload == "insert_single":
            assert UUID(str(_value(result, "id"))), where
            assert str(_value(result, "name")).startswith(NEW_PREFIX), where
        elif workload == "get_by_pk":
            assert UUID(str(_value(result, "id"))) in dataset.ids, where
            assert isinstance(_value(result, "tags"), dict), where
        elif workload == "filter_small":
            assert len(result) == min(SMALL_LIMIT, per_name), (where, len(result))
            qtys = [_value(item, "qty") for item in result]
            assert qtys == sorted(qtys), where
        elif workload in ("filter_large", "values_large"):
            assert len(result) == seeded, (where, len(result))
            assert isinstance(_value(result[0], "price"), Decimal), where
            if workload == "values_large":
                assert isinstance(result[0], dict), where
        elif workload == "count":
            assert result == per_name, (where, result)
