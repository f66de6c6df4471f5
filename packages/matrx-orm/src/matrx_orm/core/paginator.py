"""`Paginator` and `Page` (from matrx_orm_core.query.paginator)."""

from __future__ import annotations

from matrx_orm_core.query.paginator import Page, Paginator

__all__ = ["Page", "Paginator"]
