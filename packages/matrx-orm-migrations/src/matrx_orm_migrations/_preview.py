"""A ``MigrationDB`` that records statements instead of running them (``sql_preview``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .db import MigrationDB, _check_timeout

__all__ = ["RecordingMigrationDB", "format_statement"]


class RecordingMigrationDB(MigrationDB):
    """Collects what a migration's ``up``/``down`` would send, and sends nothing.

    Reads return no rows (``[]``, ``None``), so a data migration that branches on what it
    reads is previewed along its "empty table" path; the preview says so in its docs.
    """

    def __init__(self, config_name: str) -> None:
        super().__init__(config_name)
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def execute_many(self, statements: Sequence[str], timeout: float | None = 30.0) -> None:
        """Record each statement of ``statements`` (see :meth:`MigrationDB.execute_many`)."""
        if isinstance(statements, str):
            await super().execute_many(statements, timeout)  # raises the usual ParameterError
        _check_timeout(timeout, "execute_many")
        for sql in statements:
            await self._run(sql, (), timeout, mode="rows", operation="execute_many")

    async def _run(
        self,
        sql: str,
        args: Sequence[Any],
        timeout: float | None,
        *,
        mode: Any,
        operation: str,
    ) -> Any:
        _check_timeout(timeout, operation)
        if sql.strip():
            self.statements.append((sql, tuple(args)))
        return [] if mode == "rows" else None

    def rendered(self) -> list[str]:
        """The recorded statements as text (parameters shown in a trailing comment)."""
        return [format_statement(sql, args) for sql, args in self.statements]


def format_statement(sql: str, args: Sequence[Any] = ()) -> str:
    """``sql`` terminated by ``;``, with ``-- parameters: [...]`` when it has arguments."""
    text = sql.strip()
    if not text.endswith(";"):
        text += ";"
    if args:
        text += f"\n-- parameters: {list(args)!r}"
    return text
