"""Relation declarations and references, batch loading and junction tables (from
matrx_orm_relations)."""

from __future__ import annotations

from matrx_orm_relations import (
    ForeignKeyReference,
    InverseForeignKeyReference,
    ManyToManyField,
    ManyToManyReference,
    RelationLoader,
    ensure_m2m_tables,
    prefetch_related_objects,
)

__all__ = [
    "ForeignKeyReference",
    "InverseForeignKeyReference",
    "ManyToManyField",
    "ManyToManyReference",
    "RelationLoader",
    "ensure_m2m_tables",
    "prefetch_related_objects",
]
