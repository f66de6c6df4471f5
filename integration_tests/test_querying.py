"""The spec README's Querying and JSONB Operators examples, and QueryBuilder, on a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import pytest

from matrx_orm import (
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    JSONBField,
    Model,
    TextField,
    TransactionError,
    transaction,
)
from matrx_orm.migrations import MigrationDB
from matrx_orm_core.query import QueryBuilder
from matrx_orm_core.query.builder import CHUNK_SIZE

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class QUser(Model):
    id = IntegerField(primary_key=True)
    username = CharField(max_length=100)
    email = CharField(max_length=255, null=True)
    age = IntegerField(null=True)
    status = CharField(max_length=20, null=True)
    role = CharField(max_length=20, null=True)
    is_active = BooleanField(default=True)
    deleted_at = DateTimeField(null=True)
    bio = TextField(null=True)

    _table_name = "q_user"
    _database = DB


class QConfig(Model):
    id = IntegerField(primary_key=True)
    data = JSONBField(null=True)

    _table_name = "q_config"
    _database = DB


SCHEMA = """
CREATE TABLE "q_user" (
    "id" integer PRIMARY KEY,
    "username" varchar(100) NOT NULL,
    "email" varchar(255),
    "age" integer,
    "status" varchar(20),
    "role" varchar(20),
    "is_active" boolean NOT NULL DEFAULT true,
    "deleted_at" timestamptz,
    "bio" text
);
CREATE TABLE "q_config" ("id" integer PRIMARY KEY, "data" jsonb);
"""

USERS: list[dict[str, Any]] = [
    {"id": 1, "username": "alice", "age": 30, "status": "ok", "role": "admin"},
    {"id": 2, "username": "bob", "age": 17, "status": "banned", "role": "user"},
    {"id": 3, "username": "carol", "age": 65, "status": "ok", "role": "user"},
    {"id": 4, "username": "dave", "age": 18, "status": "ok", "role": "user", "is_active": False},
    {"id": 5, "username": "al_100%", "age": None, "status": None, "role": "user"},
]


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute('DROP TABLE IF EXISTS "q_user"; DROP TABLE IF EXISTS "q_config";')
    await db.execute(SCHEMA)
    try:
        for row in USERS:
            await QUser.create(**row)
        await QUser.filter(id=4).update(deleted_at="2024-01-01T00:00:00+00:00")
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "q_user"; DROP TABLE IF EXISTS "q_config";')


def ids(users: list[QUser]) -> list[int]:
    return sorted(user.id for user in users)


async def test_readme_filter_operators(tables: MigrationDB) -> None:
    assert ids(await QUser.filter(username="alice").all()) == [1]
    assert ids(await QUser.filter(age__gt=18).all()) == [1, 3]
    assert ids(await QUser.filter(age__gte=18).all()) == [1, 3, 4]
    assert ids(await QUser.filter(age__lt=65).all()) == [1, 2, 4]
    assert ids(await QUser.filter(age__lte=65).all()) == [1, 2, 3, 4]
    assert ids(await QUser.filter(status__ne="banned").all()) == [1, 3, 4]
    assert ids(await QUser.filter(id__in=[1, 3, 99]).all()) == [1, 3]
    assert ids(await QUser.filter(id__in=[]).all()) == []
    assert ids(await QUser.filter(id__not_in=[1, 2]).all()) == [3, 4, 5]
    assert ids(await QUser.filter(deleted_at__isnull=True).all()) == [1, 2, 3, 5]
    assert ids(await QUser.filter(deleted_at__isnull=False).all()) == [4]
    assert ids(await QUser.filter(username__contains="a").all()) == [1, 3, 4, 5]
    assert ids(await QUser.filter(username__icontains="ALI").all()) == [1]
    assert ids(await QUser.filter(username__startswith="al").all()) == [1, 5]
    assert ids(await QUser.filter(username__endswith="ce").all()) == [1]
    assert ids(await QUser.filter(username__iexact="ALICE").all()) == [1]
    assert ids(await QUser.filter(age__range=(18, 30)).all()) == [1, 4]
    assert ids(await QUser.filter(username__regex="^[ab]").all()) == [1, 2, 5]


async def test_like_metacharacters_match_literally(tables: MigrationDB) -> None:
    assert ids(await QUser.filter(username__contains="_").all()) == [5]
    assert ids(await QUser.filter(username__endswith="%").all()) == [5]
    assert ids(await QUser.filter(username__contains="l_1").all()) == [5]
    assert ids(await QUser.filter(username__istartswith="AL_").all()) == [5]


async def test_readme_chaining(tables: MigrationDB) -> None:
    results = await (
        QUser.filter(is_active=True)
        .exclude(role="admin")
        .order_by("username")
        .limit(20)
        .offset(0)
        .select("id", "username", "email")
        .all()
    )
    assert [u.username for u in results] == ["al_100%", "bob", "carol"]
    assert results[0].age is None
    assert results[0]._deferred
    assert [
        u.id for u in await QUser.filter(is_active=True).order_by("id").offset(1).limit(2).all()
    ] == [2, 3]


async def test_readme_terminals(tables: MigrationDB) -> None:
    assert len(await QUser.filter(is_active=True).all()) == 4
    one = await QUser.filter(username="alice").get()
    assert one.id == 1
    with pytest.raises(QUser.MultipleObjectsReturned):
        await QUser.filter(is_active=True).get()
    with pytest.raises(QUser.DoesNotExist):
        await QUser.filter(username="nobody").get()
    assert await QUser.filter(username="nobody").get_or_none() is None
    first = await QUser.filter(is_active=True).first()
    assert first is not None
    assert first.id == 1
    last = await QUser.filter(is_active=True).last()
    assert last is not None
    assert last.id == 5
    assert await QUser.filter(is_active=True).count() == 4
    assert await QUser.filter(username="alice").exists() is True
    assert await QUser.filter(username="nobody").exists() is False
    assert await QUser.count(age__gt=18) == 2
    assert await QUser.exists(age__gt=100) is False
    assert await QueryBuilder(QUser).distinct("role").order_by("role", "id").count() == 2
    assert await QueryBuilder(QUser).only("role").distinct().count() == 5
    assert await QueryBuilder(QUser).order_by("id")[1:3].count() == 2


async def test_readme_values(tables: MigrationDB) -> None:
    qs = QUser.filter(is_active=True).order_by("id")
    rows = await qs.values("id", "username")
    assert rows[0] == {"id": 1, "username": "alice"}
    assert list(rows[0]) == ["id", "username"]
    assert (await qs.values_list("id", "username"))[:2] == [(1, "alice"), (2, "bob")]
    assert await qs.values_list("username", flat=True) == ["alice", "bob", "carol", "al_100%"]
    assert len((await qs.values())[0]) == len(QUser._meta.fields)
    roles = await QueryBuilder(QUser).distinct().order_by("role").values_list("role", flat=True)
    assert roles == ["admin", "user"]


async def test_readme_slicing(tables: MigrationDB) -> None:
    page = await QUser.filter(is_active=True).order_by("username")[1:3].all()
    assert [u.username for u in page] == ["alice", "bob"]
    rest = await QUser.filter(is_active=True).order_by("username")[2:].all()
    assert [u.username for u in rest] == ["bob", "carol"]


async def test_update_delete_and_deferred_save(tables: MigrationDB) -> None:
    assert await QUser.filter(age__lt=18).update(status="minor") == 1
    assert (await QUser.get(id=2, use_cache=False)).status == "minor"
    partial = await QueryBuilder(QUser).only("username").filter(id=3).get()
    partial.username = "caroline"
    await partial.save()
    fresh = await QUser.get(id=3, use_cache=False)
    assert (fresh.username, fresh.age, fresh.status) == ("caroline", 65, "ok")
    assert await QUser.exclude(age__gte=18).delete() == 1
    assert await QUser.count() == 4


async def test_select_for_update_and_streaming_in_a_transaction(tables: MigrationDB) -> None:
    async with transaction(DB):
        locked = await QUser.filter(id=1).select_for_update(nowait=True, of=["q_user"]).all()
        assert ids(locked) == [1]
        skipped = (
            await QueryBuilder(QUser).order_by("id").select_for_update(skip_locked=True).first()
        )
        assert skipped is not None
        streamed = [u.id async for u in QueryBuilder(QUser).order_by("-id")]
        assert streamed == [5, 4, 3, 2, 1]


async def test_select_for_update_outside_a_transaction_is_refused(tables: MigrationDB) -> None:
    with pytest.raises(TransactionError, match="needs an open transaction"):
        await QUser.filter(id=1).select_for_update().all()


async def test_async_for_pages_outside_a_transaction(tables: MigrationDB) -> None:
    await QUser.filter(id__gt=0).delete()
    for i in range(CHUNK_SIZE + 3):
        await QUser.create(id=i + 1, username=f"u{i}")
    seen = [u.id async for u in QueryBuilder(QUser)]
    assert seen == list(range(1, CHUNK_SIZE + 4))
    sliced = [u.id async for u in QueryBuilder(QUser).order_by("-id")[2:5]]
    assert sliced == [CHUNK_SIZE + 1, CHUNK_SIZE, CHUNK_SIZE - 1]


HOSTILE = [
    'a"b',
    "x'; DROP TABLE q_user; --",
    "/* c */ -- d",
    "$1 $2 ?",
    "ünï©ødé ✓ 𝄞",
    "50% off_\\",
    "t" * 80,
]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_values_round_trip(tables: MigrationDB, value: str) -> None:
    await QUser.create(id=100, username=value[:100], bio=value)
    assert await QUser.filter(bio=value).values_list("bio", flat=True) == [value]
    assert ids(await QUser.filter(bio__contains=value).all()) == [100]
    assert ids(await QUser.filter(bio__in=[value]).all()) == [100]
    assert await QUser.filter(id=100).values("bio") == [{"bio": value}]
    assert await QUser.filter(bio=value).update(bio=value + "!") == 1
    assert (await QUser.filter(id=100).get()).bio == value + "!"


async def test_readme_jsonb_operators(tables: MigrationDB) -> None:
    await QConfig.create(
        id=1,
        data={"email": "a@x", "role": "admin", "settings": {"theme": "dark"}, "n": 5},
    )
    await QConfig.create(id=2, data={"name": "b", "email": "b@x", "role": "user"})
    await QConfig.create(id=3, data={"phone": "1", "active": True, "settings": {"theme": None}})
    await QConfig.create(id=4, data={"role": "admin"})

    async def cfg(**lookups: Any) -> list[int]:
        return sorted(c.id for c in await QConfig.filter(**lookups).all())

    assert await cfg(data__json_has_key="email") == [1, 2]
    assert await cfg(data__json_contains={"role": "admin"}) == [1, 4]
    assert await cfg(data__json_contains='{"role": "user"}') == [2]
    assert await cfg(data__json_has_any=["email", "phone"]) == [1, 2, 3]
    assert await cfg(data__json_has_all=["name", "email"]) == [2]
    assert await cfg(data__json_contained_by={"role": "admin", "active": True}) == [4]
    # `#>` yields jsonb: a JSON null at the path is a value, so row 3 matches too.
    assert await cfg(data__json_path=("settings", "theme")) == [1, 3]
    assert await cfg(data__json_path=("settings", "font")) == []
    assert await cfg(data__json_path=(("settings", "theme"), "dark")) == [1]
    assert await cfg(data__json_key="name") == [2]
    assert await cfg(data__json_key=("role", "admin")) == [1, 4]
    assert await cfg(data__json_key=("n", 5)) == [1]


SYNC_SCRIPT = textwrap.dedent(
    """
    import asyncio, os
    from matrx_orm import CharField, DatabaseProjectConfig, IntegerField, Model, register_database
    from matrx_orm.migrations import MigrationDB
    from matrx_orm_core.connections import AsyncDatabaseManager

    class SyncRow(Model):
        id = IntegerField(primary_key=True)
        name = CharField(max_length=20)
        _table_name = "q_sync_row"
        _database = "q_sync"

    register_database(DatabaseProjectConfig.from_url("q_sync", os.environ["DATABASE_URL"]))

    async def run(sql):
        await MigrationDB("q_sync").execute(sql)
        await AsyncDatabaseManager.close_all_pools()

    asyncio.run(run(
        'DROP TABLE IF EXISTS q_sync_row; '
        'CREATE TABLE q_sync_row (id integer PRIMARY KEY, name varchar(20) NOT NULL); '
        "INSERT INTO q_sync_row VALUES (1, 'a'), (2, 'b')"
    ))
    qs = SyncRow.filter(id__gte=1).order_by("-id")
    assert qs.values_sync("name", "id") == [{"name": "b", "id": 2}, {"name": "a", "id": 1}]
    assert qs.values_list_sync("name", flat=True) == ["b", "a"]
    assert qs.values_list_sync("id", "name") == [(2, "b"), (1, "a")]
    asyncio.run(run("DROP TABLE q_sync_row"))
    print("sync ok")
    """
)


def test_values_sync_twins_from_a_script(matrx_test_database: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATRX_TEST_DB_")}
    env["DATABASE_URL"] = matrx_test_database.dsn(redacted=False)
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", SYNC_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "sync ok"
