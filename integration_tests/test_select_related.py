"""select_related on a real server: the spec README example in one query, LEFT vs INNER JOIN
results, shared column names, nested paths, and composition with the other chain methods."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from matrx_orm import (
    BooleanField,
    CharField,
    FieldError,
    ForeignKey,
    IntegerField,
    Model,
    Paginator,
    RelationshipError,
    transaction,
)
from matrx_orm.core.expressions import Lower, Q, Upper
from matrx_orm.migrations import MigrationDB
from matrx_orm_core.testing import assert_num_queries, count_queries

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class SrlCompany(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)

    _table_name = "adv_srl_company"
    _database = DB


class SrlUser(Model):
    id = IntegerField(primary_key=True)
    username = CharField(max_length=50)
    name = CharField(max_length=50)  # same column name as the post's
    company_id = ForeignKey(SrlCompany)

    _table_name = "adv_srl_user"
    _database = DB


class SrlPost(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)
    is_published = BooleanField(default=False)
    author_id = ForeignKey(SrlUser, null=False)
    editor_id = ForeignKey(SrlUser)

    _table_name = "adv_srl_post"
    _database = DB


class SrlElsewhere(Model):
    id = IntegerField(primary_key=True)

    _table_name = "adv_srl_elsewhere"
    _database = "adv_srl_other_db"


class SrlLinked(Model):
    id = IntegerField(primary_key=True)
    remote_id = ForeignKey(SrlElsewhere, to_db="adv_srl_other_db")

    _table_name = "adv_srl_linked"
    _database = DB


SCHEMA = """
CREATE TABLE "adv_srl_company" ("id" integer PRIMARY KEY, "name" varchar(50) NOT NULL);
CREATE TABLE "adv_srl_user" (
    "id" integer PRIMARY KEY,
    "username" varchar(50) NOT NULL,
    "name" varchar(50) NOT NULL,
    "company_id" integer REFERENCES "adv_srl_company" ("id")
);
CREATE TABLE "adv_srl_post" (
    "id" integer PRIMARY KEY,
    "name" varchar(50) NOT NULL,
    "is_published" boolean NOT NULL DEFAULT false,
    "author_id" integer NOT NULL REFERENCES "adv_srl_user" ("id"),
    "editor_id" integer REFERENCES "adv_srl_user" ("id")
);
INSERT INTO "adv_srl_company" VALUES (1, 'Acme');
INSERT INTO "adv_srl_user" VALUES (10, 'ann', 'Ann A', 1), (11, 'bob', 'Bob B', NULL);
INSERT INTO "adv_srl_post" VALUES
    (1, 'first', true, 10, 11),
    (2, 'second', true, 11, NULL),
    (3, 'draft', false, 10, NULL);
"""

DROP = 'DROP TABLE IF EXISTS "adv_srl_post", "adv_srl_user", "adv_srl_company"'


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(DROP)
    await db.execute(SCHEMA)
    try:
        yield db
    finally:
        await db.execute(DROP)


async def test_readme_example_loads_authors_in_one_query(tables: MigrationDB) -> None:
    async with assert_num_queries(1) as counted:
        posts = (
            await SrlPost.filter(is_published=True).select_related("author").order_by("id").all()
        )
        usernames = []
        for post in posts:
            author = post.get_related("author")  # already loaded: no query
            usernames.append(author.username)
    assert usernames == ["ann", "bob"]
    assert "JOIN" in counted.statements[0][1]
    assert isinstance(posts[0].get_related("author_id"), SrlUser)


async def test_shared_column_names_stay_apart(tables: MigrationDB) -> None:
    posts = (
        await SrlPost.filter(name="first")
        .select_related("author", "editor_id")
        .order_by("id")
        .all()
    )
    assert [post.name for post in posts] == ["first"]
    post = posts[0]
    assert (post.id, post.author_id, post.editor_id) == (1, 10, 11)
    author, editor = post.get_related("author"), post.get_related("editor")
    assert (author.id, author.name, author.username) == (10, "Ann A", "ann")
    assert (editor.id, editor.name, editor.company_id) == (11, "Bob B", None)


async def test_nullable_fk_keeps_rows_without_a_target(tables: MigrationDB) -> None:
    posts = await SrlPost.filter().select_related("editor").order_by("id").all()
    assert [post.id for post in posts] == [1, 2, 3]  # LEFT JOIN: no row lost
    assert [p.get_related("editor") and p.get_related("editor").id for p in posts] == [
        11,
        None,
        None,
    ]


async def test_nested_path_in_one_query(tables: MigrationDB) -> None:
    async with assert_num_queries(1):
        posts = await SrlPost.filter().select_related("author__company").order_by("id").all()
    companies = [
        None
        if p.get_related("author").get_related("company") is None
        else p.get_related("author").get_related("company").name
        for p in posts
    ]
    assert companies == ["Acme", None, "Acme"]


async def test_composes_with_chain_methods(tables: MigrationDB) -> None:
    query = (
        SrlPost.exclude(name="draft")
        .only("id", "name", "author_id")
        .select_related("author")
        .order_by("-id")
    )
    first = await query.first()
    assert first is not None
    assert first.id == 2
    assert first.get_related("author").username == "bob"
    one = await query.limit(1).offset(1).all()
    assert [p.get_related("author").username for p in one] == ["ann"]
    got = await SrlPost.filter(id=3).select_related("author").get()
    assert got.get_related("author").id == 10
    page = await Paginator(query, per_page=1).page(2)
    assert [p.get_related("author").username for p in page] == ["ann"]
    seen = [p.get_related("author").username async for p in query]
    assert seen == ["bob", "ann"]


async def test_errors_before_any_query(tables: MigrationDB) -> None:
    async with count_queries() as counted:
        with pytest.raises(FieldError, match="'is_published' is not a foreign key"):
            SrlPost.filter().select_related("is_published")
        with pytest.raises(RelationshipError, match="cannot JOIN across databases"):
            SrlLinked.filter().select_related("remote")
    assert counted.count == 0


async def test_composes_with_q_annotations_and_expression_ordering(tables: MigrationDB) -> None:
    query = (
        SrlPost.filter(Q(name="first") | Q(name="second"))
        .annotate(shout=Upper("name"))
        .select_related("author__company")
        .order_by(Lower("name"))
    )
    async with assert_num_queries(1):
        posts = await query.all()
    assert [(p.id, p.shout) for p in posts] == [(1, "FIRST"), (2, "SECOND")]
    authors = [p.get_related("author") for p in posts]
    assert [(a.id, a.name) for a in authors] == [(10, "Ann A"), (11, "Bob B")]
    assert authors[0].get_related("company").name == "Acme"
    assert authors[1].get_related("company") is None
    assert await query.count() == 2


async def test_inside_a_transaction_streaming_and_row_locks(tables: MigrationDB) -> None:
    query = SrlPost.filter().select_related("editor", "author__company").order_by("id")
    async with transaction(DB):
        streamed = [(p.id, p.get_related("author").username) async for p in query]
        locked = await query.select_for_update().all()
    assert streamed == [(1, "ann"), (2, "bob"), (3, "ann")]
    assert [p.get_related("editor") and p.get_related("editor").id for p in locked] == [
        11,
        None,
        None,
    ]
