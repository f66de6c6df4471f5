"""Tests for Model.raw / Model.raw_sql: exact SQL and parameters, hydration of arbitrary rows,
and the cache clear a non-SELECT raw statement triggers (§10.30)."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import IntegrityError, QueryError, ValidationError
from matrx_orm_core.fields import CharField, EnumField, IntegerField, UUIDField
from matrx_orm_core.models import Model
from matrx_orm_core.sql_executor.raw import hydrate_raw
from matrx_orm_core.testing import Recorder

UID = "00000000-0000-0000-0000-000000000001"


class RawUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=50)
    age = IntegerField(null=True)
    _table_name = "users"
    _database = "recorded"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class RawStamp(Model):
    id = IntegerField(primary_key=True)
    color = EnumField(enum_class=Color, null=True)
    _database = "recorded"


class FakeCache:
    """A ModelCache that records clear() calls."""

    def __init__(self) -> None:
        self.cleared: list[tuple[Any, str | None]] = []

    def lookup(self, model: type[Any], lookup: Mapping[str, Any]) -> Any:
        return hooks.MISS

    def store(self, model: type[Any], instances: Sequence[Any]) -> None:
        pass

    def notify_write(self, model: type[Any], pks: Any) -> None:
        pass

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        self.cleared.append((model, database))

    def on_commit(self, database: str) -> None:
        pass

    def on_rollback(self, database: str) -> None:
        pass


@pytest.fixture
def cache() -> Iterator[FakeCache]:
    fake = FakeCache()
    previous = hooks.set_model_cache(fake)
    try:
        yield fake
    finally:
        hooks.set_model_cache(previous)


def _row(**values: Any) -> dict[str, Any]:
    return values


# --- SQL and parameters -----------------------------------------------------------------------


async def test_raw_sends_text_and_params_verbatim(recording_db: Recorder) -> None:
    recording_db.add_result([_row(id=UID, username="ann", age=30)])
    sql = "SELECT * FROM users WHERE age > $1 ORDER BY name"
    users = await RawUser.raw(sql, 18)
    assert recording_db.statements == [(sql, (18,))]
    assert len(users) == 1
    user = users[0]
    assert isinstance(user, RawUser)
    assert (user.id, user.username, user.age) == (UID, "ann", 30)
    assert user._persisted is True
    assert user._deferred == frozenset()
    assert "_extra_data" not in user.__dict__


async def test_raw_params_are_never_formatted(recording_db: Recorder) -> None:
    hostile = "'; DROP TABLE users; --"
    recording_db.add_result([])
    assert await RawUser.raw_sql("SELECT * FROM users WHERE username = $1", hostile) == []
    assert recording_db.statements == [
        ("SELECT * FROM users WHERE username = $1", (hostile,)),
    ]


async def test_raw_sql_returns_plain_dicts(recording_db: Recorder) -> None:
    recording_db.add_result([_row(cnt=2, role="admin"), _row(cnt=5, role="user")])
    rows = await RawUser.raw_sql("SELECT count(*) as cnt, role FROM users GROUP BY role")
    assert rows == [{"cnt": 2, "role": "admin"}, {"cnt": 5, "role": "user"}]
    assert all(type(row) is dict for row in rows)
    assert recording_db.params == [()]


@pytest.mark.parametrize("bad", ["", "   ", None, 42, b"SELECT 1"])
async def test_raw_rejects_non_sql_without_sending(recording_db: Recorder, bad: Any) -> None:
    with pytest.raises(RawUser.ValidationError) as info:
        await RawUser.raw(bad)
    assert isinstance(info.value, ValidationError)
    assert info.value.method_name == "raw"
    with pytest.raises(RawUser.ValidationError):
        await RawUser.raw_sql(bad)
    assert recording_db.statements == []


async def test_raw_server_error_is_translated_with_context(recording_db: Recorder) -> None:
    recording_db.add_server_error("42601", 'syntax error at or near "SELEC"')
    with pytest.raises(QueryError) as info:
        await RawUser.raw("SELEC 1")
    assert info.value.model == "RawUser"
    assert info.value.method_name == "raw"
    assert info.value.details["sql"] == "SELEC 1"


# --- hydration --------------------------------------------------------------------------------


async def test_raw_extra_columns_go_to_extra_data(recording_db: Recorder) -> None:
    recording_db.add_result([_row(id=UID, username="ann", age=3, post_count=7, role="x")])
    (user,) = await RawUser.raw(
        "SELECT u.*, count(p.id) AS post_count, 'x' AS role FROM users u JOIN posts p ..."
    )
    assert (user.id, user.username, user.age) == (UID, "ann", 3)
    assert user._extra_data == {"post_count": 7, "role": "x"}
    assert user._deferred == frozenset()
    assert user._persisted is True


async def test_raw_missing_columns_are_none_and_deferred(recording_db: Recorder) -> None:
    recording_db.add_result([_row(id=UID, username="ann")])
    (user,) = await RawUser.raw("SELECT id, username FROM users")
    assert user.__dict__["age"] is None
    assert user._deferred == frozenset({"age"})
    recording_db.clear()
    recording_db.add_result([_row(id=UID, username="bob", age=None)])
    user.username = "bob"
    await user.save()
    # save() writes only loaded fields: the column raw() did not load is left alone
    assert len(recording_db.statements) == 1
    sql, params = recording_db.statements[0]
    assert sql.startswith('UPDATE "users" SET "username" = $1')
    assert '"age"' not in sql.split("RETURNING")[0]
    assert params == ("bob", UID)


async def test_raw_repeated_column_first_wins() -> None:
    class Row2(dict[str, Any]):
        """A row with a repeated column name, as a join returns it."""

        def __init__(self, pairs: list[tuple[str, Any]]) -> None:
            super().__init__(pairs)
            self.pairs = pairs

        def keys(self) -> Any:
            return [k for k, _ in self.pairs]

        def values(self) -> Any:
            return [v for _, v in self.pairs]

        def items(self) -> Any:
            return list(self.pairs)

    row = Row2([("id", UID), ("username", "ann"), ("age", 1), ("id", "other")])
    (user,) = hydrate_raw(RawUser, [row])  # type: ignore[list-item]
    assert user.id == UID
    assert "_extra_data" not in user.__dict__


def test_hydrate_raw_converts_loaded_fields_only() -> None:
    (stamp,) = hydrate_raw(RawStamp, [{"id": 1, "color": "red"}])  # type: ignore[list-item]
    assert stamp.color is Color.RED
    (partial,) = hydrate_raw(RawStamp, [{"id": 2, "note": "n"}])  # type: ignore[list-item]
    assert partial.__dict__["color"] is None
    assert partial._deferred == frozenset({"color"})
    assert partial._extra_data == {"note": "n"}
    assert hydrate_raw(RawStamp, []) == []


@pytest.mark.parametrize(
    "row", [{"id": 1, "color": "green"}, {"id": 1, "color": "green", "extra": 1}]
)
def test_hydrate_raw_bad_value_names_the_field(row: dict[str, Any]) -> None:
    with pytest.raises(RawStamp.ValidationError) as info:
        hydrate_raw(RawStamp, [row])  # type: ignore[list-item]
    assert info.value.field == "color"
    assert info.value.model == "RawStamp"
    assert info.value.method_name == "raw"


# --- the cache hook ------------------------------------------------------------------------


async def test_select_raw_does_not_clear_cache(recording_db: Recorder, cache: FakeCache) -> None:
    recording_db.add_result([])
    await RawUser.raw("SELECT * FROM users")
    recording_db.add_result([])
    await RawUser.raw_sql("WITH x AS (SELECT 1) SELECT * FROM x")
    assert cache.cleared == []


async def test_non_select_raw_clears_database_cache(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result([])
    await RawUser.raw_sql("UPDATE users SET age = age + 1 WHERE id = $1", UID)
    assert cache.cleared == [(None, "recorded")]
    recording_db.add_result([_row(id=UID, username="a", age=1)])
    await RawUser.raw("DELETE FROM users WHERE id = $1 RETURNING *", UID)
    assert cache.cleared == [(None, "recorded"), (None, "recorded")]


async def test_failed_write_still_clears_cache(recording_db: Recorder, cache: FakeCache) -> None:
    recording_db.add_server_error("23505", "duplicate key", constraint_name="users_pkey")
    with pytest.raises(IntegrityError):
        await RawUser.raw_sql("INSERT INTO users (id) VALUES ($1)", UID)
    assert cache.cleared == [(None, "recorded")]
