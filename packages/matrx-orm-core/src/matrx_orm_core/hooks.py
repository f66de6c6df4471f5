"""Extension points: the ModelCache and RelationLoader protocols, their defaults, set_/get_."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, TypeVar, runtime_checkable

from .exceptions import ConfigurationError

__all__ = [
    "ALL_ROWS",
    "MISS",
    "AllRows",
    "Miss",
    "MissingRelationLoader",
    "ModelCache",
    "NullModelCache",
    "RelationLoader",
    "get_model_cache",
    "get_relation_loader",
    "set_model_cache",
    "set_relation_loader",
]

M = TypeVar("M")


class Miss(enum.Enum):
    """Type of ``MISS``: the cache holds no answer for a lookup."""

    MISS = "MISS"

    def __repr__(self) -> str:
        return "MISS"


class AllRows(enum.Enum):
    """Type of ``ALL_ROWS``: a write touched rows whose keys are unknown (e.g. update_where)."""

    ALL_ROWS = "ALL_ROWS"

    def __repr__(self) -> str:
        return "ALL_ROWS"


MISS = Miss.MISS
"""Returned by ``ModelCache.lookup`` when the cache cannot answer (go to the database)."""

ALL_ROWS = AllRows.ALL_ROWS
"""Passed to ``ModelCache.notify_write`` when any row of the model may have changed."""


@runtime_checkable
class ModelCache(Protocol):
    """The cache hook, called at the model-operation level (API.md §10.30).

    Core calls it once per model operation, never from field or compiler code, and never for
    reads inside a transaction. The methods are synchronous: an implementation that needs I/O
    (cross-process notices) schedules it itself and must not block.
    """

    def lookup(self, model: type[M], lookup: Mapping[str, Any]) -> M | Miss | None:
        """Answer an equality lookup (``{"id": x}``) from the cache.

        Returns:
            The cached instance (a copy the caller may change), ``None`` when the cache knows
            that no row matches, or ``MISS`` when it cannot answer.
        """
        ...

    def store(self, model: type[M], instances: Sequence[M]) -> None:
        """Remember instances just read from or written to the database."""
        ...

    def notify_write(self, model: type[Any], pks: Sequence[Any] | AllRows) -> None:
        """Note a committed write (or one inside a transaction, applied at commit).

        ``pks`` lists the primary key values touched (a tuple per row for composite keys), or
        is ``ALL_ROWS`` when they are unknown.
        """
        ...

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        """Forget cached rows: of ``model``; of every model of ``database``; or everything."""
        ...

    def on_commit(self, database: str) -> None:
        """A transaction on ``database`` committed: apply the write notices it held."""
        ...

    def on_rollback(self, database: str) -> None:
        """A transaction on ``database`` rolled back: drop the write notices it held."""
        ...


class NullModelCache:
    """The default cache hook: remembers nothing, so every read goes to the database."""

    def lookup(self, model: type[M], lookup: Mapping[str, Any]) -> M | Miss | None:
        """Always ``MISS``."""
        return MISS

    def store(self, model: type[M], instances: Sequence[M]) -> None:
        """Do nothing."""

    def notify_write(self, model: type[Any], pks: Sequence[Any] | AllRows) -> None:
        """Do nothing."""

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        """Do nothing."""

    def on_commit(self, database: str) -> None:
        """Do nothing."""

    def on_rollback(self, database: str) -> None:
        """Do nothing."""

    def __repr__(self) -> str:
        return "NullModelCache()"


@runtime_checkable
class RelationLoader(Protocol):
    """The relation hook: the FK, IFK and M2M operations that query the database.

    Core's ``Model`` methods of the same names delegate here; ``instance`` is a model instance
    and ``name`` a relation name declared on its model.
    """

    async def fetch_fk(self, instance: Any, name: str) -> Any:
        """Load the object the FK field ``name`` points to (or None)."""
        ...

    async def fetch_fks(self, instance: Any) -> dict[str, Any]:
        """Load every FK target of ``instance``."""
        ...

    async def fetch_ifk(self, instance: Any, name: str) -> list[Any]:
        """Load the rows of the inverse FK ``name``."""
        ...

    async def fetch_ifks(self, instance: Any) -> dict[str, list[Any]]:
        """Load every inverse FK of ``instance``."""
        ...

    async def fetch_m2m(self, instance: Any, name: str) -> list[Any]:
        """Load the targets of the many-to-many relation ``name``."""
        ...

    async def fetch_m2ms(self, instance: Any) -> dict[str, list[Any]]:
        """Load every many-to-many relation of ``instance``."""
        ...

    async def add_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        """Link targets; return the number of junction rows inserted."""
        ...

    async def remove_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        """Unlink targets; return the number of junction rows removed."""
        ...

    async def set_m2m(self, instance: Any, name: str, ids: Iterable[Any]) -> None:
        """Make the linked targets exactly ``ids``."""
        ...

    async def clear_m2m(self, instance: Any, name: str) -> int:
        """Unlink every target; return the number of junction rows removed."""
        ...

    async def fetch_all_related(self, instance: Any) -> dict[str, dict[str, Any]]:
        """Load FKs, inverse FKs and M2Ms (keys foreign_keys, inverse_foreign_keys,
        many_to_many)."""
        ...

    async def fetch_one_relation(self, instance: Any, name: str) -> Any:
        """Load the relation ``name`` whatever its kind."""
        ...

    async def filter_fk(self, instance: Any, name: str, /, **filters: Any) -> list[Any]:
        """Load the FK target of ``name`` with extra filters."""
        ...

    async def filter_ifk(self, instance: Any, name: str, /, **filters: Any) -> list[Any]:
        """Load the inverse FK rows of ``name`` with extra filters."""
        ...

    async def filter_one_relation(self, instance: Any, name: str, /, **filters: Any) -> list[Any]:
        """Load the relation ``name`` with extra filters."""
        ...

    async def prefetch_related(self, instances: Sequence[Any], paths: Sequence[str]) -> None:
        """Batch-load the relation ``paths`` (``"author_id"``, ``"posts__tags"``) into
        ``instances`` (all of one model): one query per relation level for all of them."""
        ...


def _missing(method: str, instance: Any) -> NoReturn:
    model = type(instance).__name__ if instance is not None else None
    reason = (
        f"{method}() needs the relations package, which is not installed or not imported. "
        "Install it with: pip install matrx-orm-relations (or pip install matrx-orm), then "
        "import matrx_orm (or matrx_orm_relations) before calling it."
    )
    raise ConfigurationError(
        model=model, config_key="relation_loader", reason=reason, message=reason
    )


class MissingRelationLoader:
    """The default relation hook: every method raises ``ConfigurationError`` naming
    ``pip install matrx-orm-relations``."""

    async def fetch_fk(self, instance: Any, name: str) -> Any:
        """Raise ConfigurationError."""
        _missing("fetch_fk", instance)

    async def fetch_fks(self, instance: Any) -> dict[str, Any]:
        """Raise ConfigurationError."""
        _missing("fetch_fks", instance)

    async def fetch_ifk(self, instance: Any, name: str) -> list[Any]:
        """Raise ConfigurationError."""
        _missing("fetch_ifk", instance)

    async def fetch_ifks(self, instance: Any) -> dict[str, list[Any]]:
        """Raise ConfigurationError."""
        _missing("fetch_ifks", instance)

    async def fetch_m2m(self, instance: Any, name: str) -> list[Any]:
        """Raise ConfigurationError."""
        _missing("fetch_m2m", instance)

    async def fetch_m2ms(self, instance: Any) -> dict[str, list[Any]]:
        """Raise ConfigurationError."""
        _missing("fetch_m2ms", instance)

    async def add_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        """Raise ConfigurationError."""
        _missing("add_m2m", instance)

    async def remove_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        """Raise ConfigurationError."""
        _missing("remove_m2m", instance)

    async def set_m2m(self, instance: Any, name: str, ids: Iterable[Any]) -> None:
        """Raise ConfigurationError."""
        _missing("set_m2m", instance)

    async def clear_m2m(self, instance: Any, name: str) -> int:
        """Raise ConfigurationError."""
        _missing("clear_m2m", instance)

    async def fetch_all_related(self, instance: Any) -> dict[str, dict[str, Any]]:
        """Raise ConfigurationError."""
        _missing("fetch_all_related", instance)

    async def fetch_one_relation(self, instance: Any, name: str) -> Any:
        """Raise ConfigurationError."""
        _missing("fetch_one_relation", instance)

    async def filter_fk(self, instance: Any, name: str, /, **filters: Any) -> list[Any]:
        """Raise ConfigurationError."""
        _missing("filter_fk", instance)

    async def filter_ifk(self, instance: Any, name: str, /, **filters: Any) -> list[Any]:
        """Raise ConfigurationError."""
        _missing("filter_ifk", instance)

    async def filter_one_relation(self, instance: Any, name: str, /, **filters: Any) -> list[Any]:
        """Raise ConfigurationError."""
        _missing("filter_one_relation", instance)

    async def prefetch_related(self, instances: Sequence[Any], paths: Sequence[str]) -> None:
        """Raise ConfigurationError."""
        _missing("prefetch_related", instances[0] if instances else None)

    def __repr__(self) -> str:
        return "MissingRelationLoader()"


_lock = threading.Lock()
_model_cache: ModelCache = NullModelCache()
_relation_loader: RelationLoader = MissingRelationLoader()


def _check_hook(hook: object, protocol: type, setter: str) -> None:
    names = [
        name
        for name in dir(protocol)
        if not name.startswith("_") and callable(getattr(protocol, name, None))
    ]
    missing = [name for name in names if not callable(getattr(hook, name, None))]
    if missing:
        reason = (
            f"{setter}() got {type(hook).__name__}, which lacks {', '.join(sorted(missing))}; "
            f"implement every method of {protocol.__name__}."
        )
        raise ConfigurationError(config_key=setter, reason=reason, message=reason)


def set_model_cache(cache: ModelCache | None) -> ModelCache:
    """Install the cache hook (``None`` restores ``NullModelCache``).

    Returns:
        The hook that was installed before.

    Raises:
        ConfigurationError: ``cache`` does not implement ``ModelCache``.
    """
    global _model_cache
    new: ModelCache = NullModelCache() if cache is None else cache
    _check_hook(new, ModelCache, "set_model_cache")
    with _lock:
        previous, _model_cache = _model_cache, new
    return previous


def get_model_cache() -> ModelCache:
    """Return the installed cache hook (``NullModelCache`` by default)."""
    return _model_cache


def set_relation_loader(loader: RelationLoader | None) -> RelationLoader:
    """Install the relation hook (``None`` restores ``MissingRelationLoader``).

    Returns:
        The hook that was installed before.

    Raises:
        ConfigurationError: ``loader`` does not implement ``RelationLoader``.
    """
    global _relation_loader
    new: RelationLoader = MissingRelationLoader() if loader is None else loader
    _check_hook(new, RelationLoader, "set_relation_loader")
    with _lock:
        previous, _relation_loader = _relation_loader, new
    return previous


def get_relation_loader() -> RelationLoader:
    """Return the installed relation hook (``MissingRelationLoader`` by default)."""
    return _relation_loader
