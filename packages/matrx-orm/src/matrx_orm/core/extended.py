"""`BaseManager` and `BaseDTO` (from matrx_orm_relations).

Its content arrives with issue #6; until then this module exports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
