"""Set-based writes: bulk_create/update/delete, upsert, bulk_upsert, update_where, delete_where.

Statement shapes (every identifier through ``quote_ident``, every value a bound parameter):

* ``bulk_create``: ``INSERT INTO t (cols) SELECT * FROM unnest($1::type[], ...) RETURNING ...``,
  one array parameter per column, so any number of rows fits in one statement. JSON, UUIDField
  and DecimalField columns travel as ``text[]`` and are cast back (``"_0"::uuid``): JSON
  because the driver would read a JSON list as an array dimension, the others because text
  skips the driver's per-element encoding. When the primary
  key is not supplied (server-generated), the rows go through ``unnest(...) WITH ORDINALITY`` and
  ``ORDER BY`` the ordinality, and the returned rows are matched to the inputs by position;
  otherwise they are matched by primary key. Rows that leave a column without a client value
  form their own statement group (PostgreSQL rejects ``DEFAULT`` in ``INSERT ... SELECT``), and
  several statements run in one transaction. Array-typed columns cannot pass through ``unnest``
  (it flattens them): such groups use ``VALUES`` chunks under the parameter cap instead.
  Groups of ``COPY_MIN_ROWS`` rows or more (and array groups above the cap) whose column types
  COPY can carry go through a staging table instead: ``CREATE TEMP TABLE``, ``COPY``, ``INSERT
  ... SELECT ... RETURNING``, ``DROP`` (``_bulk_copy``); bulk_upsert's too, with its ``ON
  CONFLICT`` clause. ``bulk_create(..., returning=False)`` returns a row count instead: each
  group whose column types COPY carries directly is one ``COPY`` into the model's table
  (``_bulk_count``), any other group takes the statements above and its rows are counted.
* ``bulk_update``: ``UPDATE t AS "_t" SET "f" = "_v"."f" FROM unnest(...) AS "_v"(pk, f, ...)
  WHERE "_t"."pk" = "_v"."pk"``.
* ``bulk_delete``: ``DELETE FROM t WHERE "pk" = ANY($1::type[])`` (composite keys:
  ``("a", "b") IN (SELECT * FROM unnest(...))``).
* ``upsert``/``bulk_upsert``: ``INSERT ... ON CONFLICT ("cf") DO UPDATE SET "f" = EXCLUDED."f"
  RETURNING ...``.
* ``update_where``/``delete_where``: ``UPDATE ... SET ... WHERE ... RETURNING`` and
  ``DELETE ... WHERE ... RETURNING pk``.

None of these operations fires signals. Every name is validated and every value prepared by its
field before any SQL is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from matrx_orm_core import _caching, _execution, hooks
from matrx_orm_core.query.lookups import condition_node, prepare_condition
from matrx_orm_core.sql import MAX_PARAMS, And, Delete, Params, SQLNode, Update
from matrx_orm_core.transaction import transaction

from . import _locking
from ._bulk_copy import CopyStep, copy_applies
from ._bulk_count import DirectCopy, direct_copy, group_keys
from ._bulk_prepare import (
    BatchRows,
    _column_arrays,
    _groups,
    _instances,
    _match,
    _model_error,
    _names,
    _pk_columns,
    _prepare,
    _PreparedRow,
    prepare_rows,
)
from ._bulk_sql import (
    DeleteKeys,
    InsertRows,
    UpdateFrom,
    _array,
    _carriers,
    _compile,
    _is_array,
    _returning,
    _text_carried,
    _types,
    cast_type,
)
from ._persistence import (
    Compiled,
    _Slot,
    check_names,
    compile_statement,
    hydrate_many,
    params_for,
    pk_cache_key,
    prepare_write,
    slots,
)

if TYPE_CHECKING:
    from matrx_orm_core.drivers.base import Row

    from .base import Model

M = TypeVar("M", bound="Model")


def atomic(database: str) -> AbstractAsyncContextManager[Any]:
    """One transaction for several statements: ``transaction(database)``.

    Inside an open transaction on ``database`` this is a savepoint on its connection;
    otherwise a new transaction on one pooled connection, bound for the block.
    """
    return transaction(database)


def _statements(
    cls: type[Model],
    columns: tuple[str, ...],
    group: Sequence[_PreparedRow],
    conflict: tuple[str, ...],
    updates: tuple[str, ...],
) -> list[tuple[Compiled | CopyStep, list[Any], list[_PreparedRow]]]:
    """The compiled statement(s) inserting ``group`` and each one's values and rows."""
    meta = cls._meta
    returning = meta.select_columns
    types = _types(cls, columns)
    step = _copy_step(cls, columns, types, group, conflict, updates)
    if step is not None:
        return [(step, [], list(group))]
    if any(_is_array(t) for t in types):
        per = max(1, MAX_PARAMS // len(columns))
        result: list[tuple[Compiled | CopyStep, list[Any], list[_PreparedRow]]] = []
        for start in range(0, len(group), per):
            chunk = list(group[start : start + per])
            width = len(columns)
            node = InsertRows(
                meta.table,
                columns,
                types,
                returning,
                rows=tuple(slots(i * width, width) for i in range(len(chunk))),
                conflict=conflict,
                updates=updates,
                bump=meta.version_name if conflict else None,
            )
            compiled = meta.compiled(
                ("bulk_values", columns, len(chunk), conflict, updates),
                partial(compile_statement, node),
            )
            values = [row.values[name] for row in chunk for name in columns]
            result.append((compiled, values, chunk))
        return result
    ordinality = not conflict and not all(name in columns for name in meta.pk_names)
    carried = _text_carried(cls, columns, types)
    elements, casts = _carriers(types, carried)
    compiled = meta.compiled(
        ("bulk_unnest", columns, ordinality, conflict, updates),
        lambda: compile_statement(
            InsertRows(
                meta.table,
                columns,
                elements,
                returning,
                arrays=slots(0, len(columns)),
                ordinality=ordinality,
                conflict=conflict,
                updates=updates,
                casts=casts,
                bump=meta.version_name if conflict else None,
            )
        ),
    )
    return [(compiled, _column_arrays(cls, columns, group, casts, carried), list(group))]


def _copy_step(
    cls: type[Model],
    columns: tuple[str, ...],
    types: tuple[str, ...],
    group: Sequence[_PreparedRow],
    conflict: tuple[str, ...],
    updates: tuple[str, ...],
) -> CopyStep | None:
    """The COPY insert of a group, or ``None`` when the group does not take the COPY path."""
    carried = _text_carried(cls, columns, types)
    elements, casts = _carriers(types, carried)
    if not copy_applies(elements, len(group)):
        return None
    arrays = _column_arrays(cls, columns, group, casts, carried)
    meta = cls._meta
    ordinality = not conflict and not all(name in columns for name in meta.pk_names)
    records = list(zip(*arrays, strict=True))
    bump = meta.version_name if conflict else None
    return CopyStep(
        columns, elements, casts, records, ordinality, conflict, updates, bump, meta.table.name
    )


async def _run_plan(
    cls: type[M],
    plan: Sequence[tuple[Compiled | CopyStep | DirectCopy, list[Any], Sequence[_PreparedRow], Any]],
    operation: str,
    on_rows: Any,
) -> None:
    """Run every statement of ``plan`` (in one transaction when it takes several) and hand
    each group's returned rows to ``on_rows(rows, group, by)`` (a direct COPY hands its count)."""
    meta = cls._meta
    database = meta.database
    table_sql = meta.table.as_sql(Params())

    async def run() -> None:
        for compiled, values, group, by in plan:
            rows: list[Row] | int
            if isinstance(compiled, DirectCopy):
                rows = await compiled.run(cls, operation)
            elif isinstance(compiled, CopyStep):
                rows = await compiled.run(cls, table_sql, operation)
            elif compiled[0] == "":
                rows = []
                for _ in group:
                    row = await _execution.fetch_one(
                        database, _default_values_sql(cls), (), model=cls, operation=operation
                    )
                    if row is not None:
                        rows.append(row)
            else:
                rows = await _execution.fetch(
                    database,
                    compiled[0],
                    params_for(compiled, values),
                    model=cls,
                    operation=operation,
                )
            on_rows(rows, group, by)

    first = plan[0][0] if plan else None
    if (
        len(plan) > 1
        or isinstance(first, CopyStep)
        or (isinstance(first, tuple) and first[0] == "" and len(plan[0][2]) > 1)
    ):
        async with atomic(database):
            await run()
    else:
        await run()


async def _run_inserts(
    cls: type[M],
    plan: Sequence[tuple[Compiled | CopyStep, list[Any], Sequence[_PreparedRow], tuple[str, ...]]],
    total: int,
    operation: str,
) -> list[M]:
    meta = cls._meta
    results: list[M | None] = [None] * total

    def on_rows(rows: list[Row], group: Sequence[_PreparedRow], by: tuple[str, ...]) -> None:
        for index, instance in _match(cls, operation, group, hydrate_many(cls, rows), by):
            results[index] = instance

    await _run_plan(cls, plan, operation, on_rows)
    instances = [inst for inst in results if inst is not None]
    _caching.notify_write(cls, [pk_cache_key(meta, inst.__dict__) for inst in instances])
    _caching.store(cls, meta.database, instances)
    return instances


def _default_values_sql(cls: type[Model]) -> str:
    meta = cls._meta
    return f"INSERT INTO {meta.table.as_sql(Params())} DEFAULT VALUES" + _returning(
        meta.select_columns
    )


_DEFAULTS_ONLY: Compiled = ("", (), True)
"""Marks a group of rows with no column values: one ``DEFAULT VALUES`` insert per row."""


# --- bulk_create ----------------------------------------------------------------------------------


async def bulk_create(cls: type[M], objects_data: Any, *, returning: bool = True) -> Any:
    """``Model.bulk_create``: see the module docstring; ``returning=False``: ``_bulk_count``.

    Returns:
        The persisted instances, in input order; with ``returning=False`` the number of rows
        inserted.
    """
    operation = "bulk_create"
    if not isinstance(returning, bool):
        raise _model_error(
            cls,
            operation,
            f"{cls.__name__}.bulk_create(): returning must be True or False, got {returning!r}.",
        )
    rows = prepare_rows(cls, objects_data, operation, keep_none=False, lazy=not returning)
    if not rows:
        return [] if returning else 0
    pk_names = cls._meta.pk_names
    plan: list[tuple[Any, list[Any], Sequence[_PreparedRow], tuple[str, ...]]] = []
    keys: list[Any] | None = []
    groups: Mapping[tuple[Any, ...], Sequence[_PreparedRow]]
    if isinstance(rows, BatchRows):  # one column-wise batch, no object per row
        groups = {rows.batch.columns: rows}
    else:
        groups = _groups(rows, with_supplied=False)
    for key, group in groups.items():
        columns: tuple[str, ...] = key
        if not returning:
            found = group_keys(cls, columns, group)
            keys = None if keys is None or found is None else keys + found
        if not columns:
            plan.append((_DEFAULTS_ONLY, [], group, ()))
            continue
        if not returning:
            direct = direct_copy(cls, columns, _types(cls, columns), group)
            if direct is not None:
                plan.append((direct, [], group, ()))
                continue
        by = pk_names if all(name in columns for name in pk_names) else ()
        for compiled, values, chunk in _statements(cls, columns, group, (), ()):
            plan.append((compiled, values, chunk, by))
    if returning:
        return await _run_inserts(cls, plan, len(rows), operation)
    counted = [0]

    def on_rows(
        result: list[Row] | int, group: Sequence[_PreparedRow], by: tuple[str, ...]
    ) -> None:
        counted[0] += result if isinstance(result, int) else len(result)

    await _run_plan(cls, plan, operation, on_rows)
    _caching.notify_write(cls, hooks.ALL_ROWS if keys is None else keys)
    return counted[0]


# --- upsert -----------------------------------------------------------------------------------


def _upsert_plan(
    cls: type[Model],
    objects_data: Any,
    conflict_fields: Any,
    update_fields: Any,
    operation: str,
) -> tuple[
    list[_PreparedRow],
    list[tuple[Compiled | CopyStep, list[Any], list[_PreparedRow], tuple[str, ...]]],
]:
    meta = cls._meta
    conflict = _names(cls, conflict_fields, "conflict_fields", operation)
    if not conflict:
        raise _model_error(
            cls,
            operation,
            f"{cls.__name__}.{operation}(): conflict_fields is empty; name the unique column(s) "
            "whose conflict turns the insert into an update.",
        )
    explicit = None
    if update_fields is not None:
        explicit = _names(cls, update_fields, "update_fields", operation)
        _locking.reject_version_write(cls, explicit, operation)
    rows = prepare_rows(cls, objects_data, operation, keep_none=True)
    seen: dict[Any, int] = {}
    for row in rows:
        missing = [name for name in conflict if name not in row.values]
        if missing:
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): row {row.index} has no value for conflict "
                f"field(s) {', '.join(missing)}; every row must supply the conflict key.",
                row=row.index,
            )
        key = tuple([row.values[name] for name in conflict])
        try:
            hash(key)
        except TypeError:
            key = repr(key)  # type: ignore[assignment]
        if key in seen:
            shown = {name: row.values[name] for name in conflict}
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): rows {seen[key]} and {row.index} have the same "
                f"conflict key {shown}; PostgreSQL cannot update one row twice in one statement. "
                "Merge the duplicates first.",
                row=row.index,
                conflict_key=shown,
            )
        seen[key] = row.index
    plan: list[tuple[Compiled | CopyStep, list[Any], list[_PreparedRow], tuple[str, ...]]] = []
    skip = set(conflict) | set(meta.pk_names) | {meta.version_name}
    for key, group in _groups(rows, with_supplied=True).items():
        columns: tuple[str, ...] = key[0]
        supplied = set(key[1]) | set(meta.auto_now_fields)
        if explicit is not None:
            updates = explicit
        else:
            updates = tuple([n for n in columns if n in supplied and n not in skip])
        if not updates and meta.version_name is None:
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): nothing to update on conflict: the rows supply "
                f"only the conflict fields and the primary key ({', '.join(columns)}). Supply "
                "more fields, or pass update_fields=[...].",
            )
        for compiled, values, chunk in _statements(cls, columns, group, conflict, updates):
            plan.append((compiled, values, chunk, conflict))
    return rows, plan


