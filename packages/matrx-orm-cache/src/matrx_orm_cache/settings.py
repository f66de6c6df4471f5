"""Cache settings: the policy TTLs, the per-model entry bound, and the process-wide defaults.

A model's lifetime comes from ``_cache_timeout`` (seconds) when set, else from its
``_cache_policy``. Its bound on cached rows comes from ``_cache_max_entries`` when set, else from
:func:`configure`'s ``max_entries`` (10,000 by default). Time is read from a monotonic clock that
tests may replace with :func:`set_clock`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matrx_orm_core import CachePolicy, ConfigurationError

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "POLICY_TTL",
    "CacheSettings",
    "configure",
    "get_settings",
    "max_entries_for",
    "now",
    "set_clock",
    "ttl_for",
]

POLICY_TTL: dict[CachePolicy, float] = {
    CachePolicy.PERMANENT: math.inf,
    CachePolicy.LONG_TERM: 4 * 60 * 60.0,
    CachePolicy.SHORT_TERM: 10 * 60.0,
    CachePolicy.INSTANT: 60.0,
}
"""Seconds an entry stays fresh under each policy (``inf``: until evicted)."""

DEFAULT_MAX_ENTRIES = 10_000
"""Rows kept per model unless the model or :func:`configure` says otherwise."""


@dataclass(frozen=True)
class CacheSettings:
    """Process-wide cache settings (see :func:`configure`)."""

    enabled: bool = True
    """False turns the cache off: every read goes to the database, nothing is stored."""
    max_entries: int = DEFAULT_MAX_ENTRIES
    """Default bound on cached rows per model (least recently used rows are evicted)."""
    cross_process: bool = True
    """Listen for other processes' writes and publish this process's (PostgreSQL NOTIFY)."""


_lock = threading.Lock()
_settings = CacheSettings()
_clock: Callable[[], float] = time.monotonic


def _check_bound(value: object, where: str, key: str, model: str | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        reason = f"{where}={value!r} must be a positive int (the most rows cached per model)."
        raise ConfigurationError(model=model, config_key=key, reason=reason, message=reason)
    return value


def configure(
    *,
    enabled: bool | None = None,
    max_entries: int | None = None,
    cross_process: bool | None = None,
) -> CacheSettings:
    """Change process-wide cache settings; arguments left as None keep their value.

    Args:
        enabled: Turn the cache on or off (off also clears it).
        max_entries: Default bound on cached rows per model (a model's ``_cache_max_entries``
            wins).
        cross_process: Publish and listen for cross-process invalidations (on by default).

    Returns:
        The new settings.

    Raises:
        ConfigurationError: ``max_entries`` is not a positive int, or a flag is not a bool.
    """
    global _settings
    changes: dict[str, Any] = {}
    if max_entries is not None:
        changes["max_entries"] = _check_bound(max_entries, "max_entries", "cache.max_entries")
    flags: tuple[tuple[str, object], ...] = (("enabled", enabled), ("cross_process", cross_process))
    for key, flag in flags:
        if flag is not None:
            if not isinstance(flag, bool):
                reason = f"configure({key}={flag!r}): pass True or False."
                raise ConfigurationError(config_key=f"cache.{key}", reason=reason, message=reason)
            changes[key] = flag
    with _lock:
        _settings = CacheSettings(**{**_settings.__dict__, **changes})
    return _settings


def get_settings() -> CacheSettings:
    """The current process-wide settings."""
    return _settings


def ttl_for(model: type[Any]) -> float:
    """Seconds a row of ``model`` stays fresh: ``_cache_timeout`` if set, else its policy's TTL."""
    meta = model._meta
    if meta.cache_timeout is not None:
        return float(meta.cache_timeout)
    return POLICY_TTL[CachePolicy(meta.cache_policy)]


def max_entries_for(model: type[Any]) -> int:
    """The bound on cached rows of ``model``: ``_cache_max_entries`` if set, else the default.

    Raises:
        ConfigurationError: ``_cache_max_entries`` is not a positive int.
    """
    value = getattr(model, "_cache_max_entries", None)
    if value is None:
        return _settings.max_entries
    name = model.__name__
    return _check_bound(value, f"{name}._cache_max_entries", "_cache_max_entries", name)


def now() -> float:
    """The cache clock (monotonic seconds)."""
    return _clock()


def set_clock(clock: Callable[[], float] | None) -> None:
    """Replace the cache clock (tests); ``None`` restores ``time.monotonic``."""
    global _clock
    _clock = time.monotonic if clock is None else clock
