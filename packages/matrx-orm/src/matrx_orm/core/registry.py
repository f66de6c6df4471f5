"""The model registry (from matrx_orm_core.registry)."""

from __future__ import annotations

from matrx_orm_core.registry import ModelRegistry, model_registry

__all__ = ["ModelRegistry", "model_registry"]
