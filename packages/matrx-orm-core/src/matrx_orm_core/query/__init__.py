"""Queries: QueryBuilder (alias QuerySet)."""

from __future__ import annotations

from ._prefetch_methods import RelationStep, resolve_relation, resolve_relation_path
from .builder import QueryBuilder, QuerySet

__all__ = [
    "QueryBuilder",
    "QuerySet",
    "RelationStep",
    "resolve_relation",
    "resolve_relation_path",
]
