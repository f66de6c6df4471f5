"""``QueryBuilder``'s writing terminals: ``update`` and ``delete`` of the matching rows.

``QueryBuilder`` inherits `WriteMethods`. Both refuse a sliced, ordered or distinct query before
any SQL is sent (PostgreSQL's UPDATE and DELETE have no such clauses), bump the version column
of optimistically locked models, and tell the cache hook that any row may have changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matrx_orm_core import _caching, _execution, hooks
from matrx_orm_core.exceptions import QueryError
from matrx_orm_core.models import _locking
from matrx_orm_core.models import _persistence as _p

from ._expression_methods import has_expression
from .compiler import QueryShape, build_node, compile_query

if TYPE_CHECKING:
    from ._expression_methods import ExprState

__all__ = ["WriteMethods"]


class WriteMethods:
    """The terminals of ``QueryBuilder`` that write rows (a mixin without state of its own)."""

    __slots__ = ()

    if TYPE_CHECKING:
        model_cls: type[Any]
        database: str
        _x: ExprState | None
        _filters: dict[str, Any]
        _wvalues: tuple[Any, ...]
        _order: tuple[tuple[Any, bool], ...]
        _limit: int | None
        _offset: int | None
        _distinct: bool

        def _check(self, names: Iterable[Any], operation: str) -> tuple[str, ...]: ...
        def _shape(self, kind: str, columns: tuple[str, ...] | None = None) -> QueryShape: ...
        def _compiled(
            self, kind: str, columns: tuple[str, ...] | None = None
        ) -> tuple[str, tuple[Any, ...]]: ...
        def _check_expr_writable(self, operation: str) -> None: ...
        async def _update_expr(self, values: Mapping[str, Any], names: tuple[str, ...]) -> int: ...

    def _check_writable(self, operation: str) -> None:
        if self._x is not None:
            self._check_expr_writable(operation)
        if self._limit is not None or self._offset is not None or self._distinct or self._order:
            cls = self.model_cls
            raise QueryError(
                message=(
                    f"{cls.__name__}.filter(...).{operation}() cannot use limit/offset/slicing, "
                    "order_by or distinct (PostgreSQL UPDATE/DELETE have no such clauses); "
                    "filter by primary key instead."
                ),
                model=cls,
            )

    async def update(self, **values: Any) -> int:
        """UPDATE the matching rows; returns the number of rows changed.

        ``auto_now`` fields are not touched (as Django's ``QuerySet.update``).

        Returns:
            The row count.

        Raises:
            FieldError: Unknown field name (nothing sent).
            ValidationError: No values, or a value not acceptable (nothing sent).
            QueryError: The query is sliced, ordered or distinct.
        """
        cls = self.model_cls
        meta = cls._meta
        if not values:
            raise cls.ValidationError(
                model=cls,
                reason=f"{cls.__name__}.filter(...).update() needs at least one field=value.",
            ).enrich(operation="update")
        self._check(values, "update")
        _locking.reject_version_write(cls, values, "update")
        self._check_writable("update")
        names = tuple(name for name in meta.select_columns if name in values)
        if has_expression(values):
            return await self._update_expr(values, names)
        prepared = [_p.prepare_write(cls, name, values[name], "update") for name in names]
        base = self._shape("update")
        shape: QueryShape = (*base[:9], names)
        if meta.version_name is None:
            compiled = compile_query(meta, shape)
        else:  # every changed row's version goes up by one (models._locking)
            compiled = meta.compiled(
                ("qb_versioned", shape),
                lambda: _p.compile_statement(_locking.bump_version(meta, build_node(meta, shape))),
            )
        return await self._send_update(compiled, prepared)

    async def _send_update(self, compiled: _p.Compiled, set_values: Sequence[Any]) -> int:
        """Run a compiled UPDATE of the matching rows (its SET values bind before the WHERE
        values) and tell the cache hook any row may have changed; return the row count."""
        cls = self.model_cls
        tag = await _execution.execute(
            self.database,
            compiled[0],
            _p.params_for(compiled, [*set_values, *self._wvalues]),
            model=cls,
            operation="update",
            filters=self._filters,
        )
        _caching.notify_write(cls, hooks.ALL_ROWS)
        return _execution.rows_affected(tag)

    async def delete(self) -> int:
        """DELETE the matching rows.

        Returns:
            The number of rows deleted.

        Raises:
            QueryError: The query is sliced, ordered or distinct.
        """
        cls = self.model_cls
        self._check_writable("delete")
        sql, params = self._compiled("delete")
        tag = await _execution.execute(
            self.database, sql, params, model=cls, operation="delete", filters=self._filters
        )
        _caching.notify_write(cls, hooks.ALL_ROWS)
        return _execution.rows_affected(tag)
