"""``QueryBuilder``'s reading terminals: ``all``, ``first``, ``last``, ``get``,
``get_or_none``, ``count``, ``exists``, ``values`` and ``values_list`` (and their blocking twins).

``QueryBuilder`` inherits `ReadMethods`; the builder owns the state and the compiled statement
(``_rows``, ``_compiled``), these methods turn its rows into instances, dicts or numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from matrx_orm_core import _execution
from matrx_orm_core._loop import run_sync
from matrx_orm_core.models import _persistence as _p

from ._results import plain_rows, value_dicts
from .expressions import annotation_converters

if TYPE_CHECKING:
    from matrx_orm_core.drivers.base import Row
    from matrx_orm_core.models.base import Model
    from matrx_orm_core.models.options import LoadConverter

    from ._expression_methods import ExprState
    from .builder import QueryBuilder

__all__ = ["ReadMethods"]

M = TypeVar("M", bound="Model")


class ReadMethods(Generic[M]):
    """The terminals of ``QueryBuilder`` that read rows (a mixin without state of its own)."""

    __slots__ = ()

    if TYPE_CHECKING:
        model_cls: type[M]
        database: str
        _x: ExprState | None
        _filters: dict[str, Any]
        _order: tuple[tuple[str, bool], ...]
        _columns: tuple[str, ...] | None
        _limit: int | None
        _offset: int | None
        _prefetch: tuple[str, ...]

        @property
        def filters(self) -> Mapping[str, Any]: ...
        def _clone(self) -> QueryBuilder[M]: ...
        def _check(self, names: Iterable[Any], operation: str) -> tuple[str, ...]: ...
        def _compiled(
            self, kind: str, columns: tuple[str, ...] | None = None
        ) -> tuple[str, tuple[Any, ...]]: ...
        async def _rows(
            self, operation: str, columns: tuple[str, ...] | None = None
        ) -> list[Row]: ...
        def _hydrate(self, rows: Sequence[Row]) -> list[M]: ...
        def _store(self, instances: list[M]) -> None: ...
        def _pk_order(self) -> tuple[tuple[str, bool], ...]: ...
        async def _run_prefetch(self, instances: Sequence[Any]) -> None: ...
        def _value_columns(
            self, fields: Sequence[Any], operation: str
        ) -> tuple[str, ...] | None: ...

    # -- rows as instances --------------------------------------------------------------------

    async def all(self) -> list[M]:
        """Every matching row, hydrated (complete instances are handed to the cache hook).

        Returns:
            The instances.

        Raises:
            DatabaseError: The server rejected the query.
        """
        instances = self._hydrate(await self._rows("all"))
        self._store(instances)
        if self._prefetch:
            await self._run_prefetch(instances)
        return instances

    async def _one(self, qb: QueryBuilder[M], operation: str) -> M | None:
        rows = await qb._rows(operation)
        if not rows:
            return None
        instances = qb._hydrate(rows)
        if self._prefetch:
            await self._run_prefetch(instances)
        return instances[0]

    async def first(self) -> M | None:
        """The first matching row (by primary key when there is no ordering), or ``None``.

        Returns:
            The instance or ``None``.
        """
        qb = self._clone()
        if not qb._order:
            qb._order = self._pk_order()
        qb._limit = 1
        return await self._one(qb, "first")

    async def last(self) -> M | None:
        """The last matching row: the ordering (primary key when none) reversed, LIMIT 1.

        Returns:
            The instance or ``None``.
        """
        qb = self._clone()
        qb._order = tuple((name, not desc) for name, desc in (self._order or self._pk_order()))
        qb._limit = 1
        return await self._one(qb, "last")

    async def get(self) -> M:
        """The one matching row (fetched with LIMIT 2).

        Returns:
            The instance.

        Raises:
            DoesNotExist: No row (the model's ``DoesNotExist``).
            MultipleObjectsReturned: Several rows.
        """
        cls = self.model_cls
        qb = self._clone()
        qb._limit = 2
        rows = await qb._rows("get")
        if len(rows) == 1:
            instances = self._hydrate(rows)
            self._store(instances)
            if self._prefetch:
                await self._run_prefetch(instances)
            return instances[0]
        filters = self.filters
        if not rows:
            raise cls.DoesNotExist(model=cls, filters=filters).enrich(
                operation="get", args=dict(filters)
            )
        raise cls.MultipleObjectsReturned(model=cls, count=len(rows), filters=filters).enrich(
            operation="get", args=dict(filters)
        )

    async def get_or_none(self) -> M | None:
        """Like ``get`` but ``None`` when no row matches.

        Returns:
            The instance or ``None``.

        Raises:
            MultipleObjectsReturned: Several rows.
        """
        try:
            return await self.get()
        except self.model_cls.DoesNotExist:
            return None

    async def _value(self, kind: str) -> Any:
        qb = self
        if kind == "count" and not (self._limit is not None or self._offset is not None):
            qb = self._clone()
            qb._order = ()
        sql, params = qb._compiled(kind)
        return await _execution.fetch_val(
            self.database,
            sql,
            params,
            model=self.model_cls,
            operation=kind,
            filters=self._filters,
        )

    async def count(self) -> int:
        """``SELECT count(*)``; a DISTINCT or sliced query is wrapped:
        ``SELECT count(*) FROM (query) AS "_q"``.

        Returns:
            The number of rows the query returns.
        """
        return int(await self._value("count") or 0)

    async def exists(self) -> bool:
        """``SELECT EXISTS(...)`` of the query.

        Returns:
            Whether any row matches.
        """
        return bool(await self._value("exists"))

    def _value_names(self, fields: Sequence[str], operation: str) -> tuple[str, ...]:
        if self._x is not None:
            names = self._value_columns(fields, operation)
            if names is not None:
                return names
        if not fields:
            return self._columns or self.model_cls._meta.select_columns
        return self._check(fields, operation)

    def _value_converters(self, names: tuple[str, ...]) -> dict[str, LoadConverter] | None:
        """The converters of the annotations among ``names`` (``None`` for a plain query)."""
        if self._x is None or not self._x.annotations:
            return None
        return annotation_converters(self._x.annotations, names)

    async def values(self, *fields: str) -> list[dict[str, Any]]:
        """Rows as dicts of ``fields`` in the order given (no fields: every column).

        Returns:
            One dict per row.

        Raises:
            FieldError: An unknown field name (nothing sent).
        """
        names = self._value_names(fields, "values")
        rows = await self._rows("values", names)
        return value_dicts(self.model_cls, rows, names, self._value_converters(names))

    async def values_list(self, *fields: str, flat: bool = False) -> list[Any]:
        """Rows as tuples of ``fields``; with ``flat=True`` (one field) the bare values.

        Returns:
            A list of tuples, or of values when ``flat``.

        Raises:
            FieldError: An unknown field name, or ``flat=True`` without exactly one field.
        """
        if flat and len(fields) != 1:
            cls = self.model_cls
            reason = (
                f"{cls.__name__}.values_list(flat=True) needs exactly one field, got {len(fields)}."
            )
            raise _p.field_error(cls, None, reason)
        names = self._value_names(fields, "values_list")
        rows = await self._rows("values_list", names)
        plain = plain_rows(self.model_cls, rows, names, self._value_converters(names))
        if flat:
            return [values[0] for values in plain]
        return [tuple(values) for values in plain]

    def values_sync(self, *fields: str) -> list[dict[str, Any]]:
        """Blocking ``values``.

        Returns:
            One dict per row.
        """
        return run_sync(lambda: self.values(*fields), name="values")

    def values_list_sync(self, *fields: str, flat: bool = False) -> list[Any]:
        """Blocking ``values_list``.

        Returns:
            A list of tuples, or of values when ``flat``.
        """
        return run_sync(lambda: self.values_list(*fields, flat=flat), name="values_list")
