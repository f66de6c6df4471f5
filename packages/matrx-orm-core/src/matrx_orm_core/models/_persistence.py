"""CRUD for models: names checked, values cleaned through their fields, SQL compiled once.

Every statement is built from ``sql`` nodes and compiled once per (model, statement shape); the
shape is what decides the SQL text (the statement kind, the filter names and which of them are
``None``, the inserted or updated column names). Values are bound as ``_Slot`` markers at
compile time, so the cached entry is ``(sql, template)`` and a call only maps its values onto
the template. Bad names raise ``FieldError`` and bad values ``ValidationError`` (the model's own
subclass) before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from matrx_orm_core import _caching, _execution, hooks
from matrx_orm_core.drivers.base import Row
from matrx_orm_core.exceptions import FieldError, ORMException, StateError, ValidationError
from matrx_orm_core.signals import (
    post_create,
    post_delete,
    post_save,
    pre_create,
    pre_delete,
    pre_save,
)
from matrx_orm_core.sql import (
    And,
    Compare,
    Delete,
    Insert,
    IsNull,
    Select,
    SQLNode,
    Update,
    compile_sql,
)

from . import _locking

if TYPE_CHECKING:
    from matrx_orm_core.fields import Field

    from .base import Model
    from .options import ModelOptions

M = TypeVar("M", bound="Model")

FilterShape = tuple[tuple[str, bool], ...]
"""``((name, is_null), ...)``: decides the WHERE text of an exact-match filter."""

Compiled = tuple[str, tuple[Any, ...], bool]
"""``(sql, template, direct)``: ``direct`` when the template is exactly the call values."""


class _Slot:
    """Stands for the call's ``index``-th value while a statement shape is compiled."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"_Slot({self.index})"


def compile_statement(node: SQLNode) -> Compiled:
    """Compile a node whose per-call values are ``_Slot`` markers into a cacheable entry."""
    sql, template = compile_sql(node)
    direct = all(type(p) is _Slot and p.index == i for i, p in enumerate(template))
    return sql, template, direct


def params_for(compiled: Compiled, values: Sequence[Any]) -> tuple[Any, ...]:
    """The parameter tuple of one call: ``values`` mapped onto the compiled template."""
    _, template, direct = compiled
    if direct:
        return tuple(values)
    return tuple([values[p.index] if type(p) is _Slot else p for p in template])


def slots(start: int, count: int) -> tuple[_Slot, ...]:
    """``count`` markers numbered from ``start``."""
    return tuple(_Slot(i) for i in range(start, start + count))


# --- names and values ---------------------------------------------------------------------------


def field_error(model: type, field: str | None, reason: str) -> FieldError:
    """A FieldError whose message is ``reason``."""
    return FieldError(model=model, field=field, reason=reason, message=reason)


def _unknown(cls: type[Model], name: str, operation: str) -> FieldError:
    valid = ", ".join(cls._meta.fields)
    if "__" in name:
        reason = (
            f"{cls.__name__}.{operation}(): lookup '{name}' is not supported yet; only exact "
            f"field names are accepted here. Valid fields of {cls.__name__}: {valid}."
        )
    else:
        reason = (
            f"{cls.__name__}.{operation}(): '{name}' is not a field of {cls.__name__}. "
            f"Valid fields: {valid}."
        )
    return field_error(cls, name, reason)


def check_names(cls: type[Model], names: Iterable[str], operation: str) -> None:
    """Raise FieldError for the first name that is not a (non-M2M) field of ``cls``."""
    fields = cls._meta.fields
    for name in names:
        if name not in fields:
            raise _unknown(cls, name, operation)


def as_model_error(cls: type[Model], err: ValidationError, operation: str) -> ValidationError:
    """Return ``err`` as ``cls.ValidationError`` (so ``except User.ValidationError`` works)."""
    model_class: type[ValidationError] = cls.ValidationError
    if isinstance(err, model_class):
        return err.enrich(model=cls, operation=operation)
    details = dict(err.details)
    new = model_class(
        message=err.message,
        model=cls,
        field=details.pop("field", None),
        value=details.pop("value", None),
        reason=details.pop("reason", None),
        details=details,
    )
    return new.enrich(operation=err.method_name or operation)


