"""Paginator and Page on a real server: the spec README example and its edge cases."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from matrx_orm import (
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    Model,
    Page,
    Paginator,
    ValidationError,
)
from matrx_orm.core.paginator import Paginator as CorePaginator
from matrx_orm.migrations import MigrationDB

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


class PageUser(Model):
    id = IntegerField(primary_key=True)
    username = CharField(max_length=50)
    is_active = BooleanField(default=True)
    created_at = DateTimeField()

    _table_name = "adv_page_user"
    _database = DB


SCHEMA = """
CREATE TABLE "adv_page_user" (
    "id" integer PRIMARY KEY,
    "username" varchar(50) NOT NULL,
    "is_active" boolean NOT NULL DEFAULT true,
    "created_at" timestamptz NOT NULL
);
"""


@pytest.fixture
async def users(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    """45 active users (ids 1..45, created one minute apart) and 5 inactive ones."""
    db = MigrationDB(DB)
    await db.execute('DROP TABLE IF EXISTS "adv_page_user"')
    await db.execute(SCHEMA)
    await PageUser.bulk_create(
        [
            {
                "id": i,
                "username": f"user{i}",
                "is_active": i <= 45,
                "created_at": BASE + dt.timedelta(minutes=i),
            }
            for i in range(1, 51)
        ]
    )
    try:
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "adv_page_user"')


async def test_readme_paginator_example(users: MigrationDB) -> None:
    assert Paginator is CorePaginator
    paginator = Paginator(PageUser.filter(is_active=True).order_by("-created_at"), per_page=20)
    assert paginator.total_pages is None

    page = await paginator.page(1)
    assert isinstance(page, Page)
    assert all(isinstance(user, PageUser) for user in page.items)
    assert [user.id for user in page.items] == list(range(45, 25, -1))
    assert page.number == 1
    assert page.total_count == 45
    assert page.total_pages == 3
    assert page.has_next is True
    assert page.has_previous is False
    assert page.next_number == 2
    assert page.previous_number is None
    assert page.start_index == 1
    assert page.end_index == 20
    assert paginator.total_pages == 3

    seen: list[int] = []
    numbers: list[int] = []
    async for page in paginator:
        numbers.append(page.number)
        for user in page:
            seen.append(user.id)
    assert numbers == [1, 2, 3]
    assert seen == list(range(45, 0, -1))  # every active user exactly once, in order


async def test_last_page_and_out_of_range(users: MigrationDB) -> None:
    paginator = Paginator(PageUser.filter(is_active=True).order_by("id"), per_page=20)
    last = await paginator.page(3)
    assert [user.id for user in last] == [41, 42, 43, 44, 45]
    assert (last.start_index, last.end_index) == (41, 45)
    assert (last.has_next, last.previous_number) == (False, 2)
    with pytest.raises(ValidationError, match="Page 4 of the PageUser query is out of range"):
        await paginator.page(4)
    with pytest.raises(ValueError, match="page number must be an int >= 1"):
        await paginator.page(0)


async def test_count_is_cached_until_iteration_recounts(users: MigrationDB) -> None:
    paginator = Paginator(PageUser.filter(is_active=True).order_by("id"), per_page=50)
    assert await paginator.count() == 45
    await users.execute('UPDATE "adv_page_user" SET "is_active" = true')
    assert await paginator.count() == 45  # cached
    pages = [page async for page in paginator]  # re-counts
    assert [page.total_count for page in pages] == [50]
    assert len(pages[0]) == 50


async def test_empty_result(users: MigrationDB) -> None:
    paginator = Paginator(PageUser.filter(username="nobody").order_by("id"), per_page=10)
    page = await paginator.page(1)
    assert page.items == []
    assert (page.total_pages, page.start_index, page.end_index) == (0, 0, 0)
    assert [p async for p in paginator] == []


async def test_pages_keep_only_and_filters(users: MigrationDB) -> None:
    query = PageUser.filter(is_active=False).only("id", "username").order_by("id")
    page = await Paginator(query, per_page=2).page(2)
    assert [(user.id, user.username) for user in page] == [(48, "user48"), (49, "user49")]
    assert page.items[0].created_at is None  # not loaded: only() was kept
