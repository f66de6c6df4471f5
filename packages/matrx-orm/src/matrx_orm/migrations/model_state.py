"""Models' ``_meta`` as the schema model (from ``matrx_orm_migrations.model_state``)."""

from __future__ import annotations

from matrx_orm_migrations.model_state import build_model_schema, model_table

__all__ = ["build_model_schema", "model_table"]