def raise_as_model_error(cls: type[Model], err: ValidationError, operation: str) -> NoReturn:
    """Re-raise ``err`` as the model's ``ValidationError`` (chained when it is a new object)."""
    converted = as_model_error(cls, err, operation)
    if converted is err:
        raise err
    raise converted from err


def _convert(
    cls: type[Model],
    field: Field[Any],
    name: str,
    value: Any,
    operation: str,
    convert: Callable[[Any], Any],
) -> Any:
    try:
        return convert(value)
    except ValidationError as err:
        raise_as_model_error(cls, err, operation)
    except ORMException:
        raise
    except (TypeError, ValueError, ArithmeticError) as err:
        raise cls.ValidationError(
            model=cls,
            field=name,
            value=value,
            reason=f"{cls.__name__}.{name}: {type(field).__name__} rejected the value: {err}",
        ).enrich(operation=operation) from err


def prepare_write(cls: type[Model], name: str, value: Any, operation: str) -> Any:
    """Clean ``value`` for field ``name`` (validators included) and return the driver value."""
    field = cls._meta.fields[name]
    if field.validators:
        _convert(cls, field, name, value, operation, field.clean)
    return _convert(cls, field, name, value, operation, field.get_db_prep_value)


def prepare_filters(
    cls: type[Model], filters: Mapping[str, Any], operation: str
) -> tuple[FilterShape, list[Any]]:
    """Validate exact-match filters and prepare their values.

    Returns:
        The filter shape (``None`` values become ``IS NULL``) and the prepared values of the
        non-``None`` filters, in order.

    Raises:
        FieldError: A name is not a field of ``cls`` (or is a ``__`` lookup).
        ValidationError: A value is not acceptable for its field.
    """
    fields = cls._meta.fields
    shape: list[tuple[str, bool]] = []
    values: list[Any] = []
    for name, value in filters.items():
        field = fields.get(name)
        if field is None:
            raise _unknown(cls, name, operation)
        if value is None:
            shape.append((name, True))
        else:
            shape.append((name, False))
            values.append(_convert(cls, field, name, value, operation, field.get_db_prep_value))
    return tuple(shape), values


def where_from(shape: FilterShape, start: int = 0) -> SQLNode | None:
    """The WHERE node of a filter shape, its values numbered from ``start``."""
    children: list[SQLNode] = []
    index = start
    for name, is_null in shape:
        if is_null:
            children.append(IsNull(name))
        else:
            children.append(Compare(name, "=", _Slot(index)))
            index += 1
    return And(tuple(children)) if children else None


def _pk_where(meta: ModelOptions, start: int) -> And:
    return And(tuple(Compare(name, "=", _Slot(start + i)) for i, name in enumerate(meta.pk_names)))


def _pk_values(cls: type[Model], data: Mapping[str, Any], operation: str) -> list[Any]:
    values: list[Any] = []
    for name in cls._meta.pk_names:
        value = data.get(name)
        if value is None:
            raise cls.ValidationError(
                model=cls,
                field=name,
                reason=f"{cls.__name__}.{name} is None: {operation}() needs the primary key "
                "value to find the row. Set it, or load the instance from the database.",
            ).enrich(operation=operation)
        values.append(prepare_write(cls, name, value, operation))
    return values


def pk_cache_key(meta: ModelOptions, data: Mapping[str, Any]) -> Any:
    """The primary key value (a tuple for composite keys) used in cache write notices."""
    names = meta.pk_names
    if len(names) == 1:
        return data.get(names[0])
    return tuple(data.get(name) for name in names)


# --- rows -------------------------------------------------------------------------------------


