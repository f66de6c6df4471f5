"""The neutral schema model both sides of a diff are built as (from ``matrx_orm_migrations``)."""

from __future__ import annotations

from matrx_orm_migrations.schema import (
    CheckConstraint,
    Column,
    DomainType,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)

__all__ = [
    "CheckConstraint",
    "Column",
    "DomainType",
    "EnumType",
    "ForeignKey",
    "Index",
    "PrimaryKey",
    "Schema",
    "Table",
    "UniqueConstraint",
]
