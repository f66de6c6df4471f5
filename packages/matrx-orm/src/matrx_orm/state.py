"""The state cache (from matrx_orm_cache): ``StateManager``, ``ModelState``, ``CachePolicy``."""

from __future__ import annotations

from matrx_orm_cache import (
    POLICY_TTL,
    CachePolicy,
    CacheSettings,
    ModelState,
    StateManager,
    configure,
    get_settings,
)

__all__ = [
    "POLICY_TTL",
    "CachePolicy",
    "CacheSettings",
    "ModelState",
    "StateManager",
    "configure",
    "get_settings",
]