def hydrate(cls: type[M], row: Row | Mapping[str, Any]) -> M:
    """Build a persisted instance from a row: no ``__init__``, converters only where needed."""
    obj = cls.__new__(cls)
    data = obj.__dict__
    data.update(row.items())
    for name, convert in cls._meta.load_converters:
        value = data[name]
        if value is not None:
            data[name] = convert(value)
    data["_persisted"] = True
    return obj


def hydrate_many(cls: type[M], rows: Sequence[Row]) -> list[M]:
    """``hydrate`` for many rows, with the per-model lookups hoisted out of the loop."""
    new = cls.__new__
    converters = cls._meta.load_converters
    result: list[M] = []
    append = result.append
    for row in rows:
        obj = new(cls)
        data = obj.__dict__
        data.update(row.items())
        for name, convert in converters:
            value = data[name]
            if value is not None:
                data[name] = convert(value)
        data["_persisted"] = True
        append(obj)
    return result


def refresh(instance: Model, row: Row | Mapping[str, Any]) -> None:
    """Overwrite ``instance``'s values with a full row (RETURNING); it is now persisted."""
    data = instance.__dict__
    data.update(row.items())
    for name, convert in type(instance)._meta.load_converters:
        value = data[name]
        if value is not None:
            data[name] = convert(value)
    data["_persisted"] = True
    data.pop("_deferred", None)


def _apply_auto_now(meta: ModelOptions, data: dict[str, Any], adding: bool) -> None:
    """``auto_now`` fields get the current time on every write; ``auto_now_add`` fields on
    insert, only when they hold no value (so imports can keep their timestamps)."""
    if not meta.auto_now_fields and not (adding and meta.auto_now_add_fields):
        return
    now = datetime.now(timezone.utc)
    for name in meta.auto_now_fields:
        data[name] = now
    if adding:
        for name in meta.auto_now_add_fields:
            if data.get(name) is None:
                data[name] = now


def _notify(cls: type[Model], instance: Model) -> None:
    _caching.notify_write(cls, [pk_cache_key(cls._meta, instance.__dict__)])
    _caching.store(cls, cls._meta.database, [instance])


# --- statements -------------------------------------------------------------------------------


async def select_one(
    cls: type[M],
    shape: FilterShape,
    values: Sequence[Any],
    filters: Mapping[str, Any],
    database: str,
    operation: str,
) -> M:
    """Run ``SELECT <cols> ... LIMIT 2`` and return the one matching instance.

    Raises:
        DoesNotExist: No row (``cls.DoesNotExist``).
        MultipleObjectsReturned: Two rows (``cls.MultipleObjectsReturned``).
    """
    meta = cls._meta
    compiled: Compiled = meta.compiled(
        ("get", shape),
        lambda: compile_statement(
            Select(meta.table, meta.select_columns, where_from(shape), limit=2)
        ),
    )
    rows = await _execution.fetch(
        database,
        compiled[0],
        params_for(compiled, values),
        model=cls,
        operation=operation,
        filters=filters,
    )
    if len(rows) == 1:
        return hydrate(cls, rows[0])
    if not rows:
        raise cls.DoesNotExist(model=cls, filters=filters).enrich(
            operation=operation, args=dict(filters)
        )
    raise cls.MultipleObjectsReturned(model=cls, count=len(rows), filters=filters).enrich(
        operation=operation, args=dict(filters)
    )


async def get(cls: type[M], use_cache: bool, filters: Mapping[str, Any]) -> M:
    """``Model.get``: validate, ask the cache hook, then ``SELECT ... LIMIT 2``.

    Keys that are not plain field names (``age__gt``) go through the query builder's lookups;
    the cache hook is only asked for plain equality (API.md §2.5).
    """
    if not filters.keys() <= cls._meta.fields.keys():
        from matrx_orm_core.query.builder import QueryBuilder  # the builder imports this module

        return await QueryBuilder(cls).where_lookups(filters, "get").get()
    shape, values = prepare_filters(cls, filters, "get")
    database = cls._meta.database
    if use_cache:
        hit = _caching.lookup(cls, database, filters)
        if hit is None:
            raise cls.DoesNotExist(model=cls, filters=filters).enrich(
                operation="get", args=dict(filters)
            )
        if hit is not hooks.MISS:
            return hit
    instance = await select_one(cls, shape, values, filters, database, "get")
    _caching.store(cls, database, [instance])
    return instance


