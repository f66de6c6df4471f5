"""SQLSTATE → ORM exception translation (drivers/_errors.py), one family at a time."""

from __future__ import annotations

import pytest

from matrx_orm_core.drivers._errors import (
    POOLER_HINT,
    connection_error,
    state_error,
    timeout_error,
    translate_sqlstate,
)
from matrx_orm_core.exceptions import (
    ConnectionError,
    DatabaseError,
    IntegrityError,
    ORMException,
    ParameterError,
    QueryError,
    StateError,
    TransactionError,
    UnknownDatabaseError,
    set_show_params,
)

SQL = 'INSERT INTO "users" ("email") VALUES ($1)'


@pytest.fixture(autouse=True)
def _hide_params() -> None:
    set_show_params(None)


@pytest.mark.parametrize(
    ("sqlstate", "kind"),
    [
        ("23505", "unique"),
        ("23503", "foreign_key"),
        ("23001", "foreign_key"),
        ("23502", "not_null"),
        ("23514", "check"),
        ("23P01", "exclusion"),
        ("23000", None),
    ],
)
def test_class_23_is_integrity_error_with_kind(sqlstate: str, kind: str | None) -> None:
    exc = translate_sqlstate(
        sqlstate,
        "violates something",
        constraint_name="users_email_key",
        table_name="users",
        column_name="email",
        sql=SQL,
        params=["a@b.c"],
    )
    assert type(exc) is IntegrityError
    assert exc.constraint == kind
    assert exc.constraint_name == "users_email_key"
    assert exc.table == "users"
    assert exc.column == "email"
    assert exc.details["sqlstate"] == sqlstate
    assert exc.details["sql"] == SQL
    assert exc.details["params"] == ["a@b.c"]


def test_unique_violation_column_comes_from_detail_and_values_are_redacted() -> None:
    exc = translate_sqlstate(
        "23505",
        'duplicate key value violates unique constraint "users_email_key"',
        constraint_name="users_email_key",
        table_name="users",
        detail="Key (email)=(secret@example.com) already exists.",
        sql=SQL,
        params=["secret@example.com"],
    )
    assert isinstance(exc, IntegrityError)
    assert exc.column == "email"
    assert exc.details["values"] == "Key (email)=(secret@example.com) already exists."
    text = str(exc)
    assert "secret@example.com" not in text
    assert 'duplicate key value violates unique constraint "users_email_key"' in text
    assert "<redacted>" in text


def test_composite_key_detail_gives_column_list() -> None:
    exc = translate_sqlstate("23505", "dup", detail="Key (tenant_id, email)=(1, x) already exists.")
    assert isinstance(exc, IntegrityError)
    assert exc.column == "tenant_id, email"


def test_not_null_failing_row_is_redacted() -> None:
    exc = translate_sqlstate(
        "23502",
        'null value in column "name" of relation "users" violates not-null constraint',
        table_name="users",
        column_name="name",
        detail="Failing row contains (1, null, topsecret).",
    )
    assert "topsecret" not in str(exc)
    assert "topsecret" not in repr(exc)


@pytest.mark.parametrize(
    "sqlstate",
    ["08000", "08001", "08003", "08006", "08P01", "57P01", "57P02", "57P03", "57P04", "57P05"],
)
def test_connection_states_are_connection_error(sqlstate: str) -> None:
    exc = translate_sqlstate(sqlstate, "terminating connection due to administrator command")
    assert type(exc) is ConnectionError
    assert exc.message == (
        "Database connection error: terminating connection due to administrator command"
    )


@pytest.mark.parametrize("sqlstate", ["28000", "28P01"])
def test_auth_failures_are_connection_error(sqlstate: str) -> None:
    exc = translate_sqlstate(sqlstate, 'password authentication failed for user "app"')
    assert type(exc) is ConnectionError
    assert 'password authentication failed for user "app"' in exc.message


def test_missing_database_and_too_many_connections_are_connection_error() -> None:
    assert type(translate_sqlstate("3D000", 'database "x" does not exist')) is ConnectionError
    assert type(translate_sqlstate("53300", "too many clients")) is ConnectionError


def test_syntax_error_is_query_error() -> None:
    exc = translate_sqlstate("42601", 'syntax error at or near "SELEC"', sql="SELEC 1")
    assert type(exc) is QueryError
    assert exc.message == 'Invalid SQL syntax: syntax error at or near "SELEC"'
    assert exc.details["sql"] == "SELEC 1"


