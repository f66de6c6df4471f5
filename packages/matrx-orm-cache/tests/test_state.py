"""ModelState, StateManager, the LRU bound, TTLs on a fake clock, and the hook's transaction
rule, against the recording driver (no database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import matrx_orm_cache
from matrx_orm_cache import CachePolicy, StateManager, configure, settings
from matrx_orm_cache.model_state import MISSING, ModelState
from matrx_orm_core import (
    CharField,
    ConfigurationError,
    ConfigurationWarning,
    IntegerField,
    JSONField,
    Model,
    StateError,
    ValidationError,
    hooks,
)
from matrx_orm_core.testing import Recorder
from matrx_orm_core.transaction import transaction

pytestmark = pytest.mark.level1


class Item(Model):
    id = IntegerField(primary_key=True)
    code = CharField(max_length=20, unique=True)
    value = IntegerField(null=True)
    tags = JSONField(null=True)

    _database = "recorded"
    _table_name = "st_item"


class Forever(Model):
    id = IntegerField(primary_key=True)

    _database = "recorded"
    _cache_policy = CachePolicy.PERMANENT
    _cache_max_entries = 3


class Briefly(Model):
    id = IntegerField(primary_key=True)

    _database = "recorded"
    _cache_timeout = 5


class Pair(Model):
    a = IntegerField()
    b = IntegerField()

    _database = "recorded"
    _primary_keys = ("a", "b")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    fake = Clock()
    settings.set_clock(fake)
    try:
        yield fake
    finally:
        settings.set_clock(None)


@pytest.fixture(autouse=True)
def installed() -> Iterator[None]:
    """The real cache installed and serving (the recording driver cannot LISTEN, so
    cross-process invalidation is off for these tests)."""
    previous_hook = hooks.set_model_cache(StateManager.cache_hook())
    previous = settings.get_settings()
    configure(cross_process=False, enabled=True)
    StateManager.reset()
    try:
        yield
    finally:
        configure(cross_process=previous.cross_process, enabled=previous.enabled)
        StateManager.reset()
        hooks.set_model_cache(previous_hook)


def item(pk: int, code: str | None = None, value: int | None = None, **extra: Any) -> Item:
    return Item._from_row(
        {"id": pk, "code": code or f"c{pk}", "value": value, "tags": None, **extra}
    )


# --- ModelState -------------------------------------------------------------------------------


def test_policies_and_timeouts() -> None:
    assert ModelState(Item).policy is CachePolicy.SHORT_TERM
    assert ModelState(Item).timeout == 600
    assert ModelState(Forever).timeout == float("inf")
    assert ModelState(Briefly).timeout == 5
    assert settings.POLICY_TTL[CachePolicy.LONG_TERM] == 4 * 3600
    assert settings.POLICY_TTL[CachePolicy.INSTANT] == 60
    assert ModelState(Forever).max_entries == 3
    assert ModelState(Item).max_entries == settings.DEFAULT_MAX_ENTRIES


def test_entries_expire_on_the_monotonic_clock(clock: Clock) -> None:
    state = ModelState(Briefly)
    state.put(Briefly._from_row({"id": 1}))
    clock.now += 5
    assert state.find(id=1) is not MISSING  # now - cached_at == ttl: still fresh
    clock.now += 0.001
    assert state.find(id=1) is MISSING
    assert state.count() == 0  # a stale entry is dropped when touched


def test_permanent_never_expires_but_is_bounded(clock: Clock) -> None:
    state = ModelState(Forever)
    for pk in range(1, 5):
        state.put(Forever._from_row({"id": pk}))
        clock.now += 10**9
    assert state.count() == 3
    assert state.find(id=1) is MISSING  # the least recently used went first
    assert state.evictions == 1


def test_lru_order_follows_hits() -> None:
    state = ModelState(Forever)
    for pk in (1, 2, 3):
        state.put(Forever._from_row({"id": pk}))
    assert state.find(id=1) is not MISSING  # 1 becomes the most recent
    state.put(Forever._from_row({"id": 4}))
    assert state.find(id=2) is MISSING
    assert {r.id for r in state.get_all_cached()} == {1, 3, 4}


def test_lookups_by_pk_or_one_unique_field_only() -> None:
    state = ModelState(Item)
    state.put(item(1, "a", 5))
    assert state.find(id=1).value == 5
    assert state.find(code="a").id == 1
    assert state.find(id=1, code="a").id == 1
    assert state.find(id=1, code="zz") is MISSING  # contradicting criteria: ask the database
    assert state.find(value=5) is MISSING  # not unique
    assert state.find(value__gt=1) is MISSING  # an operator lookup
    assert state.find(id=[1]) is MISSING  # unhashable
    assert state.hits == 3


def test_unique_index_follows_updates_and_evictions() -> None:
    state = ModelState(Item)
    state.put(item(1, "a"))
    state.put(item(1, "b"))  # the code changed
    assert state.find(code="a") is MISSING
    assert state.find(code="b").id == 1
    state.evict_keys([1])
    assert state.find(code="b") is MISSING


def test_hits_are_copies_and_mutations_do_not_leak() -> None:
    state = ModelState(Item)
    original = item(1, tags={"k": [1]})
    state.put(original)
    original.tags["k"].append(99)  # the caller's object changes after caching
    one = state.find(id=1)
    one.tags["k"].append(2)
    one.value = 42
    two = state.find(id=1)
    assert two is not one
    assert two.tags == {"k": [1]}
    assert two.value is None
    assert two._persisted is True


def test_rows_that_cannot_be_cached_are_skipped() -> None:
    state = ModelState(Item)
    assert state.put(Item._from_row({"id": 1, "code": "a"})) is False  # fields not loaded
    partial = item(2)
    partial.__dict__["_deferred"] = frozenset({"value"})
    assert state.put(partial) is False
    assert state.put(Item._from_row({"id": None, "code": "x", "value": 1, "tags": None})) is False
    assert state.count() == 0


def test_composite_keys() -> None:
    state = ModelState(Pair)
    state.put(Pair._from_row({"a": 1, "b": 2}))
    assert state.find(a=1, b=2) is not MISSING
    assert state.find(a=1) is MISSING
    state.evict_keys([[1, 2]])  # a key as JSON carries it
    assert state.count() == 0


async def test_model_state_async_api() -> None:
    state = ModelState(Item)
    with pytest.raises(ValidationError, match="Cannot cache None record"):
        await state.cache(None)
    with pytest.raises(ValidationError, match="No lookup criteria provided"):
        await state.get()
    await state.cache(item(1))
    assert (await state.get(id=1)).code == "c1"
    assert await state.get(id=2) is None
    await state.remove(item(1))
    assert state.count() == 0
    await state.cache(item(1))
    await state.update_from_subscription({"keys": [1]})
    assert state.count() == 0
    await state.cache(item(1))
    await state.update_from_subscription({})
    assert state.count() == 0
    assert "Item" in repr(state)


def test_bad_bounds_are_rejected() -> None:
    class Bad(Model):
        id = IntegerField(primary_key=True)

        _database = "recorded"
        _cache_max_entries = 0

    with pytest.raises(ConfigurationError, match="_cache_max_entries=0 must be a positive int"):
        ModelState(Bad)
    with pytest.raises(ConfigurationError, match="max_entries"):
        configure(max_entries=-1)
    with pytest.raises(ConfigurationError, match="pass True or False"):
        configure(enabled="yes")  # type: ignore[arg-type]


def test_configure_changes_the_default_bound() -> None:
    previous = settings.get_settings().max_entries
    try:
        configure(max_entries=7)
        assert ModelState(Item).max_entries == 7
    finally:
        configure(max_entries=previous)


# --- StateManager ------------------------------------------------------------------------------


async def test_state_manager_api(recording_db: Recorder) -> None:
    await StateManager.cache(Item, item(1))
    await StateManager.cache_bulk(Item, [item(2), item(3)])
    assert await StateManager.count(Item) == 3
    assert (await StateManager.get(Item, id=2)).code == "c2"
    assert (await StateManager.get_or_none(Item, code="c3")).id == 3
    assert recording_db.statements == []  # all from the cache
    await StateManager.remove(Item, item(1))
    await StateManager.remove_bulk(Item, [item(2)])
    assert await StateManager.count(Item) == 1
    await StateManager.update(Item, item(3, value=9))
    assert (await StateManager.get(Item, id=3)).value == 9
    await StateManager.clear_cache(Item)
    assert await StateManager.count(Item) == 0
    with pytest.raises(ValidationError):
        await StateManager.cache_bulk(Item, [item(1), None])
    assert await StateManager.count(Item) == 0


async def test_state_manager_reads_through(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 5, "code": "e", "value": 1, "tags": None}])
    got = await StateManager.get(Item, id=5)
    assert got.code == "e"
    assert len(recording_db.statements) == 1
    assert (await StateManager.get(Item, id=5)).code == "e"
    assert len(recording_db.statements) == 1
    recording_db.add_result(rows=[])
    assert await StateManager.get_or_none(Item, id=6) is None


async def test_state_manager_rejects_non_models() -> None:
    with pytest.raises(StateError, match="needs a concrete model class"):
        await StateManager.count(object)
    with pytest.raises(ConfigurationError) as info:
        StateManager.register_model(object)  # type: ignore[arg-type]
    assert info.value.details.get("config_key") == "state_registration" or "no _database" in str(
        info.value
    )
    assert StateManager.register_model(Item) is StateManager.state(Item)


async def test_get_all_always_asks_the_database(recording_db: Recorder) -> None:
    await StateManager.cache(Item, item(1))
    recording_db.add_result(rows=[{"id": 1, "code": "c1", "value": 2, "tags": None}])
    rows = await StateManager.get_all(Item)
    assert [r.value for r in rows] == [2]
    assert len(recording_db.statements) == 1
    assert (await StateManager.get(Item, id=1)).value == 2  # refreshed by that read


def test_reset_forgets_everything() -> None:
    StateManager.state(Item).put(item(1))
    StateManager.reset()
    assert StateManager.state(Item).count() == 0


# --- the hook through core's read and write paths -----------------------------------------------


async def test_model_get_reads_through_and_use_cache_false_bypasses(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1, "code": "a", "value": 1, "tags": None}])
    await Item.get(id=1)
    await Item.get(id=1)
    await Item.get(code="a")
    assert len(recording_db.statements) == 1
    recording_db.add_result(rows=[{"id": 1, "code": "a", "value": 2, "tags": None}])
    assert (await Item.get(use_cache=False, id=1)).value == 2
    assert (await Item.get(id=1)).value == 2  # the bypassing read refreshed the cache
    assert len(recording_db.statements) == 2


async def test_a_write_during_a_read_keeps_the_read_out_of_the_cache(
    recording_db: Recorder,
) -> None:
    hook = StateManager.cache_hook()
    assert hook.lookup(Item, {"id": 1}) is hooks.MISS  # a read starts
    hook.notify_write(Item, [1])  # a write is noticed before its result is stored
    hook.store(Item, [item(1)])
    assert StateManager.state(Item).count() == 0


async def test_transaction_notices_wait_for_commit_and_vanish_at_rollback(
    recording_db: Recorder,
) -> None:
    state = StateManager.state(Item)
    state.put(item(1))
    state.put(item(2))
    hook = StateManager.cache_hook()
    async with transaction("recorded"):
        hook.notify_write(Item, [1])  # what every write path sends
        assert state.count() == 2  # held until the commit
    assert state.find(id=1) is MISSING
    assert state.count() == 1

    async def write_then_fail() -> None:
        async with transaction("recorded"):
            hook.notify_write(Item, [2])
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    assert state.count() == 1  # the rolled-back write evicted nothing
    recording_db.add_result(tag="UPDATE 2")
    async with transaction("recorded"):
        await Item.filter(value=None).update(value=3)  # keys unknown: the whole model
    assert state.count() == 0


async def test_raw_writes_clear_the_database(recording_db: Recorder) -> None:
    StateManager.state(Item).put(item(1))
    StateManager.state(Forever).put(Forever._from_row({"id": 1}))
    recording_db.add_result(rows=[])
    await Item.raw_sql("DELETE FROM st_item")
    assert StateManager.state(Item).count() == 0
    assert StateManager.state(Forever).count() == 0


async def test_disabled_cache_serves_and_stores_nothing(recording_db: Recorder) -> None:
    configure(enabled=False)
    try:
        recording_db.add_result(rows=[{"id": 1, "code": "a", "value": 1, "tags": None}])
        recording_db.add_result(rows=[{"id": 1, "code": "a", "value": 1, "tags": None}])
        await Item.get(id=1)
        await Item.get(id=1)
        assert len(recording_db.statements) == 2
        assert StateManager.state(Item).count() == 0
    finally:
        configure(enabled=True)


async def test_a_driver_without_sessions_turns_the_cache_off(recording_db: Recorder) -> None:
    configure(cross_process=True)
    recording_db.add_result(rows=[{"id": 1, "code": "a", "value": 1, "tags": None}])
    recording_db.add_result(rows=[{"id": 1, "code": "a", "value": 1, "tags": None}])
    await Item.get(id=1)
    await Item.get(id=1)
    assert len(recording_db.statements) == 2
    assert StateManager.cache_hook().coherence.mode("recorded") == "off"


def test_exports() -> None:
    # __all__ carries only the umbrella's top-level names; the rest is importable by name and
    # re-exported by matrx_orm.state.
    assert matrx_orm_cache.__all__ == ["CachePolicy"]
    from matrx_orm_cache import model_state, state_manager

    assert matrx_orm_cache.StateManager is state_manager.StateManager
    assert matrx_orm_cache.ModelState is model_state.ModelState
    assert matrx_orm_cache.configure is configure


# --- pooler fallback ---------------------------------------------------------------------------


@pytest.fixture
def pooled() -> Iterator[str]:
    from matrx_orm_core import DatabaseProjectConfig, DatabaseRegistry, register_database

    names = ["cache_pooled", "cache_pooled_direct"]
    register_database(
        DatabaseProjectConfig(
            name=names[0],
            host="db.example.com",
            port="6543",
            database_name="app",
            user="app",
            password="",
            alias=names[0],
            pooler=True,
        )
    )
    register_database(
        DatabaseProjectConfig(
            name=names[1],
            host="db.example.com",
            port="6543",
            database_name="app",
            user="app",
            password="",
            alias=names[1],
            pooler=True,
            direct_url="postgresql://app@db.example.com:5432/app",
        )
    )
    try:
        yield names[0]
    finally:
        for name in names:
            DatabaseRegistry.unregister(name)


def test_pooler_without_direct_url_falls_back_to_ttl_and_says_so_once(pooled: str) -> None:
    configure(cross_process=True)
    coherence = StateManager.cache_hook().coherence
    with pytest.warns(ConfigurationWarning, match="direct_url") as record:
        modes = [coherence.mode(pooled) for _ in range(3)]
    assert modes == ["ttl"] * 3
    assert len(record) == 1
    assert StateManager.cache_hook().serving(pooled)  # TTL behaviour: the cache serves
    assert coherence.mode("cache_pooled_direct") == "listen"  # a direct URL: LISTEN there
