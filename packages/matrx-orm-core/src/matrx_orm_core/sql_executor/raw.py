"""``Model.raw`` and ``Model.raw_sql``: user SQL on a model's database, bound parameters only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from matrx_orm_core import _execution, hooks
from matrx_orm_core.drivers.base import Row
from matrx_orm_core.exceptions import ORMException, ValidationError
from matrx_orm_core.sqltext import is_read_only

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model

__all__ = ["hydrate_raw", "raw_dicts", "raw_models"]

M = TypeVar("M", bound="Model")


def _check_sql(cls: type[Model], sql: object, operation: str) -> str:
    if not isinstance(sql, str) or not sql.strip():
        raise cls.ValidationError(
            model=cls,
            field=None,
            reason=f"{cls.__name__}.{operation}() needs the SQL text as a non-empty str "
            "(pass values as further arguments, bound as $1, $2, ...).",
        ).enrich(operation=operation)
    return sql


async def _fetch(cls: type[Model], sql: str, params: Sequence[Any], operation: str) -> list[Row]:
    database = cls.get_database_name()
    try:
        return await _execution.fetch(database, sql, params, model=cls, operation=operation)
    finally:
        if not is_read_only(sql):
            hooks.get_model_cache().clear(database=database)


def _convert_error(cls: type[Model], name: str, err: Exception) -> ValidationError:
    if isinstance(err, ValidationError):
        reason = err.details.get("reason") or err.message
    else:
        reason = str(err)
    return cls.ValidationError(
        model=cls,
        field=name,
        reason=f"column '{name}' returned by raw() cannot be loaded into {cls.__name__}.{name}: "
        f"{reason}",
    ).enrich(operation="raw")


def hydrate_raw(cls: type[M], rows: Sequence[Row]) -> list[M]:
    """Build instances from rows of arbitrary SQL.

    Columns named like fields are loaded (through the field's load conversion); other columns
    go to ``_extra_data``; fields with no column are set to ``None`` and listed in
    ``_deferred``, so ``save()`` never writes them. When a column name repeats (a join), its
    first occurrence wins.

    Returns:
        The persisted instances.

    Raises:
        ValidationError: A column's value cannot be loaded into the field of the same name.
    """
    if not rows:
        return []
    meta = cls._meta
    fields = meta.fields
    columns = list(rows[0].keys())
    if len(columns) == len(fields) and fields.keys() == set(columns):
        from matrx_orm_core.models import _persistence

        try:
            return _persistence.hydrate_many(cls, rows)
        except (ORMException, TypeError, ValueError, ArithmeticError):
            pass  # the general path below names the offending field
    positions: dict[str, int] = {}
    for index, column in enumerate(columns):
        positions.setdefault(column, index)
    field_pos = [(name, index) for name, index in positions.items() if name in fields]
    extra_pos = [(name, index) for name, index in positions.items() if name not in fields]
    missing = frozenset(name for name in fields if name not in positions)
    converters = [(name, convert) for name, convert in meta.load_converters if name in positions]
    new = cls.__new__
    result: list[M] = []
    for row in rows:
        values = list(row.values())
        obj = new(cls)
        data = obj.__dict__
        for name, index in field_pos:
            data[name] = values[index]
        for name, convert in converters:
            value = data[name]
            if value is not None:
                try:
                    data[name] = convert(value)
                except (ORMException, TypeError, ValueError, ArithmeticError) as err:
                    raise _convert_error(cls, name, err) from err
        if missing:
            for name in missing:
                data[name] = None
            data["_deferred"] = missing
        if extra_pos:
            data["_extra_data"] = {name: values[index] for name, index in extra_pos}
        data["_persisted"] = True
        result.append(obj)
    return result


async def raw_models(cls: type[M], sql: str, params: Sequence[Any]) -> list[M]:
    """``Model.raw``: run ``sql`` on the model's database and hydrate every row.

    Returns:
        The instances.

    Raises:
        ValidationError: ``sql`` is not a non-empty str, or a value cannot be loaded.
        DatabaseError: (or a subclass) the statement failed.
    """
    rows = await _fetch(cls, _check_sql(cls, sql, "raw"), params, "raw")
    return hydrate_raw(cls, rows)


async def raw_dicts(cls: type[Model], sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """``Model.raw_sql``: run ``sql`` on the model's database and return plain dicts.

    Returns:
        One dict per row (a repeated column name keeps its last value).

    Raises:
        ValidationError: ``sql`` is not a non-empty str.
        DatabaseError: (or a subclass) the statement failed.
    """
    rows = await _fetch(cls, _check_sql(cls, sql, "raw_sql"), params, "raw_sql")
    return [dict(row.items()) for row in rows]
