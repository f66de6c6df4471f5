"""Level1 tests for Paginator and Page (query/paginator.py): the exact COUNT and page SELECT
statements, the cached count, every Page attribute and the errors raised before any SQL."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from matrx_orm_core import MatrxORMWarning, Page, Paginator
from matrx_orm_core.exceptions import QueryUsageError, ValidationError
from matrx_orm_core.fields import BooleanField, CharField, IntegerField
from matrx_orm_core.models import Model
from matrx_orm_core.testing import Recorder


class PgUser(Model):
    id = IntegerField(primary_key=True)
    name = CharField()
    is_active = BooleanField(default=True)
    _database = "recorded"
    _table_name = "pg_user"


COLS = '"id", "name", "is_active"'
ORDERED = PgUser.filter(is_active=True).order_by("-id")


def rows(*ids: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"u{i}", "is_active": True} for i in ids]


def test_creating_runs_nothing(recording_db: Recorder) -> None:
    paginator = Paginator(ORDERED, per_page=2)
    assert paginator.per_page == 2
    assert paginator.total_pages is None
    assert recording_db.statements == []
    assert "not counted yet" in repr(paginator)


def test_default_per_page_is_twenty() -> None:
    assert Paginator(ORDERED).per_page == 20


async def test_page_counts_then_selects_with_limit_and_offset(recording_db: Recorder) -> None:
    paginator = Paginator(ORDERED, per_page=2)
    recording_db.add_result(rows=[{"count": 5}])
    recording_db.add_result(rows=rows(3, 2))
    page = await paginator.page(2)
    assert recording_db.statements == [
        ('SELECT count(*) FROM "pg_user" WHERE "is_active" = $1', (True,)),
        (
            f'SELECT {COLS} FROM "pg_user" WHERE "is_active" = $1 ORDER BY "id" DESC '
            "LIMIT $2 OFFSET $3",
            (True, 2, 2),
        ),
    ]
    assert [u.id for u in page.items] == [3, 2]
    assert paginator.total_pages == 3
    assert "5 rows" in repr(paginator)


async def test_count_is_cached_per_paginator(recording_db: Recorder) -> None:
    paginator = Paginator(ORDERED, per_page=2)
    recording_db.add_result(rows=[{"count": 3}])
    assert await paginator.count() == 3
    assert await paginator.count() == 3
    recording_db.add_result(rows=rows(5, 4))
    recording_db.add_result(rows=rows(3))
    await paginator.page(1)
    await paginator.page(2)
    counts = [sql for sql in recording_db.sql if sql.startswith("SELECT count")]
    assert len(counts) == 1
    assert len(recording_db.statements) == 3


async def test_page_attributes_in_the_middle(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"count": 45}])
    recording_db.add_result(rows=rows(*range(20)))
    page = await Paginator(ORDERED, per_page=20).page(2)
    assert isinstance(page, Page)
    assert page.number == 2
    assert page.per_page == 20
    assert page.total_count == 45
    assert page.total_pages == 3
    assert page.has_next is True
    assert page.has_previous is True
    assert page.next_number == 3
    assert page.previous_number == 1
    assert page.start_index == 21
    assert page.end_index == 40
    assert len(page) == 20
    assert [u.id for u in page] == list(range(20))
    assert repr(page) == "<Page 2 of 3: 20 items, 45 total>"


async def test_last_page_attributes(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"count": 45}])
    recording_db.add_result(rows=rows(*range(5)))
    page = await Paginator(ORDERED, per_page=20).page(3)
    assert (page.has_next, page.next_number) == (False, None)
    assert (page.start_index, page.end_index) == (41, 45)


async def test_empty_result_has_one_empty_first_page(recording_db: Recorder) -> None:
    paginator = Paginator(ORDERED, per_page=10)
    recording_db.add_result(rows=[{"count": 0}])
    page = await paginator.page(1)
    assert len(recording_db.statements) == 1  # no SELECT for a known-empty page
    assert page.items == []
    assert (page.total_count, page.total_pages) == (0, 0)
    assert (page.has_next, page.has_previous) == (False, False)
    assert (page.next_number, page.previous_number) == (None, None)
    assert (page.start_index, page.end_index) == (0, 0)
    assert paginator.total_pages == 0
    with pytest.raises(ValidationError, match="there is 1 page"):
        await paginator.page(2)


@pytest.mark.parametrize("number", [0, -1, 1.0, "1", True, None])
async def test_invalid_page_numbers_are_rejected(recording_db: Recorder, number: Any) -> None:
    with pytest.raises(ValidationError, match=r"page number must be an int >= 1.*numbered from 1"):
        await Paginator(ORDERED, per_page=2).page(number)
    assert recording_db.statements == []


async def test_page_past_the_end_is_rejected(recording_db: Recorder) -> None:
    paginator = Paginator(ORDERED, per_page=2)
    recording_db.add_result(rows=[{"count": 5}])
    with pytest.raises(ValueError, match=r"Page 4 of the PgUser query is out of range") as info:
        await paginator.page(4)
    assert isinstance(info.value, ValidationError)
    assert "3 pages (5 rows, 2 per page). Ask for a page from 1 to 3" in str(info.value)
    assert len(recording_db.statements) == 1


@pytest.mark.parametrize("per_page", [0, -5, 2.5, "10", True, None])
def test_invalid_per_page_is_rejected(per_page: Any) -> None:
    with pytest.raises(ValidationError, match="per_page must be an int >= 1"):
        Paginator(ORDERED, per_page=per_page)


def test_a_non_query_or_a_sliced_query_is_rejected() -> None:
    with pytest.raises(QueryUsageError, match="needs a query"):
        Paginator(PgUser, per_page=2)  # type: ignore[arg-type]
    with pytest.raises(QueryUsageError, match="already has a limit or offset"):
        Paginator(ORDERED.limit(5), per_page=2)
    with pytest.raises(QueryUsageError, match="already has a limit or offset"):
        Paginator(ORDERED[2:], per_page=2)


def test_an_unordered_query_warns() -> None:
    with pytest.warns(MatrxORMWarning, match=r"unordered PgUser query.*order_by"):
        Paginator(PgUser.filter(is_active=True), per_page=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Paginator(ORDERED, per_page=2)


async def test_async_for_recounts_and_walks_every_page(recording_db: Recorder) -> None:
    paginator = Paginator(ORDERED, per_page=2)
    recording_db.add_result(rows=[{"count": 1}])
    assert await paginator.count() == 1
    recording_db.clear()
    recording_db.add_result(rows=[{"count": 3}])
    recording_db.add_result(rows=rows(3, 2))
    recording_db.add_result(rows=rows(1))
    numbers = []
    ids = []
    async for page in paginator:
        numbers.append(page.number)
        ids.extend(user.id for user in page)
    assert numbers == [1, 2]
    assert ids == [3, 2, 1]
    assert recording_db.sql[0].startswith("SELECT count(*)")
    assert recording_db.params[1:] == [(True, 2, 0), (True, 2, 2)]


async def test_async_for_over_no_rows_yields_no_page(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"count": 0}])
    pages = [page async for page in Paginator(ORDERED, per_page=2)]
    assert pages == []
