"""MigrationState: the tracking table's SQL and the checksum."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations import MigrationDB, MigrationState
from matrx_orm_migrations.state import CREATE_TRACKING_TABLE_SQL, TRACKING_TABLE, compute_checksum

pytestmark = pytest.mark.level1


class FakeDB(MigrationDB):
    """Records statements; returns canned rows."""

    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        super().__init__("fake")
        self.sent: list[tuple[str, tuple[Any, ...]]] = []
        self.rows = rows or []

    async def _run(self, sql: str, args: Any, timeout: Any, *, mode: Any, operation: str) -> Any:
        self.sent.append((sql, tuple(args)))
        if mode == "rows":
            return self.rows
        return None


def test_checksum_is_sha256_of_lf_text() -> None:
    text = "a\nb\n"
    assert compute_checksum(text) == hashlib.sha256(text.encode()).hexdigest()
    assert len(compute_checksum(text)) == 64


@pytest.mark.parametrize("variant", ["a\r\nb\r\n", "a\rb\r", "a\r\nb\n"])
def test_checksum_ignores_line_endings(variant: str) -> None:
    assert compute_checksum(variant) == compute_checksum("a\nb\n")


def test_checksum_sees_real_edits() -> None:
    assert compute_checksum("a\nb\n") != compute_checksum("a\nc\n")
    assert compute_checksum("a\nb\n") != compute_checksum("a\nb \n")


def test_static_and_constants() -> None:
    assert MigrationState.compute_checksum("x") == compute_checksum("x")
    assert MigrationState.TRACKING_TABLE == TRACKING_TABLE == "_matrx_migrations"
    assert "CREATE TABLE IF NOT EXISTS" in CREATE_TRACKING_TABLE_SQL
    for column in (
        "id SERIAL PRIMARY KEY",
        "name VARCHAR(255) NOT NULL UNIQUE",
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now()",
        "checksum VARCHAR(64) NOT NULL",
    ):
        assert column in CREATE_TRACKING_TABLE_SQL


async def test_record_binds_values() -> None:
    db = FakeDB()
    await MigrationState(db).record_migration("0001_x'; DROP TABLE y", "a" * 64)
    assert db.sent == [
        (
            'INSERT INTO "_matrx_migrations" (name, checksum) VALUES ($1, $2)',
            ("0001_x'; DROP TABLE y", "a" * 64),
        )
    ]


async def test_record_rejects_bad_checksum() -> None:
    with pytest.raises(MigrationError, match="64-character"):
        await MigrationState(FakeDB()).record_migration("0001_x", "abc")


async def test_unrecord_binds_name() -> None:
    db = FakeDB()
    await MigrationState(db).unrecord_migration("0001_x")
    assert db.sent == [('DELETE FROM "_matrx_migrations" WHERE name = $1', ("0001_x",))]


async def test_verify_checksums_reports_only_changed_files() -> None:
    rows = [
        {"id": 1, "name": "0001_a", "applied_at": None, "checksum": "1" * 64},
        {"id": 2, "name": "0002_b", "applied_at": None, "checksum": "2" * 64},
        {"id": 3, "name": "0003_gone", "applied_at": None, "checksum": "3" * 64},
    ]
    state = MigrationState(FakeDB(rows))
    changed = await state.verify_checksums({"0001_a": "1" * 64, "0002_b": "x" * 64})
    assert changed == ["0002_b"]
    assert await state.applied_names() == {"0001_a", "0002_b", "0003_gone"}
    assert [r.id for r in await state.applied_migrations()] == [1, 2, 3]
