"""assert_num_queries / count_queries: exact counts, the failure message, nesting, task scoping."""

from __future__ import annotations

import asyncio

import pytest

from matrx_orm_core import IntegerField, Model, ValidationError, _execution
from matrx_orm_core.testing import Recorder, assert_num_queries, count_queries

pytestmark = pytest.mark.level1


class NqItem(Model):
    id = IntegerField(primary_key=True)
    _table_name = "nq_item"
    _database = "recorded"


async def test_counts_each_statement(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1}])
    recording_db.add_result(rows=[{"count": 1}])
    async with assert_num_queries(2) as counted:
        await NqItem.filter().all()
        await NqItem.count()
    assert [sql for _, sql in counted.statements] == [
        'SELECT "id" FROM "nq_item"',
        'SELECT count(*) FROM "nq_item"',
    ]
    assert counted.count == 2


async def test_wrong_count_lists_the_statements(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[])
    with pytest.raises(AssertionError) as info:
        async with assert_num_queries(2):
            await NqItem.filter(id=3).all()
    assert str(info.value) == (
        "Expected 2 statements, but 1 was sent:\n"
        '  1. [recorded] SELECT "id" FROM "nq_item" WHERE "id" = $1'
    )
    with pytest.raises(AssertionError, match=r"Expected 1 statement, but 0 were sent:\n  \(no"):
        async with assert_num_queries(1):
            pass


async def test_nesting_and_tasks(recording_db: Recorder) -> None:
    for _ in range(3):
        recording_db.add_result(rows=[])
    release = asyncio.Event()

    async def outsider() -> None:
        await release.wait()
        await NqItem.filter().all()

    started_outside = asyncio.ensure_future(outsider())
    async with assert_num_queries(2):
        async with assert_num_queries(1):
            await asyncio.ensure_future(NqItem.filter().all())  # a task started inside counts
        release.set()
        await started_outside  # a task started before the block does not
        await NqItem.filter().all()


async def test_copy_counts_once_as_the_statement_the_driver_records(
    recording_db: Recorder,
) -> None:
    recording_db.add_result(tag="COPY 2")
    recording_db.add_result(tag="COPY 1")
    async with assert_num_queries(2) as counted:
        copied = await _execution.copy_records(
            "recorded", "nq_item", ["id"], [(1,), (2,)], schema="pg_temp"
        )
        await _execution.copy_records("recorded", "nq_item", ["id"], [(3,)])
    assert copied == 2
    expected = [
        'COPY "pg_temp"."nq_item" ("id") FROM STDIN (FORMAT binary)',
        'COPY "nq_item" ("id") FROM STDIN (FORMAT binary)',
    ]
    assert counted.statements == [("recorded", sql) for sql in expected]
    assert recording_db.sql == expected  # the same text the recording driver shows
    with pytest.raises(AssertionError, match=r'1 was sent:\n  1\. \[recorded\] COPY "nq_item"'):
        async with assert_num_queries(0):
            await _execution.copy_records("recorded", "nq_item", ["id"], [(4,)])


async def test_entry_points_are_restored_and_bad_counts_rejected() -> None:
    original = _execution.fetch
    original_copy = _execution.copy_records
    async with count_queries():
        assert _execution.fetch is not original
        assert _execution.copy_records is not original_copy
    assert _execution.fetch is original
    assert _execution.copy_records is original_copy
    for bad in (-1, "3", True):
        with pytest.raises(ValidationError, match="pass a non-negative int"):
            async with assert_num_queries(bad):  # type: ignore[arg-type]
                pass
