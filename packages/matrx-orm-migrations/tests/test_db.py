"""Tests for MigrationDB's routing: which core execution path each text takes, and its checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from matrx_orm_core import _execution
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.exceptions import (
    ConfigurationError,
    DatabaseError,
    ORMException,
    ParameterError,
)
from matrx_orm_migrations import MigrationDB

pytestmark = pytest.mark.level1

SCRIPT = "CREATE TABLE a (x text DEFAULT ';'); CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$"


class Row(dict[str, Any]):
    """A driver row stand-in: a dict (it has ``items()``)."""


class FakeExecution:
    """Stands in for matrx_orm_core._execution and records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, tuple[Any, ...], str | None, float | None]] = []
        self.connections: list[dict[str, Any] | None] = []
        self.rows: list[Row] = [Row(id=1, name="a"), Row(id=2, name="b")]
        self.error: BaseException | None = None

    def _record(
        self,
        method: str,
        database: str,
        sql: str,
        params: Sequence[Any],
        operation: str | None,
        timeout: float | None,
    ) -> None:
        self.calls.append((method, database, sql, tuple(params), operation, timeout))
        self.connections.append(_execution.current_connection.get())
        if self.error is not None:
            raise self.error

    async def execute(
        self,
        database: str,
        sql: str,
        params: Sequence[Any] = (),
        *,
        operation: str | None = None,
        timeout: float | None = None,
    ) -> str:
        self._record("execute", database, sql, params, operation, timeout)
        return "CREATE TABLE"

    async def fetch(
        self,
        database: str,
        sql: str,
        params: Sequence[Any] = (),
        *,
        operation: str | None = None,
        timeout: float | None = None,
    ) -> list[Row]:
        self._record("fetch", database, sql, params, operation, timeout)
        return self.rows

    async def fetch_one(
        self,
        database: str,
        sql: str,
        params: Sequence[Any] = (),
        *,
        operation: str | None = None,
        timeout: float | None = None,
    ) -> Row | None:
        self._record("fetch_one", database, sql, params, operation, timeout)
        return self.rows[0] if self.rows else None

    async def fetch_val(
        self,
        database: str,
        sql: str,
        params: Sequence[Any] = (),
        *,
        operation: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        self._record("fetch_val", database, sql, params, operation, timeout)
        return self.rows[0]["id"] if self.rows else None


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeExecution:
    fake = FakeExecution()
    for name in ("execute", "fetch", "fetch_one", "fetch_val"):
        monkeypatch.setattr(_execution, name, getattr(fake, name))
    return fake


@pytest.fixture
def borrowed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """Replace AsyncDatabaseManager.get_connection; records (database, connection) per borrow."""
    borrows: list[tuple[str, object]] = []

    @asynccontextmanager
    async def get_connection(name: str, timeout: float = 10.0) -> AsyncIterator[object]:
        connection = object()
        borrows.append((name, connection))
        yield connection

    monkeypatch.setattr(AsyncDatabaseManager, "get_connection", get_connection)
    return borrows


def test_config_name_and_repr() -> None:
    db = MigrationDB("main")
    assert db.config_name == "main"
    assert repr(db) == "MigrationDB('main')"


@pytest.mark.parametrize("name", ["", None, 3])
def test_config_name_must_be_a_non_empty_string(name: Any) -> None:
    with pytest.raises(ConfigurationError, match="MigrationDB needs the name of a registered"):
        MigrationDB(name)


async def test_single_statement_is_fetched_as_dicts(fake: FakeExecution) -> None:
    rows = await MigrationDB("main").execute("SELECT id, name FROM t")
    assert rows == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert all(type(row) is dict for row in rows)
    assert fake.calls == [
        ("fetch", "main", "SELECT id, name FROM t", (), "MigrationDB.execute", 30.0)
    ]


async def test_args_are_passed_positionally(fake: FakeExecution) -> None:
    await MigrationDB("main").execute("SELECT * FROM t WHERE a = $1 AND b = $2", 7, "x")
    assert fake.calls == [
        (
            "fetch",
            "main",
            "SELECT * FROM t WHERE a = $1 AND b = $2",
            (7, "x"),
            "MigrationDB.execute",
            30.0,
        )
    ]


async def test_multi_statement_script_uses_the_simple_query_path(fake: FakeExecution) -> None:
    rows = await MigrationDB("main").execute(SCRIPT, timeout=5)
    assert rows == []
    assert fake.calls == [("execute", "main", SCRIPT, (), "MigrationDB.execute", 5)]


@pytest.mark.parametrize("text", ["", "  ", "-- nothing", "/* x */ ;;"])
async def test_text_without_a_statement_sends_nothing(fake: FakeExecution, text: str) -> None:
    db = MigrationDB("main")
    assert await db.execute(text) == []
    assert await db.fetch_one(text) is None
    assert await db.fetch_val(text) is None
    assert fake.calls == []


async def test_args_with_several_statements_are_rejected_before_sending(
    fake: FakeExecution,
) -> None:
    with pytest.raises(ParameterError, match="must hold exactly one statement, found 2"):
        await MigrationDB("main").execute("DELETE FROM a; DELETE FROM b WHERE id = $1", 1)
    assert fake.calls == []


async def test_fetch_is_an_alias_of_execute(fake: FakeExecution) -> None:
    assert await MigrationDB("main").fetch("SELECT 1", timeout=None) == [
        {"id": 1, "name": "a"},
        {"id": 2, "name": "b"},
    ]
    assert fake.calls == [("fetch", "main", "SELECT 1", (), "MigrationDB.fetch", None)]


async def test_fetch_one(fake: FakeExecution) -> None:
    db = MigrationDB("main")
    assert await db.fetch_one("SELECT * FROM t WHERE id = $1", 1) == {"id": 1, "name": "a"}
    fake.rows = []
    assert await db.fetch_one("SELECT * FROM t WHERE id = $1", 9) is None
    assert [call[0] for call in fake.calls] == ["fetch_one", "fetch_one"]
    assert fake.calls[0][3:] == ((1,), "MigrationDB.fetch_one", 30.0)


async def test_fetch_val(fake: FakeExecution) -> None:
    db = MigrationDB("main")
    assert await db.fetch_val("SELECT id FROM t") == 1
    fake.rows = []
    assert await db.fetch_val("SELECT id FROM t") is None
    assert fake.calls[0] == (
        "fetch_val",
        "main",
        "SELECT id FROM t",
        (),
        "MigrationDB.fetch_val",
        30.0,
    )


async def test_fetch_one_and_val_of_a_script_run_it_and_return_none(fake: FakeExecution) -> None:
    db = MigrationDB("main")
    assert await db.fetch_one(SCRIPT) is None
    assert await db.fetch_val(SCRIPT) is None
    assert [call[0] for call in fake.calls] == ["execute", "execute"]


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "5", True])
async def test_bad_timeout_is_rejected(fake: FakeExecution, timeout: Any) -> None:
    with pytest.raises(ParameterError, match="timeout must be a positive number"):
        await MigrationDB("main").execute("SELECT 1", timeout=timeout)
    with pytest.raises(ParameterError, match="timeout must be a positive number"):
        await MigrationDB("main").execute_many(["SELECT 1"], timeout=timeout)
    assert fake.calls == []


