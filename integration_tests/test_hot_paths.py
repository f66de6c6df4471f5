"""The fast paths on a real server: Model.get with lookups, Model.count/exists, values with load
converters, per-database pool close, and the borrow/release shortcuts of the asyncpg driver."""

from __future__ import annotations

import enum
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from matrx_orm import CharField, EnumField, FieldError, IntegerField, Model
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import _execution
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.drivers import asyncpg as asyncpg_driver

pytestmark = pytest.mark.level2

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class HItem(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)
    age = IntegerField(null=True)
    mood = EnumField(enum_class=Mood, null=True)

    _table_name = "hot_item"
    _database = DB


ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "a", "age": 10, "mood": Mood.HAPPY},
    {"id": 2, "name": "b", "age": 20, "mood": Mood.SAD},
    {"id": 3, "name": "c", "age": 50, "mood": None},
    {"id": 4, "name": "c", "age": None, "mood": Mood.HAPPY},
]


@pytest.fixture
async def items(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute('DROP TABLE IF EXISTS "hot_item"')
    await db.execute(
        'CREATE TABLE "hot_item" ("id" integer PRIMARY KEY, "name" varchar(50) NOT NULL, '
        '"age" integer, "mood" varchar(255))'
    )
    try:
        for row in ROWS:
            await HItem.create(**row)
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "hot_item"')


async def test_get_accepts_lookups(items: MigrationDB) -> None:
    item = await HItem.get(age__gt=40)
    assert item.id == 3
    assert (await HItem.get(name="c", age__isnull=True)).id == 4
    assert (await HItem.get(use_cache=False, name__in=["a", "x"])).id == 1
    with pytest.raises(HItem.MultipleObjectsReturned):
        await HItem.get(age__gte=10)
    with pytest.raises(HItem.DoesNotExist):
        await HItem.get(age__gt=100)
    assert await HItem.get_or_none(age__lt=0) is None
    with pytest.raises(FieldError, match="unknown lookup 'bogus'"):
        await HItem.get(age__bogus=1)


async def test_count_and_exists_match_the_query_builder(items: MigrationDB) -> None:
    cases: list[dict[str, Any]] = [{}, {"name": "c"}, {"age": None}, {"age__gte": 20}, {"id": 99}]
    for lookups in cases:
        query = HItem.filter(**lookups)
        assert await HItem.count(**lookups) == await query.count()
        assert await HItem.exists(**lookups) == await query.exists()
        assert HItem.filter(**lookups).sql()  # same builder still compiles
    assert await HItem.count(name="c") == 2
    assert await HItem.exists(id=99) is False
    with pytest.raises(FieldError, match="'nope' is not a field of HItem"):
        await HItem.count(nope=1)


async def test_values_convert_only_the_converted_columns(items: MigrationDB) -> None:
    rows = await HItem.filter().order_by("id").values()
    assert rows == [dict(row) for row in ROWS]
    assert list(rows[0]) == ["id", "name", "age", "mood"]
    picked = await HItem.filter().order_by("id").values("mood", "id")
    assert picked[0] == {"mood": Mood.HAPPY, "id": 1}
    assert list(picked[0]) == ["mood", "id"]
    pairs = await HItem.filter().order_by("id").values_list("mood", "name")
    assert pairs == [(row["mood"], row["name"]) for row in ROWS]
    assert await HItem.filter().order_by("id").values_list("mood", flat=True) == [
        row["mood"] for row in ROWS
    ]
    assert await HItem.filter(id=1).values_list("age", "age") == [(10, 10)]
    assert await HItem.filter(id__in=[]).values() == []


async def test_orm_statements_release_without_the_reset(items: MigrationDB) -> None:
    counts = asyncpg_driver._RESET_COUNTS
    before = dict(counts)
    for _ in range(5):
        await HItem.count(name="a")
        await HItem.filter(age__gte=0).values()
    assert counts["skipped"] - before["skipped"] == 10
    assert counts["full"] == before["full"]
    await _execution.fetch_val(DB, "SELECT 1")  # raw SQL: the full reset
    assert counts["full"] - before["full"] == 1


async def test_a_connection_is_unusable_after_its_block(items: MigrationDB) -> None:
    async with AsyncDatabaseManager.get_connection(DB) as conn:
        assert await conn.fetch_val("SELECT 1") == 1
    # One object per borrow: the old handle cannot reach the next borrower's session.
    with pytest.raises(asyncpg.InterfaceError, match="released back to the pool"):
        await conn.fetch_val("SELECT 1")


async def test_close_pool_closes_one_database_and_the_next_statement_reopens(
    items: MigrationDB,
) -> None:
    pool = AsyncDatabaseManager.cached_pool(DB)
    assert pool is not None
    assert await AsyncDatabaseManager.close_pool(DB) is True
    assert AsyncDatabaseManager.cached_pool(DB) is None
    assert await AsyncDatabaseManager.close_pool(DB) is False
    assert await HItem.count() == len(ROWS)
    assert AsyncDatabaseManager.cached_pool(DB) not in (None, pool)


async def test_idle_releases_skip_the_shielded_pool_release(
    items: MigrationDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float | None] = []
    original = asyncpg.Pool.release

    async def spy(self: Any, connection: Any, *, timeout: float | None = None) -> None:
        calls.append(timeout)
        await original(self, connection, timeout=timeout)

    monkeypatch.setattr(asyncpg.Pool, "release", spy)
    for _ in range(3):
        assert await HItem.count(name="a") == 1  # the connection came back: no pool exhaustion
    assert calls == []
    await _execution.fetch_val(DB, "SELECT 1")  # raw SQL: the full reset, under the time limit
    assert calls == [_execution.ACQUIRE_TIMEOUT]
