"""Queries: QueryBuilder (alias QuerySet)."""

from __future__ import annotations

from .builder import QueryBuilder, QuerySet

__all__ = ["QueryBuilder", "QuerySet"]
