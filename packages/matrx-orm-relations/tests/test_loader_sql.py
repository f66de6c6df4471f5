"""The exact SQL and parameters the relation loader sends (recording driver, no server)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from matrx_orm_core import (
    CharField,
    FieldError,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    Model,
    RelationshipError,
    ValidationError,
)
from matrx_orm_core.testing import Recorder
from matrx_orm_relations import ensure_m2m_tables, prefetch_related_objects

pytestmark = pytest.mark.level1


class LsAuthor(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=20)
    _inverse_foreign_keys: ClassVar[dict[str, Any]] = {
        "books": {"from_model": "LsBook", "from_field": "author_id", "referenced_field": "id"}
    }
    _table_name = "ls_author"
    _database = "recorded"


class LsGenre(Model):
    id = IntegerField(primary_key=True)
    _table_name = "ls_genre"
    _db_schema = "cat"
    _database = "recorded"


class LsBook(Model):
    id = IntegerField(primary_key=True)
    author_id = ForeignKey("LsAuthor", null=True)
    genres = ManyToManyField("LsGenre")
    _table_name = "ls_book"
    _database = "recorded"


class LsOdd(Model):
    """Hostile identifiers: quotes and spaces in every name."""

    id = IntegerField(primary_key=True)
    _many_to_many: ClassVar[dict[str, Any]] = {
        "links": {
            "junction_table": 'odd "links"',
            "source_column": 'from "x"',
            "target_column": "to x",
            "target_model": "LsOdd",
            "junction_schema": 'we"ird',
        }
    }
    _table_name = 'odd "table"'
    _database = "recorded"


class LsRemote(Model):
    id = IntegerField(primary_key=True)
    _table_name = "ls_remote"
    _database = "elsewhere"


class LsCrossDb(Model):
    id = IntegerField(primary_key=True)
    remotes = ManyToManyField("LsRemote")
    _table_name = "ls_cross"
    _database = "recorded"


JOIN = (
    'SELECT "t"."id" FROM "cat"."ls_genre" AS "t" JOIN "lsbook_lsgenre" AS "j" '
    'ON "j"."ls_genre_id" = "t"."id" WHERE "j"."ls_book_id" = $1 ORDER BY "t"."id"'
)


async def test_fetch_m2m_is_one_join(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 4}, {"id": 9}])
    book = LsBook(id=1)
    genres = await book.fetch_m2m("genres")
    assert [g.id for g in genres] == [4, 9]
    assert recording_db.statements == [(JOIN, (1,))]
    assert book.get_related("genres") == genres


async def test_add_remove_clear_sql(recording_db: Recorder) -> None:
    book = LsBook(id=1)
    recording_db.add_result(tag="INSERT 0 2")
    assert await book.add_m2m("genres", 4, 9, LsGenre(id=4)) == 2  # deduplicated
    recording_db.add_result(tag="DELETE 1")
    assert await book.remove_m2m("genres", 9) == 1
    recording_db.add_result(tag="DELETE 3")
    assert await book.clear_m2m("genres") == 3
    assert recording_db.statements == [
        (
            'INSERT INTO "lsbook_lsgenre" ("ls_book_id", "ls_genre_id") VALUES ($1, $2), '
            "($1, $3) ON CONFLICT DO NOTHING",
            (1, 4, 9),
        ),
        (
            'DELETE FROM "lsbook_lsgenre" WHERE "ls_book_id" = $1 AND "ls_genre_id" = ANY($2)',
            (1, [9]),
        ),
        ('DELETE FROM "lsbook_lsgenre" WHERE "ls_book_id" = $1', (1,)),
    ]
    assert await book.add_m2m("genres") == 0  # nothing to add: nothing sent
    assert len(recording_db.statements) == 3


async def test_set_m2m_sends_only_the_difference(recording_db: Recorder) -> None:
    book = LsBook(id=1)
    recording_db.add_result(rows=[{"ls_genre_id": 4}, {"ls_genre_id": 5}])
    recording_db.add_result(tag="DELETE 1")
    recording_db.add_result(tag="INSERT 0 1")
    await book.set_m2m("genres", [4, 6])
    assert recording_db.sql == [
        "BEGIN",
        'SELECT "ls_genre_id" FROM "lsbook_lsgenre" WHERE "ls_book_id" = $1 FOR UPDATE',
        'DELETE FROM "lsbook_lsgenre" WHERE "ls_book_id" = $1 AND "ls_genre_id" = ANY($2)',
        'INSERT INTO "lsbook_lsgenre" ("ls_book_id", "ls_genre_id") VALUES ($1, $2) '
        "ON CONFLICT DO NOTHING",
        "COMMIT",
    ]
    assert recording_db.params[2:4] == [(1, [5]), (1, 6)]


async def test_bad_input_sends_nothing(recording_db: Recorder) -> None:
    book = LsBook(id=1)
    with pytest.raises(ValidationError, match=r"a target id is not a valid LsGenre\.id"):
        await book.add_m2m("genres", "x")
    with pytest.raises(ValidationError, match=r"a target has no LsGenre\.id value"):
        await book.add_m2m("genres", None)
    with pytest.raises(FieldError, match="No M2M relationship 'nope' on LsBook"):
        await book.fetch_m2m("nope")
    with pytest.raises(RelationshipError, match="cannot join across databases"):
        await LsCrossDb(id=1).fetch_m2m("remotes")
    assert recording_db.statements == []


async def test_prefetch_sql(recording_db: Recorder) -> None:
    books = [LsBook(id=1, author_id=7), LsBook(id=2, author_id=7), LsBook(id=3)]
    recording_db.add_result(rows=[{"id": 7, "name": "Ada"}])
    await prefetch_related_objects(books, "author")
    recording_db.add_result(rows=[{"id": 4, "__matrx_m2m_source": 1}])
    await prefetch_related_objects(books, "genres")
    assert recording_db.statements == [
        ('SELECT "id", "name" FROM "ls_author" WHERE "id" = ANY($1)', ([7],)),
        (
            'SELECT "t"."id", "j"."ls_book_id" AS "__matrx_m2m_source" FROM "cat"."ls_genre" '
            'AS "t" JOIN "lsbook_lsgenre" AS "j" ON "j"."ls_genre_id" = "t"."id" '
            'WHERE "j"."ls_book_id" = ANY($1) ORDER BY "t"."id"',
            ([1, 2, 3],),
        ),
    ]
    assert books[0].get_related("author") is books[1].get_related("author")
    assert books[2].get_related("author") is None
    assert [g.id for g in books[0].get_related("genres")] == [4]
    assert "__matrx_m2m_source" not in books[0].get_related("genres")[0].__dict__
    assert books[1].get_related("genres") == []


async def test_hostile_identifiers_are_quoted(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[])
    await LsOdd(id=1).fetch_m2m("links")
    recording_db.add_result(tag="CREATE TABLE")
    assert await ensure_m2m_tables(LsOdd) == ['we"ird.odd "links"']
    assert recording_db.sql == [
        'SELECT "t"."id" FROM "odd ""table""" AS "t" JOIN "we""ird"."odd ""links""" AS "j" '
        'ON "j"."to x" = "t"."id" WHERE "j"."from ""x""" = $1 ORDER BY "t"."id"',
        'CREATE TABLE IF NOT EXISTS "we""ird"."odd ""links""" ("from ""x""" integer NOT NULL '
        'REFERENCES "odd ""table""" ("id") ON DELETE CASCADE, "to x" integer NOT NULL '
        'REFERENCES "odd ""table""" ("id") ON DELETE CASCADE, PRIMARY KEY ("from ""x""", '
        '"to x"))',
    ]


async def test_ensure_m2m_tables_ddl(recording_db: Recorder) -> None:
    recording_db.add_result(tag="CREATE TABLE")
    assert await ensure_m2m_tables(LsBook) == ["lsbook_lsgenre"]
    assert recording_db.sql == [
        'CREATE TABLE IF NOT EXISTS "lsbook_lsgenre" ("ls_book_id" integer NOT NULL REFERENCES '
        '"ls_book" ("id") ON DELETE CASCADE, "ls_genre_id" integer NOT NULL REFERENCES '
        '"cat"."ls_genre" ("id") ON DELETE CASCADE, PRIMARY KEY ("ls_book_id", "ls_genre_id"))'
    ]
