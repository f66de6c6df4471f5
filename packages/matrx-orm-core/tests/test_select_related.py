"""Level1 tests for select_related (query/_select_related.py): exact JOIN SQL and parameters,
LEFT vs INNER JOIN, renamed columns, nested paths, hydration into get_related, and the errors
raised before any SQL."""

from __future__ import annotations

from typing import Any

import pytest

from matrx_orm_core.exceptions import FieldError, RelationshipError
from matrx_orm_core.fields import CharField, ForeignKey, IntegerField
from matrx_orm_core.models import Model
from matrx_orm_core.testing import Recorder


class SrCompany(Model):
    id = IntegerField(primary_key=True)
    name = CharField()
    _database = "recorded"


class SrAuthor(Model):
    id = IntegerField(primary_key=True)
    name = CharField()
    company_id = ForeignKey(SrCompany)  # nullable: LEFT JOIN
    _database = "recorded"


class SrPost(Model):
    id = IntegerField(primary_key=True)
    title = CharField()
    author_id = ForeignKey(SrAuthor, null=False)  # NOT NULL: INNER JOIN
    editor = ForeignKey(SrAuthor)  # FK field without the _id suffix
    _database = "recorded"
    _inverse_foreign_keys = {  # noqa: RUF012
        "comments": {"from_model": "SrComment", "from_field": "post_id", "referenced_field": "id"}
    }


class SrComment(Model):
    id = IntegerField(primary_key=True)
    post_id = ForeignKey(SrPost)
    _database = "recorded"


class SrRemote(Model):
    id = IntegerField(primary_key=True)
    _database = "other_db"


class SrLinked(Model):
    id = IntegerField(primary_key=True)
    remote_id = ForeignKey(SrRemote, to_db="other_db")
    _database = "recorded"


AUTHOR_JOIN = (
    'JOIN (SELECT "id" AS "_sr0_0", "name" AS "_sr0_1", "company_id" AS "_sr0_2" '
    'FROM "sr_author") AS "_sr0" ON "sr_post"."author_id" = "_sr0"."_sr0_0"'
)
AUTHOR_COLS = '"_sr0"."_sr0_0", "_sr0"."_sr0_1", "_sr0"."_sr0_2"'
POST_COLS = '"id", "title", "author_id", "editor"'


def post_row(**extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"id": 1, "title": "t", "author_id": 10, "editor": None}
    row.update(extra)
    return row


async def test_not_null_fk_is_an_inner_join_with_renamed_columns(recording_db: Recorder) -> None:
    recording_db.add_result(
        rows=[post_row(_sr0_0=10, _sr0_1="ann", _sr0_2=None)],
    )
    posts = await SrPost.filter(title="t").select_related("author").all()
    assert recording_db.statements == [
        (
            f'SELECT {POST_COLS}, {AUTHOR_COLS} FROM "sr_post" {AUTHOR_JOIN} WHERE "title" = $1',
            ("t",),
        )
    ]
    author = posts[0].get_related("author")
    assert isinstance(author, SrAuthor)
    assert (author.id, author.name, author.company_id) == (10, "ann", None)
    assert author._persisted
    assert posts[0].get_related("author_id") is author
    assert "_sr0_0" not in posts[0].__dict__
    assert posts[0].author_id == 10


async def test_nullable_fk_is_a_left_join_and_null_gives_none(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[post_row(_sr0_0=None, _sr0_1=None, _sr0_2=None)])
    posts = await SrPost.filter().select_related("editor").all()
    assert recording_db.sql == [
        f'SELECT {POST_COLS}, {AUTHOR_COLS} FROM "sr_post" LEFT JOIN (SELECT "id" AS "_sr0_0", '
        '"name" AS "_sr0_1", "company_id" AS "_sr0_2" FROM "sr_author") AS "_sr0" '
        'ON "sr_post"."editor" = "_sr0"."_sr0_0"'
    ]
    assert posts[0].get_related("editor") is None
    assert posts[0].has_related("editor") is False


async def test_nested_path_joins_through_the_parent_alias(recording_db: Recorder) -> None:
    recording_db.add_result(
        rows=[post_row(_sr0_0=10, _sr0_1="ann", _sr0_2=5, _sr1_0=5, _sr1_1="acme")]
    )
    post = await SrPost.filter(id=1).select_related("author__company").first()
    assert recording_db.statements == [
        (
            f'SELECT {POST_COLS}, {AUTHOR_COLS}, "_sr1"."_sr1_0", "_sr1"."_sr1_1" '
            f'FROM "sr_post" {AUTHOR_JOIN} LEFT JOIN (SELECT "id" AS "_sr1_0", '
            '"name" AS "_sr1_1" FROM "sr_company") AS "_sr1" '
            'ON "_sr0"."_sr0_2" = "_sr1"."_sr1_0" WHERE "id" = $1 ORDER BY "id" ASC LIMIT $2',
            (1, 1),
        )
    ]
    assert post is not None
    author = post.get_related("author")
    company = author.get_related("company")
    assert isinstance(company, SrCompany)
    assert (company.id, company.name) == (5, "acme")


