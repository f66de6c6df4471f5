"""Level1 tests for the hook protocols, defaults and set_/get_ functions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import ConfigurationError
from matrx_orm_core.hooks import (
    ALL_ROWS,
    MISS,
    AllRows,
    Miss,
    MissingRelationLoader,
    ModelCache,
    NullModelCache,
    RelationLoader,
)


@pytest.fixture(autouse=True)
def _restore_hooks() -> Iterator[None]:
    cache = hooks.get_model_cache()
    loader = hooks.get_relation_loader()
    hooks.set_relation_loader(None)  # start from the default even when relations is imported
    hooks.set_model_cache(None)  # start from the default even when the cache is imported
    yield
    hooks.set_model_cache(cache)
    hooks.set_relation_loader(loader)


class User:
    pass


class RecordingCache:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def lookup(self, model: type[Any], lookup: Mapping[str, Any]) -> Any:
        self.calls.append(("lookup", model, dict(lookup)))
        return MISS

    def store(self, model: type[Any], instances: Sequence[Any]) -> None:
        self.calls.append(("store", model, list(instances)))

    def notify_write(self, model: type[Any], pks: Sequence[Any] | AllRows) -> None:
        self.calls.append(("notify_write", model, pks))

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        self.calls.append(("clear", model, database))

    def on_commit(self, database: str) -> None:
        self.calls.append(("on_commit", database))

    def on_rollback(self, database: str) -> None:
        self.calls.append(("on_rollback", database))


def test_sentinels() -> None:
    assert MISS is Miss.MISS
    assert ALL_ROWS is AllRows.ALL_ROWS
    assert repr(MISS) == "MISS"
    assert repr(ALL_ROWS) == "ALL_ROWS"
    assert MISS is not None


def test_null_model_cache_is_the_default_and_always_misses() -> None:
    cache = hooks.get_model_cache()
    assert isinstance(cache, NullModelCache)
    assert isinstance(cache, ModelCache)
    assert cache.lookup(User, {"id": 1}) is MISS
    assert cache.store(User, [User()]) is None
    assert cache.notify_write(User, ALL_ROWS) is None
    assert cache.notify_write(User, [1, 2]) is None
    assert cache.clear() is None
    assert cache.clear(User) is None
    assert cache.clear(database="main") is None
    assert cache.on_commit("main") is None
    assert cache.on_rollback("main") is None
    assert repr(cache) == "NullModelCache()"


def test_set_model_cache_returns_previous_and_replaces() -> None:
    recording = RecordingCache()
    previous = hooks.set_model_cache(recording)
    assert isinstance(previous, NullModelCache)
    assert hooks.get_model_cache() is recording
    hooks.get_model_cache().lookup(User, {"id": 7})
    assert recording.calls == [("lookup", User, {"id": 7})]
    second = RecordingCache()
    assert hooks.set_model_cache(second) is recording
    assert hooks.get_model_cache() is second


def test_set_model_cache_none_restores_default() -> None:
    recording = RecordingCache()
    hooks.set_model_cache(recording)
    assert hooks.set_model_cache(None) is recording
    assert isinstance(hooks.get_model_cache(), NullModelCache)


def test_set_model_cache_rejects_incomplete_implementation() -> None:
    class Partial:
        def lookup(self, model: type[Any], lookup: Mapping[str, Any]) -> Any:
            return MISS

    with pytest.raises(ConfigurationError) as info:
        hooks.set_model_cache(Partial())  # type: ignore[arg-type]
    assert info.value.message == (
        "set_model_cache() got Partial, which lacks clear, notify_write, on_commit, "
        "on_rollback, store; implement every method of ModelCache."
    )
    assert isinstance(hooks.get_model_cache(), NullModelCache)


RELATION_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("fetch_fk", ("author_id",), {}),
    ("fetch_fks", (), {}),
    ("fetch_ifk", ("posts",), {}),
    ("fetch_ifks", (), {}),
    ("fetch_m2m", ("tags",), {}),
    ("fetch_m2ms", (), {}),
    ("add_m2m", ("tags", 1, 2), {}),
    ("remove_m2m", ("tags", 1), {}),
    ("set_m2m", ("tags", [1]), {}),
    ("clear_m2m", ("tags",), {}),
    ("fetch_all_related", (), {}),
    ("fetch_one_relation", ("tags",), {}),
    ("filter_fk", ("author_id",), {"active": True}),
    ("filter_ifk", ("posts",), {"active": True}),
    ("filter_one_relation", ("tags",), {"active": True}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), RELATION_CALLS)
async def test_missing_relation_loader_names_the_package(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    loader = hooks.get_relation_loader()
    assert isinstance(loader, MissingRelationLoader)
    with pytest.raises(ConfigurationError) as info:
        await getattr(loader, method)(User(), *args, **kwargs)
    assert info.value.message == (
        f"{method}() needs the relations package, which is not installed or not imported. "
        "Install it with: pip install matrx-orm-relations (or pip install matrx-orm), then "
        "import matrx_orm (or matrx_orm_relations) before calling it."
    )
    assert info.value.model == "User"


def test_relation_protocol_lists_every_method() -> None:
    names = {name for name in dir(RelationLoader) if not name.startswith("_")}
    # prefetch_related takes a list of instances: tests/test_prefetch_hook.py covers it.
    assert names == {method for method, _, _ in RELATION_CALLS} | {"prefetch_related"}
    assert isinstance(MissingRelationLoader(), RelationLoader)
    assert repr(MissingRelationLoader()) == "MissingRelationLoader()"


class FakeLoader:
    async def _value(self, *args: Any, **kwargs: Any) -> Any:
        return ("loaded", args, kwargs)

    async def fetch_fk(self, instance: Any, name: str) -> Any:
        return await self._value(name)

    async def fetch_fks(self, instance: Any) -> dict[str, Any]:
        return {}

    async def fetch_ifk(self, instance: Any, name: str) -> list[Any]:
        return []

    async def fetch_ifks(self, instance: Any) -> dict[str, list[Any]]:
        return {}

    async def fetch_m2m(self, instance: Any, name: str) -> list[Any]:
        return []

    async def fetch_m2ms(self, instance: Any) -> dict[str, list[Any]]:
        return {}

    async def add_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        return len(ids)

    async def remove_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        return 0

    async def set_m2m(self, instance: Any, name: str, ids: Iterable[Any]) -> None:
        return None

    async def clear_m2m(self, instance: Any, name: str) -> int:
        return 0

    async def fetch_all_related(self, instance: Any) -> dict[str, dict[str, Any]]:
        return {"foreign_keys": {}, "inverse_foreign_keys": {}, "many_to_many": {}}

    async def fetch_one_relation(self, instance: Any, name: str) -> Any:
        return None

    async def filter_fk(self, instance: Any, name: str, **filters: Any) -> list[Any]:
        return []

    async def filter_ifk(self, instance: Any, name: str, **filters: Any) -> list[Any]:
        return []

    async def filter_one_relation(self, instance: Any, name: str, **filters: Any) -> list[Any]:
        return []

    async def prefetch_related(self, instances: Sequence[Any], paths: Sequence[str]) -> None:
        return None


async def test_set_relation_loader_returns_previous_and_installs() -> None:
    fake = FakeLoader()
    previous = hooks.set_relation_loader(fake)
    assert isinstance(previous, MissingRelationLoader)
    assert hooks.get_relation_loader() is fake
    assert await hooks.get_relation_loader().add_m2m(User(), "tags", 1, 2, 3) == 3
    assert await hooks.get_relation_loader().fetch_fk(User(), "author_id") == (
        "loaded",
        ("author_id",),
        {},
    )
    assert hooks.set_relation_loader(None) is fake
    assert isinstance(hooks.get_relation_loader(), MissingRelationLoader)


def test_set_relation_loader_rejects_incomplete_implementation() -> None:
    with pytest.raises(ConfigurationError, match="lacks add_m2m, clear_m2m, fetch_all_related"):
        hooks.set_relation_loader(object())  # type: ignore[arg-type]
