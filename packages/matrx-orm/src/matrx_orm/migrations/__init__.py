"""Migrations (from matrx_orm_migrations); the rest of the API arrives with issue #8.

``MigrationLoader``, ``MigrationExecutor``, ``DDLGenerator``, ``SchemaDiff``, ``makemigrations``,
``migrate``, ``rollback``, ``status``, ``create_empty`` and (from matrx_orm_schema_builder)
``migrate_and_rebuild`` / ``rebuild_schema`` are added here with issue #8.
"""

from __future__ import annotations

from matrx_orm_migrations import MigrationDB

__all__ = ["MigrationDB"]
