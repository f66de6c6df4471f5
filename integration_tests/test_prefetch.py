"""Batch loading on a real server: QuerySet.prefetch_related and prefetch_related_objects load each
relation for all parents in one query (the N+1 problem gone), nested paths included."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import pytest

from matrx_orm import (
    CharField,
    FieldError,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    Model,
    TextField,
    UUIDField,
    transaction,
)
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import hooks
from matrx_orm_core.query import _prefetch_methods, _results
from matrx_orm_core.testing import assert_num_queries, count_queries
from matrx_orm_relations import ensure_m2m_tables, prefetch_related_objects

pytestmark = pytest.mark.level2

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class PfAuthor(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100)

    _inverse_foreign_keys: ClassVar[dict[str, Any]] = {
        "posts": {"from_model": "PfPost", "from_field": "author_id", "referenced_field": "id"}
    }
    _table_name = "pf_author"
    _database = DB


class PfTag(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)

    _table_name = "pf_tag"
    _database = DB


class PfPost(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    author_id = ForeignKey("PfAuthor", null=True)
    tags = ManyToManyField("PfTag")

    _inverse_foreign_keys: ClassVar[dict[str, Any]] = {
        "comments": {"from_model": "PfComment", "from_field": "post_id", "referenced_field": "id"}
    }
    _table_name = "pf_post"
    _database = DB


class PfComment(Model):
    id = UUIDField(primary_key=True)
    post_id = ForeignKey("PfPost")
    body = TextField()

    _table_name = "pf_comment"
    _database = DB


class PfSecret(Model):
    id = UUIDField(primary_key=True)

    _table_name = "pf_secret"
    _unfetchable = True
    _database = DB


class PfNote(Model):
    id = UUIDField(primary_key=True)
    secret_id = ForeignKey("PfSecret", null=True)

    _table_name = "pf_note"
    _database = DB


DROP = (
    "DROP TABLE IF EXISTS pf_comment, pfpost_pftag, pf_post, pf_tag, pf_author, pf_note, "
    "pf_secret CASCADE"
)
SCHEMA = """
CREATE TABLE pf_author (id uuid PRIMARY KEY, name varchar(100) NOT NULL);
CREATE TABLE pf_tag (id integer PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE pf_post (
    id uuid PRIMARY KEY, title varchar(200) NOT NULL, author_id uuid REFERENCES pf_author (id)
);
CREATE TABLE pf_comment (
    id uuid PRIMARY KEY, post_id uuid NOT NULL REFERENCES pf_post (id), body text NOT NULL
);
CREATE TABLE pf_secret (id uuid PRIMARY KEY);
CREATE TABLE pf_note (id uuid PRIMARY KEY, secret_id uuid);
"""

POSTS = 100


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
async def blog(matrx_test_database: Any) -> AsyncIterator[dict[str, Any]]:
    db = MigrationDB(DB)
    await db.execute(DROP)
    await db.execute(SCHEMA)
    await ensure_m2m_tables(PfPost)
    authors = await PfAuthor.bulk_create([{"id": _id(), "name": f"a{i}"} for i in range(10)])
    tags = await PfTag.bulk_create([{"id": i, "name": f"t{i}"} for i in range(5)])
    posts = await PfPost.bulk_create(
        [{"id": _id(), "title": f"p{i:03}", "author_id": authors[i % 10].id} for i in range(POSTS)]
    )
    await PfComment.bulk_create(
        [{"id": _id(), "post_id": p.id, "body": f"{p.title}-{n}"} for p in posts for n in (1, 2)]
    )
    rows = [(p.id, tags[(i + k) % 5].id) for i, p in enumerate(posts) for k in range(3)]
    await db.execute_many(
        [f"INSERT INTO pfpost_pftag VALUES ('{post}', {tag})" for post, tag in rows]
    )
    try:
        yield {"authors": authors, "tags": tags, "posts": posts}
    finally:
        await db.execute(DROP)


def _shape(posts: list[PfPost], *, loaded: bool) -> list[tuple[Any, ...]]:
    result = []
    for post in sorted(posts, key=lambda p: p.title):
        if loaded:
            author, tags, comments = (
                post.get_related("author_id"),
                post.get_related("tags"),
                post.get_related("comments"),
            )
        else:
            author, tags, comments = post._fetched  # type: ignore[attr-defined]
        result.append(
            (
                post.title,
                author.name,
                sorted(tag.name for tag in tags),
                sorted(comment.body for comment in comments),
            )
        )
    return result


async def test_n_plus_one_is_gone(blog: dict[str, Any], no_cache: None) -> None:
    async with assert_num_queries(1 + 3 * POSTS):
        looped = await PfPost.filter().all()
        for post in looped:
            post._fetched = (  # type: ignore[attr-defined]
                await post.fetch_fk("author_id"),
                await post.fetch_m2m("tags"),
                await post.fetch_ifk("comments"),
            )
    async with assert_num_queries(4):
        posts = await PfPost.filter().prefetch_related("author_id", "tags", "comments").all()
    assert len(posts) == POSTS
    assert _shape(posts, loaded=True) == _shape(looped, loaded=False)
    first = _shape(posts, loaded=True)[0]
    assert first == ("p000", "a0", ["t0", "t1", "t2"], ["p000-1", "p000-2"])
    # one object per related row, shared by its parents
    by_author = {id(p.get_related("author")) for p in posts}
    assert len(by_author) == 10


async def test_prefetch_related_objects_on_instances_in_hand(blog: dict[str, Any]) -> None:
    posts = await PfPost.filter(title__startswith="p00").all()
    async with assert_num_queries(3):
        await prefetch_related_objects(posts, "author", "tags", "comments")
    assert len(posts) == 10
    assert all(p.get_related("author_id") is not None for p in posts)
    assert all(len(p.get_related("tags")) == 3 for p in posts)
    async with assert_num_queries(0):
        await prefetch_related_objects([], "tags")
        await prefetch_related_objects(posts)


async def test_nested_paths(blog: dict[str, Any]) -> None:
    async with assert_num_queries(4):
        authors = (
            await PfAuthor.filter(name__in=["a0", "a1"])
            .prefetch_related("posts__tags", "posts__comments")
            .order_by("name")
            .all()
        )
    assert [a.name for a in authors] == ["a0", "a1"]
    posts = authors[0].get_related("posts")
    assert len(posts) == POSTS // 10
    assert all(len(p.get_related("tags")) == 3 for p in posts)
    assert all(len(p.get_related("comments")) == 2 for p in posts)


async def test_first_and_get_prefetch_too(blog: dict[str, Any]) -> None:
    async with assert_num_queries(2):
        post = await PfPost.filter(title="p001").prefetch_related("tags").get()
    assert sorted(t.name for t in post.get_related("tags")) == ["t1", "t2", "t3"]
    async with assert_num_queries(2):
        first = await PfPost.filter().order_by("title").prefetch_related("author").first()
    assert first is not None
    assert first.get_related("author").name == "a0"
    async with assert_num_queries(1):
        assert await PfPost.filter(title="nope").prefetch_related("tags").all() == []


async def test_empty_and_null_relations(blog: dict[str, Any]) -> None:
    lonely = await PfPost.create(id=_id(), title="zz-lonely", author_id=None)
    async with assert_num_queries(3):  # no FK value: no author query
        posts = (
            await PfPost.filter(id=lonely.id).prefetch_related("author", "tags", "comments").all()
        )
    assert posts[0].get_related("author_id") is None
    assert posts[0].get_related("tags") == []
    assert posts[0].get_related("comments") == []
    async with assert_num_queries(1):
        posts = await PfPost.filter(id=lonely.id).prefetch_related("author").all()
    assert posts[0].get_related("author") is None


async def test_unknown_path_fails_before_sql(blog: dict[str, Any]) -> None:
    async with assert_num_queries(0):
        with pytest.raises(FieldError, match="'nope' is not a relation of PfPost"):
            PfPost.filter().prefetch_related("nope")
        with pytest.raises(FieldError, match="'bad' is not a relation of PfTag"):
            PfPost.filter().prefetch_related("tags__bad")
        with pytest.raises(FieldError, match="is not a relation path"):
            PfPost.filter().prefetch_related("tags__")
    with pytest.raises(ValueError, match="instances of one model class"):
        await prefetch_related_objects([blog["posts"][0], blog["tags"][0]], "tags")


async def test_unfetchable_target_is_skipped_with_one_warning(blog: dict[str, Any]) -> None:
    await PfNote.create(id=_id(), secret_id=_id())
    await PfNote.create(id=_id(), secret_id=_id())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with assert_num_queries(1):
            notes = await PfNote.filter().prefetch_related("secret").all()
    assert [n.get_related("secret_id") for n in notes] == [None, None]
    assert len(caught) == 1
    assert str(caught[0].message).startswith(
        "prefetch_related('secret_id') skipped: PfSecret is marked _unfetchable = True"
    )


async def test_inside_a_transaction_queries_run_one_after_another(blog: dict[str, Any]) -> None:
    async with transaction(DB), count_queries() as counted:
        posts = await PfPost.filter().prefetch_related("author", "tags", "comments").all()
    assert counted.count == 4
    assert len(posts) == POSTS
    assert all(p.get_related("author") is not None for p in posts)


async def test_streaming_prefetches_too(blog: dict[str, Any]) -> None:
    async with assert_num_queries(3):
        titles = [
            (post.title, len(post.get_related("tags")), post.get_related("author").name)
            async for post in PfPost.filter().order_by("title").prefetch_related("tags", "author")
        ]
    assert len(titles) == POSTS
    assert titles[0] == ("p000", 3, "a0")


async def test_streaming_inside_a_transaction_uses_the_cursor_and_prefetches(
    blog: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # small chunks: the prefetch queries run while the cursor is still open
    monkeypatch.setattr(_results, "CHUNK_SIZE", 30)
    monkeypatch.setattr(_prefetch_methods, "CHUNK_SIZE", 30)
    async with transaction(DB):
        rows = [
            (post.title, len(post.get_related("comments")))
            async for post in PfPost.filter(title__startswith="p0").prefetch_related("comments")
        ]
    assert sorted(rows)[:2] == [("p000", 2), ("p001", 2)]
    assert len(rows) == POSTS
