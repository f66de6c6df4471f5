"""``MigrationState``: the ``_matrx_migrations`` tracking table (from matrx_orm_migrations)."""

from __future__ import annotations

from matrx_orm_migrations.state import (
    CREATE_TRACKING_TABLE_SQL,
    TRACKING_TABLE,
    AppliedMigration,
    MigrationState,
)

__all__ = ["CREATE_TRACKING_TABLE_SQL", "TRACKING_TABLE", "AppliedMigration", "MigrationState"]
