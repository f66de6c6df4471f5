"""matrx-orm migrations: files, loader, executor, state tracking and the programmatic API.

The schema diff, introspection and DDL generation live in ``diff``, ``introspect``, ``ddl``,
``table_filter`` and ``lint`` (import them from their modules).
"""

from __future__ import annotations

import importlib.metadata

from .db import MigrationDB
from .executor import MigrationExecutor, MigrationStatus
from .integration import (
    PlannedMigration,
    create_empty,
    makemigrations,
    migrate,
    migration_status,
    pending_migrations,
    plan_migrations,
    rollback,
    sql_preview,
    status,
)
from .loader import MigrationFile, MigrationLoader
from .state import (
    CREATE_TRACKING_TABLE_SQL,
    TRACKING_TABLE,
    AppliedMigration,
    MigrationState,
    compute_checksum,
)

__version__ = importlib.metadata.version("matrx-orm-migrations")

__all__ = [
    "CREATE_TRACKING_TABLE_SQL",
    "TRACKING_TABLE",
    "AppliedMigration",
    "MigrationDB",
    "MigrationExecutor",
    "MigrationFile",
    "MigrationLoader",
    "MigrationState",
    "MigrationStatus",
    "PlannedMigration",
    "compute_checksum",
    "create_empty",
    "makemigrations",
    "migrate",
    "migration_status",
    "pending_migrations",
    "plan_migrations",
    "rollback",
    "sql_preview",
    "status",
]
