"""The state cache on a real server: read-through, and one freshness test per write path.

A row is first read through the cache; the test then proves it is served from there by
changing the table behind the ORM's back (a pooled connection, no ORM call, so no notice) and
seeing the cached value. Each write path must then make the next ``get()`` show the database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from matrx_orm import (
    CharField,
    DoesNotExist,
    IntegerField,
    JSONField,
    ManyToManyField,
    Model,
    transaction,
)
from matrx_orm.core.async_db_manager import AsyncDatabaseManager
from matrx_orm.migrations import MigrationDB
from matrx_orm.state import StateManager
from matrx_orm_relations import ensure_m2m_tables

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class CfItem(Model):
    id = IntegerField(primary_key=True)
    code = CharField(max_length=40, unique=True)
    value = IntegerField(default=0)
    tags = JSONField(null=True)

    _table_name = "cf_item"
    _database = DB


SCHEMA = """
CREATE TABLE "cf_item" (
    "id" integer PRIMARY KEY,
    "code" varchar(40) NOT NULL UNIQUE,
    "value" integer NOT NULL DEFAULT 0,
    "tags" jsonb
);
"""


async def behind_the_back(sql: str, *params: Any) -> None:
    """Change the table without the ORM (no cache notice), to see what the cache serves."""
    async with AsyncDatabaseManager.get_connection(DB) as conn:
        await conn.execute(sql, params)


@pytest.fixture
async def items(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute('DROP TABLE IF EXISTS "cf_item"')
    await db.execute(SCHEMA)
    StateManager.reset()
    assert await StateManager.wait_until_live(DB)
    await behind_the_back(
        "INSERT INTO cf_item (id, code, value) VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30)"
    )
    try:
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "cf_item"')
        StateManager.reset()


async def cached(pk: int = 1) -> CfItem:
    """Read row ``pk`` through the cache and prove later reads are served from it."""
    first = await CfItem.get(id=pk)
    await behind_the_back("UPDATE cf_item SET value = value + 1000 WHERE id = $1", pk)
    again = await CfItem.get(id=pk)
    assert again.value == first.value, "the second get() should come from the cache"
    fresh = await CfItem.get(use_cache=False, id=pk)  # the database; refreshes the cache
    assert fresh.value == first.value + 1000
    assert (await CfItem.get(id=pk)).value == fresh.value
    await behind_the_back("UPDATE cf_item SET value = value - 1000 WHERE id = $1", pk)
    await CfItem.get(use_cache=False, id=pk)
    return first


# --- read-through -------------------------------------------------------------------------------


async def test_get_reads_through_and_use_cache_false_bypasses(items: MigrationDB) -> None:
    assert await StateManager.count(CfItem) == 0
    got = await cached(1)
    assert got.value == 10
    assert await StateManager.count(CfItem) == 1


async def test_unique_field_lookup_is_served_and_other_lookups_are_not(items: MigrationDB) -> None:
    await CfItem.get(code="b")
    await behind_the_back("UPDATE cf_item SET value = 99 WHERE id = 2")
    assert (await CfItem.get(code="b")).value == 20  # unique field: from the cache
    assert (await CfItem.get(id=2)).value == 20  # same row, by primary key
    assert (await CfItem.get(value=99)).id == 2  # not unique: always the database
    assert (await CfItem.get(value__gt=98)).id == 2  # operator lookup: the database


async def test_get_or_none_reads_through(items: MigrationDB) -> None:
    await CfItem.get_or_none(id=3)
    await behind_the_back("UPDATE cf_item SET value = 0 WHERE id = 3")
    hit = await CfItem.get_or_none(id=3)
    assert hit is not None
    assert hit.value == 30
    assert await CfItem.get_or_none(id=404) is None


async def test_callers_get_copies_never_the_cached_object(items: MigrationDB) -> None:
    await CfItem.filter(id=1).update(tags={"k": [1]})
    one = await CfItem.get(id=1)
    one.value = -1
    one.tags["k"].append(2)
    two = await CfItem.get(id=1)
    assert two is not one
    assert two.value == 10
    assert two.tags == {"k": [1]}


async def test_statemanager_manual_control(items: MigrationDB) -> None:
    row = await CfItem.get(id=1)
    assert await StateManager.count(CfItem) == 1
    await StateManager.remove(CfItem, row)
    assert await StateManager.count(CfItem) == 0
    await StateManager.cache(CfItem, row)
    assert (await StateManager.get(CfItem, id=1)).value == 10
    await StateManager.clear_cache(CfItem)
    assert await StateManager.count(CfItem) == 0
    assert await StateManager.get_or_none(CfItem, id=404) is None
    everything = await StateManager.get_all(CfItem)
    assert sorted(r.id for r in everything) == [1, 2, 3]
    assert await StateManager.count(CfItem) == 3


# --- one test per write path --------------------------------------------------------------------


async def test_create_caches_the_new_row(items: MigrationDB) -> None:
    await CfItem.create(id=7, code="g", value=70)
    await behind_the_back("UPDATE cf_item SET value = 0 WHERE id = 7")
    assert (await CfItem.get(id=7)).value == 70  # the created row was cached
    assert (await CfItem.get(use_cache=False, id=7)).value == 0


async def test_save_refreshes(items: MigrationDB) -> None:
    row = await cached(1)
    row.value = 11
    await row.save()
    assert (await CfItem.get(id=1)).value == 11


async def test_instance_update_refreshes(items: MigrationDB) -> None:
    row = await cached(1)
    await row.update(value=12)
    assert (await CfItem.get(id=1)).value == 12


async def test_instance_delete_evicts(items: MigrationDB) -> None:
    row = await cached(1)
    await row.delete()
    with pytest.raises(DoesNotExist):
        await CfItem.get(id=1)


async def test_queryset_update_evicts(items: MigrationDB) -> None:
    await cached(1)
    await cached(2)
    assert await CfItem.filter(id__in=[1, 2]).update(value=5) == 2
    assert (await CfItem.get(id=1)).value == 5
    assert (await CfItem.get(code="b")).value == 5


async def test_queryset_delete_evicts(items: MigrationDB) -> None:
    await cached(2)
    assert await CfItem.filter(code="b").delete() == 1
    assert await CfItem.get_or_none(id=2) is None


async def test_bulk_create_caches_the_new_rows(items: MigrationDB) -> None:
    await CfItem.bulk_create([{"id": 8, "code": "h", "value": 80}, {"id": 9, "code": "i"}])
    await behind_the_back("UPDATE cf_item SET value = 1 WHERE id IN (8, 9)")
    assert (await CfItem.get(id=8)).value == 80
    assert (await CfItem.get(id=9)).value == 0


async def test_bulk_update_evicts(items: MigrationDB) -> None:
    one = await cached(1)
    two = await cached(2)
    one.value, two.value = 101, 102
    await CfItem.bulk_update([one, two], ["value"])
    assert [(await CfItem.get(id=k)).value for k in (1, 2)] == [101, 102]


async def test_bulk_delete_evicts(items: MigrationDB) -> None:
    one = await cached(1)
    two = await cached(2)
    assert await CfItem.bulk_delete([one, two]) == 2
    assert await CfItem.get_or_none(id=1) is None
    assert await CfItem.get_or_none(code="b") is None


async def test_upsert_refreshes(items: MigrationDB) -> None:
    await cached(3)
    await CfItem.upsert(
        data={"id": 3, "code": "c", "value": 33}, conflict_fields=["id"], update_fields=["value"]
    )
    assert (await CfItem.get(id=3)).value == 33


async def test_bulk_upsert_refreshes(items: MigrationDB) -> None:
    await cached(1)
    await cached(3)
    await CfItem.bulk_upsert(
        [{"id": 1, "code": "a", "value": 41}, {"id": 3, "code": "c", "value": 43}],
        conflict_fields=["id"],
        update_fields=["value"],
    )
    assert [(await CfItem.get(id=k)).value for k in (1, 3)] == [41, 43]


async def test_update_where_evicts(items: MigrationDB) -> None:
    await cached(2)
    result = await CfItem.update_where({"code": "b"}, value=22)
    assert result["rows_affected"] == 1
    assert (await CfItem.get(id=2)).value == 22


async def test_delete_where_evicts(items: MigrationDB) -> None:
    await cached(2)
    assert await CfItem.delete_where(code="b") == 1
    assert await CfItem.get_or_none(id=2) is None


@pytest.mark.parametrize("how", ["raw", "raw_sql", "migration_db"])
async def test_raw_non_select_clears_the_database(items: MigrationDB, how: str) -> None:
    await cached(1)
    sql = "UPDATE cf_item SET value = 77 WHERE id = 1"
    if how == "raw":
        await CfItem.raw(sql)
    elif how == "raw_sql":
        await CfItem.raw_sql(sql)
    else:
        await items.execute(sql)
    assert await StateManager.count(CfItem) == 0
    assert (await CfItem.get(id=1)).value == 77


async def test_raw_select_keeps_the_cache(items: MigrationDB) -> None:
    await cached(1)
    await CfItem.raw("SELECT * FROM cf_item WHERE id = $1", 1)
    assert await StateManager.count(CfItem) == 1


# --- transactions ----------------------------------------------------------------------------


async def test_commit_applies_the_notices(items: MigrationDB) -> None:
    await cached(1)
    async with transaction(DB):
        row = await CfItem.get(id=1)
        await row.update(value=500)
        # Outside the transaction (another task) the committed value is still the old one,
        # and the cache may keep serving it until the commit.
    assert (await CfItem.get(id=1)).value == 500


async def test_rollback_leaves_the_cache_as_it_was(items: MigrationDB) -> None:
    await cached(1)

    async def writes_then_fails() -> None:
        async with transaction(DB):
            row = await CfItem.get(id=1)
            await row.update(value=600)
            await CfItem.filter(id=2).update(value=600)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await writes_then_fails()
    assert await StateManager.count(CfItem) == 1  # still cached, nothing was evicted
    await behind_the_back("UPDATE cf_item SET value = 1 WHERE id = 1")
    assert (await CfItem.get(id=1)).value == 10  # served from the cache, as before


async def test_reads_inside_a_transaction_bypass_and_store_nothing(items: MigrationDB) -> None:
    await cached(1)
    await behind_the_back("UPDATE cf_item SET value = 15 WHERE id = 1")
    async with transaction(DB):
        assert (await CfItem.get(id=1)).value == 15  # the database, not the cache
        await CfItem.get(id=2)  # not stored: it could be rolled back
    assert await StateManager.count(CfItem) == 1
    assert (await CfItem.get(id=1)).value == 10  # the cache outside, as before


async def test_raw_write_inside_a_transaction_clears_again_at_commit(items: MigrationDB) -> None:
    await cached(1)
    async with transaction(DB):
        await CfItem.raw_sql("UPDATE cf_item SET value = 88 WHERE id = 1")
        # Another task caching the old row before the commit must not keep it afterwards.
        await StateManager.cache(CfItem, CfItem._from_row({"id": 1, "code": "a", "value": 10}))
    assert (await CfItem.get(id=1)).value == 88


async def test_notice_held_by_a_transaction_wins_over_a_concurrent_cache_fill(
    items: MigrationDB,
) -> None:
    await cached(1)
    async with transaction(DB):
        await CfItem.filter(id=1).update(value=321)
        await StateManager.cache(CfItem, CfItem._from_row({"id": 1, "code": "a", "value": 10}))
    assert (await CfItem.get(id=1)).value == 321


# --- bounded memory ----------------------------------------------------------------------------


async def test_the_per_model_bound_evicts_least_recently_used(
    items: MigrationDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CfItem, "_cache_max_entries", 2, raising=False)
    StateManager.reset()
    assert await StateManager.wait_until_live(DB)
    await CfItem.get(id=1)
    await CfItem.get(id=2)
    await CfItem.get(id=1)  # 1 is now the most recently used
    await CfItem.get(id=3)  # evicts 2
    assert await StateManager.count(CfItem) == 2
    state = StateManager.state(CfItem)
    assert state.max_entries == 2
    assert state.evictions == 1
    await behind_the_back("UPDATE cf_item SET value = 0")
    assert (await CfItem.get(id=1)).value == 10  # kept
    assert (await CfItem.get(id=2)).value == 0  # evicted: read again


# --- many-to-many edits ------------------------------------------------------------------------


class CfGroup(Model):
    id = IntegerField(primary_key=True)
    members = ManyToManyField("CfMember", db_table="cf_group_member")

    _table_name = "cf_group"
    _database = DB


class CfMember(Model):
    id = IntegerField(primary_key=True)

    _table_name = "cf_member"
    _database = DB


class CfGroupMember(Model):
    """The junction, declared as a model too: its cached rows must follow M2M edits."""

    cf_group_id = IntegerField()
    cf_member_id = IntegerField()

    _table_name = "cf_group_member"
    _database = DB
    _primary_keys = ("cf_group_id", "cf_member_id")


@pytest.fixture
async def groups(items: MigrationDB) -> AsyncIterator[CfGroup]:
    await items.execute(
        'DROP TABLE IF EXISTS "cf_group_member", "cf_group", "cf_member"; '
        'CREATE TABLE "cf_group" ("id" integer PRIMARY KEY); '
        'CREATE TABLE "cf_member" ("id" integer PRIMARY KEY); '
        "INSERT INTO cf_group VALUES (1); INSERT INTO cf_member VALUES (1), (2), (3);"
    )
    await ensure_m2m_tables(CfGroup)
    try:
        yield await CfGroup.get(id=1)
    finally:
        await items.execute('DROP TABLE IF EXISTS "cf_group_member", "cf_group", "cf_member"')


async def test_m2m_edits_evict_the_junction_models_rows(groups: CfGroup) -> None:
    group = groups
    assert await group.add_m2m("members", 1, 2) == 2
    link = await CfGroupMember.get(cf_group_id=1, cf_member_id=1)
    assert await StateManager.count(CfGroupMember) == 1
    assert await group.remove_m2m("members", 1) == 1
    assert await StateManager.count(CfGroupMember) == 0
    assert await CfGroupMember.get_or_none(cf_group_id=1, cf_member_id=1) is None
    await CfGroupMember.get(cf_group_id=1, cf_member_id=2)
    await group.set_m2m("members", [3])
    assert await CfGroupMember.get_or_none(cf_group_id=1, cf_member_id=2) is None
    await CfGroupMember.get(cf_group_id=1, cf_member_id=3)
    assert await group.clear_m2m("members") == 1
    assert await CfGroupMember.get_or_none(cf_group_id=1, cf_member_id=3) is None
    assert link.cf_member_id == 1
