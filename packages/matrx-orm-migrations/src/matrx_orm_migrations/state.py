"""``MigrationState``: the ``_matrx_migrations`` table that records applied migrations."""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from matrx_orm_core._quoting import quote_ident
from matrx_orm_core.exceptions import MigrationError

from .db import MigrationDB

__all__ = [
    "CREATE_TRACKING_TABLE_SQL",
    "TRACKING_TABLE",
    "AppliedMigration",
    "MigrationState",
    "compute_checksum",
]

logger = logging.getLogger(__name__)

TRACKING_TABLE = "_matrx_migrations"
"""Name of the table (in the connection's default schema) that lists applied migrations."""

_TABLE_SQL = quote_ident(TRACKING_TABLE)

CREATE_TRACKING_TABLE_SQL = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE_SQL} (\n"
    "    id SERIAL PRIMARY KEY,\n"
    "    name VARCHAR(255) NOT NULL UNIQUE,\n"
    "    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "    checksum VARCHAR(64) NOT NULL\n"
    ")"
)
"""The tracking table's DDL (idempotent)."""


def compute_checksum(source: str) -> str:
    """SHA-256 hex digest of a migration's text with line endings normalised to LF.

    A file checked out with CRLF (Windows) or CR line endings hashes the same as its LF copy,
    so a different checkout is never mistaken for an edit.

    Args:
        source: the full text of the migration file.

    Returns:
        64 lower-case hex characters.
    """
    normalised = source.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``_matrx_migrations``."""

    id: int
    name: str
    applied_at: _dt.datetime
    checksum: str


class MigrationState:
    """Read and write the ``_matrx_migrations`` tracking table through a :class:`MigrationDB`.

    Statements go through ``db``, so inside the executor's per-migration transaction the
    tracking row is written on the same connection and commits (or rolls back) with the
    migration itself.
    """

    TRACKING_TABLE = TRACKING_TABLE
    CREATE_TRACKING_TABLE_SQL = CREATE_TRACKING_TABLE_SQL

    def __init__(self, db: MigrationDB) -> None:
        self.db = db

    async def ensure_table(self) -> None:
        """Create the tracking table when it does not exist yet."""
        await self.db.execute(CREATE_TRACKING_TABLE_SQL)

    async def table_exists(self) -> bool:
        """True when the tracking table exists (read-only check, creates nothing)."""
        found = await self.db.fetch_val("SELECT to_regclass($1) IS NOT NULL", TRACKING_TABLE)
        return bool(found)

    async def applied_migrations(self) -> list[AppliedMigration]:
        """Every applied migration, oldest first (ordered by id)."""
        rows = await self.db.fetch(
            f"SELECT id, name, applied_at, checksum FROM {_TABLE_SQL} ORDER BY id"
        )
        return [
            AppliedMigration(
                id=row["id"],
                name=row["name"],
                applied_at=row["applied_at"],
                checksum=row["checksum"],
            )
            for row in rows
        ]

    async def applied_names(self) -> set[str]:
        """The names of every applied migration."""
        return {record.name for record in await self.applied_migrations()}

    async def record_migration(self, name: str, checksum: str) -> None:
        """Insert the row that marks ``name`` as applied.

        Raises:
            MigrationError: ``checksum`` is not a 64-character SHA-256 hex digest.
        """
        if len(checksum) != 64:
            raise MigrationError(
                migration=name,
                original_error=(
                    f"checksum must be a 64-character SHA-256 hex digest, got {checksum!r}; "
                    "compute it with MigrationState.compute_checksum(source)."
                ),
            )
        await self.db.execute(
            f"INSERT INTO {_TABLE_SQL} (name, checksum) VALUES ($1, $2)", name, checksum
        )
        logger.debug("Recorded migration %s", name)

    async def unrecord_migration(self, name: str) -> None:
        """Delete the row of ``name`` (after its ``down`` ran)."""
        await self.db.execute(f"DELETE FROM {_TABLE_SQL} WHERE name = $1", name)
        logger.debug("Unrecorded migration %s", name)

    async def verify_checksums(self, checksums: Mapping[str, str]) -> list[str]:
        """Names of applied migrations whose file now hashes differently.

        Args:
            checksums: the checksum of every migration file on disk, by name. Applied records
                without a file are not reported here (``status`` lists them).

        Returns:
            The mismatched names, in the order they were applied.
        """
        return [
            record.name
            for record in await self.applied_migrations()
            if record.name in checksums and checksums[record.name] != record.checksum
        ]

    compute_checksum = staticmethod(compute_checksum)
