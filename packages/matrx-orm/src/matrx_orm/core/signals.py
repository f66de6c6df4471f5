"""Model lifecycle signals (re-exported from matrx_orm_core.signals)."""

from __future__ import annotations

from matrx_orm_core.signals import (
    Signal,
    post_create,
    post_delete,
    post_save,
    pre_create,
    pre_delete,
    pre_save,
)

__all__ = [
    "Signal",
    "post_create",
    "post_delete",
    "post_save",
    "pre_create",
    "pre_delete",
    "pre_save",
]
