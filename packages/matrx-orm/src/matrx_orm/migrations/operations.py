"""``MigrationDB``, the ``db`` object passed to migration functions (from matrx_orm_migrations)."""

from __future__ import annotations

from matrx_orm_migrations import MigrationDB

__all__ = ["MigrationDB"]