async def test_composes_with_only_order_limit_offset_and_exclude(recording_db: Recorder) -> None:
    recording_db.add_result(
        rows=[{"id": 1, "title": "t", "_sr0_0": 10, "_sr0_1": "a", "_sr0_2": None}]
    )
    query = (
        SrPost.exclude(title="x")
        .only("id", "title")
        .select_related("author_id")
        .order_by("-id")
        .limit(5)
        .offset(10)
    )
    posts = await query.all()
    assert recording_db.statements == [
        (
            f'SELECT "id", "title", {AUTHOR_COLS} FROM "sr_post" {AUTHOR_JOIN} '
            'WHERE NOT ("title" = $1) ORDER BY "id" DESC LIMIT $2 OFFSET $3',
            ("x", 5, 10),
        )
    ]
    assert posts[0].get_related("author").name == "a"
    assert posts[0].author_id is None  # not loaded by only(); the author still is


async def test_get_and_sql_honour_select_related(recording_db: Recorder) -> None:
    query = SrPost.filter(id=1).select_related("author")
    sql, params = query.sql()
    assert AUTHOR_JOIN in sql
    assert params == (1,)
    recording_db.add_result(rows=[post_row(_sr0_0=10, _sr0_1="ann", _sr0_2=None)])
    post = await query.get()
    assert post.get_related("author").name == "ann"


async def test_count_and_values_ignore_select_related(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"count": 3}])
    recording_db.add_result(rows=[{"title": "t"}])
    query = SrPost.filter(id=1).select_related("author")
    assert await query.count() == 3
    await query.values("title")
    assert recording_db.sql == [
        'SELECT count(*) FROM "sr_post" WHERE "id" = $1',
        'SELECT "title" FROM "sr_post" WHERE "id" = $1',
    ]


def test_calls_add_up_and_repeats_are_joined_once() -> None:
    query = SrPost.filter().select_related("author").select_related("author_id", "author__company")
    steps = query._select_related
    assert [step.path for step in steps] == [("author_id",), ("author_id", "company_id")]
    assert [step.inner for step in steps] == [True, False]
    base = SrPost.filter(id=1)
    assert base._select_related == ()  # chain methods return clones


def test_bad_names_are_rejected_before_sql() -> None:
    with pytest.raises(
        FieldError, match=r"'titl' is not a foreign key of SrPost.*author_id, editor"
    ):
        SrPost.filter().select_related("titl")
    with pytest.raises(FieldError, match=r"'comments' is a to-many relation.*prefetch_related"):
        SrPost.filter().select_related("comments")
    with pytest.raises(
        FieldError, match=r"'nope' is not a foreign key of SrAuthor.*'author__nope'"
    ):
        SrPost.filter().select_related("author__nope")
    with pytest.raises(FieldError, match="needs at least one foreign key name"):
        SrPost.filter().select_related()
    with pytest.raises(FieldError, match="is not a foreign key name"):
        SrPost.filter().select_related("author__")
    with pytest.raises(FieldError, match="is not a foreign key name"):
        SrPost.filter().select_related(3)  # type: ignore[arg-type]


def test_cross_database_fk_is_rejected() -> None:
    with pytest.raises(RelationshipError, match=r"database 'other_db'.*cannot JOIN across"):
        SrLinked.filter().select_related("remote")


async def test_for_update_locks_only_the_queried_table(recording_db: Recorder) -> None:
    from matrx_orm_core import transaction

    recording_db.add_result(rows=[])
    async with transaction("recorded"):
        await SrPost.filter(id=1).select_related("editor").select_for_update().all()
    assert any(sql.endswith('FOR UPDATE OF "sr_post"') for sql in recording_db.sql)


# --- with the expression layer (Q, annotations, expression ordering) ----------------------------


async def test_q_objects_and_annotations_compose(recording_db: Recorder) -> None:
    from matrx_orm_core.query.expressions import Q
    from matrx_orm_core.query.functions import Lower

    query = (
        SrPost.filter(Q(title="a") | Q(title="b"))
        .annotate(low=Lower("title"))
        .select_related("author")
        .order_by(Lower("title"))
        .limit(3)
    )
    sql, params = query.sql()
    assert sql.startswith(f'SELECT {POST_COLS}, LOWER("title") AS "low", {AUTHOR_COLS} FROM ')
    assert f'FROM "sr_post" {AUTHOR_JOIN} WHERE ' in sql
    assert sql.endswith('ORDER BY LOWER("title") ASC LIMIT $3')
    assert params == ("a", "b", 3)
    recording_db.add_result(rows=[post_row(low="t", _sr0_0=10, _sr0_1="ann", _sr0_2=None)])
    posts = await query.all()
    assert posts[0].low == "t"
    assert posts[0].get_related("author").name == "ann"
    assert "_sr0_1" not in posts[0].__dict__
    recording_db.add_result(rows=[{"count": 4}])
    assert await query.count() == 4  # count ignores the joins
    assert "JOIN" not in recording_db.sql[-1]


def test_grouping_queries_refuse_select_related() -> None:
    from matrx_orm_core.exceptions import QueryError
    from matrx_orm_core.query.aggregates import Count

    query = SrPost.filter().annotate(n=Count("id")).select_related("author")
    with pytest.raises(QueryError, match="cannot be combined with group_by"):
        query.sql()
