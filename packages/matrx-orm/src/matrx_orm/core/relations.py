"""Relation declarations and references (from matrx_orm_relations).

The relation loading and editing behaviour arrives with issue #6.
"""

from __future__ import annotations

from matrx_orm_relations import (
    ForeignKeyReference,
    InverseForeignKeyReference,
    ManyToManyField,
    ManyToManyReference,
)

__all__ = [
    "ForeignKeyReference",
    "InverseForeignKeyReference",
    "ManyToManyField",
    "ManyToManyReference",
]
