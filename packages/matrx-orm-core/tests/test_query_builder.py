"""Tests for QueryBuilder: immutability, laziness, exact SQL and parameters, row counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import ConfigurationError, FieldError, QueryError, ValidationError
from matrx_orm_core.fields import BooleanField, CharField, IntegerField
from matrx_orm_core.models import Model
from matrx_orm_core.query import QueryBuilder, QuerySet
from matrx_orm_core.query.builder import CHUNK_SIZE
from matrx_orm_core.sql import ForUpdate
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
    assert narrowed.exclude(title="x").filters == {
        "is_published": True,
        "views": 3,
        "NOT title": "x",
    }
    other = base.using("elsewhere")
    assert (other.database, base.database) == ("elsewhere", "recorded")
    assert repr(narrowed) == "<QueryBuilder QPost filters=[is_published, views]>"
    assert recording_db.statements == []


def test_bad_filters_raise_before_anything_runs(recording_db: Recorder) -> None:
    with pytest.raises(FieldError) as info:
        QPost.filter(views__near=3)
    message = info.value.message
    assert "unknown lookup 'near' in 'views__near'" in message
    assert "QPost" in message
    assert "Valid lookups: exact, eq, ne" in message
    with pytest.raises(FieldError, match="Valid fields: id, title, views, is_published"):
        QPost.filter(nope__gt=1)
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


# --- the complete builder (issue #3) -----------------------------------------------------------


SEL = f'SELECT {COLS} FROM "post"'


def test_chain_methods_never_change_the_base(recording_db: Recorder) -> None:
    base = QPost.filter(views=1)
    before = base.sql()
    chained = [
        base.filter(title="x"),
        base.exclude(title="x"),
        base.order_by("-views"),
        base.limit(3),
        base.offset(2),
        base[1:4],
        base.only("title"),
        base.defer("title"),
        base.select("title"),
        base.distinct(),
        base.reverse(),
        base.using("other"),
        base.select_for_update(),
    ]
    assert all(qb is not base for qb in chained)
    assert base.sql() == before == (f'{SEL} WHERE "views" = $1', (1,))
    assert base.for_update is None
    assert recording_db.statements == []


@pytest.mark.parametrize(
    ("build", "sql", "params"),
    [
        (
            lambda: QPost.exclude(views=1, title="a"),
            f'{SEL} WHERE NOT ("views" = $1 AND "title" = $2)',
            (1, "a"),
        ),
        (lambda: QPost.exclude(views=1), f'{SEL} WHERE NOT ("views" = $1)', (1,)),
        (
            lambda: QPost.filter(views__gt=1).exclude(title=None).filter(is_published=True),
            f'{SEL} WHERE ("views" > $1 AND NOT ("title" IS NULL) AND "is_published" = $2)',
            (1, True),
        ),
        (
            lambda: QPost.filter().order_by("title", "-views"),
            f'{SEL} ORDER BY "title" ASC, "views" DESC',
            (),
        ),
        (
            lambda: QueryBuilder(QPost).order_by(QPost.views.desc(), QPost.id.asc()),
            f'{SEL} ORDER BY "views" DESC, "id" ASC',
            (),
        ),
        (
            lambda: QueryBuilder(QPost).order_by("title", "-views").reverse(),
            f'{SEL} ORDER BY "title" DESC, "views" ASC',
            (),
        ),
        (lambda: QueryBuilder(QPost).reverse(), SEL, ()),
        (lambda: QueryBuilder(QPost).limit(5).offset(10), f"{SEL} LIMIT $1 OFFSET $2", (5, 10)),
        (lambda: QueryBuilder(QPost)[10:15], f"{SEL} LIMIT $1 OFFSET $2", (5, 10)),
        (lambda: QueryBuilder(QPost)[:3], f"{SEL} LIMIT $1", (3,)),
        (lambda: QueryBuilder(QPost)[4:], f"{SEL} OFFSET $1", (4,)),
        (lambda: QueryBuilder(QPost)[10:20][2:5], f"{SEL} LIMIT $1 OFFSET $2", (3, 12)),
        (lambda: QueryBuilder(QPost)[10:20][5:], f"{SEL} LIMIT $1 OFFSET $2", (5, 15)),
        (lambda: QueryBuilder(QPost).only("title"), 'SELECT "id", "title" FROM "post"', ()),
        (
            lambda: QueryBuilder(QPost).select("views", "title"),
            'SELECT "id", "title", "views" FROM "post"',
            (),
        ),
        (
            lambda: QueryBuilder(QPost).defer("title", "views"),
            'SELECT "id", "is_published" FROM "post"',
            (),
        ),
        (lambda: QueryBuilder(QPost).distinct(), f'SELECT DISTINCT {COLS} FROM "post"', ()),
        (
            lambda: QueryBuilder(QPost).distinct("title").order_by("title", "-views"),
            f'SELECT DISTINCT ON ("title") {COLS} FROM "post" ORDER BY "title" ASC, "views" DESC',
            (),
        ),
        (lambda: QueryBuilder(QPost).select_for_update(), f"{SEL} FOR UPDATE", ()),
        (
            lambda: QueryBuilder(QPost).select_for_update(
                nowait=True, skip_locked=True, of=["post"]
            ),
            f'{SEL} FOR UPDATE OF "post" NOWAIT',
            (),
        ),
        (
            lambda: QPost.filter(id=1).select_for_update(skip_locked=True).limit(1),
            f'{SEL} WHERE "id" = $1 LIMIT $2 FOR UPDATE SKIP LOCKED',
            (1, 1),
        ),
    ],
)
def test_chain_sql(build: Any, sql: str, params: tuple[Any, ...]) -> None:
    assert build().sql() == (sql, params)


def test_for_update_property() -> None:
    qb = QueryBuilder(QPost).select_for_update(skip_locked=True, of=("post",))
    assert qb.for_update == ForUpdate(("post",), nowait=False, skip_locked=True)


def test_bad_chain_arguments(recording_db: Recorder) -> None:
    qb = QueryBuilder(QPost)
    with pytest.raises(TypeError, match="Index access not supported, use slicing") as info:
        qb[0]  # type: ignore[index]
    assert isinstance(info.value, QueryError)
    with pytest.raises(QueryError, match="no step"):
        qb[::2]
    with pytest.raises(QueryError, match="non-negative"):
        qb[-1:]
    with pytest.raises(QPost.ValidationError, match="limit must be an int >= 0"):
        qb.limit(-1)
    with pytest.raises(QPost.ValidationError, match="offset must be an int >= 0"):
        qb.offset("2")  # type: ignore[arg-type]
    with pytest.raises(FieldError, match="is not a field name, '-name' or"):
        qb.order_by(3)
    with pytest.raises(FieldError, match="Invalid order_by term '-'"):
        qb.order_by("-")
    with pytest.raises(FieldError, match="primary key 'id' cannot be deferred"):
        qb.defer("id")
    with pytest.raises(QueryError, match=r"DISTINCT ON .* needs an ORDER BY that starts with"):
        qb.distinct("title").order_by("views").sql()
    with pytest.raises(TypeError):
        qb.filter({"id": 1})  # type: ignore[call-arg]
    assert recording_db.statements == []


async def test_first_last_get_or_none(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[prow(id=9)])
    recording_db.add_result(rows=[prow(id=1)])
    recording_db.add_result(rows=[])
    recording_db.add_result(rows=[prow(id=2)])
    last = await QPost.filter(views=0).last()
    assert last is not None
    assert last.id == 9
    first = await QueryBuilder(QPost).order_by("-views").first()
    assert first is not None
    assert first.id == 1
    assert await QPost.filter(id=7).get_or_none() is None
    last2 = await QueryBuilder(QPost).order_by("-views").last()
    assert last2 is not None
    assert recording_db.statements == [
        (f'{SEL} WHERE "views" = $1 ORDER BY "id" DESC LIMIT $2', (0, 1)),
        (f'{SEL} ORDER BY "views" DESC LIMIT $1', (1,)),
        (f'{SEL} WHERE "id" = $1 LIMIT $2', (7, 2)),
        (f'{SEL} ORDER BY "views" ASC LIMIT $1', (1,)),
    ]


async def test_get_multiple(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[prow(), prow(id=2)])
    with pytest.raises(QPost.MultipleObjectsReturned):
        await QPost.filter(views__gte=0).get()
    recording_db.add_result(rows=[prow(), prow(id=2)])
    with pytest.raises(QPost.MultipleObjectsReturned):
        await QPost.filter(views__gte=0).get_or_none()


async def test_count_wraps_distinct_and_sliced_queries(recording_db: Recorder) -> None:
    for _ in range(4):
        recording_db.add_result(rows=[{"count": 2}])
    assert await QPost.filter(views__gt=1).order_by("title").count() == 2
    await QueryBuilder(QPost).only("title").distinct().count()
    await QueryBuilder(QPost).order_by("id")[5:10].count()
    await QPost.count(views__in=[1, 2])
    assert recording_db.statements == [
        ('SELECT count(*) FROM "post" WHERE "views" > $1', (1,)),
        ('SELECT count(*) FROM (SELECT DISTINCT "id", "title" FROM "post") AS "_q"', ()),
        (
            f'SELECT count(*) FROM ({SEL} ORDER BY "id" ASC LIMIT $1 OFFSET $2) AS "_q"',
            (5, 5),
        ),
        ('SELECT count(*) FROM "post" WHERE "views" = ANY($1)', ([1, 2],)),
    ]


async def test_exists_variants(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"exists": True}])
    recording_db.add_result(rows=[{"exists": False}])
    recording_db.add_result(rows=[{"exists": True}])
    assert await QPost.exists(title__startswith="a") is True
    assert await QueryBuilder(QPost)[3:].exists() is False
    assert await QPost.exclude(views=1).exists() is True
    assert recording_db.statements == [
        ('SELECT EXISTS(SELECT 1 FROM "post" WHERE "title" LIKE $1 ESCAPE \'\\\')', ("a%",)),
        (f"SELECT EXISTS({SEL} OFFSET $1)", (3,)),
        ('SELECT EXISTS(SELECT 1 FROM "post" WHERE NOT ("views" = $1))', (1,)),
    ]


async def test_values_and_values_list(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"views": 3, "title": "a"}])
    recording_db.add_result(rows=[prow()])
    recording_db.add_result(rows=[{"title": "a", "id": 1}, {"title": "b", "id": 2}])
    recording_db.add_result(rows=[{"title": "a"}, {"title": "b"}])
    rows = await QPost.filter(views=3).values("views", "title")
    assert rows == [{"views": 3, "title": "a"}]
    assert list(rows[0]) == ["views", "title"]
    assert await QueryBuilder(QPost).values() == [prow()]
    assert await QueryBuilder(QPost).values_list("title", "id") == [("a", 1), ("b", 2)]
    assert await QueryBuilder(QPost).order_by("title").values_list("title", flat=True) == [
        "a",
        "b",
    ]
    assert recording_db.statements == [
        ('SELECT "views", "title" FROM "post" WHERE "views" = $1', (3,)),
        (SEL, ()),
        ('SELECT "title", "id" FROM "post"', ()),
        ('SELECT "title" FROM "post" ORDER BY "title" ASC', ()),
    ]


async def test_values_errors_send_nothing(recording_db: Recorder) -> None:
    with pytest.raises(FieldError, match="needs exactly one field, got 2"):
        await QueryBuilder(QPost).values_list("id", "title", flat=True)
    with pytest.raises(FieldError, match="needs exactly one field, got 0"):
        await QueryBuilder(QPost).values_list(flat=True)
    with pytest.raises(FieldError, match="'nope' is not a field of QPost"):
        await QueryBuilder(QPost).values("nope")
    with pytest.raises(FieldError, match="'nope' is not a field of QPost"):
        await QueryBuilder(QPost).values_list("nope")
    assert recording_db.statements == []


async def test_only_marks_deferred_and_skips_the_cache(
    recording_db: Recorder, cache: WriteLog
) -> None:
    recording_db.add_result(rows=[{"id": 1, "title": "t"}])
    (post,) = await QueryBuilder(QPost).only("title").all()
    data = vars(post)
    assert [data[n] for n in ("id", "title", "views", "is_published")] == [1, "t", None, None]
    assert post._deferred == frozenset({"views", "is_published"})
    assert post._persisted
    assert cache.calls == []


async def test_update_and_delete_with_lookups(recording_db: Recorder) -> None:
    recording_db.add_result(tag="UPDATE 2")
    recording_db.add_result(tag="DELETE 1")
    assert await QPost.filter(views__lt=5).exclude(title__in=["a"]).update(views=5) == 2
    assert await QPost.filter(title__icontains="x").delete() == 1
    assert recording_db.statements == [
        (
            'UPDATE "post" SET "views" = $1 WHERE ("views" < $2 AND NOT ("title" = ANY($3)))',
            (5, 5, ["a"]),
        ),
        ('DELETE FROM "post" WHERE "title" ILIKE $1 ESCAPE \'\\\'', ("%x%",)),
    ]


async def test_update_and_delete_refuse_sliced_queries(recording_db: Recorder) -> None:
    with pytest.raises(QueryError, match="cannot use limit/offset/slicing"):
        await QueryBuilder(QPost)[:3].update(views=1)
    with pytest.raises(QueryError, match="cannot use limit/offset/slicing"):
        await QueryBuilder(QPost).order_by("id").delete()
    with pytest.raises(FieldError, match="'views__gt' is not a field"):
        await QueryBuilder(QPost).update(views__gt=1)
    assert recording_db.statements == []


async def test_compiled_sql_is_cached_per_shape(recording_db: Recorder) -> None:
    cache = QPost._meta.sql_cache
    cache.clear()
    QPost.filter(views__gt=1).order_by("title").sql()
    QPost.filter(views__gt=7).order_by("title").sql()
    assert len(cache) == 1
    QPost.filter(views__gt=2, title=None).sql()
    QPost.filter(views__gt=2, title="x").sql()
    assert len(cache) == 3
    QPost.filter(views__in=[]).sql()
    QPost.filter(views__in=[1]).sql()
    assert len(cache) == 5
    QueryBuilder(QPost).limit(1).sql()
    QueryBuilder(QPost).limit(2).sql()
    assert len(cache) == 6


async def test_async_iteration_in_chunks(recording_db: Recorder) -> None:
    full = [prow(id=i) for i in range(CHUNK_SIZE)]
    recording_db.add_result(rows=full)
    recording_db.add_result(rows=[prow(id=CHUNK_SIZE)])
    ids = [post.id async for post in QPost.filter(views=0)]
    assert ids == list(range(CHUNK_SIZE + 1))
    assert recording_db.statements == [
        (f'{SEL} WHERE "views" = $1 ORDER BY "id" ASC LIMIT $2 OFFSET $3', (0, CHUNK_SIZE, 0)),
        (
            f'{SEL} WHERE "views" = $1 ORDER BY "id" ASC LIMIT $2 OFFSET $3',
            (0, CHUNK_SIZE, CHUNK_SIZE),
        ),
    ]


async def test_async_iteration_respects_limit_and_ordering(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[prow(id=3), prow(id=4)])
    ids = [post.id async for post in QueryBuilder(QPost).order_by("-views")[2:4]]
    assert ids == [3, 4]
    assert recording_db.statements == [
        (f'{SEL} ORDER BY "views" DESC, "id" ASC LIMIT $1 OFFSET $2', (2, 2)),
    ]


HOSTILE_NAMES = [
    'a"b',
    "x'; DROP TABLE post; --",
    "title; SELECT 1",
    "views -- c",
    "views /* c */",
    "$1",
    "ti\u0307tle",
    "tïtle",
    "t" * 64,
    "é" * 40,
    "",
    " id",
    "id\x00",
    "views__gt__lt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_names_are_rejected_before_sql(recording_db: Recorder, name: str) -> None:
    qb = QueryBuilder(QPost)
    calls = [
        lambda: qb.filter(**{name: 1}),
        lambda: qb.exclude(**{name: 1}),
        lambda: qb.order_by(name),
        lambda: qb.order_by("-" + name),
        lambda: qb.select(name),
        lambda: qb.only(name),
        lambda: qb.defer(name),
        lambda: qb.distinct(name),
        lambda: qb.select_for_update(of=[name]),
        lambda: QPost.filter(**{name: 1}),
        lambda: QPost.exclude(**{name: 1}),
    ]
    for call in calls:
        with pytest.raises(FieldError):
            call()
    for coro in (
        lambda: qb.values(name),
        lambda: qb.values_list(name),
        lambda: qb.values_list(name, flat=True),
        lambda: qb.update(**{name: 1}),
        lambda: QPost.count(**{name: 1}),
        lambda: QPost.exists(**{name: 1}),
    ):
        with pytest.raises(FieldError):
            await coro()
    assert recording_db.statements == []


@pytest.mark.parametrize("value", HOSTILE_NAMES)
def test_hostile_values_are_bound_never_inlined(value: str) -> None:
    sql, params = QPost.filter(title__startswith=value, title__contains=value).sql()
    assert sql == f"{SEL} WHERE (\"title\" LIKE $1 ESCAPE '\\' AND \"title\" LIKE $2 ESCAPE '\\')"
    assert params[0].endswith("%")


async def test_default_ordering_starts_with_distinct_on(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[prow()])
    await QueryBuilder(QPost).distinct("title").first()
    assert recording_db.statements == [
        (
            f'SELECT DISTINCT ON ("title") {COLS} FROM "post" ORDER BY "title" ASC, "id" ASC '
            "LIMIT $1",
            (1,),
        )
    ]