async def create(cls: type[M], kwargs: Mapping[str, Any]) -> M:
    """``Model.create``: build the instance, INSERT its non-None values, refresh, cache."""
    check_names(cls, kwargs, "create")
    try:
        instance = cls(**kwargs)
    except ValidationError as err:
        raise_as_model_error(cls, err, "create")
    if pre_save.receivers or pre_create.receivers or post_create.receivers or post_save.receivers:
        await insert_with_signals(instance, "create")
    else:
        await insert_instance(instance, "create")
    return instance


async def insert_with_signals(instance: Model, operation: str) -> None:
    """``insert_instance`` between ``pre_save``/``pre_create`` and ``post_create``/``post_save``.

    A ``pre_*`` receiver's exception propagates before anything is sent; ``post_*`` receiver
    exceptions are logged by the signal and not raised.
    """
    cls = type(instance)
    await pre_save.send_or_raise(cls, instance=instance, created=True)
    await pre_create.send_or_raise(cls, instance=instance)
    await insert_instance(instance, operation)
    await post_create.send(cls, instance=instance, created=True)
    await post_save.send(cls, instance=instance, created=True)


async def insert_instance(instance: Model, operation: str) -> None:
    """INSERT the instance's non-None values ``RETURNING`` every column; refresh and cache."""
    cls = type(instance)
    meta = cls._meta
    data = instance.__dict__
    _apply_auto_now(meta, data, adding=True)
    columns: list[str] = []
    values: list[Any] = []
    for name in meta.select_columns:
        value = data.get(name)
        if value is not None:
            values.append(prepare_write(cls, name, value, operation))
            columns.append(name)
    key = tuple(columns)
    compiled: Compiled = meta.compiled(
        ("insert", key),
        lambda: compile_statement(
            Insert(meta.table, key, (slots(0, len(key)),) if key else (), meta.select_columns)
        ),
    )
    row = await _execution.fetch_one(
        meta.database, compiled[0], params_for(compiled, values), model=cls, operation=operation
    )
    if row is None:
        raise StateError(
            model=cls,
            operation=operation,
            reason=f"INSERT INTO {meta.qualified_table_name} returned no row (a rule or "
            "trigger suppressed it); the instance was not saved.",
        )
    refresh(instance, row)
    _notify(cls, instance)


async def update_instance_fields(
    instance: Model, names: Sequence[str], operation: str, pk_values: Sequence[Any] | None = None
) -> None:
    """UPDATE ``names`` of the row found by primary key, ``RETURNING`` every column.

    With a VersionField the UPDATE also sets ``version = version + 1`` and requires the row to
    hold the instance's version (``models._locking``).

    Raises:
        ValidationError: A value (or the primary key) is not acceptable.
        DoesNotExist: No row has this primary key.
        OptimisticLockError: The row's version is not the instance's (nothing was written).
    """
    cls = type(instance)
    meta = cls._meta
    data = instance.__dict__
    keys = list(pk_values) if pk_values is not None else _pk_values(cls, data, operation)
    version = meta.version_name
    if version is not None:
        names = [name for name in names if name != version]
        keys.append(_locking.expected_version(cls, data, operation))
    values = [prepare_write(cls, name, data.get(name), operation) for name in names]
    key = tuple(names)
    compiled: Compiled = meta.compiled(("update", key), lambda: _compile_update(meta, key))
    row = await _execution.fetch_one(
        meta.database,
        compiled[0],
        params_for(compiled, values + keys),
        model=cls,
        operation=operation,
    )
    if row is None:
        if version is not None:
            _caching.notify_write(cls, [pk_cache_key(meta, data)])
            raise _locking.conflict_error(cls, data, keys[-1])
        lookup = {name: data.get(name) for name in meta.pk_names}
        raise cls.DoesNotExist(model=cls, filters=lookup).enrich(operation=operation)
    refresh(instance, row)


