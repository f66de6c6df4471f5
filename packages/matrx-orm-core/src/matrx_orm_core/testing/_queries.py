"""``assert_num_queries``: count the statements an ORM block sends, for N+1 tests.

While at least one block is open, the execution layer's entry points (``execute``, ``fetch``,
``fetch_one``, ``fetch_val``, ``execute_many``, ``copy_records``) are wrapped; the wrapper
records a statement only when the calling task runs inside a block (a context variable,
inherited by tasks started inside it), so statements of unrelated tasks are never counted.
When the last block closes the original functions are put back, so the hot path pays nothing
outside tests. Transaction control (``BEGIN``, ``COMMIT``, ``SAVEPOINT``) is not a statement an
operation sends and is not counted; each ``execute_many`` call counts once, and so does each
``copy_records`` call (a binary COPY, recorded as the text the recording driver shows:
``COPY "t" ("a", ...) FROM STDIN (FORMAT binary)``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from matrx_orm_core import _execution
from matrx_orm_core._quoting import copy_statement
from matrx_orm_core.exceptions import ValidationError

__all__ = ["CountedQueries", "assert_num_queries", "count_queries"]

_ENTRY_POINTS = ("execute", "fetch", "fetch_one", "fetch_val", "execute_many")

_active: ContextVar[tuple[CountedQueries, ...]] = ContextVar(
    "matrx_orm_counted_queries", default=()
)
_lock = threading.Lock()
_users = 0
_originals: dict[str, Callable[..., Any]] = {}


@dataclass
class CountedQueries:
    """The statements recorded by one :func:`count_queries` block, in the order sent.

    Attributes:
        statements: ``(database, sql)`` pairs.
    """

    statements: list[tuple[str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many statements were sent."""
        return len(self.statements)

    def describe(self) -> str:
        """One numbered line per statement (for failure messages)."""
        if not self.statements:
            return "  (no statements)"
        return "\n".join(
            f"  {index}. [{database}] {' '.join(sql.split())}"
            for index, (database, sql) in enumerate(self.statements, 1)
        )


def _wrap(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def counted(database: str, sql: str, *args: Any, **kwargs: Any) -> Any:
        for counter in _active.get():
            counter.statements.append((database, sql))
        return await original(database, sql, *args, **kwargs)

    counted.__dict__["_matrx_counted"] = name
    return counted


def _wrap_copy(original: Callable[..., Any]) -> Callable[..., Any]:
    # copy_records takes the target's names, not SQL: record the statement's text instead.
    @functools.wraps(original)
    async def counted(
        database: str, table: str, columns: Sequence[str], *args: Any, **kwargs: Any
    ) -> Any:
        counters = _active.get()
        if counters:
            sql = copy_statement(table, columns, kwargs.get("schema"))
            for counter in counters:
                counter.statements.append((database, sql))
        return await original(database, table, columns, *args, **kwargs)

    counted.__dict__["_matrx_counted"] = "copy_records"
    return counted


def _install() -> None:
    global _users
    with _lock:
        if _users == 0:
            for name in _ENTRY_POINTS:
                original = getattr(_execution, name)
                _originals[name] = original
                setattr(_execution, name, _wrap(name, original))
            _originals["copy_records"] = _execution.copy_records
            _execution.copy_records = _wrap_copy(_execution.copy_records)
        _users += 1


def _uninstall() -> None:
    global _users
    with _lock:
        _users -= 1
        if _users == 0:
            for name, original in _originals.items():
                setattr(_execution, name, original)
            _originals.clear()


@asynccontextmanager
async def count_queries() -> AsyncIterator[CountedQueries]:
    """Record the statements this task (and tasks started inside the block) send.

    Yields:
        A :class:`CountedQueries`, filled in while the block runs.
    """
    counter = CountedQueries()
    _install()
    token = _active.set((*_active.get(), counter))
    try:
        yield counter
    finally:
        _active.reset(token)
        _uninstall()


@asynccontextmanager
async def assert_num_queries(expected: int) -> AsyncIterator[CountedQueries]:
    """Fail unless the block sends exactly ``expected`` statements through the ORM.

    Counts every statement sent on any connection or database by this task and the tasks it
    starts inside the block (queries, writes, raw SQL); transaction control is not counted.
    Blocks may be nested: each counts its own statements.

    Example::

        async with assert_num_queries(4):
            posts = await Post.filter().prefetch_related("author_id", "tags", "comments").all()

    Yields:
        The :class:`CountedQueries` being recorded.

    Raises:
        AssertionError: The count differs; the message lists every statement sent.
        ValidationError: ``expected`` is not a non-negative int (also a ``ValueError``).
    """
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise ValidationError(
            f"assert_num_queries(expected={expected!r}): pass a non-negative int.",
            field="expected",
            value=expected,
        )
    async with count_queries() as counter:
        yield counter
    if counter.count != expected:
        raise AssertionError(
            f"Expected {expected} statement{'s' if expected != 1 else ''}, but "
            f"{counter.count} {'was' if counter.count == 1 else 'were'} sent:\n"
            f"{counter.describe()}"
        )
