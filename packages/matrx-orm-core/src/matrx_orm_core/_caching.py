"""The one place core calls the model-cache hook, applying the transaction rule of §10.30.

Inside a ``transaction()`` block for a model's database, reads bypass the cache and nothing read
or written there is stored (it may be rolled back); write notices still reach the hook, which
holds them until the transaction layer calls ``on_commit`` or ``on_rollback``. Outside a block
each call costs one ContextVar read on top of the hook call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from . import hooks
from .transaction import in_transaction

__all__ = ["lookup", "notify_write", "store"]

M = TypeVar("M")  # a model class; typed loosely so this module needs no models import


def lookup(model: type[M], database: str, filters: Mapping[str, Any]) -> M | hooks.Miss | None:
    """Ask the cache for an equality lookup; ``hooks.MISS`` inside a transaction.

    Returns:
        The cached instance, ``None`` when the cache knows no row matches, or ``hooks.MISS``.
    """
    if in_transaction(database):
        return hooks.MISS
    return hooks.get_model_cache().lookup(model, filters)


def store(model: Any, database: str, instances: Sequence[Any]) -> None:
    """Offer freshly read or written instances to the cache, except inside a transaction."""
    if instances and not in_transaction(database):
        hooks.get_model_cache().store(model, instances)


def notify_write(model: Any, pks: Sequence[Any] | hooks.AllRows) -> None:
    """Tell the cache which rows a write touched (queued by the cache inside a transaction)."""
    hooks.get_model_cache().notify_write(model, pks)
