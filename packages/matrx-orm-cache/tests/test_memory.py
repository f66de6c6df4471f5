"""Memory per cached row (tracemalloc), and that the LRU bound caps it (docs/caching.md)."""

from __future__ import annotations

import datetime as dt
import decimal
import gc
import tracemalloc
import uuid

import pytest

from matrx_orm_cache.model_state import ModelState
from matrx_orm_core import (
    CachePolicy,
    CharField,
    DateTimeField,
    DecimalField,
    IntegerField,
    JSONBField,
    Model,
    UUIDField,
)

pytestmark = pytest.mark.level1

BOUND = 1000


class MemItem(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100)
    qty = IntegerField()
    price = DecimalField(max_digits=10, decimal_places=2)
    created_at = DateTimeField()
    tags = JSONBField()

    _database = "mem"
    _cache_policy = CachePolicy.PERMANENT
    _cache_max_entries = BOUND


def _row(i: int) -> MemItem:
    return MemItem._from_row(
        {
            "id": str(uuid.uuid4()),
            "name": f"item-{i:06d}",
            "qty": i,
            "price": decimal.Decimal("9.99"),
            "created_at": dt.datetime.now(dt.timezone.utc),
            "tags": {"k": i, "t": ["a", "b"]},
        }
    )


def test_a_permanent_cache_stays_within_its_bound() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        state = ModelState(MemItem)
        for i in range(BOUND * 5):
            state.put(_row(i))
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert state.count() == BOUND
    assert state.evictions == BOUND * 4
    per_row = retained / BOUND
    print(f"retained per cached row (6 fields, values included): {per_row:.0f} bytes")
    # Measured about 1,000 bytes on CPython 3.11; the bound is loose so other versions pass,
    # tight enough that keeping evicted rows (5x the bound) would fail.
    assert per_row < 2500
