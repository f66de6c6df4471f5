"""`SchemaDiff`: model state against database state (from ``matrx_orm_migrations.diff``)."""

from __future__ import annotations

from matrx_orm_migrations.diff import (
    ORM_TO_PG,
    PG_TYPE_ALIASES,
    Operation,
    SchemaDiff,
    TableColumnState,
    TableState,
    diff_schemas,
    normalize_type,
)

__all__ = [
    "ORM_TO_PG",
    "PG_TYPE_ALIASES",
    "Operation",
    "SchemaDiff",
    "TableColumnState",
    "TableState",
    "diff_schemas",
    "normalize_type",
]
