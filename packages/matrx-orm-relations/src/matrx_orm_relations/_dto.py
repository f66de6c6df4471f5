"""``BaseDTO``: a base for ``@dataclass`` data-transfer objects built from model instances."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from matrx_orm_core import Model
from matrx_orm_core.exceptions import StateError
from matrx_orm_core.models._serialize import RuntimeContainer, serialize

__all__ = ["BaseDTO"]

logger = logging.getLogger("matrx_orm_relations")

D = TypeVar("D", bound="BaseDTO")


def _plain(value: Any, visited: set[int]) -> Any:
    if isinstance(value, BaseDTO):
        return value.to_dict(visited)
    if isinstance(value, Model):
        if id(value) in visited:
            return {"id": str(value.get_cache_key())}
        return value.to_dict()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item, visited) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, visited) for key, item in value.items()}
    return serialize(value)


@dataclass
class BaseDTO:
    """Subclass with ``@dataclass`` and add fields; build instances with ``await from_model()``.

    The DTO keeps its model: attributes it does not define are read from the model, and the
    relation helpers store what they load in ``model.runtime`` (so ``model.to_dict()`` shows
    it under ``runtime``). Override :meth:`_initialize_dto` to fill computed fields.

    Attributes:
        id: The model's primary key as text.
    """

    id: str

    @classmethod
    async def from_model(cls: type[D], model: Model) -> D:
        """Build the DTO for ``model`` (``id`` = its primary key as text) and run the
        ``_initialize_dto`` hook."""
        dto = cls(id=model.get_cache_key())
        object.__setattr__(dto, "_model", model)
        await dto._initialize_dto(model)
        return dto

    async def _initialize_dto(self, model: Model) -> None:
        """Hook: fill computed fields from ``model`` (the default sets nothing)."""

    @property
    def model(self) -> Model | None:
        """The model instance this DTO was built from (``None`` if built directly)."""
        value: Model | None = self.__dict__.get("_model")
        return value

    def __getattr__(self, name: str) -> Any:
        model = self.__dict__.get("_model")
        if name.startswith("__") or model is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return getattr(model, name)

    def _require_model(self, method: str) -> Model:
        model = self.model
        if model is None:
            raise StateError(
                model=type(self).__name__,
                operation=method,
                reason=f"{type(self).__name__}.{method}() needs the model: build the DTO with "
                f"await {type(self).__name__}.from_model(instance).",
            )
        return model

    def _remember(self, model: Model, name: str, value: Any) -> Any:
        runtime: RuntimeContainer = model.runtime
        runtime.set_relationship(name, value)
        return value

    async def fetch_fk(self, name: str) -> Any:
        """``model.fetch_fk(name)``, stored in ``model.runtime``."""
        model = self._require_model("fetch_fk")
        return self._remember(model, name, await model.fetch_fk(name))

    async def fetch_ifk(self, name: str) -> Any:
        """``model.fetch_ifk(name)``, stored in ``model.runtime``."""
        model = self._require_model("fetch_ifk")
        return self._remember(model, name, await model.fetch_ifk(name))

    async def fetch_one_relation(self, name: str) -> Any:
        """``model.fetch_one_relation(name)``, stored in ``model.runtime``."""
        model = self._require_model("fetch_one_relation")
        return self._remember(model, name, await model.fetch_one_relation(name))

    async def filter_fk(self, name: str, /, **filters: Any) -> Any:
        """``model.filter_fk(name, **filters)``, stored in ``model.runtime``."""
        model = self._require_model("filter_fk")
        return self._remember(model, name, await model.filter_fk(name, **filters))

    async def filter_ifk(self, name: str, /, **filters: Any) -> Any:
        """``model.filter_ifk(name, **filters)``, stored in ``model.runtime``."""
        model = self._require_model("filter_ifk")
        return self._remember(model, name, await model.filter_ifk(name, **filters))

    def to_dict(self, visited: set[int] | None = None) -> dict[str, Any]:
        """The dataclass fields as plain data; a DTO reached twice (a cycle) is shown as
        ``{"id": ...}``."""
        seen = set() if visited is None else visited
        if id(self) in seen:
            return {"id": self.id}
        seen.add(id(self))
        return {f.name: _plain(getattr(self, f.name), seen) for f in fields(self)}

    def print_keys(self) -> list[str]:
        """The field names (logged at INFO on the ``matrx_orm_relations`` logger; library code
        does not print)."""
        keys = [f.name for f in fields(self)]
        logger.info("%s keys: %s", type(self).__name__, ", ".join(keys))
        return keys
