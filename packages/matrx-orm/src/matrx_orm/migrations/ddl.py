"""DDL generation (`DDLGenerator`, `ColumnDef`, `ForeignKeyDef`, `IndexDef`, ...).

Re-exported from ``matrx_orm_migrations.ddl``.
"""

from __future__ import annotations

from matrx_orm_migrations.ddl import (
    AlterColumnChanges,
    ColumnDef,
    ConstraintDef,
    DDLGenerator,
    ForeignKeyDef,
    IndexDef,
    SQLExpression,
)

__all__ = [
    "AlterColumnChanges",
    "ColumnDef",
    "ConstraintDef",
    "DDLGenerator",
    "ForeignKeyDef",
    "IndexDef",
    "SQLExpression",
]