async def test_non_string_sql_is_rejected(fake: FakeExecution) -> None:
    with pytest.raises(ParameterError, match=r"needs SQL text \(str\), got bytes"):
        await MigrationDB("main").execute(b"SELECT 1")  # type: ignore[arg-type]
    assert fake.calls == []


async def test_orm_errors_are_enriched_with_operation_and_database(fake: FakeExecution) -> None:
    fake.error = DatabaseError(message="boom")
    with pytest.raises(DatabaseError) as info:
        await MigrationDB("main").execute("SELECT 1")
    assert info.value.details["database"] == "main"
    assert info.value.method_name == "MigrationDB.execute"


async def test_driver_timeout_becomes_database_error(fake: FakeExecution) -> None:
    fake.error = TimeoutError()
    with pytest.raises(DatabaseError, match=r"did not finish within 0\.5 seconds") as info:
        await MigrationDB("main").execute("SELECT pg_sleep(1)", timeout=0.5)
    assert isinstance(info.value.__cause__, TimeoutError)
    assert info.value.details["database"] == "main"


async def test_execute_many_runs_in_order_on_one_borrowed_connection(
    fake: FakeExecution, borrowed: list[tuple[str, object]]
) -> None:
    statements = ["CREATE TABLE a (x int)", SCRIPT, "INSERT INTO a VALUES (1)"]
    await MigrationDB("main").execute_many(statements, timeout=3.0)
    assert [(call[0], call[2], call[4], call[5]) for call in fake.calls] == [
        ("fetch", "CREATE TABLE a (x int)", "MigrationDB.execute_many", 3.0),
        ("execute", SCRIPT, "MigrationDB.execute_many", 3.0),
        ("fetch", "INSERT INTO a VALUES (1)", "MigrationDB.execute_many", 3.0),
    ]
    assert len(borrowed) == 1
    name, connection = borrowed[0]
    assert name == "main"
    assert fake.connections == [{"main": connection}] * 3
    assert _execution.current_connection.get() is None


async def test_execute_many_keeps_other_databases_routes(
    fake: FakeExecution, borrowed: list[tuple[str, object]]
) -> None:
    other: Any = object()
    token = _execution.current_connection.set({"other": other})
    try:
        await MigrationDB("main").execute_many(["SELECT 1"])
        assert _execution.current_connection.get() == {"other": other}
    finally:
        _execution.current_connection.reset(token)
    assert fake.connections == [{"other": other, "main": borrowed[0][1]}]


async def test_execute_many_uses_an_open_transactions_connection(
    fake: FakeExecution, borrowed: list[tuple[str, object]]
) -> None:
    in_transaction: Any = object()
    token = _execution.current_connection.set({"main": in_transaction})
    try:
        await MigrationDB("main").execute_many(["SELECT 1", "SELECT 2"])
    finally:
        _execution.current_connection.reset(token)
    assert borrowed == []
    assert fake.connections == [{"main": in_transaction}] * 2


async def test_execute_many_empty_list_borrows_nothing(
    fake: FakeExecution, borrowed: list[tuple[str, object]]
) -> None:
    await MigrationDB("main").execute_many([])
    assert borrowed == []
    assert fake.calls == []


async def test_execute_many_rejects_a_single_string(fake: FakeExecution) -> None:
    with pytest.raises(ParameterError, match="takes a list of SQL strings, got one string"):
        await MigrationDB("main").execute_many("SELECT 1")
    assert fake.calls == []


async def test_execute_many_failure_names_the_statement_index(
    fake: FakeExecution, borrowed: list[tuple[str, object]]
) -> None:
    db = MigrationDB("main")
    fake.error = DatabaseError(message="boom")
    with pytest.raises(ORMException) as info:
        await db.execute_many(["SELECT 1", "SELECT 2"])
    assert info.value.details["statement_index"] == 0
    assert len(fake.calls) == 1
    assert _execution.current_connection.get() is None
