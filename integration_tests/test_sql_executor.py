"""The named-query registry against a real server: standard, transaction and batch executors,
atomicity of transaction queries and batches, and the sync twin."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from matrx_orm.migrations import MigrationDB
from matrx_orm_core.exceptions import IntegrityError
from matrx_orm_core.sql_executor import (
    QueryRegistry,
    execute_batch_query,
    execute_query,
    execute_query_sync,
    execute_transaction_query,
    get_registry,
    register_query,
)
from matrx_orm_core.transaction import transaction

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")

SCHEMA = """
CREATE TABLE sqlx_account (
    id integer PRIMARY KEY,
    owner text NOT NULL,
    balance numeric(12, 2) NOT NULL CHECK (balance >= 0),
    meta jsonb
);
"""


@pytest.fixture(autouse=True)
def registry() -> Iterator[QueryRegistry]:
    reg = get_registry()
    saved = dict(reg._queries)
    reg.clear()
    try:
        yield reg
    finally:
        reg.clear()
        reg._queries.update(saved)


@pytest.fixture
async def accounts(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(SCHEMA)
    await db.execute(
        "INSERT INTO sqlx_account (id, owner, balance) VALUES (1, 'ann', 100), (2, 'bob', 10)"
    )
    try:
        yield db
    finally:
        await db.execute("DROP TABLE IF EXISTS sqlx_account")


async def _count(db: MigrationDB) -> int:
    value = await db.fetch_val("SELECT count(*) FROM sqlx_account")
    assert isinstance(value, int)
    return value


async def test_standard_query_with_casts_and_quoted_colons(accounts: MigrationDB) -> None:
    register_query(
        "rich",
        {
            "query": "SELECT id, owner, ':owner' AS lit, balance::text AS bal "
            "FROM sqlx_account WHERE balance >= :min::numeric AND owner <> :skip ORDER BY id",
            "database": DB,
            "params": [
                {"name": "min", "required": True, "type": "numeric"},
                {"name": "skip", "default": ""},
            ],
        },
    )
    rows = await execute_query("rich", {"min": 50})
    assert rows == [{"id": 1, "owner": "ann", "lit": ":owner", "bal": "100.00"}]
    assert await execute_query("rich", {"min": 0, "skip": "ann"}) == [
        {"id": 2, "owner": "bob", "lit": ":owner", "bal": "10.00"}
    ]


async def test_transaction_query_commits_all_statements(accounts: MigrationDB) -> None:
    register_query(
        "transfer",
        {
            "query": """
                UPDATE sqlx_account SET balance = balance - :amount WHERE id = :src;
                UPDATE sqlx_account SET balance = balance + :amount WHERE id = :dst;
                SELECT id, balance::text AS balance FROM sqlx_account ORDER BY id
            """,
            "database": DB,
            "executor_type": "transaction",
            "params": [
                {"name": "amount", "required": True},
                {"name": "src", "required": True},
                {"name": "dst", "required": True},
            ],
        },
    )
    rows = await execute_query("transfer", {"amount": 30, "src": 1, "dst": 2})
    assert rows == [{"id": 1, "balance": "70.00"}, {"id": 2, "balance": "40.00"}]


async def test_failing_statement_in_transaction_query_writes_nothing(
    accounts: MigrationDB,
) -> None:
    register_query(
        "open_two",
        {
            "query": "INSERT INTO sqlx_account (id, owner, balance) VALUES (:a, 'new', 0);"
            "INSERT INTO sqlx_account (id, owner, balance) VALUES (:b, 'dup', 0)",
            "database": DB,
            "executor_type": "transaction",
            "params": [{"name": "a", "required": True}, {"name": "b", "required": True}],
        },
    )
    with pytest.raises(IntegrityError) as info:
        await execute_transaction_query("open_two", {"a": 3, "b": 1})
    assert info.value.details["constraint"] == "unique"
    assert await _count(accounts) == 2
    assert await accounts.fetch_val("SELECT count(*) FROM sqlx_account WHERE id = 3") == 0


async def test_transaction_query_inside_transaction_is_a_savepoint(
    accounts: MigrationDB,
) -> None:
    register_query(
        "bad_pair",
        {
            "query": "DELETE FROM sqlx_account WHERE id = 2; "
            "UPDATE sqlx_account SET balance = -1 WHERE id = 1",
            "database": DB,
            "executor_type": "transaction",
        },
    )
    async with transaction(DB):
        await accounts.fetch_val("SELECT 1")
        with pytest.raises(IntegrityError):
            await execute_query("bad_pair")
        # the outer transaction is still usable and commits its own work
        register_query(
            "add",
            {
                "query": "INSERT INTO sqlx_account (id, owner, balance) VALUES (:id, 'c', 1)",
                "database": DB,
                "params": [{"name": "id", "required": True}],
            },
        )
        await execute_query("add", {"id": 7})
    ids = await accounts.fetch("SELECT id FROM sqlx_account ORDER BY id")
    assert [row["id"] for row in ids] == [1, 2, 7]


async def test_batch_query_inserts_in_batches(accounts: MigrationDB) -> None:
    register_query(
        "add_account",
        {
            "query": "INSERT INTO sqlx_account (id, owner, balance, meta) "
            "VALUES (:id, :owner, :balance, :meta) RETURNING id",
            "database": DB,
            "executor_type": "batch",
            "params": [
                {"name": "id", "required": True},
                {"name": "owner", "required": True},
                {"name": "balance", "default": 0},
                {"name": "meta", "default": None},
            ],
        },
    )
    batch = [{"id": 100 + i, "owner": f"o{i}", "meta": {"n": i}} for i in range(120)]
    rows = await execute_query("add_account", batch_params=batch, batch_size=50)
    assert [row["id"] for row in rows] == [100 + i for i in range(120)]
    assert await _count(accounts) == 122
    meta = await accounts.fetch_val("SELECT meta FROM sqlx_account WHERE id = 105")
    assert meta == {"n": 5}


async def test_failing_batch_is_rolled_back_earlier_batches_stay(accounts: MigrationDB) -> None:
    register_query(
        "add_plain",
        {
            "query": "INSERT INTO sqlx_account (id, owner, balance) VALUES (:id, 'x', 0)",
            "database": DB,
            "params": [{"name": "id", "required": True}],
        },
    )
    ids = [10, 11, 12, 13, 1, 15]  # id 1 exists: the second batch of 3 fails
    with pytest.raises(IntegrityError):
        await execute_batch_query("add_plain", [{"id": i} for i in ids], batch_size=3)
    rows = await accounts.fetch("SELECT id FROM sqlx_account ORDER BY id")
    assert [row["id"] for row in rows] == [1, 2, 10, 11, 12]


def test_sync_twin(accounts: MigrationDB) -> None:
    register_query(
        "owners",
        {
            "query": "SELECT owner FROM sqlx_account WHERE id = ANY(:ids) ORDER BY id",
            "database": DB,
            "params": [{"name": "ids", "required": True}],
        },
    )
    assert execute_query_sync("owners", {"ids": [1, 2]}) == [{"owner": "ann"}, {"owner": "bob"}]
