"""The cache hook under the transaction rule (§10.30), and select_for_update's transaction check."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import TransactionError
from matrx_orm_core.fields import CharField, IntegerField
from matrx_orm_core.models import Model
from matrx_orm_core.testing import Recorder
from matrx_orm_core.transaction import transaction


class CachedThing(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=20)

    _database = "recorded"


class SpyCache(hooks.NullModelCache):
    """Answers every lookup with one instance and records what core asks of it."""

    def __init__(self) -> None:
        self.lookups: list[Mapping[str, Any]] = []
        self.stored: list[Any] = []
        self.notices: list[Any] = []

    def lookup(self, model: type[Any], lookup: Mapping[str, Any]) -> Any:
        self.lookups.append(dict(lookup))
        return CachedThing._from_row({"id": 1, "name": "from cache"})

    def store(self, model: type[Any], instances: Sequence[Any]) -> None:
        self.stored.extend(instances)

    def notify_write(self, model: type[Any], pks: Sequence[Any] | hooks.AllRows) -> None:
        self.notices.append(pks)


@pytest.fixture
def spy() -> Iterator[SpyCache]:
    cache = SpyCache()
    previous = hooks.set_model_cache(cache)
    try:
        yield cache
    finally:
        hooks.set_model_cache(previous)


async def test_get_outside_a_transaction_reads_the_cache(
    recording_db: Recorder, spy: SpyCache
) -> None:
    got = await CachedThing.get(id=1)
    assert got.name == "from cache"
    assert spy.lookups == [{"id": 1}]
    assert recording_db.statements == []


async def test_get_inside_a_transaction_bypasses_the_cache_and_stores_nothing(
    recording_db: Recorder, spy: SpyCache
) -> None:
    recording_db.add_result(rows=[{"id": 1, "name": "from db"}])
    recording_db.add_result(rows=[{"id": 2, "name": "new"}])
    async with transaction("recorded"):
        got = await CachedThing.get(id=1)
        created = await CachedThing.create(id=2, name="new")
    assert got.name == "from db"
    assert created.name == "new"
    assert spy.lookups == []
    assert spy.stored == []
    assert spy.notices == [[2]]  # write notices still reach the hook, which holds them
    sqls = [sql for sql, _ in recording_db.statements]
    assert (sqls[0], sqls[-1]) == ("BEGIN", "COMMIT")


async def test_select_for_update_outside_a_transaction_raises_before_sql(
    recording_db: Recorder,
) -> None:
    query = CachedThing.filter(name="x").select_for_update()
    with pytest.raises(TransactionError, match="needs an open transaction"):
        await query.all()
    assert recording_db.statements == []


async def test_select_for_update_built_outside_runs_inside_a_transaction(
    recording_db: Recorder,
) -> None:
    query = CachedThing.filter(name="x").select_for_update(skip_locked=True)
    async with transaction("recorded"):
        assert await query.all() == []
    sqls = [sql for sql, _ in recording_db.statements]
    assert sqls[1] == (
        'SELECT "id", "name" FROM "cached_thing" WHERE "name" = $1 FOR UPDATE SKIP LOCKED'
    )
