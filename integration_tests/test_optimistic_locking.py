"""Optimistic locking with VersionField on a real server: the spec README example, the set-based
updates that bump the version, and 20 concurrent writers with retry-on-conflict."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from matrx_orm import (
    DecimalField,
    FieldError,
    IntegerField,
    Model,
    OptimisticLockError,
    UUIDField,
    VersionField,
)
from matrx_orm.migrations import MigrationDB

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class LockOrder(Model):
    id = UUIDField(primary_key=True, default=uuid4)
    total = DecimalField()  # as in the spec README example
    counter = IntegerField(default=0)
    version = VersionField()

    _table_name = "adv_lock_order"
    _database = DB


SCHEMA = """
CREATE TABLE "adv_lock_order" (
    "id" uuid PRIMARY KEY,
    "total" numeric,
    "counter" integer NOT NULL DEFAULT 0,
    "version" integer NOT NULL DEFAULT 1
);
"""


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute('DROP TABLE IF EXISTS "adv_lock_order"')
    await db.execute(SCHEMA)
    try:
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "adv_lock_order"')


async def stored(db: MigrationDB, pk: str) -> dict[str, Any]:
    rows = await db.fetch('SELECT * FROM "adv_lock_order" WHERE "id" = $1', pk)
    assert len(rows) == 1
    return dict(rows[0])


async def test_readme_example_stale_write_is_detected(tables: MigrationDB) -> None:
    created = await LockOrder.create(total=Decimal("10.00"))
    assert created.version == 1
    some_id = created.id

    order = await LockOrder.get(id=some_id)
    order.total = Decimal("99.99")
    await order.save()
    assert order.version == 2

    order_a = await LockOrder.get(id=some_id)
    order_b = await LockOrder.get(id=some_id)
    assert order_a.version == order_b.version == 2

    order_a.total = Decimal("50.00")
    await order_a.save()
    assert order_a.version == 3

    order_b.total = Decimal("75.00")
    with pytest.raises(OptimisticLockError) as info:
        await order_b.save()
    assert info.value.details["expected_version"] == 2
    assert info.value.details["pk"] == some_id
    assert order_b.version == 2
    row = await stored(tables, some_id)
    assert (row["total"], row["version"]) == (Decimal("50.00"), 3)  # nothing was written

    order_b = await LockOrder.get(id=some_id)
    order_b.total = Decimal("75.00")
    await order_b.save()
    row = await stored(tables, some_id)
    assert (row["total"], row["version"]) == (Decimal("75.00"), 4)


async def test_instance_update_bumps_and_a_stale_update_restores(tables: MigrationDB) -> None:
    order = await LockOrder.create(total=Decimal("1.00"))
    stale = await LockOrder.get(id=order.id)
    await order.update(counter=5)
    assert order.version == 2
    with pytest.raises(OptimisticLockError):
        await stale.update(counter=9)
    assert (stale.counter, stale.version) == (0, 1)
    row = await stored(tables, order.id)
    assert (row["counter"], row["version"]) == (5, 2)


async def test_a_deleted_row_raises_the_lock_error(tables: MigrationDB) -> None:
    order = await LockOrder.create(total=Decimal("1.00"))
    await tables.execute('DELETE FROM "adv_lock_order"')
    order.counter = 1
    with pytest.raises(OptimisticLockError, match="or it was deleted"):
        await order.save()


async def test_set_based_updates_bump_the_version(tables: MigrationDB) -> None:
    a = await LockOrder.create(total=Decimal("1.00"))
    b = await LockOrder.create(total=Decimal("2.00"))
    stale = await LockOrder.get(id=a.id)

    assert await LockOrder.filter(id=a.id).update(counter=1) == 1
    assert (await stored(tables, a.id))["version"] == 2

    result = await LockOrder.update_where({"id": a.id}, counter=2)
    assert result["updated_rows"][0]["version"] == 3

    a = await LockOrder.get(id=a.id)
    a.counter, b.counter = 3, 3
    assert await LockOrder.bulk_update([a, b], ["counter"]) == 2
    assert (await stored(tables, a.id))["version"] == 4
    assert (await stored(tables, b.id))["version"] == 2

    stale.counter = 100  # read before all of the above: must not overwrite them
    with pytest.raises(OptimisticLockError):
        await stale.save()
    assert (await stored(tables, a.id))["counter"] == 3

    with pytest.raises(FieldError, match="VersionField"):
        await LockOrder.filter(id=a.id).update(version=1)


async def test_twenty_concurrent_writers_lose_no_update(tables: MigrationDB) -> None:
    order = await LockOrder.create(total=Decimal("0.00"))
    conflicts = 0
    successes = 0

    async def increment() -> None:
        nonlocal conflicts, successes
        while True:
            current = await LockOrder.get(id=order.id)
            current.counter += 1
            await asyncio.sleep(0)
            try:
                await current.save()
            except OptimisticLockError:
                conflicts += 1
                continue
            successes += 1
            return

    await asyncio.wait_for(asyncio.gather(*(increment() for _ in range(20))), timeout=120)
    row = await stored(tables, order.id)
    assert successes == 20
    assert row["counter"] == successes  # no lost update
    assert row["version"] == 1 + successes
    assert conflicts >= 1  # the writers really did collide


async def test_upsert_and_bulk_upsert_bump_the_version(tables: MigrationDB) -> None:
    order = await LockOrder.create(total=Decimal("1.00"))
    stale = await LockOrder.get(id=order.id)
    updated = await LockOrder.upsert(
        {"id": order.id, "total": Decimal("2.00"), "counter": 0}, ["id"]
    )
    assert (updated.total, updated.version) == (Decimal("2.00"), 2)
    fresh_id = str(uuid4())
    rows = await LockOrder.bulk_upsert(
        [
            {"id": order.id, "total": Decimal("3.00"), "counter": 0},
            {"id": fresh_id, "total": Decimal("4.00"), "counter": 0},
        ],
        ["id"],
    )
    assert [(r.id, r.version) for r in rows] == [(order.id, 3), (fresh_id, 1)]
    stale.counter = 1
    with pytest.raises(OptimisticLockError):
        await stale.save()
    assert (await stored(tables, order.id))["total"] == Decimal("3.00")
