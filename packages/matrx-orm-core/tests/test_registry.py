"""Level1 tests for ModelRegistry: keys, replacement, lookups and resolution."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from matrx_orm_core.exceptions import ConfigurationError, MatrxORMWarning
from matrx_orm_core.registry import ModelRegistry, get_model_by_name, model_registry


@pytest.fixture(autouse=True)
def _isolated_registry() -> Iterator[None]:
    saved = ModelRegistry.all_entries()
    ModelRegistry.clear()
    yield
    ModelRegistry.clear()
    ModelRegistry.register_all(saved.values())


def make(name: str, database: str = "main") -> type:
    return type(name, (), {"_database": database, "__module__": "app.models"})


def test_register_and_get() -> None:
    user = make("User")
    assert ModelRegistry.register(user) is user
    assert ModelRegistry.get_model("User") is user
    assert ModelRegistry.get_model("User", "main") is user
    assert ModelRegistry.get_model("User", "other") is None
    assert model_registry.get_model("User") is user


def test_instance_and_class_share_state() -> None:
    user = make("User")
    model_registry.register(user)
    assert ModelRegistry.all_entries() == {("main", "User"): user}


def test_get_missing_returns_none() -> None:
    assert ModelRegistry.get_model("Nope") is None


def test_register_same_class_again_is_silent_noop() -> None:
    user = make("User")
    ModelRegistry.register(user)
    version = ModelRegistry.version()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ModelRegistry.register(user)
    assert ModelRegistry.version() == version
    assert ModelRegistry.get_model("User") is user


def test_different_class_same_key_warns_and_replaces() -> None:
    first, second = make("User"), make("User")
    ModelRegistry.register(first)
    with pytest.warns(
        MatrxORMWarning,
        match=r"Model User is already registered for database "
        r"'main' by app\.models\.User; replacing it",
    ):
        ModelRegistry.register(second)
    assert ModelRegistry.get_model("User") is second


def test_same_name_in_two_databases_are_separate_entries() -> None:
    a, b = make("User", "main"), make("User", "analytics")
    ModelRegistry.register_all([a, b])
    assert ModelRegistry.get_model("User", "main") is a
    assert ModelRegistry.get_model("User", "analytics") is b
    with pytest.raises(ConfigurationError, match="Model name User is ambiguous"):
        ModelRegistry.get_model("User")


def test_register_without_database_raises() -> None:
    with pytest.raises(ConfigurationError, match="it has no _database"):
        ModelRegistry.register(type("Loose", (), {}))


def test_get_model_by_name() -> None:
    user = make("User")
    ModelRegistry.register(user)
    assert get_model_by_name("User") is user
    assert ModelRegistry.get_model_by_name("User", "main") is user
    with pytest.raises(ValueError, match="not found") as info:  # upstream raised ValueError
        get_model_by_name("Missing")
    assert isinstance(info.value, ConfigurationError)
    assert info.value.message.startswith(
        "Model Missing not found: Missing. Registered models: User (main)."
    )
    assert "model_registry.register(cls)" in info.value.message


def test_all_models_is_a_copy_keyed_by_name() -> None:
    user, post = make("User"), make("Post")
    ModelRegistry.register_all([user, post])
    models = ModelRegistry.all_models()
    assert models == {"User": user, "Post": post}
    models.clear()
    assert ModelRegistry.all_models() == {"User": user, "Post": post}


def test_all_models_qualifies_names_shared_by_databases() -> None:
    a, b, c = make("User", "main"), make("User", "analytics"), make("Post", "main")
    ModelRegistry.register_all([a, b, c])
    assert ModelRegistry.all_models() == {"main.User": a, "analytics.User": b, "Post": c}
    assert ModelRegistry.all_models("main") == {"User": a, "Post": c}


def test_clear_and_unregister() -> None:
    user, other = make("User"), make("User")
    ModelRegistry.register(user)
    assert ModelRegistry.unregister(other) is False
    assert ModelRegistry.unregister(user) is True
    assert ModelRegistry.get_model("User") is None
    ModelRegistry.register(user)
    version = ModelRegistry.version()
    ModelRegistry.clear()
    assert ModelRegistry.all_models() == {}
    assert ModelRegistry.version() > version


def test_resolve_class_reference_returns_it() -> None:
    user = make("User")
    assert ModelRegistry.resolve(user, database="main") is user


def test_resolve_prefers_referencing_database() -> None:
    a, b = make("User", "main"), make("User", "analytics")
    ModelRegistry.register_all([a, b])
    assert ModelRegistry.resolve("User", database="main") is a
    assert ModelRegistry.resolve("User", database="analytics") is b


def test_resolve_falls_back_to_unique_match() -> None:
    user = make("User", "auth")
    ModelRegistry.register(user)
    assert ModelRegistry.resolve("User", database="main") is user
    assert ModelRegistry.resolve("User", database=None) is user


def test_resolve_ambiguous_lists_candidates() -> None:
    ModelRegistry.register_all([make("User", "b_db"), make("User", "a_db")])
    with pytest.raises(ConfigurationError) as info:
        ModelRegistry.resolve("User", database="main")
    assert info.value.message.startswith(
        "Model name User is ambiguous: it is registered in several databases "
        "(a_db: app.models.User, b_db: app.models.User)."
    )


def test_resolve_missing_lists_registered_models() -> None:
    ModelRegistry.register(make("Post"))
    with pytest.raises(ConfigurationError) as info:
        ModelRegistry.resolve("User", database="main")
    assert info.value.message.startswith(
        "Model User not found for database 'main': User. Registered models: Post (main)."
    )
    assert info.value.model == "User"


def test_resolve_bad_reference() -> None:
    with pytest.raises(ConfigurationError, match="must be a model class or a class name"):
        ModelRegistry.resolve("", database=None)


def test_register_usable_as_decorator() -> None:
    @ModelRegistry.register
    class Invoice:
        _database = "main"

    assert ModelRegistry.get_model("Invoice") is Invoice
