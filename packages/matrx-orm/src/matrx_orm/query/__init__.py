"""The query builder (from matrx_orm_core.query)."""

from __future__ import annotations

from matrx_orm_core.query import QueryBuilder, QuerySet

__all__ = ["QueryBuilder", "QuerySet"]
