"""Running registered queries: standard, in one transaction, or in batches (async and sync)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matrx_orm_core import _execution, hooks
from matrx_orm_core._loop import run_sync
from matrx_orm_core.drivers.base import Row
from matrx_orm_core.exceptions import ORMException
from matrx_orm_core.sqltext import Statement
from matrx_orm_core.transaction import transaction

from .registry import PreparedQuery, _error, get_registry

__all__ = [
    "execute_batch_query",
    "execute_batch_query_sync",
    "execute_query",
    "execute_query_sync",
    "execute_standard_query",
    "execute_standard_query_sync",
    "execute_transaction_query",
    "execute_transaction_query_sync",
]


def _as_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [dict(row.items()) for row in rows]


def _args(statement: Statement, values: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(values[name] for name in statement.names)


def _clear_cache(database: str) -> None:
    hooks.get_model_cache().clear(database=database)


async def _run_statements(
    prepared: PreparedQuery, values: Mapping[str, Any], operation: str
) -> list[Row]:
    rows: list[Row] = []
    for statement in prepared.statements:
        rows = await _execution.fetch(
            prepared.database, statement.sql, _args(statement, values), operation=operation
        )
    return rows


async def execute_standard_query(
    query_name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run the one statement of a registered query (autocommit, or in the open transaction).

    Returns:
        The rows as dicts (``[]`` for a statement that returns none).

    Raises:
        ValidationError: Unknown query, unknown or missing parameters, or a query with several
            statements (use :func:`execute_transaction_query`). Nothing is sent.
        DatabaseError: (or a subclass) the statement failed.
    """
    prepared = get_registry().prepared(query_name)
    if len(prepared.statements) > 1:
        raise _error(
            query_name,
            f"it has {len(prepared.statements)} statements; run it with "
            "execute_transaction_query() or execute_query()",
        )
    values = prepared.bind(params)
    try:
        return _as_dicts(await _run_statements(prepared, values, "execute_standard_query"))
    finally:
        if prepared.writes:
            _clear_cache(prepared.database)


async def execute_transaction_query(
    query_name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run every statement of a registered query in one transaction on one connection.

    If any statement fails, the transaction is rolled back and nothing is written. Inside an
    open ``transaction()`` the statements run in a savepoint of it.

    Returns:
        The rows of the last statement, as dicts.

    Raises:
        ValidationError: Unknown query, unknown or missing parameters (nothing sent).
        DatabaseError: (or a subclass) a statement or the commit failed (rolled back).
    """
    prepared = get_registry().prepared(query_name)
    values = prepared.bind(params)
    try:
        async with transaction(prepared.database):
            rows = await _run_statements(prepared, values, "execute_transaction_query")
        return _as_dicts(rows)
    finally:
        if prepared.writes:
            _clear_cache(prepared.database)


async def execute_batch_query(
    query_name: str,
    batch_params: Sequence[Mapping[str, Any]],
    batch_size: int = 50,
) -> list[dict[str, Any]]:
    """Run a registered query once per parameter set, ``batch_size`` sets per transaction.

    Every parameter set is checked before anything is sent. A failing batch is rolled back
    and the error raised; batches committed before it stay committed.

    Returns:
        Every row returned, in order, as dicts.

    Raises:
        ValidationError: Unknown query, a bad parameter set (its index is in
            ``details["batch_index"]``), or ``batch_size`` below 1. Nothing is sent.
        DatabaseError: (or a subclass) a statement failed.
    """
    prepared = get_registry().prepared(query_name)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise _error(query_name, "batch_size must be an int of at least 1", field="batch_size")
    if isinstance(batch_params, (str, bytes, Mapping)):
        raise _error(query_name, "batch_params must be a list of dicts", field="batch_params")
    bound: list[dict[str, Any]] = []
    for index, params in enumerate(batch_params):
        try:
            bound.append(prepared.bind(params))
        except ORMException as err:
            raise err.enrich(batch_index=index) from None
    results: list[dict[str, Any]] = []
    try:
        for start in range(0, len(bound), batch_size):
            async with transaction(prepared.database):
                for values in bound[start : start + batch_size]:
                    for statement in prepared.statements:
                        rows = await _execution.fetch(
                            prepared.database,
                            statement.sql,
                            _args(statement, values),
                            operation="execute_batch_query",
                        )
                        results.extend(_as_dicts(rows))
        return results
    finally:
        if prepared.writes and bound:
            _clear_cache(prepared.database)


async def execute_query(
    query_name: str,
    params: Mapping[str, Any] | None = None,
    batch_params: Sequence[Mapping[str, Any]] | None = None,
    batch_size: int = 50,
) -> list[dict[str, Any]]:
    """Run a registered query with the executor its ``executor_type`` names.

    A non-empty ``batch_params`` runs it as a batch whatever its type; a ``"batch"`` query
    given only ``params`` runs as a batch of one.

    Returns:
        The rows as dicts (see the three executors).

    Raises:
        ValidationError: Unknown query, bad parameters, or both ``params`` and
            ``batch_params`` given. Nothing is sent.
        DatabaseError: (or a subclass) a statement failed.
    """
    prepared = get_registry().prepared(query_name)
    if batch_params:
        if params:
            raise _error(query_name, "pass either params or batch_params, not both")
        return await execute_batch_query(query_name, batch_params, batch_size)
    if prepared.executor_type == "transaction":
        return await execute_transaction_query(query_name, params)
    if prepared.executor_type == "batch":
        return await execute_batch_query(query_name, [params or {}], batch_size)
    return await execute_standard_query(query_name, params)


def execute_query_sync(
    query_name: str,
    params: Mapping[str, Any] | None = None,
    batch_params: Sequence[Mapping[str, Any]] | None = None,
    batch_size: int = 50,
) -> list[dict[str, Any]]:
    """Blocking :func:`execute_query` (raises SyncContextError inside a running event loop).

    Returns:
        As :func:`execute_query`.

    Raises:
        SyncContextError: Called from a running event loop (``await execute_query`` there).
    """
    return run_sync(
        lambda: execute_query(query_name, params, batch_params, batch_size), name="execute_query"
    )


def execute_standard_query_sync(
    query_name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Blocking :func:`execute_standard_query`.

    Returns:
        As :func:`execute_standard_query`.

    Raises:
        SyncContextError: Called from a running event loop.
    """
    return run_sync(
        lambda: execute_standard_query(query_name, params), name="execute_standard_query"
    )


def execute_transaction_query_sync(
    query_name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Blocking :func:`execute_transaction_query`.

    Returns:
        As :func:`execute_transaction_query`.

    Raises:
        SyncContextError: Called from a running event loop.
    """
    return run_sync(
        lambda: execute_transaction_query(query_name, params), name="execute_transaction_query"
    )


def execute_batch_query_sync(
    query_name: str, batch_params: Sequence[Mapping[str, Any]], batch_size: int = 50
) -> list[dict[str, Any]]:
    """Blocking :func:`execute_batch_query`.

    Returns:
        As :func:`execute_batch_query`.

    Raises:
        SyncContextError: Called from a running event loop.
    """
    return run_sync(
        lambda: execute_batch_query(query_name, batch_params, batch_size),
        name="execute_batch_query",
    )
