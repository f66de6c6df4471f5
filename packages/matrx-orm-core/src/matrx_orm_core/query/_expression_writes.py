"""``Model.update_where`` and ``Model.delete_where`` when a filter is a ``Q`` or a value is an
expression (``update_where({...}, views=F("views") + 1)``, ``delete_where(Q(a=1) | Q(b=2))``).

The plain forms stay in ``models._bulk``; these build the same statements through the query
builder's expression filters, compiled once per shape like every other statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matrx_orm_core import _caching, _execution
from matrx_orm_core.models import _locking
from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.sql import Delete, Update

from .compiler import _assignments, _counter, where_node
from .expressions import Q

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model

    from .builder import QueryBuilder

__all__ = ["delete_where_expr", "update_where_expr"]


def _where_query(cls: type[Model], filters: Any, operation: str) -> QueryBuilder[Any]:
    from .builder import QueryBuilder  # the builder imports the model layer

    qb: QueryBuilder[Any] = QueryBuilder(cls)
    if isinstance(filters, Q):
        return qb._filter_expr((filters,), {}, False, operation)
    if not isinstance(filters, Mapping):
        raise cls.ValidationError(
            model=cls,
            reason=(
                f"{cls.__name__}.{operation}(): filters must be a dict of field lookups or a Q, "
                f"got {type(filters).__name__}."
            ),
        ).enrich(operation=operation)
    return qb._filter_expr((), filters, False, operation)


async def update_where_expr(
    cls: type[Model], filters: Any, updates: Mapping[str, Any]
) -> dict[str, Any]:
    """``Model.update_where`` when the filters are a Q or hold expressions, or a value is an
    expression: ``UPDATE ... SET ... WHERE ... RETURNING <every column>``.

    Returns:
        ``{"rows_affected": int, "updated_rows": [row dicts]}``.
    """
    operation = "update_where"
    meta = cls._meta
    qb = _where_query(cls, filters, operation)
    if not updates:
        raise cls.ValidationError(
            model=cls,
            reason=f"{cls.__name__}.update_where(): no field values to set; pass them as keywords.",
        ).enrich(operation=operation)
    _p.check_names(cls, updates, operation)
    _locking.reject_version_write(cls, updates, operation)
    names = tuple(updates)
    sets, bound = qb._set_values(updates, names, operation)
    where_shape = qb._wshape

    def build() -> _p.Compiled:
        slots = _counter()
        assignments = _assignments(names, sets, slots)
        node = Update(meta.table, assignments, where_node(where_shape, slots), meta.select_columns)
        return _p.compile_statement(_locking.bump_version(meta, node))

    compiled: _p.Compiled = meta.compiled(("update_where_x", names, sets, where_shape), build)
    rows = await _execution.fetch(
        meta.database,
        compiled[0],
        _p.params_for(compiled, [*bound, *qb._wvalues]),
        model=cls,
        operation=operation,
        filters=qb._filters,
    )
    updated = [dict(row.items()) for row in rows]
    _caching.notify_write(cls, [_p.pk_cache_key(meta, row) for row in updated])
    return {"rows_affected": len(updated), "updated_rows": updated}


async def delete_where_expr(
    cls: type[Model], conditions: Sequence[Any], filters: Mapping[str, Any]
) -> int:
    """``Model.delete_where`` with Q objects or expression values.

    Returns:
        The number of rows deleted.
    """
    from .builder import QueryBuilder

    operation = "delete_where"
    meta = cls._meta
    qb: QueryBuilder[Any] = QueryBuilder(cls)._filter_expr(conditions, filters, False, operation)
    where_shape = qb._wshape

    def build() -> _p.Compiled:
        node = Delete(meta.table, where_node(where_shape, _counter()), meta.pk_names)
        return _p.compile_statement(node)

    compiled: _p.Compiled = meta.compiled(("delete_where_x", where_shape), build)
    rows = await _execution.fetch(
        meta.database,
        compiled[0],
        _p.params_for(compiled, qb._wvalues),
        model=cls,
        operation=operation,
        filters=qb._filters,
    )
    keys = [_p.pk_cache_key(meta, dict(row.items())) for row in rows]
    _caching.notify_write(cls, keys)
    return len(keys)
