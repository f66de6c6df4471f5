"""The state cache (from matrx_orm_cache); ``StateManager`` arrives with issue #7."""

from __future__ import annotations

from matrx_orm_cache import CachePolicy

__all__ = ["CachePolicy"]
