"""QueryBuilder (alias QuerySet): an immutable, lazy query over one model.

Every chain method returns a new builder; nothing runs until a terminal method is awaited.
This slice supports exact-match filters only (``None`` matches NULL); a ``field__lookup`` key
raises ``FieldError`` until the lookup operators arrive with the Query API issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from matrx_orm_core import _execution, hooks
from matrx_orm_core.exceptions import ConfigurationError
from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.sql import Count, Delete, Exists, Select, Update

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model

__all__ = ["QueryBuilder", "QuerySet"]

M = TypeVar("M", bound="Model")


class QueryBuilder(Generic[M]):
    """A lazy, immutable query over ``model_cls``.

    Args:
        model_cls: A concrete model class.
        database: The database project to run on (default: the model's ``_database``).

    Raises:
        ConfigurationError: ``model_cls`` is not a concrete model.
    """

    __slots__ = ("_filters", "_shape", "_values", "database", "model_cls")

    def __init__(self, model_cls: type[M], database: str | None = None) -> None:
        meta = vars(model_cls).get("_meta")
        if meta is None:
            raise ConfigurationError(
                model=model_cls,
                config_key="_meta",
                reason=f"{model_cls.__name__} is not a concrete model (abstract models have no "
                "table); query a concrete subclass.",
            )
        self.model_cls: type[M] = model_cls
        self.database: str = database or meta.database
        self._shape: _p.FilterShape = ()
        self._values: tuple[Any, ...] = ()
        self._filters: dict[str, Any] = {}

    def _clone(self) -> QueryBuilder[M]:
        clone: QueryBuilder[M] = object.__new__(type(self))
        clone.model_cls = self.model_cls
        clone.database = self.database
        clone._shape = self._shape
        clone._values = self._values
        clone._filters = self._filters
        return clone

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self._shape)
        return f"<QueryBuilder {self.model_cls.__name__} filters=[{names}]>"

    # -- chain methods -----------------------------------------------------------------------

    def filter(self, **filters: Any) -> QueryBuilder[M]:
        """Add exact-match conditions (ANDed with the existing ones).

        Raises:
            FieldError: A name is not a field of the model, or is a ``__`` lookup.
            ValidationError: A value is not acceptable for its field.
        """
        shape, values = _p.prepare_filters(self.model_cls, filters, "filter")
        clone = self._clone()
        clone._shape = self._shape + shape
        clone._values = self._values + tuple(values)
        clone._filters = {**self._filters, **filters}
        return clone

    def using(self, database: str) -> QueryBuilder[M]:
        """Run this query on another registered database project."""
        clone = self._clone()
        clone.database = database
        return clone

    # -- terminal methods --------------------------------------------------------------------

    async def all(self) -> list[M]:
        """Every matching row, hydrated (and handed to the cache hook)."""
        cls = self.model_cls
        meta = cls._meta
        shape = self._shape
        compiled: _p.Compiled = meta.compiled(
            ("all", shape),
            lambda: _p.compile_statement(
                Select(meta.table, meta.select_columns, _p.where_from(shape))
            ),
        )
        rows = await _execution.fetch(
            self.database,
            compiled[0],
            _p.params_for(compiled, self._values),
            model=cls,
            operation="all",
            filters=self._filters,
        )
        instances = _p.hydrate_many(cls, rows)
        if instances:
            hooks.get_model_cache().store(cls, instances)
        return instances

    async def first(self) -> M | None:
        """The first matching row by primary key, or ``None``."""
        cls = self.model_cls
        meta = cls._meta
        shape = self._shape
        compiled: _p.Compiled = meta.compiled(
            ("first", shape),
            lambda: _p.compile_statement(
                Select(
                    meta.table,
                    meta.select_columns,
                    _p.where_from(shape),
                    order_by=tuple((name, False) for name in meta.pk_names),
                    limit=1,
                )
            ),
        )
        row = await _execution.fetch_one(
            self.database,
            compiled[0],
            _p.params_for(compiled, self._values),
            model=cls,
            operation="first",
            filters=self._filters,
        )
        return None if row is None else _p.hydrate(cls, row)

    async def get(self) -> M:
        """The one matching row.

        Raises:
            DoesNotExist: No row (the model's ``DoesNotExist``).
            MultipleObjectsReturned: Several rows.
        """
        instance = await _p.select_one(
            self.model_cls, self._shape, self._values, self._filters, self.database, "get"
        )
        hooks.get_model_cache().store(self.model_cls, [instance])
        return instance

    async def count(self) -> int:
        """``SELECT count(*)`` of the matching rows."""
        meta = self.model_cls._meta
        shape = self._shape
        compiled: _p.Compiled = meta.compiled(
            ("count", shape),
            lambda: _p.compile_statement(Count(meta.table, _p.where_from(shape))),
        )
        value = await _execution.fetch_val(
            self.database,
            compiled[0],
            _p.params_for(compiled, self._values),
            model=self.model_cls,
            operation="count",
            filters=self._filters,
        )
        return int(value or 0)

    async def exists(self) -> bool:
        """``SELECT EXISTS(...)`` of the matching rows."""
        meta = self.model_cls._meta
        shape = self._shape
        compiled: _p.Compiled = meta.compiled(
            ("exists", shape),
            lambda: _p.compile_statement(Exists(meta.table, _p.where_from(shape))),
        )
        value = await _execution.fetch_val(
            self.database,
            compiled[0],
            _p.params_for(compiled, self._values),
            model=self.model_cls,
            operation="exists",
            filters=self._filters,
        )
        return bool(value)

    async def update(self, **values: Any) -> int:
        """UPDATE the matching rows; returns the number of rows changed.

        ``auto_now`` fields are not touched (as Django's ``QuerySet.update``).

        Raises:
            FieldError: Unknown field name (nothing sent).
            ValidationError: No values, or a value not acceptable (nothing sent).
        """
        cls = self.model_cls
        meta = cls._meta
        if not values:
            raise cls.ValidationError(
                model=cls,
                reason=f"{cls.__name__}.filter(...).update() needs at least one field=value.",
            ).enrich(operation="update")
        _p.check_names(cls, values, "update")
        names = tuple(name for name in meta.select_columns if name in values)
        prepared = [_p.prepare_write(cls, name, values[name], "update") for name in names]
        shape = self._shape
        compiled: _p.Compiled = meta.compiled(
            ("qs_update", names, shape),
            lambda: _p.compile_statement(
                Update(
                    meta.table,
                    tuple(zip(names, _p.slots(0, len(names)), strict=True)),
                    _p.where_from(shape, len(names)),
                )
            ),
        )
        tag = await _execution.execute(
            self.database,
            compiled[0],
            _p.params_for(compiled, [*prepared, *self._values]),
            model=cls,
            operation="update",
            filters=self._filters,
        )
        hooks.get_model_cache().notify_write(cls, hooks.ALL_ROWS)
        return _execution.rows_affected(tag)

    async def delete(self) -> int:
        """DELETE the matching rows; returns the number of rows deleted."""
        cls = self.model_cls
        meta = cls._meta
        shape = self._shape
        compiled: _p.Compiled = meta.compiled(
            ("qs_delete", shape),
            lambda: _p.compile_statement(Delete(meta.table, _p.where_from(shape))),
        )
        tag = await _execution.execute(
            self.database,
            compiled[0],
            _p.params_for(compiled, self._values),
            model=cls,
            operation="delete",
            filters=self._filters,
        )
        hooks.get_model_cache().notify_write(cls, hooks.ALL_ROWS)
        return _execution.rows_affected(tag)

    @property
    def filters(self) -> Mapping[str, Any]:
        """The filters given so far (a copy)."""
        return dict(self._filters)


QuerySet = QueryBuilder
"""Alias of :class:`QueryBuilder` (API.md §10.21)."""
