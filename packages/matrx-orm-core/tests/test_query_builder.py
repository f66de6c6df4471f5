"""Tests for QueryBuilder: immutability, laziness, exact SQL and parameters, row counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import ConfigurationError, FieldError, ValidationError
from matrx_orm_core.fields import BooleanField, CharField, IntegerField
from matrx_orm_core.models import Model
from matrx_orm_core.query import QueryBuilder, QuerySet
from matrx_orm_core.testing import Recorder

COLS = '"id", "title", "views", "is_published"'


class QPost(Model):
    id = IntegerField(primary_key=True)
    title = CharField(max_length=20)
    views = IntegerField()
    is_published = BooleanField(default=False)
    _table_name = "post"
    _database = "recorded"


def prow(**values: Any) -> dict[str, Any]:
    row = {"id": 1, "title": "t", "views": 0, "is_published": False}
    row.update(values)
    return row


class WriteLog:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def lookup(self, model: type, lookup: Mapping[str, Any]) -> Any:
        return hooks.MISS

    def store(self, model: type, instances: Sequence[Any]) -> None:
        self.calls.append(("store", model, len(instances)))

    def notify_write(self, model: type, pks: Any) -> None:
        self.calls.append(("notify_write", model, pks))

    def clear(self, model: type | None = None, *, database: str | None = None) -> None:
        self.calls.append(("clear", model))

    def on_commit(self, database: str) -> None:
        self.calls.append(("on_commit", database))

    def on_rollback(self, database: str) -> None:
        self.calls.append(("on_rollback", database))


@pytest.fixture
def cache() -> Iterator[WriteLog]:
    log = WriteLog()
    previous = hooks.set_model_cache(log)
    yield log
    hooks.set_model_cache(previous)


def test_queryset_is_an_alias() -> None:
    assert QuerySet is QueryBuilder


def test_chain_methods_return_new_builders_and_send_nothing(recording_db: Recorder) -> None:
    base = QPost.filter(is_published=True)
    narrowed = base.filter(views=3)
    assert narrowed is not base
    assert base.filters == {"is_published": True}
    assert narrowed.filters == {"is_published": True, "views": 3}
    other = base.using("elsewhere")
    assert (other.database, base.database) == ("elsewhere", "recorded")
    assert repr(narrowed) == "<QueryBuilder QPost filters=[is_published, views]>"
    assert recording_db.statements == []


def test_bad_filters_raise_before_anything_runs(recording_db: Recorder) -> None:
    with pytest.raises(FieldError) as info:
        QPost.filter(views__gt=3)
    message = info.value.message
    assert "lookup 'views__gt' is not supported yet" in message
    assert "QPost" in message
    assert "Valid fields of QPost: id, title, views, is_published" in message
    with pytest.raises(FieldError, match="'author' is not a field of QPost"):
        QueryBuilder(QPost).filter(author=1)
    with pytest.raises(QPost.ValidationError):
        QPost.filter(views="lots")
    assert recording_db.statements == []


def test_abstract_models_cannot_be_queried() -> None:
    class AbstractQ(Model):
        _abstract = True

    with pytest.raises(ConfigurationError, match="not a concrete model"):
        QueryBuilder(AbstractQ)


async def test_all_and_chained_filters(recording_db: Recorder, cache: WriteLog) -> None:
    recording_db.add_result(rows=[prow(), prow(id=2, title=None)])
    posts = await QPost.filter(is_published=False).filter(title=None).all()
    assert recording_db.statements == [
        (
            f'SELECT {COLS} FROM "post" WHERE ("is_published" = $1 AND "title" IS NULL)',
            (False,),
        )
    ]
    assert [p.id for p in posts] == [1, 2]
    assert all(p._persisted for p in posts)
    assert cache.calls == [("store", QPost, 2)]


async def test_first_orders_by_primary_key(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[prow(id=4)])
    first = await QPost.filter(views=0).first()
    assert first is not None
    assert first.id == 4
    assert await QPost.filter(views=9).first() is None
    assert recording_db.statements == [
        (f'SELECT {COLS} FROM "post" WHERE "views" = $1 ORDER BY "id" ASC LIMIT $2', (0, 1)),
        (f'SELECT {COLS} FROM "post" WHERE "views" = $1 ORDER BY "id" ASC LIMIT $2', (9, 1)),
    ]


async def test_get(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[prow(id=3)])
    assert (await QPost.filter(id=3).get()).id == 3
    with pytest.raises(QPost.DoesNotExist):
        await QPost.filter(id=5).get()
    assert recording_db.params == [(3, 2), (5, 2)]


async def test_count_and_exists(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"count": 7}])
    recording_db.add_result(rows=[{"exists": False}])
    assert await QPost.filter(is_published=True).count() == 7
    assert await QueryBuilder(QPost).exists() is False
    assert recording_db.statements == [
        ('SELECT count(*) FROM "post" WHERE "is_published" = $1', (True,)),
        ('SELECT EXISTS(SELECT 1 FROM "post")', ()),
    ]


async def test_update_returns_row_count_and_notifies_all_rows(
    recording_db: Recorder, cache: WriteLog
) -> None:
    recording_db.add_result(tag="UPDATE 3")
    count = await QPost.filter(views=0, title="t").update(is_published=True, views=None)
    assert count == 3
    assert recording_db.statements == [
        (
            'UPDATE "post" SET "views" = $1, "is_published" = $2 '
            'WHERE ("views" = $3 AND "title" = $4)',
            (None, True, 0, "t"),
        )
    ]
    assert cache.calls == [("notify_write", QPost, hooks.ALL_ROWS)]


async def test_update_rejects_bad_input_before_sql(recording_db: Recorder) -> None:
    with pytest.raises(ValidationError, match="needs at least one field=value"):
        await QPost.filter(id=1).update()
    with pytest.raises(FieldError, match="'nope' is not a field"):
        await QPost.filter(id=1).update(nope=1)
    with pytest.raises(QPost.ValidationError):
        await QPost.filter(id=1).update(title="x" * 21)
    with pytest.raises(QPost.ValidationError):
        await QPost.filter(id=1).update(id=None)  # a primary key is never NULL
    assert recording_db.statements == []


async def test_delete_returns_row_count(recording_db: Recorder, cache: WriteLog) -> None:
    recording_db.add_result(tag="DELETE 2")
    assert await QPost.filter(is_published=False).delete() == 2
    assert await QueryBuilder(QPost).delete() == 0
    assert recording_db.statements == [
        ('DELETE FROM "post" WHERE "is_published" = $1', (False,)),
        ('DELETE FROM "post"', ()),
    ]
    assert cache.calls == [
        ("notify_write", QPost, hooks.ALL_ROWS),
        ("notify_write", QPost, hooks.ALL_ROWS),
    ]
