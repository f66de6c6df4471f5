"""matrx-orm migrations: files, loader, executor, diff, DDL and the programmatic API.

The package's top level holds the names the ``matrx_orm`` umbrella exports at its own top level
(API.md §1, plus ``sql_preview``). Everything else lives in its module: ``state``
(``AppliedMigration``, ``compute_checksum``), ``loader`` (``MigrationFile``), ``integration``
(``status``, ``plan_migrations``, ``pending_migrations``), ``diff``, ``ddl``, ``introspect``,
``schema``, ``table_filter`` and ``lint``.
"""

from __future__ import annotations

import importlib.metadata

from .db import MigrationDB
from .ddl import DDLGenerator
from .diff import SchemaDiff
from .executor import MigrationExecutor
from .integration import (
    create_empty,
    makemigrations,
    migrate,
    migration_status,
    rollback,
    sql_preview,
)
from .loader import MigrationLoader
from .state import MigrationState
from .table_filter import TableFilter

__version__ = importlib.metadata.version("matrx-orm-migrations")

__all__ = [
    "DDLGenerator",
    "MigrationDB",
    "MigrationExecutor",
    "MigrationLoader",
    "MigrationState",
    "SchemaDiff",
    "TableFilter",
    "create_empty",
    "makemigrations",
    "migrate",
    "migration_status",
    "rollback",
    "sql_preview",
]
