"""Catalog introspection into the schema model (from ``matrx_orm_migrations.introspect``)."""

from __future__ import annotations

from matrx_orm_migrations.introspect import introspect_schema, list_schemas

__all__ = ["introspect_schema", "list_schemas"]
