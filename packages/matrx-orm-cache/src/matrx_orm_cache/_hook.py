"""``StateCache``: the ``ModelCache`` hook that core calls (API.md §10.30).

It owns the per-model states, applies the transaction rule (write notices made inside a
transaction wait for its commit, keyed by the transaction's connection, and are dropped at
rollback), evicts locally before anything is published, and keeps a database's cache bypassed
while its cross-process listener is not subscribed (§10.37).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from matrx_orm_core import hooks
from matrx_orm_core.transaction import ending_connection, get_active_connection, in_transaction

from . import settings
from ._coherence import Coherence
from .model_state import MISSING, ModelState

__all__ = ["REMOTE_GRACE", "StateCache"]

M = TypeVar("M")

REMOTE_GRACE = 0.5
"""Seconds after another process's notice during which this process does not store that row
from reads that may have started before the notice (reads through ``get`` are checked exactly)."""

_read_token: ContextVar[tuple[ModelState, int] | None] = ContextVar(
    "matrx_orm_cache_read", default=None
)
"""The state and its generation when this task's last ``lookup`` missed."""


class StateCache:
    """The cache hook: per-model :class:`ModelState` objects plus the transaction rule."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.states: dict[tuple[str, str], ModelState] = {}
        self._pending: dict[int, tuple[Any, str, list[tuple[Any, Any]]]] = {}
        self._remote: dict[tuple[str, str], dict[Any, float]] = {}
        self._remote_flush: dict[str, float] = {}
        self.coherence = Coherence(self._apply_remote, self._deaf_flush)

    # -- states -----------------------------------------------------------------------------

    def state(self, model: type[Any]) -> ModelState:
        """The state of ``model``, made on first use (a new class under the same name gets a
        new state: reloads never serve rows built for the old class)."""
        meta = model._meta
        key = (meta.database, model.__name__)
        state = self.states.get(key)
        if state is None or state.model is not model:
            with self._lock:
                state = self.states.get(key)
                if state is None or state.model is not model:
                    state = ModelState(model)
                    self.states[key] = state
        return state

    def _states_of(self, database: str, table: str | None = None) -> list[ModelState]:
        return [
            state
            for (db, _), state in list(self.states.items())
            if db == database and (table is None or state.model._meta.qualified_table_name == table)
        ]

    def serving(self, database: str) -> bool:
        """True when ``database``'s cache answers lookups and stores every read (the listener
        has subscribed and :data:`REMOTE_GRACE` has passed since); starts the listener when
        it is missing."""
        if not self._ready(database):
            return False
        flushed = self._remote_flush.get(database)
        return flushed is None or settings.now() - flushed >= REMOTE_GRACE

    def _ready(self, database: str) -> bool:
        current = settings.get_settings()
        if not current.enabled:
            return False
        if not current.cross_process:
            return True
        mode = self.coherence.mode(database)
        if mode == "listen":
            return self.coherence.ready(database)
        return mode == "ttl"

    # -- ModelCache -------------------------------------------------------------------------

    def lookup(self, model: type[M], lookup: Mapping[str, Any]) -> M | hooks.Miss | None:
        """A copy of the cached row for a primary-key or unique-field equality lookup, else
        ``MISS``.

        A miss remembers the model's eviction generation for this task, so the row the caller
        then reads from the database is stored only if nothing was evicted meanwhile.
        """
        database: str = model._meta.database  # type: ignore[attr-defined]
        ready = self._ready(database)
        if not ready and not settings.get_settings().enabled:
            return hooks.MISS
        state = self.state(model)
        found = state.find_mapping(lookup) if ready else MISSING
        if found is MISSING:
            _read_token.set((state, state.generation))
            return hooks.MISS
        result: M = found
        return result

    def store(self, model: type[M], instances: Sequence[M]) -> None:
        """Cache rows just read or written, unless an eviction overtook the read.

        A read that follows a ``lookup`` miss is checked exactly (the eviction generation);
        other reads (query sets, write results) are refused for rows another process changed,
        or for a database whose listener resubscribed, in the last :data:`REMOTE_GRACE` seconds.
        """
        database: str = model._meta.database  # type: ignore[attr-defined]
        if not self._ready(database):
            return
        state = self.state(model)
        token = _read_token.get()
        if token is not None and token[0] is state:
            _read_token.set(None)
            if token[1] == state.generation:
                for instance in instances:
                    state.put(instance)
            return
        now = settings.now()
        flushed = self._remote_flush.get(database)
        if flushed is not None and now - flushed < REMOTE_GRACE:
            return
        remote = self._remote.get((database, state.model._meta.qualified_table_name))
        for instance in instances:
            if remote:
                evicted = remote.get(state._get_record_cache_key(instance))
                if evicted is not None and now - evicted < REMOTE_GRACE:
                    continue
            state.put(instance)

    def notify_write(self, model: type[Any], pks: Sequence[Any] | hooks.AllRows) -> None:
        """Evict (and publish) the written rows; inside a transaction, hold them for commit."""
        database = model._meta.database
        if in_transaction(database):
            self._hold(database, model, pks)
            return
        self._apply_local(model, pks)

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        """Forget rows of ``model``, of ``database``, or everything; publish the same."""
        if model is not None:
            self.notify_write(model, hooks.ALL_ROWS)
            return
        if database is None:
            for name in {db for db, _ in list(self.states)}:
                self._flush_and_publish(name)
            return
        if in_transaction(database):
            self._hold(database, None, None)
        self._flush_and_publish(database)

    def on_commit(self, database: str) -> None:
        """Apply (and publish) the notices the committed transaction held."""
        for model, pks in self._take(database):
            if model is None:
                self._flush_and_publish(database)
            else:
                self._apply_local(model, pks)

    def on_rollback(self, database: str) -> None:
        """Drop the notices the rolled-back transaction held."""
        self._take(database)

    # -- transaction notices ----------------------------------------------------------------

    def _hold(self, database: str, model: Any, pks: Any) -> None:
        connection = get_active_connection(database)
        if connection is None:  # the block ended between the check and here
            if model is None:
                self.flush_database(database)
            else:
                self._apply_local(model, pks)
            return
        with self._lock:
            entry = self._pending.get(id(connection))
            if entry is None or entry[0] is not connection:
                entry = (connection, database, [])
                self._pending[id(connection)] = entry
            entry[2].append((model, pks))

    def _take(self, database: str) -> list[tuple[Any, Any]]:
        connection = ending_connection()
        with self._lock:
            if connection is not None:
                entry = self._pending.get(id(connection))
                if entry is not None and entry[0] is connection:
                    del self._pending[id(connection)]
                    return entry[2]
                return []
            # Called outside core's transaction exit: take every ended transaction's notices.
            taken: list[tuple[Any, Any]] = []
            for key, (conn, db, notices) in list(self._pending.items()):
                if db == database and getattr(conn, "ended", True):
                    del self._pending[key]
                    taken.extend(notices)
            return taken

    # -- eviction ---------------------------------------------------------------------------

    def _apply_local(self, model: type[Any], pks: Sequence[Any] | hooks.AllRows) -> None:
        state = self.state(model)
        meta = model._meta
        if pks is hooks.ALL_ROWS:
            state.clear_cache()
            self.coherence.publish(meta.database, meta.qualified_table_name, None)
            return
        keys = list(pks)
        state.evict_keys(keys)
        self.coherence.publish(meta.database, meta.qualified_table_name, keys)

    def flush_database(self, database: str) -> None:
        """Forget every cached row of ``database`` (locally only)."""
        for state in self._states_of(database):
            state.clear_cache()

    def _flush_and_publish(self, database: str) -> None:
        """Forget every cached row of ``database`` here and tell the other processes to."""
        self.flush_database(database)
        self.coherence.publish(database, None, None)

    def _deaf_flush(self, database: str) -> None:
        """The listener (re)subscribed, or a notice was unreadable: forget the database and
        refuse stores from reads that may have started while this process was deaf."""
        self._remote_flush[database] = settings.now()
        self.flush_database(database)

    def _apply_remote(self, database: str, table: str | None, keys: list[Any] | None) -> None:
        now = settings.now()
        if table is None:
            self._remote_flush[database] = now
            self.flush_database(database)
            return
        states = self._states_of(database, table)
        if keys is None:
            self._remote_flush[database] = now
            for state in states:
                state.clear_cache()
            return
        normalised = [tuple(key) if isinstance(key, list) else key for key in keys]
        marks = self._remote.setdefault((database, table), {})
        if len(marks) > 10_000:
            for key, when in list(marks.items()):
                if now - when >= REMOTE_GRACE:
                    del marks[key]
        for key in normalised:
            try:
                marks[key] = now
            except TypeError:
                continue
        for state in states:
            state.evict_keys(normalised)
