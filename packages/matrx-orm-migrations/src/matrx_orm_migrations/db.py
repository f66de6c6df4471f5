"""MigrationDB: the ``db`` object handed to a migration's ``up``/``down`` functions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Literal

from matrx_orm_core import _execution, hooks
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.exceptions import (
    ConfigurationError,
    DatabaseError,
    ORMException,
    ParameterError,
)
from matrx_orm_core.sqltext import count_statements, is_read_only

from ._session import routed_to

__all__ = ["MigrationDB"]

logger = logging.getLogger(__name__)

_Mode = Literal["rows", "one", "value"]


class MigrationDB:
    """Run migration SQL against one registered database.

    Every method takes PostgreSQL text with ``$1..$n`` placeholders and positional arguments.
    A text with no arguments may hold several statements (a whole DDL script, including
    functions with ``$$`` bodies): it is sent through the simple-query protocol in one round
    trip and returns no rows. A single statement, or any statement with arguments, is sent as a
    prepared statement and returns its rows.

    Statements run through ``matrx_orm_core._execution``, so errors are core's exception
    classes (``DatabaseError``, ``IntegrityError``, ...) carrying the SQL and operation, and a
    transaction opened by the caller (on the same database) is used when one is active.

    Args:
        config_name: the name (or alias) of a database registered with
            ``matrx_orm_core.config.register_database``.

    Raises:
        ConfigurationError: ``config_name`` is not a non-empty string.
    """

    def __init__(self, config_name: str) -> None:
        if not isinstance(config_name, str) or not config_name:
            raise ConfigurationError(
                config_key="config_name",
                reason=(
                    f"MigrationDB needs the name of a registered database, got {config_name!r}. "
                    "Pass the name you gave register_database()."
                ),
            )
        self._config_name = config_name

    @property
    def config_name(self) -> str:
        """The registered database this object runs statements on."""
        return self._config_name

    def __repr__(self) -> str:
        return f"MigrationDB({self._config_name!r})"

    async def execute(
        self, sql: str, *args: Any, timeout: float | None = 30.0
    ) -> list[dict[str, Any]]:
        """Run ``sql`` and return its rows as dictionaries.

        Args:
            sql: one statement, or (without ``args``) a script of several statements.
            *args: values for ``$1..$n``.
            timeout: seconds before the statement is cancelled; ``None`` uses the pool's
                ``command_timeout``.

        Returns:
            The rows, each a ``dict`` of column name to value; ``[]`` for statements without
            rows, for multi-statement scripts, and for text with no statement in it.

        Raises:
            ParameterError: ``args`` were given with more than one statement, or ``timeout`` is
                not a positive number.
            DatabaseError: the server rejected the statement, or it ran longer than ``timeout``
                (subclasses such as ``IntegrityError`` as core translates them).
        """
        rows = await self._run(sql, args, timeout, mode="rows", operation="execute")
        return list(rows)

    async def fetch(
        self, sql: str, *args: Any, timeout: float | None = 30.0
    ) -> list[dict[str, Any]]:
        """Alias of :meth:`execute` for reads.

        Returns:
            The rows as dictionaries (see :meth:`execute`).

        Raises:
            ParameterError: see :meth:`execute`.
            DatabaseError: see :meth:`execute`.
        """
        rows = await self._run(sql, args, timeout, mode="rows", operation="fetch")
        return list(rows)

    async def fetch_one(
        self, sql: str, *args: Any, timeout: float | None = 30.0
    ) -> dict[str, Any] | None:
        """Run ``sql`` and return its first row.

        Returns:
            The first row as a dictionary, or ``None`` when there is none.

        Raises:
            ParameterError: see :meth:`execute`.
            DatabaseError: see :meth:`execute`.
        """
        row: dict[str, Any] | None = await self._run(
            sql, args, timeout, mode="one", operation="fetch_one"
        )
        return row

    async def fetch_val(self, sql: str, *args: Any, timeout: float | None = 30.0) -> Any:
        """Run ``sql`` and return the first column of its first row.

        Returns:
            That value, or ``None`` when there is no row.

        Raises:
            ParameterError: see :meth:`execute`.
            DatabaseError: see :meth:`execute`.
        """
        return await self._run(sql, args, timeout, mode="value", operation="fetch_val")

    async def execute_many(self, statements: Sequence[str], timeout: float | None = 30.0) -> None:
        """Run ``statements`` in order on one connection.

        Each entry may itself be a multi-statement script. The statements are not wrapped in a
        transaction here: the migration executor (or the caller's ``transaction()``) owns that.
        When a transaction is already routing statements for this database, its connection is
        used; otherwise one connection is borrowed from the pool for the whole sequence.

        Args:
            statements: SQL texts without parameters.
            timeout: seconds allowed for each statement.

        Raises:
            ParameterError: ``statements`` is a single string, or ``timeout`` is invalid.
            DatabaseError: a statement failed; ``details["statement_index"]`` is its position.
        """
        if isinstance(statements, str):
            raise ParameterError(
                query=statements,
                reason=(
                    "MigrationDB.execute_many() takes a list of SQL strings, got one string. "
                    "Wrap it in a list, or call execute() for a single script."
                ),
                class_name="MigrationDB",
                method_name="execute_many",
            )
        _check_timeout(timeout, "execute_many")
        batch = list(statements)
        if not batch:
            return
        current = _execution.current_connection.get()
        if current is not None and self._config_name in current:
            await self._run_batch(batch, timeout)
            return
        async with AsyncDatabaseManager.get_connection(self._config_name) as connection:
            with routed_to(self._config_name, connection):
                await self._run_batch(batch, timeout)

    async def _run_batch(self, batch: list[str], timeout: float | None) -> None:
        for index, sql in enumerate(batch):
            try:
                await self._run(sql, (), timeout, mode="rows", operation="execute_many")
            except ORMException as err:
                err.enrich(statement_index=index)
                raise

    async def _run(
        self,
        sql: str,
        args: Sequence[Any],
        timeout: float | None,
        *,
        mode: _Mode,
        operation: str,
    ) -> Any:
        """Send one text; multi-statement scripts without args use the simple-query path."""
        _check_timeout(timeout, operation)
        if not isinstance(sql, str):
            raise ParameterError(
                query=repr(sql),
                reason=f"MigrationDB.{operation}() needs SQL text (str), got {type(sql).__name__}.",
                class_name="MigrationDB",
                method_name=operation,
            )
        count = count_statements(sql)
        if args and count > 1:
            raise ParameterError(
                query=sql,
                reason=(
                    f"MigrationDB.{operation}(): a text with $n parameters must hold exactly one "
                    f"statement, found {count}. Run each statement in its own call."
                ),
                class_name="MigrationDB",
                method_name=operation,
            )
        if not args and count == 0:
            logger.debug("MigrationDB.%s: no statement in the text, nothing sent", operation)
            return [] if mode == "rows" else None
        qualified = f"MigrationDB.{operation}"
        try:
            if not args and count > 1:
                await _execution.execute(
                    self._config_name, sql, (), operation=qualified, timeout=timeout
                )
                return [] if mode == "rows" else None
            if mode == "rows":
                rows = await _execution.fetch(
                    self._config_name, sql, args, operation=qualified, timeout=timeout
                )
                return [dict(row.items()) for row in rows]
            if mode == "one":
                row = await _execution.fetch_one(
                    self._config_name, sql, args, operation=qualified, timeout=timeout
                )
                return None if row is None else dict(row.items())
            return await _execution.fetch_val(
                self._config_name, sql, args, operation=qualified, timeout=timeout
            )
        except ORMException as err:
            err.enrich(operation=qualified, database=self._config_name)
            raise
        except (asyncio.TimeoutError, TimeoutError) as err:
            raise DatabaseError(
                message=(
                    f"{qualified}() did not finish within {timeout} seconds on database "
                    f"{self._config_name!r}; the statement was cancelled. Pass a larger "
                    "timeout= (or None for the pool's command_timeout)."
                ),
                operation=qualified,
                original_error=err,
                sql=sql,
                params=list(args),
                details={"database": self._config_name, "timeout": timeout},
            ) from err
        finally:
            # A statement that may write (DDL, DML) clears the database's cached models, as
            # raw SQL through Model.raw does (API.md §10.30).
            if not is_read_only(sql):
                hooks.get_model_cache().clear(database=self._config_name)


def _check_timeout(timeout: float | None, operation: str) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ParameterError(
            args=[timeout],
            reason=(
                f"MigrationDB.{operation}(): timeout must be a positive number of seconds or "
                f"None, got {timeout!r}."
            ),
            class_name="MigrationDB",
            method_name=operation,
        )
