"""``MigrationExecutor``: applying and rolling back migrations (from matrx_orm_migrations)."""

from __future__ import annotations

from matrx_orm_migrations.executor import MigrationExecutor

__all__ = ["MigrationExecutor"]
