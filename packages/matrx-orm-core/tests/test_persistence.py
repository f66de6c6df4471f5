"""Tests for model CRUD (models/_persistence.py): exact SQL and parameters, and nothing sent
for bad input. Statements go to the ``recording_db`` fixture's recorder."""

# ruff: noqa: RUF012 - model declarations use list/dict class attributes, as the spec does

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import _loop, hooks
from matrx_orm_core.exceptions import (
    DoesNotExist,
    FieldError,
    IntegrityError,
    MultipleObjectsReturned,
    StateError,
    ValidationError,
)
from matrx_orm_core.fields import BooleanField, CharField, DateTimeField, IntegerField, UUIDField
from matrx_orm_core.models import Model, _persistence
from matrx_orm_core.testing import Recorder

UID = "00000000-0000-0000-0000-000000000001"
UID2 = "00000000-0000-0000-0000-000000000002"
COLS = '"id", "username", "email", "age", "is_active"'


def _min_two(value: str) -> None:
    if len(value) < 2:
        raise ValueError("needs at least 2 characters")


class PUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=10, null=False, validators=[_min_two])
    email = CharField()
    age = IntegerField()
    is_active = BooleanField(default=True)
    _table_name = "user"
    _database = "recorded"


class PStamped(Model):
    id = IntegerField(primary_key=True)
    created = DateTimeField(auto_now_add=True)
    updated = DateTimeField(auto_now=True)
    name = CharField()
    _database = "recorded"


class PMember(Model):
    group_id = IntegerField()
    user_id = IntegerField()
    role = CharField()
    _database = "recorded"
    _db_schema = "auth"
    _primary_keys = ["group_id", "user_id"]


def urow(**values: Any) -> dict[str, Any]:
    row = {"id": UID, "username": "al", "email": None, "age": None, "is_active": True}
    row.update(values)
    return row


