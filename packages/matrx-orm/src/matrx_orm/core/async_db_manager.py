"""Connection pools per database and event loop (from matrx_orm_core.connections)."""

from __future__ import annotations

from matrx_orm_core.connections import AsyncDatabaseManager

__all__ = ["AsyncDatabaseManager"]
