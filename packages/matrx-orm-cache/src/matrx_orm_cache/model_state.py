"""``ModelState``: the cached rows of one model, bounded (LRU) and expiring (TTL).

Rows are kept as snapshots (a dict of field values), never as the instance a caller holds:
every hit builds a new instance, and mutable values (lists, dicts, sets) are copied, so a
caller that changes what it got cannot change what the next caller gets.
"""

from __future__ import annotations

import copy
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from matrx_orm_core import CachePolicy, ValidationError

from . import settings

__all__ = ["MISSING", "ModelState"]

MISSING: Any = object()
"""Returned by :meth:`ModelState.find` when the cache cannot answer the lookup."""

_MUTABLE = (list, dict, set, bytearray)
_PLAIN = frozenset({int, str})


def _norm(value: Any) -> Any:
    """A lookup value in the form rows hold it (UUIDField values are ``str``)."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _copy_value(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, _MUTABLE) else value


class ModelState:
    """The cache of one model.

    Attributes:
        model: The model class.
        policy: Its ``CachePolicy``.
        timeout: Seconds a row stays fresh (``inf`` for PERMANENT).
        max_entries: The most rows kept; the least recently used row goes first.
        realtime: True while cross-process invalidation is live for the model's database.
    """

    def __init__(self, model_cls: type[Any]) -> None:
        meta = model_cls._meta
        self.model = model_cls
        self.policy: CachePolicy = CachePolicy(meta.cache_policy)
        self.timeout: float = settings.ttl_for(model_cls)
        self.max_entries: int = settings.max_entries_for(model_cls)
        self.realtime = False
        self._pk_names: tuple[str, ...] = tuple(meta.pk_names)
        self._field_names: tuple[str, ...] = tuple(meta.fields)
        self._unique: tuple[str, ...] = tuple(
            sorted(name for name in meta.unique_fields if name not in self._pk_names)
        )
        self._cache: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._cache_times: dict[Any, float] = {}
        self._mutable: dict[Any, tuple[str, ...]] = {}
        """Per cached key, the fields holding mutable values (copied on every hit)."""
        self._index: dict[str, dict[Any, Any]] = {name: {} for name in self._unique}
        self._subscriptions: list[Any] = []
        self.generation = 0
        """Incremented by every eviction; a read started before it may not be stored."""
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    # -- keys ---------------------------------------------------------------------------------

    def _get_record_cache_key(self, record: Any) -> Any:
        data = record.__dict__ if not isinstance(record, Mapping) else record
        if len(self._pk_names) == 1:
            return _norm(data.get(self._pk_names[0]))
        return tuple(_norm(data.get(name)) for name in self._pk_names)

    def _get_cache_key(self, **kw: Any) -> Any:
        """The primary-key cache key for a lookup naming every primary key, else ``MISSING``."""
        if not all(name in kw for name in self._pk_names):
            return MISSING
        if len(self._pk_names) == 1:
            return _norm(kw[self._pk_names[0]])
        return tuple(_norm(kw[name]) for name in self._pk_names)

    # -- reads --------------------------------------------------------------------------------

    def _is_stale(self, key: Any) -> bool:
        cached_at = self._cache_times.get(key)
        if cached_at is None:
            return True
        return settings.now() - cached_at > self.timeout

    def _find_in_cache(self, **kw: Any) -> Any:
        """The cache key answering an equality lookup, or ``MISSING``."""
        return self._locate(kw)

    def _locate(self, kw: Mapping[str, Any]) -> Any:
        """The cache key answering an equality lookup, or ``MISSING``.

        Answers lookups that name every primary key, or exactly one unique field; other keys in
        the lookup must equal the cached values, or the cache does not answer.
        """
        pk_names = self._pk_names
        by_pk_alone = len(kw) == 1 and len(pk_names) == 1 and pk_names[0] in kw
        if by_pk_alone:
            key = _norm(kw[pk_names[0]])  # the common case: get(id=...)
        else:
            key = self._get_cache_key(**kw)
            if key is MISSING:
                unique = [name for name in kw if name in self._index]
                if not unique:
                    return MISSING
                try:
                    key = self._index[unique[0]].get(_norm(kw[unique[0]]), MISSING)
                except TypeError:  # an unhashable value: not a plain equality lookup
                    return MISSING
                if key is MISSING:
                    return MISSING
        try:
            snapshot = self._cache.get(key)
        except TypeError:
            return MISSING
        if snapshot is None:
            return MISSING
        if not by_pk_alone:
            for name, value in kw.items():
                if name not in snapshot or snapshot[name] != _norm(value):
                    return MISSING
        cached_at = self._cache_times.get(key)
        if cached_at is None or settings.now() - cached_at > self.timeout:
            self._drop(key)
            return MISSING
        return key

    def find(self, **kw: Any) -> Any:
        """A fresh copy of the cached row matching ``kw``, or ``MISSING``."""
        return self.find_mapping(kw)

    def find_mapping(self, kw: Mapping[str, Any]) -> Any:
        """:meth:`find` with the lookup as a mapping (the hook's hot path)."""
        key = self._locate(kw)
        if key is MISSING:
            self.misses += 1
            return MISSING
        self.hits += 1
        self._cache.move_to_end(key)
        return self._build(key)

    async def get(self, **kw: Any) -> Any:
        """The cached row matching ``kw`` (a copy), or ``None``.

        Raises:
            ValidationError: No lookup criteria were given.
        """
        if not kw:
            raise ValidationError(model=self.model, reason="No lookup criteria provided").enrich(
                operation="cache.get"
            )
        found = self.find(**kw)
        return None if found is MISSING else found

    def get_all_cached(self) -> list[Any]:
        """Copies of every fresh cached row (least recently used first)."""
        fresh = [key for key in list(self._cache) if not self._is_stale(key)]
        return [self._build(key) for key in fresh]

    def count(self) -> int:
        """The number of rows held (stale rows included until they are next touched)."""
        return len(self._cache)

    def _build(self, key: Any) -> Any:
        obj: Any = object.__new__(self.model)
        data = obj.__dict__
        data.update(self._cache[key])
        for name in self._mutable.get(key, ()):
            data[name] = copy.deepcopy(data[name])
        data["_persisted"] = True
        return obj

    # -- writes -------------------------------------------------------------------------------

    def snapshot(self, record: Any) -> dict[str, Any] | None:
        """The field values of ``record``, or ``None`` when it cannot be cached (a field not
        loaded, or no primary key)."""
        data = record.__dict__
        if data.get("_deferred"):
            return None
        try:
            snap = {name: _copy_value(data[name]) for name in self._field_names}
        except KeyError:
            return None
        if any(snap.get(name) is None for name in self._pk_names):
            return None
        return snap

    def put(self, record: Any) -> bool:
        """Cache ``record`` (refreshing any older copy); False when it cannot be cached."""
        snap = self.snapshot(record)
        if snap is None:
            return False
        key = self._get_record_cache_key(snap)
        try:
            old = self._cache.pop(key, None)
        except TypeError:
            return False
        if old is not None:
            self._unindex(key, old)
        self._cache[key] = snap
        self._cache_times[key] = settings.now()
        mutable = tuple(name for name, value in snap.items() if isinstance(value, _MUTABLE))
        if mutable:
            self._mutable[key] = mutable
        else:
            self._mutable.pop(key, None)
        for name in self._unique:
            value = snap.get(name)
            if value is not None:
                try:
                    self._index[name][_norm(value)] = key
                except TypeError:
                    continue
        while len(self._cache) > self.max_entries:
            oldest = next(iter(self._cache))
            self._drop(oldest)
            self.evictions += 1
        return True

    async def cache(self, record: Any) -> None:
        """Cache one record.

        Raises:
            ValidationError: ``record`` is None.
        """
        if record is None:
            raise ValidationError(model=self.model, reason="Cannot cache None record").enrich(
                operation="cache.cache"
            )
        self.put(record)

    def _unindex(self, key: Any, snap: Mapping[str, Any]) -> None:
        for name in self._unique:
            value = snap.get(name)
            if value is None:
                continue
            index = self._index[name]
            try:
                if index.get(_norm(value), MISSING) == key:
                    del index[_norm(value)]
            except TypeError:
                continue

    def _drop(self, key: Any) -> bool:
        try:
            snap = self._cache.pop(key, None)
        except TypeError:
            return False
        self._cache_times.pop(key, None)
        self._mutable.pop(key, None)
        if snap is None:
            return False
        self._unindex(key, snap)
        return True

    def evict_keys(self, keys: Iterable[Any]) -> None:
        """Forget the rows with these primary-key cache keys (composite keys as tuples)."""
        self.generation += 1
        for key in keys:
            if isinstance(key, list):
                key = tuple(key)
            self._drop(_norm(key) if not isinstance(key, tuple) else tuple(map(_norm, key)))

    async def remove(self, record: Any) -> None:
        """Forget the cached copy of ``record`` (nothing happens when it is not cached)."""
        if record is not None:
            self.evict_keys([self._get_record_cache_key(record)])

    def clear_cache(self) -> None:
        """Forget every row of the model."""
        self.generation += 1
        self._cache.clear()
        self._cache_times.clear()
        self._mutable.clear()
        for index in self._index.values():
            index.clear()

    async def update_from_subscription(self, data: Mapping[str, Any]) -> None:
        """Apply a realtime change: ``{"keys": [...]}`` evicts those rows, anything else
        clears the model (cross-process notices arrive through this method)."""
        keys = data.get("keys")
        if isinstance(keys, list):
            self.evict_keys(keys)
        else:
            self.clear_cache()

    def __repr__(self) -> str:
        return (
            f"ModelState({self.model.__name__}, policy={self.policy.name}, "
            f"rows={len(self._cache)}/{self.max_entries})"
        )
