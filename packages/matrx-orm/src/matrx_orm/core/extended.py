"""`BaseManager`, `BaseDTO`, `AppError` and `handle_errors` (from matrx_orm_relations)."""

from __future__ import annotations

from matrx_orm_relations import AppError, BaseDTO, BaseManager, handle_errors

__all__ = ["AppError", "BaseDTO", "BaseManager", "handle_errors"]
