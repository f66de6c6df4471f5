"""The model base class and its metaclass (from matrx_orm_core.models)."""

from __future__ import annotations

from matrx_orm_core.models import Model, ModelMeta, ModelOptions

__all__ = ["Model", "ModelMeta", "ModelOptions"]