def _compile_update(meta: ModelOptions, key: tuple[str, ...]) -> Compiled:
    assignments = tuple(zip(key, slots(0, len(key)), strict=True))
    where = _pk_where(meta, len(key))
    if meta.version_name is not None:
        expected = _Slot(len(key) + len(meta.pk_names))
        assignments, where = _locking.guard_update(meta.version_name, assignments, where, expected)
    return compile_statement(Update(meta.table, assignments, where, meta.select_columns))


async def save_instance(instance: Model) -> None:
    """``save()``: INSERT a new instance, UPDATE every loaded non-key field of a persisted one."""
    cls = type(instance)
    if not instance._persisted:
        if (
            pre_save.receivers
            or pre_create.receivers
            or post_create.receivers
            or post_save.receivers
        ):
            await insert_with_signals(instance, "save")
        else:
            await insert_instance(instance, "save")
        return
    meta = cls._meta
    keys = _pk_values(cls, instance.__dict__, "save")
    if pre_save.receivers:
        await pre_save.send_or_raise(cls, instance=instance, created=False)
    deferred = instance._deferred
    _apply_auto_now(meta, instance.__dict__, adding=False)
    names = [
        name for name in meta.non_pk_names if name not in deferred or name in meta.auto_now_fields
    ]
    if names or meta.version_name is not None:
        await update_instance_fields(instance, names, "save", keys)
    _notify(cls, instance)
    if post_save.receivers:
        await post_save.send(cls, instance=instance, created=False)


async def update_instance(instance: Model, kwargs: Mapping[str, Any]) -> None:
    """``update(**kw)``: assign, UPDATE only those fields; restore the old values on failure."""
    cls = type(instance)
    meta = cls._meta
    check_names(cls, kwargs, "update")
    _locking.reject_version_write(cls, kwargs, "update")
    if not instance._persisted:
        raise StateError(
            model=cls,
            operation="update",
            reason=f"this {cls.__name__} instance is not saved yet, so there is no row to "
            "update. Call save() to insert it first (or create()).",
        )
    if not kwargs:
        return
    data = instance.__dict__
    keys = _pk_values(cls, data, "update")
    missing = object()
    touched = set(kwargs) | set(meta.auto_now_fields)
    previous = {name: data.get(name, missing) for name in touched}
    try:
        data.update(kwargs)
        if pre_save.receivers:
            await pre_save.send_or_raise(
                cls, instance=instance, created=False, update_fields=tuple(kwargs)
            )
        _apply_auto_now(meta, data, adding=False)
        names = [name for name in meta.select_columns if name in touched]
        await update_instance_fields(instance, names, "update", keys)
    except BaseException:
        for name, value in previous.items():
            if value is missing:
                data.pop(name, None)
            else:
                data[name] = value
        raise
    _notify(cls, instance)
    if post_save.receivers:
        await post_save.send(cls, instance=instance, created=False, update_fields=tuple(kwargs))


async def delete_instance(instance: Model) -> None:
    """``delete()``: DELETE the row by primary key; the instance is no longer persisted."""
    cls = type(instance)
    meta = cls._meta
    data = instance.__dict__
    keys = _pk_values(cls, data, "delete")
    if pre_delete.receivers:
        await pre_delete.send_or_raise(cls, instance=instance)
    compiled: Compiled = meta.compiled(
        ("delete",), lambda: compile_statement(Delete(meta.table, _pk_where(meta, 0)))
    )
    await _execution.execute(
        meta.database,
        compiled[0],
        params_for(compiled, keys),
        model=cls,
        operation="delete",
        filters={name: data.get(name) for name in meta.pk_names},
    )
    data["_persisted"] = False
    _caching.notify_write(cls, [pk_cache_key(meta, data)])
    if post_delete.receivers:
        await post_delete.send(cls, instance=instance)
