"""The state cache (from matrx_orm_cache): ``StateManager``, ``ModelState``, ``CachePolicy``."""

from __future__ import annotations

from matrx_orm_cache import CachePolicy
from matrx_orm_cache.model_state import ModelState
from matrx_orm_cache.settings import POLICY_TTL, CacheSettings, configure, get_settings
from matrx_orm_cache.state_manager import StateManager

__all__ = [
    "POLICY_TTL",
    "CachePolicy",
    "CacheSettings",
    "ModelState",
    "StateManager",
    "configure",
    "get_settings",
]