async def upsert(cls: type[M], data: Any, conflict_fields: Any, update_fields: Any = None) -> M:
    """``Model.upsert``: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` row.

    Returns:
        The inserted or updated instance.
    """
    operation = "upsert"
    if not isinstance(data, Mapping) or not data:
        raise _model_error(
            cls,
            operation,
            f"{cls.__name__}.upsert(): data must be a non-empty dict of field values.",
        )
    rows, plan = _upsert_plan(cls, [data], conflict_fields, update_fields, operation)
    return (await _run_inserts(cls, plan, len(rows), operation))[0]


async def bulk_upsert(
    cls: type[M], objects_data: Any, conflict_fields: Any, update_fields: Any = None
) -> list[M]:
    """``Model.bulk_upsert``: ``upsert`` for many rows (one statement per column group).

    Returns:
        The inserted or updated instances, in input order.
    """
    operation = "bulk_upsert"
    rows, plan = _upsert_plan(cls, objects_data, conflict_fields, update_fields, operation)
    if not rows:
        return []
    return await _run_inserts(cls, plan, len(rows), operation)


# --- bulk_update / bulk_delete --------------------------------------------------------------------


async def bulk_update(cls: type[Model], objects: Any, fields: Any) -> int:
    """``Model.bulk_update``: write ``fields`` of every instance in one statement.

    Returns:
        The number of rows updated.
    """
    operation = "bulk_update"
    meta = cls._meta
    names = _names(cls, fields, "fields", operation)
    if not names:
        raise _model_error(
            cls, operation, f"{cls.__name__}.bulk_update(): fields is empty; name the fields."
        )
    _locking.reject_version_write(cls, names, operation)
    keys = [name for name in names if name in meta.pk_names]
    if keys:
        raise _model_error(
            cls,
            operation,
            f"{cls.__name__}.bulk_update(): {', '.join(keys)} is the primary key, which "
            "identifies the rows and cannot be updated here.",
        )
    items = _instances(cls, objects, operation, persisted=True)
    if not items:
        return 0
    pk_arrays, cache_keys = _pk_columns(cls, items, operation)
    seen: dict[Any, int] = {}
    for index, key in enumerate(cache_keys):
        if key in seen:
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.bulk_update(): items {seen[key]} and {index} have the same "
                f"primary key {key!r}; pass each row once.",
                row=index,
            )
        seen[key] = index
    arrays = pk_arrays + [
        [_prepare(cls, name, obj.__dict__.get(name), operation, i) for i, obj in enumerate(items)]
        for name in names
    ]
    columns = (*meta.pk_names, *names)
    types = _types(cls, columns)
    database = meta.database
    if not any(_is_array(t) for t in types):
        elements, casts = _carriers(types)
        if casts:
            arrays = [_array(values, cast) for values, cast in zip(arrays, casts, strict=True)]
        compiled: Compiled = meta.compiled(
            ("bulk_update", names),
            lambda: compile_statement(
                UpdateFrom(
                    meta.table,
                    meta.pk_names,
                    names,
                    elements,
                    arrays=slots(0, len(columns)),
                    casts=casts,
                    bump=meta.version_name,
                )
            ),
        )
        tag = await _execution.execute(
            database, compiled[0], params_for(compiled, arrays), model=cls, operation=operation
        )
        count = _execution.rows_affected(tag)
    else:
        rows = [list(row) for row in zip(*arrays, strict=True)]
        per = max(1, MAX_PARAMS // len(columns))
        count = 0
        async with atomic(database):
            for start in range(0, len(rows), per):
                chunk = rows[start : start + per]
                sql, params = _compile(
                    UpdateFrom(
                        meta.table,
                        meta.pk_names,
                        names,
                        types,
                        rows=tuple(map(tuple, chunk)),
                        bump=meta.version_name,
                    )
                )
                tag = await _execution.execute(
                    database, sql, params, model=cls, operation=operation
                )
                count += _execution.rows_affected(tag)
    _caching.notify_write(cls, cache_keys)
    return count


async def bulk_delete(cls: type[Model], objects: Any) -> int:
    """``Model.bulk_delete``: delete the rows of the given instances by primary key.

    Returns:
        The number of rows deleted.
    """
    operation = "bulk_delete"
    meta = cls._meta
    items = _instances(cls, objects, operation, persisted=False)
    if not items:
        return 0
    arrays, cache_keys = _pk_columns(cls, items, operation)
    types = _types(cls, meta.pk_names)
    compiled: Compiled = meta.compiled(
        ("bulk_delete",),
        lambda: compile_statement(
            DeleteKeys(meta.table, meta.pk_names, types, slots(0, len(meta.pk_names)))
        ),
    )
    tag = await _execution.execute(
        meta.database, compiled[0], params_for(compiled, arrays), model=cls, operation=operation
    )
    for obj in items:
        obj.__dict__["_persisted"] = False
    _caching.notify_write(cls, cache_keys)
    return _execution.rows_affected(tag)


# --- update_where / delete_where ------------------------------------------------------------------


WhereShape = tuple[tuple[str, str, int], ...]
"""``((field, variant, n_values), ...)``: decides the WHERE text of lookup filters."""


def _filters(
    cls: type[Model], filters: Any, operation: str
) -> tuple[Mapping[str, Any], WhereShape, list[Any]]:
    """Validate lookup filters (``field`` or ``field__lookup`` keys) and prepare their values.

    Raises:
        ValidationError: ``filters`` is not a dict, or a value does not suit its lookup.
        FieldError: Unknown field or lookup.
    """
    if not isinstance(filters, Mapping):
        raise _model_error(
            cls,
            operation,
            f"{cls.__name__}.{operation}(): filters must be a dict of field lookups, got "
            f"{type(filters).__name__}.",
        )
    conditions = [prepare_condition(cls, key, value, operation) for key, value in filters.items()]
    shape = tuple([condition.shape for condition in conditions])
    values = [value for condition in conditions for value in condition.values]
    return filters, shape, values


def _where(shape: WhereShape, start: int) -> SQLNode | None:
    markers = iter([_Slot(start + i) for i in range(sum(n for _, _, n in shape))])
    children = [condition_node(field, variant, markers) for field, variant, _ in shape]
    return And(tuple(children)) if children else None


async def update_where(
    cls: type[Model], filters: Any, updates: Mapping[str, Any]
) -> dict[str, Any]:
    """``Model.update_where``: ``UPDATE ... SET ... WHERE ... RETURNING <every column>``.

    Returns:
        ``{"rows_affected": int, "updated_rows": [row dicts]}``.
    """
    operation = "update_where"
    meta = cls._meta
    filters, shape, where_values = _filters(cls, filters, operation)
    if not updates:
        raise _model_error(
            cls,
            operation,
            f"{cls.__name__}.update_where(): no field values to set; pass them as keywords "
            "(update_where({...}, status='archived')).",
        )
    check_names(cls, updates, operation)
    _locking.reject_version_write(cls, updates, operation)
    set_values = [prepare_write(cls, name, value, operation) for name, value in updates.items()]
    names = tuple(updates)
    compiled: Compiled = meta.compiled(
        ("update_where", names, shape),
        lambda: compile_statement(
            _locking.bump_version(
                meta,
                Update(
                    meta.table,
                    tuple(zip(names, slots(0, len(names)), strict=True)),
                    _where(shape, len(names)),
                    meta.select_columns,
                ),
            )
        ),
    )
    rows = await _execution.fetch(
        meta.database,
        compiled[0],
        params_for(compiled, set_values + where_values),
        model=cls,
        operation=operation,
        filters=filters,
    )
    updated = [dict(row.items()) for row in rows]
    _caching.notify_write(cls, [pk_cache_key(meta, row) for row in updated])
    return {"rows_affected": len(updated), "updated_rows": updated}


async def delete_where(cls: type[Model], filters: Mapping[str, Any]) -> int:
    """``Model.delete_where``: ``DELETE ... WHERE ... RETURNING <primary key>``.

    Returns:
        The number of rows deleted.
    """
    operation = "delete_where"
    meta = cls._meta
    filters, shape, values = _filters(cls, filters, operation)
    compiled: Compiled = meta.compiled(
        ("delete_where", shape),
        lambda: compile_statement(Delete(meta.table, _where(shape, 0), meta.pk_names)),
    )
    rows = await _execution.fetch(
        meta.database,
        compiled[0],
        params_for(compiled, values),
        model=cls,
        operation=operation,
        filters=filters,
    )
    keys = [pk_cache_key(meta, dict(row.items())) for row in rows]
    _caching.notify_write(cls, keys)
    return len(keys)


__all__ = [
    "DeleteKeys",
    "InsertRows",
    "UpdateFrom",
    "atomic",
    "bulk_create",
    "bulk_delete",
    "bulk_update",
    "bulk_upsert",
    "cast_type",
    "delete_where",
    "prepare_rows",
    "update_where",
    "upsert",
]