@pytest.mark.parametrize(
    "sqlstate", ["42P01", "42703", "42883", "42501", "42804", "0A000", "3F000", "34000"]
)
def test_other_class_42_and_statement_errors_are_query_error(sqlstate: str) -> None:
    exc = translate_sqlstate(sqlstate, 'relation "nope" does not exist')
    assert type(exc) is QueryError
    assert exc.message == 'Query error: relation "nope" does not exist'


@pytest.mark.parametrize("sqlstate", ["26000", "42P05"])
def test_prepared_statement_errors_point_to_pooler_mode(sqlstate: str) -> None:
    exc = translate_sqlstate(sqlstate, 'prepared statement "__asyncpg_stmt_1__" does not exist')
    assert type(exc) is QueryError
    assert POOLER_HINT in exc.message


@pytest.mark.parametrize("sqlstate", ["22000", "22P02", "22001", "22003", "22007", "22012"])
def test_class_22_is_parameter_error(sqlstate: str) -> None:
    exc = translate_sqlstate(
        sqlstate,
        'invalid input syntax for type uuid: "nope"',
        detail="value nope",
        sql="SELECT $1::uuid",
        params=["nope"],
    )
    assert type(exc) is ParameterError
    assert exc.message == 'Invalid query parameter: invalid input syntax for type uuid: "nope"'
    assert exc.details["query"] == "SELECT $1::uuid"
    assert exc.details["args"] == ["nope"]
    assert exc.details["values"] == "value nope"


@pytest.mark.parametrize(
    "sqlstate", ["40001", "40P01", "40002", "25P02", "25006", "25001", "2D000", "3B001"]
)
def test_transaction_states_are_transaction_error(sqlstate: str) -> None:
    exc = translate_sqlstate(sqlstate, "could not serialize access", detail="Process 1 waits")
    assert type(exc) is TransactionError
    assert exc.message == "Transaction error: could not serialize access"
    assert exc.details["detail"] == "Process 1 waits"


def test_query_canceled_is_database_error() -> None:
    exc = translate_sqlstate(
        "57014", "canceling statement due to statement timeout", sql="SELECT pg_sleep(5)"
    )
    assert type(exc) is DatabaseError
    assert exc.message == "Statement cancelled: canceling statement due to statement timeout"
    assert exc.details["sql"] == "SELECT pg_sleep(5)"


@pytest.mark.parametrize("sqlstate", ["XX000", "58030", "55P03", "53100", "P0001", None])
def test_anything_else_is_unknown_database_error(sqlstate: str | None) -> None:
    exc = translate_sqlstate(sqlstate, "boom", sql="SELECT 1", params=[1])
    assert type(exc) is UnknownDatabaseError
    assert exc.message == f"Unexpected database error (SQLSTATE {sqlstate or 'unknown'}): boom"
    assert exc.details["query"] == "SELECT 1"
    assert exc.details["args"] == [1]


def test_hint_and_schema_are_kept() -> None:
    exc = translate_sqlstate("42P01", "missing", hint="create it", schema_name="app")
    assert exc.details["hint"] == "create it"
    assert exc.details["schema"] == "app"


def test_every_result_is_an_orm_exception() -> None:
    for code in ("23505", "08006", "28P01", "42601", "42P01", "22P02", "40001", "57014", "XX000"):
        assert isinstance(translate_sqlstate(code, "m"), ORMException)


def test_statement_timeout_message_names_the_limit() -> None:
    exc = timeout_error(2.5, sql="SELECT pg_sleep(9)", params=[])
    assert type(exc) is DatabaseError
    assert exc.message == (
        "Statement timed out after 2.5s; pass a larger timeout= or raise command_timeout in "
        "the DatabaseProjectConfig."
    )
    assert exc.details["sql"] == "SELECT pg_sleep(9)"


def test_statement_timeout_without_a_known_limit() -> None:
    assert timeout_error(None).message.startswith("Statement timed out; ")


def test_acquire_timeout_message() -> None:
    exc = timeout_error(10.0, what="Acquire")
    assert exc.message.startswith("Timeout acquiring connection after 10s; ")


def test_connection_error_never_shows_the_password() -> None:
    exc = connection_error(
        "Connecting to postgresql://app:hunter2@db:5432/x failed",
        db_url="postgresql://app:hunter2@db:5432/x",
    )
    assert type(exc) is ConnectionError
    assert "hunter2" not in str(exc)
    assert "hunter2" not in repr(exc)


def test_state_error() -> None:
    exc = state_error("connection has been released back to the pool")
    assert type(exc) is StateError
    assert exc.details["reason"] == "connection has been released back to the pool"
