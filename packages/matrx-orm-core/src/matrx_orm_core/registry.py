"""ModelRegistry: concrete model classes keyed by (database, class name), and name resolution."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable
from typing import ClassVar

from .exceptions import ConfigurationError, MatrxORMWarning, ModelNotFoundError

__all__ = ["ModelRegistry", "get_model_by_name", "model_registry"]

logger = logging.getLogger(__name__)


def _key(cls: type) -> tuple[str, str]:
    database = getattr(cls, "_database", None)
    if not isinstance(database, str) or not database:
        reason = (
            f"Cannot register model {cls.__name__}: it has no _database. Set "
            f"_database = '<registered project name>' on {cls.__name__}."
        )
        raise ConfigurationError(
            model=cls.__name__, config_key="_database", reason=reason, message=reason
        )
    return database, cls.__name__


class ModelRegistry:
    """Every concrete model class, keyed by ``(database, class name)``.

    The state is class-level (one registry per process); ``model_registry`` is an instance for
    convenience and every method works on the class or the instance. The registry reads only
    ``cls._database`` and ``cls.__name__``, so it never imports the model layer.
    """

    _models: ClassVar[dict[tuple[str, str], type]] = {}
    _lock: ClassVar[threading.RLock] = threading.RLock()
    _version: ClassVar[int] = 0

    @classmethod
    def version(cls) -> int:
        """A counter that changes whenever the registry changes (for cached resolutions)."""
        return cls._version

    @classmethod
    def register(cls, model: type) -> type:
        """Register ``model`` under ``(model._database, model.__name__)``.

        Registering the same class again does nothing. A different class under the same key
        replaces the old one with a ``MatrxORMWarning`` (so module reloads work).

        Returns:
            ``model``, so this can be used as a class decorator.

        Raises:
            ConfigurationError: ``model`` has no ``_database``.
        """
        key = _key(model)
        with cls._lock:
            existing = cls._models.get(key)
            if existing is model:
                return model
            if existing is not None:
                warnings.warn(
                    f"Model {key[1]} is already registered for database {key[0]!r} by "
                    f"{existing.__module__}.{existing.__qualname__}; replacing it with "
                    f"{model.__module__}.{model.__qualname__}. Rename one of the classes if "
                    "they are different models.",
                    MatrxORMWarning,
                    stacklevel=2,
                )
            cls._models[key] = model
            cls._version += 1
        logger.debug("registered model %s for database %r", key[1], key[0])
        return model

    @classmethod
    def register_all(cls, models: Iterable[type]) -> None:
        """Register every class in ``models`` (see ``register``)."""
        for model in models:
            cls.register(model)

    @classmethod
    def unregister(cls, model: type) -> bool:
        """Remove ``model`` if it is the registered class for its key.

        Returns:
            True when it was removed.
        """
        key = _key(model)
        with cls._lock:
            if cls._models.get(key) is not model:
                return False
            del cls._models[key]
            cls._version += 1
        return True

    @classmethod
    def _candidates(cls, name: str) -> list[tuple[str, type]]:
        with cls._lock:
            return [(db, model) for (db, n), model in cls._models.items() if n == name]

    @classmethod
    def get_model(cls, name: str, database: str | None = None) -> type | None:
        """Return the model class called ``name``, or None.

        With ``database``, only that database is searched. Without it, the name must be
        unique across databases.

        Raises:
            ConfigurationError: ``database`` is None and the name exists in several databases.
        """
        if database is not None:
            return cls._models.get((database, name))
        candidates = cls._candidates(name)
        if not candidates:
            return None
        if len(candidates) > 1:
            raise cls._ambiguous(name, candidates)
        return candidates[0][1]

    @classmethod
    def get_model_by_name(cls, name: str, database: str | None = None) -> type:
        """Return the model class called ``name``.

        Raises:
            ConfigurationError: No such model (the message lists the registered ones), or the
                name is ambiguous across databases.
        """
        model = cls.get_model(name, database)
        if model is None:
            raise cls._not_found(name, database)
        return model

    @classmethod
    def all_models(cls, database: str | None = None) -> dict[str, type]:
        """Return a copy of the registered models keyed by class name.

        With ``database``, only that database's models. Without it, every model; a class name
        registered in more than one database appears once per database under
        ``"<database>.<Name>"``.
        """
        with cls._lock:
            items = list(cls._models.items())
        if database is not None:
            return {name: model for (db, name), model in items if db == database}
        counts: dict[str, int] = {}
        for (_, name), _model in items:
            counts[name] = counts.get(name, 0) + 1
        return {
            (name if counts[name] == 1 else f"{db}.{name}"): model for (db, name), model in items
        }

    @classmethod
    def all_entries(cls) -> dict[tuple[str, str], type]:
        """Return a copy of the registry keyed by ``(database, class name)``."""
        with cls._lock:
            return dict(cls._models)

    @classmethod
    def clear(cls) -> None:
        """Forget every registered model (for tests)."""
        with cls._lock:
            cls._models.clear()
            cls._version += 1

    @classmethod
    def resolve(cls, reference: str | type, *, database: str | None) -> type:
        """Resolve a model reference (a class, or a class name) to a class.

        A name is looked up in ``database`` (the referencing model's database) first, then by a
        unique match across all databases.

        Raises:
            ConfigurationError: No model has that name, or several databases have one and
                none is ``database``; the message lists the candidates.
        """
        if isinstance(reference, type):
            return reference
        if not isinstance(reference, str) or not reference:
            reason = f"A model reference must be a model class or a class name; got {reference!r}."
            raise ConfigurationError(config_key="model_registry", reason=reason, message=reason)
        if database is not None:
            model = cls._models.get((database, reference))
            if model is not None:
                return model
        candidates = cls._candidates(reference)
        if len(candidates) == 1:
            return candidates[0][1]
        if not candidates:
            raise cls._not_found(reference, database)
        raise cls._ambiguous(reference, candidates)

    @classmethod
    def _not_found(cls, name: str, database: str | None) -> ModelNotFoundError:
        with cls._lock:
            known = sorted(f"{n} ({db})" for db, n in cls._models)
        where = f" for database {database!r}" if database else ""
        listing = ", ".join(known) if known else "none"
        reason = (
            f"Model {name} not found{where}: {name}. Registered models: {listing}. "
            f"Import the module that defines {name} before using it, or register it with "
            "model_registry.register(cls)."
        )
        return ModelNotFoundError(
            model=name, config_key="model_registry", reason=reason, message=reason
        )

    @staticmethod
    def _ambiguous(name: str, candidates: list[tuple[str, type]]) -> ConfigurationError:
        listing = ", ".join(
            f"{db}: {model.__module__}.{model.__qualname__}"
            for db, model in sorted(candidates, key=lambda c: c[0])
        )
        reason = (
            f"Model name {name} is ambiguous: it is registered in several databases "
            f"({listing}). Pass the class itself, or reference it from a model of the same "
            "database (ForeignKey(..., to_db='<database>') for another database)."
        )
        return ConfigurationError(
            model=name, config_key="model_registry", reason=reason, message=reason
        )


model_registry = ModelRegistry()
"""The process-wide registry (the same state as the ``ModelRegistry`` class)."""


def get_model_by_name(name: str, database: str | None = None) -> type:
    """Return the registered model class called ``name`` (see ``ModelRegistry.get_model_by_name``).

    Raises:
        ConfigurationError: No such model, or the name is ambiguous.
    """
    return ModelRegistry.get_model_by_name(name, database)
