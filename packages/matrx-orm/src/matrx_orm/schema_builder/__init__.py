"""The schema builder (`SchemaManager`), from matrx_orm_schema_builder.

Its content arrives with issue #8; until then this module exports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
