"""``MigrationLoader`` and ``MigrationFile``: finding migration files (matrx_orm_migrations)."""

from __future__ import annotations

from matrx_orm_migrations.loader import MigrationFile, MigrationLoader

__all__ = ["MigrationFile", "MigrationLoader"]