class FakeCache:
    """A ModelCache that records calls and answers lookups with ``answer``."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.answer: Any = hooks.MISS

    def lookup(self, model: type, lookup: Mapping[str, Any]) -> Any:
        self.calls.append(("lookup", model, dict(lookup)))
        return self.answer

    def store(self, model: type, instances: Sequence[Any]) -> None:
        self.calls.append(("store", model, list(instances)))

    def notify_write(self, model: type, pks: Any) -> None:
        self.calls.append(("notify_write", model, pks if pks is hooks.ALL_ROWS else list(pks)))

    def clear(self, model: type | None = None, *, database: str | None = None) -> None:
        self.calls.append(("clear", model))

    def on_commit(self, database: str) -> None:
        self.calls.append(("on_commit", database))

    def on_rollback(self, database: str) -> None:
        self.calls.append(("on_rollback", database))


@pytest.fixture
def cache() -> Iterator[FakeCache]:
    fake = FakeCache()
    previous = hooks.set_model_cache(fake)
    yield fake
    hooks.set_model_cache(previous)


# --- create ---------------------------------------------------------------------------------


async def test_create_inserts_non_none_values_and_refreshes(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result(rows=[urow(email="server@x")])
    user = await PUser.create(id=UID, username="al", age=None)
    assert recording_db.statements == [
        (
            'INSERT INTO "user" ("id", "username", "is_active") VALUES ($1, $2, $3) '
            f"RETURNING {COLS}",
            (UID, "al", True),
        )
    ]
    assert user._persisted is True
    assert user.email == "server@x"
    assert cache.calls == [("notify_write", PUser, [UID]), ("store", PUser, [user])]


async def test_create_with_unknown_field_sends_nothing(recording_db: Recorder) -> None:
    with pytest.raises(FieldError) as info:
        await PUser.create(id=UID, username="al", nickname="x")
    assert "'nickname' is not a field of PUser" in info.value.message
    assert "Valid fields: id, username, email, age, is_active" in info.value.message
    assert recording_db.statements == []


async def test_create_with_invalid_value_sends_nothing(recording_db: Recorder) -> None:
    with pytest.raises(PUser.ValidationError) as info:
        await PUser.create(id=UID, username="x" * 11)
    assert info.value.field == "username"
    assert info.value.model == "PUser"
    assert info.value.operation == "create"
    cause = info.value.__cause__
    assert type(cause) is ValidationError  # the field's error, chained
    assert cause is not info.value
    with pytest.raises(ValidationError, match="validator _min_two"):
        await PUser.create(id=UID, username="x")
    assert recording_db.statements == []


async def test_create_without_values_uses_default_values(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"group_id": 1, "user_id": 2, "role": None}])
    member = await PMember.create()
    assert recording_db.statements == [
        ('INSERT INTO "auth"."p_member" DEFAULT VALUES RETURNING "group_id", "user_id", "role"', ())
    ]
    assert (member.group_id, member.user_id) == (1, 2)


async def test_create_surfaces_integrity_errors(recording_db: Recorder) -> None:
    recording_db.add_server_error("23505", "duplicate key", constraint_name="user_pkey")
    with pytest.raises(IntegrityError):
        await PUser.create(id=UID, username="al")
    assert len(recording_db.statements) == 1


async def test_auto_now_and_auto_now_add(recording_db: Recorder) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    recording_db.add_result(rows=[{"id": 1, "created": before, "updated": before, "name": None}])
    stamped = await PStamped.create(id=1)
    sql, params = recording_db.statements[0]
    assert sql.startswith('INSERT INTO "p_stamped" ("id", "created", "updated") VALUES')
    assert params[0] == 1
    assert params[1] == params[2]
    assert params[1] >= before
    kept = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    recording_db.add_result(rows=[{"id": 2, "created": kept, "updated": before, "name": None}])
    await PStamped.create(id=2, created=kept)
    assert recording_db.statements[1].params[1] == kept
    recording_db.add_result(rows=[{"id": 1, "created": before, "updated": before, "name": "n"}])
    stamped.name = "n"
    await stamped.save()
    sql, params = recording_db.statements[2]
    assert sql == (
        'UPDATE "p_stamped" SET "created" = $1, "updated" = $2, "name" = $3 WHERE "id" = $4 '
        'RETURNING "id", "created", "updated", "name"'
    )
    assert params[0] == before
    assert params[1] > before
    assert params[2:] == ("n", 1)


# --- get ------------------------------------------------------------------------------------


async def test_get_selects_explicit_columns_with_limit_two(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result(rows=[urow()])
    user = await PUser.get(id=UID)
    assert recording_db.statements == [
        (f'SELECT {COLS} FROM "user" WHERE "id" = $1 LIMIT $2', (UID, 2))
    ]
    assert user._persisted is True
    assert (user.id, user.username, user.is_active) == (UID, "al", True)
    assert cache.calls == [("lookup", PUser, {"id": UID}), ("store", PUser, [user])]


async def test_get_none_value_becomes_is_null(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow()])
    await PUser.get(email=None, username="al")
    assert recording_db.statements == [
        (
            f'SELECT {COLS} FROM "user" WHERE ("email" IS NULL AND "username" = $1) LIMIT $2',
            ("al", 2),
        )
    ]


async def test_get_no_row_raises_model_does_not_exist(recording_db: Recorder) -> None:
    with pytest.raises(PUser.DoesNotExist) as info:
        await PUser.get(id=UID)
    err = info.value
    assert isinstance(err, DoesNotExist)
    assert err.model == "PUser"
    assert err.operation == "get"
    assert err.details["filters"] == {"id": UID}


async def test_get_two_rows_raises_multiple_objects_returned(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow(), urow(id=UID2)])
    with pytest.raises(PUser.MultipleObjectsReturned) as info:
        await PUser.get(username="al")
    assert isinstance(info.value, MultipleObjectsReturned)
    assert info.value.details["count"] == 2


async def test_get_bad_names_and_values_send_nothing(recording_db: Recorder) -> None:
    with pytest.raises(FieldError, match="'nope' is not a field of PUser"):
        await PUser.get(nope=1)
    with pytest.raises(FieldError) as info:
        await PUser.get(username__nope="a")
    assert "PUser.get(): unknown lookup 'nope' in 'username__nope'" in info.value.message
    with pytest.raises(FieldError, match=r"PUser.get\(\): 'nope' \(in 'nope__gt'\)"):
        await PUser.get(nope__gt=1)
    with pytest.raises(PUser.ValidationError):
        await PUser.get(age__gt="many")
    with pytest.raises(PUser.ValidationError):
        await PUser.get(id="not-a-uuid")
    with pytest.raises(PUser.ValidationError):
        await PUser.get(age="many")
    assert recording_db.statements == []


async def test_get_with_lookups_uses_the_builder_and_skips_the_cache_lookup(
    recording_db: Recorder, cache: FakeCache
) -> None:
    cache.answer = PUser(id=UID, username="al")  # would be returned for a plain equality get
    recording_db.add_result(rows=[urow()])
    user = await PUser.get(age__gt=1, username="al")
    assert user.id == UID
    assert recording_db.statements[-1].sql == (
        f'SELECT {COLS} FROM "user" WHERE ("age" > $1 AND "username" = $2) LIMIT $3'
    )
    assert recording_db.statements[-1].params == (1, "al", 2)
    assert [call[0] for call in cache.calls] == ["store"]
    recording_db.add_result(rows=[])
    with pytest.raises(PUser.DoesNotExist) as info:
        await PUser.get(username__icontains="a")
    assert info.value.operation == "get"
    assert info.value.details["filters"] == {"username__icontains": "a"}
    recording_db.add_result(rows=[])
    assert await PUser.get_or_none(age__in=[1, 2]) is None


async def test_get_uses_cache_hits_without_sql(recording_db: Recorder, cache: FakeCache) -> None:
    cached = PUser(id=UID, username="al")
    cache.answer = cached
    assert await PUser.get(id=UID) is cached
    cache.answer = None  # the cache knows no row matches
    with pytest.raises(PUser.DoesNotExist):
        await PUser.get(id=UID)
    assert recording_db.statements == []
    recording_db.add_result(rows=[urow()])
    cache.calls.clear()
    await PUser.get(use_cache=False, id=UID)
    assert [call[0] for call in cache.calls] == ["store"]
    assert len(recording_db.statements) == 1


async def test_get_or_none_only_swallows_does_not_exist(recording_db: Recorder) -> None:
    assert await PUser.get_or_none(id=UID) is None
    recording_db.add_result(rows=[urow(), urow(id=UID2)])
    with pytest.raises(MultipleObjectsReturned):
        await PUser.get_or_none(username="al")


async def test_get_by_id_and_get_many(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow()])
    assert (await PUser.get_by_id(UID)).id == UID
    recording_db.add_result(rows=[urow(), urow(id=UID2)])
    many = await PUser.get_many(is_active=True)
    assert [u.id for u in many] == [UID, UID2]
    assert recording_db.statements == [
        (f'SELECT {COLS} FROM "user" WHERE "id" = $1 LIMIT $2', (UID, 2)),
        (f'SELECT {COLS} FROM "user" WHERE "is_active" = $1', (True,)),
    ]


async def test_compiled_sql_is_cached_per_shape(
    recording_db: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    real = _persistence.compile_statement

    def counting(node: Any) -> Any:
        calls.append(node)
        return real(node)

    monkeypatch.setattr(_persistence, "compile_statement", counting)
    PUser._meta.sql_cache.clear()
    recording_db.add_result(rows=[urow()])
    recording_db.add_result(rows=[urow(id=UID2)])
    await PUser.get(id=UID)
    await PUser.get(id=UID2)
    assert len(calls) == 1
    assert ("get", (("id", False),)) in PUser._meta.sql_cache
    assert recording_db.params == [(UID, 2), (UID2, 2)]


# --- save -------------------------------------------------------------------------------------


async def test_save_inserts_a_new_instance(recording_db: Recorder, cache: FakeCache) -> None:
    recording_db.add_result(rows=[urow(age=3)])
    user = PUser(id=UID, username="al", age=3)
    assert await user.save() is user
    assert recording_db.statements == [
        (
            'INSERT INTO "user" ("id", "username", "age", "is_active") VALUES ($1, $2, $3, $4) '
            f"RETURNING {COLS}",
            (UID, "al", 3, True),
        )
    ]
    assert user._persisted is True


async def test_save_updates_every_loaded_non_key_field(
    recording_db: Recorder, cache: FakeCache
) -> None:
    user = PUser._from_row(urow())
    user.email = "e@x"
    recording_db.add_result(rows=[urow(email="e@x")])
    await user.save()
    assert recording_db.statements == [
        (
            'UPDATE "user" SET "username" = $1, "email" = $2, "age" = $3, "is_active" = $4 '
            f'WHERE "id" = $5 RETURNING {COLS}',
            ("al", "e@x", None, True, UID),
        )
    ]
    assert cache.calls == [("notify_write", PUser, [UID]), ("store", PUser, [user])]


async def test_save_skips_deferred_fields(recording_db: Recorder) -> None:
    user = PUser._from_row({"id": UID, "username": "al", "is_active": True})
    user.__dict__["_deferred"] = frozenset({"email", "age"})
    recording_db.add_result(rows=[urow()])
    await user.save()
    assert recording_db.statements == [
        (
            f'UPDATE "user" SET "username" = $1, "is_active" = $2 WHERE "id" = $3 RETURNING {COLS}',
            ("al", True, UID),
        )
    ]
    assert user._deferred == frozenset()


async def test_save_of_a_missing_row_raises_does_not_exist(recording_db: Recorder) -> None:
    user = PUser._from_row(urow())
    with pytest.raises(PUser.DoesNotExist) as info:
        await user.save()
    assert info.value.operation == "save"
    assert info.value.details["filters"] == {"id": UID}


async def test_save_with_bad_state_sends_nothing(recording_db: Recorder) -> None:
    no_key = PUser._from_row(urow(id=None))
    with pytest.raises(PUser.ValidationError, match=r"PUser\.id is None"):
        await no_key.save()
    not_null = PUser._from_row(urow(username=None))
    with pytest.raises(PUser.ValidationError) as info:
        await not_null.save()
    assert info.value.field == "username"
    assert recording_db.statements == []


# --- update -----------------------------------------------------------------------------------


async def test_update_writes_only_the_given_fields(
    recording_db: Recorder, cache: FakeCache
) -> None:
    user = PUser._from_row(urow())
    recording_db.add_result(rows=[urow(age=5, email="x@y")])
    assert await user.update(age=5, email="x@y") is user
    assert recording_db.statements == [
        (
            f'UPDATE "user" SET "email" = $1, "age" = $2 WHERE "id" = $3 RETURNING {COLS}',
            ("x@y", 5, UID),
        )
    ]
    assert (user.age, user.email) == (5, "x@y")
    assert cache.calls == [("notify_write", PUser, [UID]), ("store", PUser, [user])]


async def test_update_errors_before_sql(recording_db: Recorder) -> None:
    new = PUser(id=UID, username="al")
    with pytest.raises(StateError, match="Call save"):
        await new.update(age=1)
    persisted = PUser._from_row(urow())
    with pytest.raises(FieldError, match="'nope' is not a field"):
        await persisted.update(nope=1)
    with pytest.raises(PUser.ValidationError):
        await persisted.update(username="x" * 11, age=4)
    assert (persisted.username, persisted.age) == ("al", None)  # restored
    assert await persisted.update() is persisted
    assert recording_db.statements == []


async def test_update_restores_values_when_the_row_is_gone(recording_db: Recorder) -> None:
    user = PUser._from_row(urow(age=1))
    with pytest.raises(PUser.DoesNotExist):
        await user.update(age=2, email="new")
    assert (user.age, user.email) == (1, None)
    recording_db.add_server_error("23505", "duplicate")
    with pytest.raises(IntegrityError):
        await user.update(age=3)
    assert user.age == 1
    assert len(recording_db.statements) == 2


async def test_composite_primary_key_where(recording_db: Recorder) -> None:
    member = PMember._from_row({"group_id": 1, "user_id": 2, "role": "a"})
    recording_db.add_result(rows=[{"group_id": 1, "user_id": 2, "role": "b"}])
    await member.update(role="b")
    await member.delete()
    assert recording_db.statements == [
        (
            'UPDATE "auth"."p_member" SET "role" = $1 WHERE ("group_id" = $2 AND "user_id" = $3) '
            'RETURNING "group_id", "user_id", "role"',
            ("b", 1, 2),
        ),
        ('DELETE FROM "auth"."p_member" WHERE ("group_id" = $1 AND "user_id" = $2)', (1, 2)),
    ]


# --- delete -----------------------------------------------------------------------------------


async def test_delete_by_primary_key(recording_db: Recorder, cache: FakeCache) -> None:
    user = PUser._from_row(urow())
    recording_db.add_result(tag="DELETE 1")
    assert await user.delete() is None
    assert recording_db.statements == [('DELETE FROM "user" WHERE "id" = $1', (UID,))]
    assert user._persisted is False
    assert cache.calls == [("notify_write", PUser, [UID])]


async def test_delete_without_primary_key_sends_nothing(recording_db: Recorder) -> None:
    with pytest.raises(ValidationError, match="delete\\(\\) needs the primary key"):
        await PUser(username="al").delete()
    assert recording_db.statements == []


# --- class-level helpers ----------------------------------------------------------------------


async def test_count_exists_and_all(recording_db: Recorder, cache: FakeCache) -> None:
    recording_db.add_result(rows=[{"count": 4}])
    recording_db.add_result(rows=[{"exists": True}])
    recording_db.add_result(rows=[urow()])
    assert await PUser.count(is_active=True) == 4
    assert await PUser.exists(username="al") is True
    users = await PUser.all()
    assert recording_db.statements == [
        ('SELECT count(*) FROM "user" WHERE "is_active" = $1', (True,)),
        ('SELECT EXISTS(SELECT 1 FROM "user" WHERE "username" = $1)', ("al",)),
        (f'SELECT {COLS} FROM "user"', ()),
    ]
    assert cache.calls == [("store", PUser, users)]


def test_sync_twins_run_on_the_orm_loop(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow()])
    recording_db.add_result(rows=[{"count": 1}])
    try:
        user = PUser.get_sync(id=UID)
        assert user.username == "al"
        assert PUser.count_sync() == 1
    finally:
        _loop.shutdown()  # close the ORM loop's pool for "recorded" (other tests count pools)
    assert recording_db.statements == [
        (f'SELECT {COLS} FROM "user" WHERE "id" = $1 LIMIT $2', (UID, 2)),
        ('SELECT count(*) FROM "user"', ()),
    ]


# --- signals around the CRUD statements (the Signal class itself: test_signals.py) -----------


async def test_create_with_receivers_caches_before_post_save(
    recording_db: Recorder, cache: FakeCache
) -> None:
    from matrx_orm_core import signals

    seen: list[Any] = []

    def on_post_save(sender: type, instance: PUser, created: bool, **kwargs: Any) -> None:
        seen.append((created, instance._persisted, len(cache.calls)))

    signals.post_save.connect(on_post_save)
    try:
        recording_db.add_result(rows=[urow()])
        await PUser.create(id=UID, username="al")
    finally:
        signals.post_save.disconnect(on_post_save)
    assert seen == [(True, True, 2)]  # notify_write and store already happened
    assert cache.calls == [("notify_write", PUser, [UID]), ("store", PUser, [cache.calls[1][2][0]])]


async def test_save_update_path_validates_the_key_before_pre_save(
    recording_db: Recorder,
) -> None:
    from matrx_orm_core import signals

    fired: list[str] = []
    user = PUser._from_row(urow(id=None))

    def receiver(sender: type, **kwargs: Any) -> None:
        fired.append("pre_save")

    signals.pre_save.connect(receiver)
    try:
        with pytest.raises(PUser.ValidationError):
            await user.save()
    finally:
        signals.pre_save.disconnect(receiver)
    assert fired == []
    assert recording_db.statements == []
