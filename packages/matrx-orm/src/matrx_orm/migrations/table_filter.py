"""`TableFilter`: scoping a schema diff to some tables (from ``matrx_orm_migrations``)."""

from __future__ import annotations

from matrx_orm_migrations.table_filter import TableFilter

__all__ = ["TableFilter"]
