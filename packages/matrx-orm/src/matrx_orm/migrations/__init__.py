"""Migrations (from matrx_orm_migrations): files, diff, DDL, executor and the programmatic API.

``migrate_and_rebuild`` / ``rebuild_schema`` (from matrx_orm_schema_builder) join with the
schema builder's issue.
"""

from __future__ import annotations

from matrx_orm_migrations import (
    DDLGenerator,
    MigrationDB,
    MigrationExecutor,
    MigrationLoader,
    MigrationState,
    SchemaDiff,
    TableFilter,
    create_empty,
    makemigrations,
    migrate,
    migration_status,
    rollback,
    sql_preview,
)
from matrx_orm_migrations.integration import status
from matrx_orm_migrations.lint import MigrationSafetyWarning
from matrx_orm_migrations.loader import MigrationFile
from matrx_orm_migrations.state import AppliedMigration

__all__ = [
    "AppliedMigration",
    "DDLGenerator",
    "MigrationDB",
    "MigrationExecutor",
    "MigrationFile",
    "MigrationLoader",
    "MigrationSafetyWarning",
    "MigrationState",
    "SchemaDiff",
    "TableFilter",
    "create_empty",
    "makemigrations",
    "migrate",
    "migration_status",
    "rollback",
    "sql_preview",
    "status",
]
