"""The spec's Quick Start and the Foundation's CRUD operations against a real server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from matrx_orm import (
    BooleanField,
    CharField,
    DoesNotExist,
    ForeignKey,
    IntegrityError,
    Model,
    MultipleObjectsReturned,
    TextField,
    UUIDField,
)
from matrx_orm.migrations import MigrationDB

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class User(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=255)
    bio = TextField(null=True)
    is_active = BooleanField(default=True)

    _table_name = "user"
    _database = DB


class Post(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    body = TextField(null=True)
    author_id = ForeignKey("User", "id")
    is_published = BooleanField(default=False)

    _table_name = "post"
    _database = DB


SCHEMA = """
CREATE TABLE "user" (
    "id" uuid PRIMARY KEY,
    "username" varchar(100) NOT NULL UNIQUE,
    "email" varchar(255) NOT NULL,
    "bio" text,
    "is_active" boolean NOT NULL DEFAULT true
);
CREATE TABLE "post" (
    "id" uuid PRIMARY KEY,
    "title" varchar(200) NOT NULL,
    "body" text,
    "author_id" uuid NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
    "is_published" boolean NOT NULL DEFAULT false
);
"""


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(SCHEMA)
    try:
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "post"; DROP TABLE IF EXISTS "user";')


async def test_quick_start_end_to_end(tables: MigrationDB) -> None:
    user = await User.create(id=str(uuid4()), username="alice", email="alice@example.com")
    post = await Post.create(id=str(uuid4()), title="Hello World", author_id=user.id)
    assert isinstance(user.id, str)
    assert user.is_active is True
    assert post.is_published is False

    alice = await User.get(username="alice")
    assert alice == user
    assert alice.email == "alice@example.com"
    assert await Post.filter(author_id=alice.id, is_published=True).all() == []

    assert await Post.filter(id=post.id).update(is_published=True) == 1
    published = await Post.filter(author_id=alice.id, is_published=True).all()
    assert [p.title for p in published] == ["Hello World"]

    assert await Post.filter(id=post.id).delete() == 1
    assert await tables.fetch_val('SELECT count(*) FROM "post"') == 0


async def test_get_missing_raises_model_specific_does_not_exist(tables: MigrationDB) -> None:
    missing = str(uuid4())
    with pytest.raises(User.DoesNotExist) as info:
        await User.get(id=missing)
    assert isinstance(info.value, DoesNotExist)
    assert info.value.model == "User"
    assert info.value.details["filters"] == {"id": missing}
    assert missing not in str(info.value)
    with pytest.raises(DoesNotExist):
        await Post.get(id=missing)
    assert await User.get_or_none(id=missing) is None


async def test_get_with_two_matches_raises_multiple(tables: MigrationDB) -> None:
    await User.create(id=str(uuid4()), username="a", email="same@example.com")
    await User.create(id=str(uuid4()), username="b", email="same@example.com")
    with pytest.raises(User.MultipleObjectsReturned):
        await User.get(email="same@example.com")
    with pytest.raises(MultipleObjectsReturned):
        await User.get_or_none(email="same@example.com")


async def test_save_inserts_new_then_updates_persisted(tables: MigrationDB) -> None:
    user = User(id=str(uuid4()), username="carol", email="carol@example.com")
    await user.save()
    row = await tables.fetch_one('SELECT * FROM "user" WHERE id = $1', user.id)
    assert row is not None
    assert row["username"] == "carol"
    user.bio = "hello"
    await user.save()
    assert await tables.fetch_val('SELECT bio FROM "user" WHERE id = $1', user.id) == "hello"
    assert await tables.fetch_val('SELECT count(*) FROM "user"') == 1


async def test_instance_update_and_delete(tables: MigrationDB) -> None:
    user = await User.create(id=str(uuid4()), username="dave", email="d@example.com")
    await user.update(bio="updated", is_active=False)
    fresh = await User.get(id=user.id, use_cache=False)
    assert (fresh.bio, fresh.is_active) == ("updated", False)
    await user.delete()
    assert await User.get_or_none(id=user.id) is None


async def test_unique_violation_is_integrity_error_and_writes_nothing(
    tables: MigrationDB,
) -> None:
    await User.create(id=str(uuid4()), username="erin", email="e@example.com")
    with pytest.raises(IntegrityError) as info:
        await User.create(id=str(uuid4()), username="erin", email="other@example.com")
    assert info.value.details.get("constraint") == "unique" or "unique" in str(info.value)
    assert await tables.fetch_val('SELECT count(*) FROM "user"') == 1


async def test_foreign_key_violation_is_integrity_error(tables: MigrationDB) -> None:
    with pytest.raises(IntegrityError):
        await Post.create(id=str(uuid4()), title="orphan", author_id=str(uuid4()))
    assert await tables.fetch_val('SELECT count(*) FROM "post"') == 0


async def test_queryset_update_and_delete_return_counts(tables: MigrationDB) -> None:
    for name in ("f1", "f2", "f3"):
        await User.create(id=str(uuid4()), username=name, email="f@example.com")
    assert await User.filter(email="f@example.com").update(is_active=False) == 3
    assert await User.filter(is_active=False).count() == 3
    assert await User.filter(username="f1").delete() == 1
    assert await User.filter(email="nobody@example.com").delete() == 0
    assert sorted(u.username for u in await User.all()) == ["f2", "f3"]
    assert await User.exists(username="f2") is True
    assert await User.exists(username="f1") is False
    assert await User.count() == 2
