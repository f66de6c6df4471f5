"""BaseManager on a real server: the spec README's BaseManager examples, AppError, DTOs, the active
set, relation helpers (select_related for FKs, one query per relation for lists) and sync twins."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from matrx_orm import (
    BooleanField,
    CharField,
    DoesNotExist,
    ForeignKey,
    IntegrityError,
    ManyToManyField,
    Model,
    SyncContextError,
    UUIDField,
)
from matrx_orm.core.extended import AppError, BaseDTO, BaseManager
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import hooks
from matrx_orm_core.testing import assert_num_queries
from matrx_orm_relations import ensure_m2m_tables

pytestmark = pytest.mark.level2

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class MgUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True)

    _inverse_foreign_keys: ClassVar[dict[str, Any]] = {
        "posts": {"from_model": "MgPost", "from_field": "author_id", "referenced_field": "id"}
    }
    _table_name = "mg_user"
    _database = DB


class MgTag(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=50)

    _table_name = "mg_tag"
    _database = DB


class MgPost(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    is_published = BooleanField(default=False)
    author_id = ForeignKey("MgUser", null=True)
    tags = ManyToManyField("MgTag")

    _table_name = "mg_post"
    _database = DB


class PostManager(BaseManager):
    model = MgPost

    async def get_published(self) -> list[Model]:
        return await self.load_items(is_published=True)

    async def publish(self, post_id: str) -> None:
        await self.update_item(post_id, is_published=True)


@dataclass
class PostDTO(BaseDTO):
    title: str = ""
    shout: str = ""

    async def _initialize_dto(self, model: Model) -> None:
        self.title = model.title
        self.shout = model.title.upper()


DROP = "DROP TABLE IF EXISTS mgpost_mgtag, mg_post, mg_tag, mg_user CASCADE"
SCHEMA = """
CREATE TABLE mg_user (id uuid PRIMARY KEY, username varchar(100) NOT NULL UNIQUE);
CREATE TABLE mg_tag (id uuid PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE mg_post (
    id uuid PRIMARY KEY,
    title varchar(200) NOT NULL,
    is_published boolean NOT NULL DEFAULT false,
    author_id uuid REFERENCES mg_user (id)
);
"""


@pytest.fixture
def no_cache() -> Iterator[None]:
    """Count every query: the state cache (when installed) would answer some FK reads."""
    previous = hooks.set_model_cache(None)
    try:
        yield
    finally:
        hooks.set_model_cache(previous)


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def db(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    migrations = MigrationDB(DB)
    await migrations.execute(DROP)
    await migrations.execute(SCHEMA)
    await ensure_m2m_tables(MgPost)
    try:
        yield migrations
    finally:
        await migrations.execute(DROP)


async def test_readme_built_in_methods(db: MigrationDB) -> None:
    manager = PostManager()
    post_id, other_id = _id(), _id()
    item = await manager.create_item(id=post_id, title="Hello")
    assert item.title == "Hello"
    await manager.create_item(id=other_id, title="Other", is_published=True)
    assert (await manager.load_by_id(post_id)).id == post_id
    assert sorted(i.title for i in await manager.load_all()) == ["Hello", "Other"]
    assert [i.title for i in await manager.load_items(is_published=True)] == ["Other"]
    assert len(await manager.load_items_by_ids([post_id, other_id])) == 2
    assert (await manager.update_item(post_id, title="Updated")).title == "Updated"
    assert [p.title for p in await manager.get_published()] == ["Other"]
    await manager.publish(post_id)
    assert len(await manager.get_published()) == 2
    assert await manager.delete_item(post_id) is True
    assert await manager.exists(post_id) is False


async def test_readme_relationships_and_m2m(db: MigrationDB) -> None:
    manager = PostManager()
    user = await MgUser.create(id=_id(), username="ada")
    post = await manager.create_item(id=_id(), title="Hello", author_id=user.id)
    tag1, tag2, tag3 = [await MgTag.create(id=_id(), name=n) for n in ("a", "b", "c")]
    item, related = await manager.get_item_with_all_related(post.id)
    assert item.id == post.id
    assert related == {
        "foreign_keys": {"author_id": user},
        "inverse_foreign_keys": {},
        "many_to_many": {"tags": []},
    }
    assert await manager.add_m2m(post.id, "tags", tag1.id, tag2.id, tag3.id) == 3
    assert await manager.remove_m2m(post.id, "tags", tag3.id) == 1
    await manager.set_m2m(post.id, "tags", [tag1.id, tag2.id])
    item, tags = await manager.get_item_with_m2m(post.id, "tags")
    assert sorted(t.name for t in tags) == ["a", "b"]
    assert await manager.clear_m2m(post.id, "tags") == 2


async def test_select_related_helpers(db: MigrationDB, no_cache: None) -> None:
    manager = PostManager()
    user = await MgUser.create(id=_id(), username="ada")
    post = await manager.create_item(id=_id(), title="Hello", author_id=user.id)
    await manager.create_item(id=_id(), title="Lonely")
    async with assert_num_queries(1):
        item, author = await manager.get_item_with_related(post.id, "author")
    assert item.id == post.id
    assert author == user
    async with assert_num_queries(2):
        item, author = await manager.get_item_with_related(post.id, "author", use_join=False)
    assert author == user
    async with assert_num_queries(1):
        posts = await manager.get_items_with_related("author")
    assert {p.title: p.get_related("author") for p in posts} == {"Hello": user, "Lonely": None}
    item, tags = await manager.get_item_with_related(post.id, "tags")
    assert tags == []
    with pytest.raises(AppError, match="cannot be joined"):
        await manager.get_item_with_related(post.id, "tags", use_join=True)
    users = BaseManager(MgUser)
    await users.load_all()
    async with assert_num_queries(2):  # the users, then every user's posts at once
        dicts = await users.get_items_with_related_dict("posts")
    assert dicts[0]["posts"][0]["title"] == "Hello"


async def test_app_error_wraps_and_chains(db: MigrationDB) -> None:
    manager = PostManager()
    missing = _id()
    with pytest.raises(AppError) as info:
        await manager.load_by_id(missing)
    err = info.value
    assert isinstance(err.__cause__, DoesNotExist)
    assert err.error["status"] == 404
    assert err.error["type"] == "MgPostDoesNotExist" or err.error["type"].endswith("DoesNotExist")
    assert err.error["client_visible"] == "The requested MgPost was not found."
    assert err.error["context"] == {
        "manager": "PostManager",
        "model": "MgPost",
        "method": "load_by_id",
    }
    assert "Traceback" in err.error["traceback"]
    assert missing not in err.error["client_visible"]
    with pytest.raises(AppError) as info:
        await manager.delete_item(missing)
    assert info.value.status == 404

    class RawManager(PostManager):
        raise_orm_errors = True

    with pytest.raises(DoesNotExist):
        await RawManager().load_by_id(missing)
    await MgUser.create(id=_id(), username="dup")
    with pytest.raises(IntegrityError):  # upsert/count/update_where/delete_where stay raw
        await BaseManager(MgUser).upsert_item({"id": _id(), "username": "dup"}, ["id"])


async def test_model_from_constructor_or_attribute(db: MigrationDB) -> None:
    assert BaseManager(MgTag).model is MgTag
    assert PostManager().model is MgPost
    with pytest.raises(Exception, match="needs a concrete model"):
        BaseManager()
    await BaseManager(MgTag).create_item(id=_id(), name="x")
    assert await BaseManager(MgTag).count() == 1


async def test_dto_and_dict_views(db: MigrationDB) -> None:
    manager = PostManager(dto_class=PostDTO)
    post = await manager.create_item(id=_id(), title="hi")
    assert isinstance(post.dto, PostDTO)
    assert post.dto.shout == "HI"
    assert post.dto.is_published is False  # read through to the model
    assert await manager.get_item_dict(post.id) == {"id": post.id, "title": "hi", "shout": "HI"}
    plain = BaseManager(MgPost)
    as_dict = await plain.get_item_dict(post.id)
    assert as_dict is not None
    assert as_dict["title"] == "hi"
    assert as_dict["author_id"] is None


async def test_active_set_and_initialize(db: MigrationDB) -> None:
    for n in range(3):
        await MgPost.create(id=_id(), title=f"p{n}")
    manager = PostManager(fetch_on_init_limit=2)
    assert manager.active_item_ids == set()
    assert len(await manager.initialize()) == 2
    assert len(manager.active_item_ids) == 2
    manager.remove_all_active()
    items = await manager.load_all()
    ids = manager.active_item_ids
    assert len(ids) == 3
    ids.clear()  # a copy
    assert len(manager.active_item_ids) == 3
    manager.remove_active_by_id(items[0].id)
    assert len(await manager.get_active_items()) == 2
    assert (await manager.get_active_item(items[0].id)).id == items[0].id
    assert len(manager.active_item_ids) == 3
    assert await manager.add_active_by_id_or_not(None) is None
    async with assert_num_queries(1):  # tags for all items at once; every author_id is NULL
        loaded = await manager.get_active_items_with_all_related()
    assert all(p.get_related("tags") == [] for p in loaded)


async def test_create_items_batches_and_conflicts(db: MigrationDB) -> None:
    users = BaseManager(MgUser)
    rows = [{"id": _id(), "username": f"u{n}"} for n in range(5)]
    created = await users.create_items(rows, batch_size=2)
    assert len(created) == 5
    again = [{"id": _id(), "username": "u1"}, {"id": _id(), "username": "new"}]
    created = await users.create_items(again, ignore_conflicts=True)
    assert [u.username for u in created] == ["new"]
    with pytest.raises(AppError):
        await users.create_items(again)
    assert await users.count() == 6
    fresh = await users.get_or_create(defaults={"id": _id()}, username="fresh")
    assert fresh.username == "fresh"
    assert await users.count() == 6 + 1
    assert (await users.get_or_create(defaults={"id": _id()}, username="fresh")).id == fresh.id
    assert await users.count() == 7


async def test_sync_twins_refuse_inside_a_loop(db: MigrationDB) -> None:
    with pytest.raises(SyncContextError, match=r"await load_items\(\)"):
        PostManager().load_items_sync()


def test_sync_twins(db: MigrationDB) -> None:
    manager = PostManager(fetch_on_init_limit=5)
    post = manager.create_item_sync(id=_id(), title="sync")
    assert manager.load_by_id_sync(post.id).title == "sync"
    assert manager.load_item_sync(title="sync").id == post.id
    assert manager.load_item_or_none_sync(title="nope") is None
    assert [p.title for p in manager.load_items_sync()] == ["sync"]
    assert manager.filter_items_sync(title="sync")[0].id == post.id
    assert manager.update_item_sync(post.id, title="synced").title == "synced"
    assert manager.exists_sync(post.id) is True
    assert manager.count_sync() == 1
    assert manager.get_item_dict_sync(post.id)["title"] == "synced"  # type: ignore[index]
    assert len(manager.get_items_dict_sync(title="synced")) == 1
    assert len(manager.get_active_items_sync()) == 1
    assert len(manager.initialize_sync()) == 1
    assert manager.get_or_create_sync(defaults={"id": _id()}, title="made").title == "made"
    upserted = manager.upsert_item_sync({"id": post.id, "title": "up"}, ["id"])
    assert upserted.title == "up"
    assert manager.update_where_sync({"title": "up"}, is_published=True)["rows_affected"] == 1
    assert manager.delete_where_sync(title="made") == 1
    assert manager.delete_item_sync(post.id) is True
