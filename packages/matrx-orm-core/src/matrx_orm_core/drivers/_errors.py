"""Driver-neutral translation of PostgreSQL errors, by SQLSTATE, into the ORM exceptions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

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
)

__all__ = [
    "INTEGRITY_KINDS",
    "POOLER_HINT",
    "connection_error",
    "state_error",
    "timeout_error",
    "translate_sqlstate",
]

INTEGRITY_KINDS: dict[str, str] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23001": "foreign_key",  # restrict_violation: a referenced row still exists
    "23502": "not_null",
    "23514": "check",
    "23P01": "exclusion",
}
"""SQLSTATE → ``IntegrityError.constraint`` kind."""

_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05", "3D000", "53300"})
_TRANSACTION_CLASSES = frozenset({"25", "2D", "3B", "40"})
_QUERY_CLASSES = frozenset({"42", "0A", "26", "34", "3F"})

POOLER_HINT = (
    "If you connect through PgBouncer or the Supabase pooler in transaction mode, set "
    "pooler=True on the DatabaseProjectConfig so named prepared statements are turned off."
)
_POOLER_STATES = frozenset({"26000", "42P05"})

_KEY_COLUMNS = re.compile(r"^Key \((?P<cols>.+?)\)=")


def _key_columns(detail: str | None) -> str | None:
    """The column list of a ``Key (a, b)=(...)`` server detail, without the values."""
    if not detail:
        return None
    match = _KEY_COLUMNS.match(detail)
    return match.group("cols") if match else None


def translate_sqlstate(
    sqlstate: str | None,
    message: str,
    *,
    constraint_name: str | None = None,
    table_name: str | None = None,
    column_name: str | None = None,
    schema_name: str | None = None,
    detail: str | None = None,
    hint: str | None = None,
    original_error: BaseException | None = None,
    sql: str | None = None,
    params: Sequence[Any] = (),
) -> ORMException:
    """Map a server error to the ORM exception for its SQLSTATE.

    The server's ``DETAIL`` of classes 22 and 23 may quote row values (``Key (email)=(a@b.c)
    already exists``), so it is stored under ``details["values"]``, which the exception text
    redacts by default; other classes keep it under ``details["detail"]``.

    Args:
        sqlstate: The five-character SQLSTATE code (``None`` when the driver gave none).
        message: The server's primary message.
        constraint_name: Constraint the server reported, if any.
        table_name: Table the server reported, if any.
        column_name: Column the server reported, if any.
        schema_name: Schema the server reported, if any.
        detail: The server's ``DETAIL`` line.
        hint: The server's ``HINT`` line.
        original_error: The driver exception (kept as ``original_error``).
        sql: The statement that failed.
        params: Its parameters.

    Returns:
        The ORM exception to raise (``raise translated from err``).
    """
    code = sqlstate or ""
    klass = code[:2]
    # The server's DETAIL of class 22/23 quotes row values, so it goes under a redacted key;
    # the original error is kept as the primary message only (its str() includes DETAIL).
    has_values = klass in ("22", "23")
    details: dict[str, Any] = {"sqlstate": code or None}
    if schema_name:
        details["schema"] = schema_name
    if table_name:
        details["table"] = table_name
    if detail:
        details["values" if has_values else "detail"] = detail
    if hint:
        details["hint"] = hint
    exc: ORMException
    if klass == "23":
        exc = IntegrityError(
            constraint=INTEGRITY_KINDS.get(code),
            constraint_name=constraint_name,
            table=table_name,
            column=column_name or _key_columns(detail),
            original_error=message,
            details=details,
            sql=sql,
            params=list(params),
        )
    elif klass in ("08", "28") or code in _CONNECTION_STATES:
        exc = ConnectionError(
            original_error=message, details=details, message=f"Database connection error: {message}"
        )
    elif code == "57014":
        exc = DatabaseError(
            message=f"Statement cancelled: {message}",
            details=details,
            original_error=message,
            sql=sql,
            params=list(params),
        )
    elif code == "42601":
        exc = QueryError(message=f"Invalid SQL syntax: {message}", details=details)
    elif klass in _QUERY_CLASSES:
        text = f"{message}. {POOLER_HINT}" if code in _POOLER_STATES else message
        exc = QueryError(message=f"Query error: {text}", details=details)
    elif klass == "22":
        exc = ParameterError(query=sql, args=list(params), reason=message, details=details)
    elif klass in _TRANSACTION_CLASSES:
        exc = TransactionError(
            original_error=message, details=details, message=f"Transaction error: {message}"
        )
    else:
        exc = UnknownDatabaseError(
            query=sql,
            args=list(params),
            original_error=message,
            details=details,
            message=f"Unexpected database error (SQLSTATE {code or 'unknown'}): {message}",
        )
    if sql is not None:
        exc.enrich(sql=sql)
    return exc


def timeout_error(
    seconds: float | None,
    *,
    what: Literal["Statement", "Acquire"] = "Statement",
    original_error: BaseException | None = None,
    sql: str | None = None,
    params: Sequence[Any] = (),
) -> DatabaseError:
    """The error for a client-side timeout of a statement or of acquiring a connection.

    Returns:
        A ``DatabaseError`` whose message names the limit and how to raise it.
    """
    limit = f" after {seconds:g}s" if seconds is not None else ""
    if what == "Statement":
        text = (
            f"Statement timed out{limit}; pass a larger timeout= or raise command_timeout "
            "in the DatabaseProjectConfig."
        )
    else:
        text = (
            f"Timeout acquiring connection{limit}; every pooled connection stayed busy. Raise "
            "max_size in the DatabaseProjectConfig or release connections sooner."
        )
    return DatabaseError(
        message=text,
        original_error=original_error,
        sql=sql,
        params=list(params),
    )


def connection_error(
    message: str, *, db_url: str | None = None, original_error: BaseException | None = None
) -> ConnectionError:
    """A ``ConnectionError`` for a client-side failure (refused, unreachable, lost).

    ``db_url`` must already be redacted; the message must not contain a password.

    Returns:
        The error to raise.
    """
    return ConnectionError(db_url=db_url, original_error=original_error, message=message)


def state_error(message: str, *, original_error: BaseException | None = None) -> StateError:
    """A ``StateError`` for misuse of a connection (released, closed, wrong state).

    Returns:
        The error to raise.
    """
    return StateError(reason=message, original_error=original_error)
