"""Model.raw and Model.raw_sql against a real server: the spec's Raw SQL example, rows with
extra or missing columns, bound parameters, non-SELECT statements and transactions."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm import CharField, IntegerField, Model, QueryError
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import hooks
from matrx_orm_core.transaction import transaction

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class RawPerson(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=100)
    age = IntegerField()
    role = CharField(max_length=20, default="user")

    _table_name = "raw_users"
    _database = DB


SCHEMA = """
CREATE TABLE raw_users (
    id integer PRIMARY KEY,
    name varchar(100) NOT NULL,
    age integer NOT NULL,
    role varchar(20) NOT NULL DEFAULT 'user'
);
CREATE TABLE raw_posts (
    id serial PRIMARY KEY,
    author_id integer NOT NULL REFERENCES raw_users (id),
    title text NOT NULL
);
"""


class ClearRecorder:
    """A ModelCache that records clear() calls."""

    def __init__(self) -> None:
        self.cleared: list[str | None] = []

    def lookup(self, model: type[Any], lookup: Mapping[str, Any]) -> Any:
        return hooks.MISS

    def store(self, model: type[Any], instances: Sequence[Any]) -> None:
        pass

    def notify_write(self, model: type[Any], pks: Any) -> None:
        pass

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        self.cleared.append(database)

    def on_commit(self, database: str) -> None:
        pass

    def on_rollback(self, database: str) -> None:
        pass


@pytest.fixture
def cache() -> Iterator[ClearRecorder]:
    fake = ClearRecorder()
    previous = hooks.set_model_cache(fake)
    try:
        yield fake
    finally:
        hooks.set_model_cache(previous)


@pytest.fixture
async def people(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(SCHEMA)
    try:
        for pk, name, age, role in [
            (1, "Cleo", 30, "admin"),
            (2, "Abe", 17, "user"),
            (3, "Bea", 44, "user"),
        ]:
            await RawPerson.create(id=pk, name=name, age=age, role=role)
        yield db
    finally:
        await db.execute("DROP TABLE IF EXISTS raw_posts; DROP TABLE IF EXISTS raw_users;")


async def test_spec_raw_sql_example(people: MigrationDB) -> None:
    # Hydrated model instances
    users = await RawPerson.raw("SELECT * FROM raw_users WHERE age > $1 ORDER BY name", 18)
    assert [type(u) for u in users] == [RawPerson, RawPerson]
    assert [(u.name, u.age) for u in users] == [("Bea", 44), ("Cleo", 30)]
    assert all(u._persisted and u._deferred == frozenset() for u in users)

    # Raw dicts (no hydration)
    rows = await RawPerson.raw_sql(
        "SELECT count(*) as cnt, role FROM raw_users GROUP BY role ORDER BY role"
    )
    assert rows == [{"cnt": 1, "role": "admin"}, {"cnt": 2, "role": "user"}]
    assert all(type(row) is dict for row in rows)


async def test_raw_join_with_extra_columns(people: MigrationDB) -> None:
    await people.execute(
        "INSERT INTO raw_posts (author_id, title) VALUES (1, 'a'), (1, 'b'), (3, 'c')"
    )
    users = await RawPerson.raw(
        "SELECT u.*, count(p.id) AS post_count, upper(u.name) AS shout "
        "FROM raw_users u LEFT JOIN raw_posts p ON p.author_id = u.id "
        "GROUP BY u.id ORDER BY u.id"
    )
    assert [(u.id, u._extra_data) for u in users] == [
        (1, {"post_count": 2, "shout": "CLEO"}),
        (2, {"post_count": 0, "shout": "ABE"}),
        (3, {"post_count": 1, "shout": "BEA"}),
    ]
    # a join whose second table also has an "id": the first occurrence is the model's
    (joined,) = await RawPerson.raw(
        "SELECT u.id, u.name, p.id, p.title FROM raw_users u "
        "JOIN raw_posts p ON p.author_id = u.id WHERE p.title = $1",
        "c",
    )
    assert joined.id == 3
    assert joined._extra_data == {"title": "c"}


async def test_raw_missing_columns_are_not_overwritten_by_save(people: MigrationDB) -> None:
    (user,) = await RawPerson.raw("SELECT id, name FROM raw_users WHERE id = $1", 2)
    assert user.__dict__["age"] is None
    assert user._deferred == frozenset({"age", "role"})
    user.name = "Abel"
    await user.save()
    row = await people.fetch_one("SELECT name, age, role FROM raw_users WHERE id = 2")
    assert row is not None
    assert dict(row.items()) == {"name": "Abel", "age": 17, "role": "user"}


async def test_raw_values_are_bound_not_formatted(people: MigrationDB) -> None:
    hostile = "Robert'); DROP TABLE raw_users; --  $1 :name ünï"
    await RawPerson.raw_sql(
        "INSERT INTO raw_users (id, name, age) VALUES ($1, $2, $3)", 9, hostile, 1
    )
    (back,) = await RawPerson.raw("SELECT * FROM raw_users WHERE name = $1", hostile)
    assert back.name == hostile
    assert await RawPerson.count() == 4


async def test_raw_write_clears_cache_and_select_does_not(
    people: MigrationDB, cache: ClearRecorder
) -> None:
    await RawPerson.raw("SELECT * FROM raw_users")
    await RawPerson.raw_sql("WITH x AS (SELECT 1 AS one) SELECT * FROM x")
    assert cache.cleared == []
    rows = await RawPerson.raw_sql("UPDATE raw_users SET age = age + 1 WHERE id = $1", 1)
    assert rows == []
    assert cache.cleared == [DB]
    bumped = await RawPerson.raw("UPDATE raw_users SET age = age + 1 RETURNING *")
    assert sorted(u.age for u in bumped) == [18, 32, 45]
    assert cache.cleared == [DB, DB]


async def test_raw_runs_on_the_transaction_connection(people: MigrationDB) -> None:
    class Boom(Exception):
        pass

    async def delete_then_fail() -> None:
        async with transaction(DB):
            await RawPerson.raw_sql("DELETE FROM raw_users")
            assert await RawPerson.raw_sql("SELECT count(*) AS n FROM raw_users") == [{"n": 0}]
            raise Boom

    with pytest.raises(Boom):
        await delete_then_fail()
    assert await RawPerson.count() == 3


async def test_raw_syntax_error_is_a_query_error(people: MigrationDB) -> None:
    with pytest.raises(QueryError) as info:
        await RawPerson.raw("SELEC * FROM raw_users")
    assert info.value.model == "RawPerson"
    assert info.value.method_name == "raw"
