"""MigrationDB counts a text's statements with core's lexer, matrx_orm_core.sqltext."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import matrx_orm_core.sqltext
from matrx_orm_core import _execution
from matrx_orm_migrations import MigrationDB, db

pytestmark = pytest.mark.level1

ATOMIC = (
    "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a; SELECT a + $1; END"
)
RULE = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES ($1); DELETE FROM b)"


def test_migration_db_uses_core_lexer() -> None:
    assert db.count_statements is matrx_orm_core.sqltext.count_statements


@pytest.mark.parametrize("sql", [ATOMIC, RULE, "SELECT ';' || $1 -- ;"])
async def test_one_statement_with_inner_semicolons_is_prepared(
    monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(
        database: str,
        text: str,
        params: Sequence[Any] = (),
        *,
        operation: str | None = None,
        timeout: float | None = None,
    ) -> list[Any]:
        calls.append((text, tuple(params)))
        return []

    monkeypatch.setattr(_execution, "fetch", fetch)
    assert await MigrationDB("main").execute(sql, 1) == []
    assert calls == [(sql, (1,))]
