"""Preview what a migration would send, without sending it (``sql_preview``, ``--dry-run``).

While a migration's ``up`` runs for a preview, the database's statements are routed (through the
same per-task routing a migration run uses) to core's recording connection
(``matrx_orm_core.testing.recording``). Everything that goes through the execution layer for that
database is captured and nothing reaches the server: ``MigrationDB`` calls and ORM calls on models
of the same database alike. Reads return no rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._session import routed_to

if TYPE_CHECKING:
    from matrx_orm_core.testing.recording import Recorder

__all__ = ["format_statement", "recording_route"]


@contextmanager
def recording_route(database: str) -> Iterator[Recorder]:
    """Route ``database``'s statements to a recorder for the duration of the block.

    Yields:
        The recorder; its ``statements`` hold ``(sql, params)`` in the order sent.
    """
    # Imported here: the recording driver is only needed while previewing.
    from matrx_orm_core.testing.recording import Recorder, RecordingConnection, RecordingDriver

    recorder = Recorder(database)
    connection = RecordingConnection(RecordingDriver(recorder, name="migration-preview"))
    with routed_to(database, connection):
        yield recorder


def format_statement(sql: str, args: Sequence[Any] = ()) -> str:
    """``sql`` terminated by ``;``, with ``-- parameters: [...]`` when it has arguments."""
    text = sql.strip()
    if not text.endswith(";"):
        text += ";"
    if args:
        text += f"\n-- parameters: {list(args)!r}"
    return text
