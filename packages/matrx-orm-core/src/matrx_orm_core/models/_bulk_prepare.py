"""Bulk row preparation: validating input rows, preparing values, matching returned rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from itertools import repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from matrx_orm_core.exceptions import ORMException, StateError, ValidationError
from matrx_orm_core.fields.json import JSONField
from matrx_orm_core.fields.numeric import DecimalField

from ._bulk_sql import _JSON_TYPES, _decimal_text
from ._persistence import check_names, pk_cache_key, prepare_write

if TYPE_CHECKING:
    from matrx_orm_core.fields import Field

    from .base import Model

M = TypeVar("M", bound="Model")


def _model_error(cls: type[Model], operation: str, reason: str, **details: Any) -> ValidationError:
    return cls.ValidationError(model=cls, reason=reason, details=details).enrich(
        operation=operation
    )


def _as_list(cls: type[Model], value: Any, what: str, operation: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise _model_error(
            cls,
            operation,
            f"{cls.__name__}.{operation}(): {what} must be a list, got {type(value).__name__}.",
        )
    return list(value)


def _names(cls: type[Model], value: Any, what: str, operation: str) -> tuple[str, ...]:
    names = _as_list(cls, value, what, operation)
    for name in names:
        if not isinstance(name, str):
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): {what} must hold field names (str), got {name!r}.",
            )
    check_names(cls, names, operation)
    return tuple(dict.fromkeys(names))


class _Batch:
    """Rows prepared column by column: every row has the same ``columns``; ``cells[i]`` holds
    column ``i`` of every row and ``texts`` the JSON text of each JSON column."""

    __slots__ = ("cells", "columns", "positions", "size", "texts")

    def __init__(
        self,
        columns: tuple[str, ...],
        cells: list[list[Any]],
        texts: dict[str, list[str | None]],
        size: int,
    ) -> None:
        self.columns = columns
        self.cells = cells
        self.texts = texts
        self.size = size
        self.positions = {name: i for i, name in enumerate(columns)}


class _PreparedRow:
    """One input row: its prepared column values, which columns the caller supplied, and the
    JSON text of its JSON values (``texts``: ``None`` when the model has no JSON field).

    A row of a ``batch`` keeps no dict of its own: its values are ``batch.cells[...][index]``
    (``values`` builds the dict on first use).
    """

    __slots__ = ("_values", "batch", "index", "supplied", "texts")

    def __init__(
        self,
        index: int,
        values: dict[str, Any] | None,
        supplied: tuple[str, ...],
        texts: dict[str, str | None] | None,
        batch: _Batch | None = None,
    ) -> None:
        self.index = index
        self._values = values
        self.supplied = supplied
        self.texts = texts
        self.batch = batch

    @property
    def values(self) -> dict[str, Any]:
        """The prepared values by field name (only the columns this row writes)."""
        values = self._values
        batch = self.batch
        if values is None and batch is not None:
            index = self.index
            values = {
                n: column[index] for n, column in zip(batch.columns, batch.cells, strict=True)
            }
            self._values = values
        return values or {}

    def columns(self) -> tuple[str, ...]:
        """The names of the columns this row writes, in field order."""
        return self.batch.columns if self.batch is not None else tuple(self.values)

    def get(self, name: str) -> Any:
        """The prepared value of column ``name`` (``KeyError`` when the row does not write it).

        Raises:
            KeyError: The row does not write ``name``.
        """
        batch = self.batch
        if batch is None:
            return self.values[name]
        return batch.cells[batch.positions[name]][self.index]

    def json_text(self, name: str) -> str | None:
        """The JSON text of field ``name`` (encoded when the row was prepared, if it was)."""
        batch = self.batch
        if batch is not None and name in batch.texts:
            return batch.texts[name][self.index]
        texts = self.texts
        if texts is not None and name in texts:
            return texts[name]
        value = self.get(name)
        return None if value is None else json.dumps(value)


class BatchRows(Sequence[_PreparedRow]):
    """The rows of one column-wise batch, each built only when it is looked at.

    ``prepare_rows(..., lazy=True)`` returns this instead of a list when every row went
    through the column-wise path, so a caller that only needs the columns (``bulk_create``
    with ``returning=False``) never builds one object per row.
    """

    __slots__ = ("batch", "supplied")

    def __init__(self, batch: _Batch, supplied: tuple[str, ...]) -> None:
        self.batch = batch
        self.supplied = supplied

    def __len__(self) -> int:
        return self.batch.size

    @overload
    def __getitem__(self, index: int) -> _PreparedRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[_PreparedRow]: ...

    def __getitem__(self, index: int | slice) -> _PreparedRow | list[_PreparedRow]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self.batch.size))]
        size = self.batch.size
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("batch row index out of range")
        return self._row(index)

    def _row(self, index: int) -> _PreparedRow:
        return _PreparedRow(index, None, self.supplied, None, self.batch)


@overload
def prepare_rows(
    cls: type[Model],
    objects_data: Any,
    operation: str,
    *,
    keep_none: bool,
    lazy: Literal[False] = ...,
) -> list[_PreparedRow]: ...


@overload
def prepare_rows(
    cls: type[Model], objects_data: Any, operation: str, *, keep_none: bool, lazy: bool
) -> Sequence[_PreparedRow]: ...


def prepare_rows(
    cls: type[Model], objects_data: Any, operation: str, *, keep_none: bool, lazy: bool = False
) -> Sequence[_PreparedRow]:
    """Validate names and prepare every value of every row, as ``create()`` would.

    A field missing from a row gets its client default (when it has one); ``auto_now`` fields
    get the current time and ``auto_now_add`` fields the current time when empty. ``None``
    values are left out (so server defaults apply) unless ``keep_none``, where a ``None`` the
    caller supplied is written as NULL.

    Raises:
        ValidationError: ``objects_data`` is not a list of dicts, or a value is not acceptable
            (the error names the row index).

    Returns:
        One prepared row per input row; with ``lazy``, a :class:`BatchRows` when the rows were
        prepared column by column.
        FieldError: A key is not a field of ``cls``.
    """
    rows = _as_list(cls, objects_data, "objects_data", operation)
    meta = cls._meta
    # One pass checks every row is a mapping and whether all rows list the same keys in the
    # same order (the common shape: then the first row's keys are the union).
    shape: list[Any] | None = list(rows[0]) if rows and isinstance(rows[0], Mapping) else None
    for index, row in enumerate(rows):
        if type(row) is not dict and not isinstance(row, Mapping):
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): row {index} is a {type(row).__name__}, not a "
                "dict of field values.",
                row=index,
            )
        if shape is not None and list(row) != shape:
            shape = None
    keys: dict[str, None]
    if shape is not None:
        keys = dict.fromkeys(shape)
    else:
        keys = {}
        for row in rows:
            keys.update(dict.fromkeys(row))
    check_names(cls, keys, operation)
    auto_now = set(meta.auto_now_fields)
    auto_add = set(meta.auto_now_add_fields)
    now = datetime.now(timezone.utc) if auto_now or auto_add else None
    # Fields without validators are prepared by ``get_db_prep_value`` directly; a failure is
    # redone through ``prepare_write`` below, which raises the model's error for that cell.
    # JSON fields of the exact JSONField classes are checked and encoded once (``get_db_text``,
    # whose prepared value is the value itself); the text is what ``unnest`` sends.
    plan = [
        (
            name,
            field,
            field.has_default(),
            name in auto_now,
            name in auto_add,
            None if field.validators else field.get_db_prep_value,
            field.get_db_text
            if isinstance(field, JSONField) and field._exact_prep and not field.validators
            else None,
        )
        for name, field in meta.fields.items()
    ]
    has_json = any(entry[6] is not None for entry in plan)
    names = tuple(meta.fields)
    if rows:
        columnwise = _prepare_columns(
            cls, rows, plan, names, now, keep_none, operation, uniform=shape is not None
        )
        if columnwise is not None:
            batch, supplied = columnwise
            if lazy:
                return BatchRows(batch, supplied)
            return [_PreparedRow(index, None, supplied, None, batch) for index in range(batch.size)]
    prepared: list[_PreparedRow] = []
    append = prepared.append
    for index, row in enumerate(rows):
        values: dict[str, Any] = {}
        texts: dict[str, str | None] | None = {} if has_json else None
        name, value = "", None
        try:
            for name, field, has_default, is_now, is_add, prep, json_text in plan:
                if name in row:
                    value = row[name]
                    if value is None and not keep_none:
                        continue
                elif has_default:
                    value = field.get_default()
                    if value is None:
                        continue
                else:
                    value = None
                    if not (is_now or is_add):
                        continue
                if is_now or (is_add and value is None):
                    value = now
                if json_text is not None:
                    texts[name] = json_text(value)  # type: ignore[index]
                    values[name] = value
                elif prep is None:
                    values[name] = prepare_write(cls, name, value, operation)
                else:
                    values[name] = prep(value)
        except ORMException as err:
            if not isinstance(err, ValidationError):
                raise
            _prepare(cls, name, value, operation, index)
            raise _as_row_error(cls, err, operation, index) from err
        except (TypeError, ValueError, ArithmeticError) as err:
            _prepare(cls, name, value, operation, index)
            raise _as_row_error(cls, None, operation, index) from err
        supplied = tuple([n for n in names if n in row]) if keep_none else ()
        append(_PreparedRow(index, values, supplied, texts))
    return prepared


_Plan = list[tuple[str, "Field[Any]", bool, bool, bool, Any, Any]]
"""``prepare_rows``' per-field plan: name, field, has_default, auto_now, auto_now_add, the
preparing callable (``None``: through ``prepare_write``) and the JSON text callable."""


def _prepare_columns(
    cls: type[Model],
    rows: list[Any],
    plan: _Plan,
    names: tuple[str, ...],
    now: datetime | None,
    keep_none: bool,
    operation: str,
    *,
    uniform: bool = False,
) -> tuple[_Batch, tuple[str, ...]] | None:
    """``prepare_rows`` one column at a time, for the common shape: every row has the same
    keys and no value (given or default) is ``None``. ``uniform`` says the caller has checked
    the keys already.

    Each column is prepared with one ``map`` over the rows, and the rows' value dicts are
    built from the columns at the end. The result is the same as the row-by-row loop's.

    Returns:
        The batch and the supplied field names, or ``None`` when the input does not have
        that shape or anything
        fails (a rejected value, an object whose ``==`` raises): the caller then runs the
        row-by-row loop, which gives the same result or raises the error for the first bad
        cell in row order (callable defaults are then called again).
    """
    first = rows[0].keys()
    if not uniform:  # ``uniform``: the caller saw the same keys, in order, in every row
        for row in rows:
            if row.keys() != first:
                return None
    count = len(rows)
    columns: list[str] = []
    cells: list[list[Any]] = []
    json_columns: list[str] = []
    json_cells: list[list[str | None]] = []
    try:
        for name, field, has_default, is_now, is_add, prep, json_text in plan:
            if name in first:
                column: list[Any] = list(map(itemgetter(name), rows))
                if _has_none(column):
                    return None
            elif has_default:
                ready = None if prep is None or is_now else field.get_prepared_defaults(count)
                if ready is not None:
                    columns.append(name)
                    cells.append(ready)
                    continue
                column = [field.get_default() for _ in range(count)]
                if _has_none(column):
                    return None
            elif is_now or is_add:
                column = [now] * count
            else:
                continue
            if is_now:
                column = [now] * count
            if json_text is not None:
                json_columns.append(name)
                json_cells.append(list(map(json_text, column)))
            elif prep is None:
                column = [prepare_write(cls, name, value, operation) for value in column]
            else:
                column = list(map(prep, column))
            columns.append(name)
            cells.append(column)
    except Exception:  # any failure: the row-by-row loop raises it as it always has
        return None
    supplied = tuple([n for n in names if n in first]) if keep_none else ()
    batch = _Batch(tuple(columns), cells, dict(zip(json_columns, json_cells, strict=True)), count)
    return batch, supplied


def _has_none(column: list[Any]) -> bool:
    """Whether ``column`` holds ``None``, by identity (``None in column`` calls ``==``, which
    for ``Decimal`` goes through an ``isinstance(..., Rational)`` check per value)."""
    return any(map(is_, column, repeat(None)))


def _as_row_error(
    cls: type[Model], err: ValidationError | None, operation: str, index: int
) -> ValidationError:
    """The row's error when re-preparing the failing cell unexpectedly succeeded."""
    reason = f"{cls.__name__}.{operation}(): row {index} could not be prepared"
    if err is not None:
        reason += f": {err.message}"
    return _model_error(cls, operation, reason, row=index)


def _prepare(cls: type[Model], name: str, value: Any, operation: str, index: int) -> Any:
    try:
        return prepare_write(cls, name, value, operation)
    except ValidationError as err:
        raise err.enrich(row=index) from err.__cause__


def _key(fields: Sequence[Field[Any]], values: Sequence[Any]) -> tuple[Any, ...]:
    """A comparable key: each value normalised by its field's ``to_python``."""
    return tuple([f.to_python(v) for f, v in zip(fields, values, strict=True)])


def _match(
    cls: type[Model],
    operation: str,
    group: Sequence[_PreparedRow],
    instances: list[M],
    by: Sequence[str],
) -> list[tuple[int, M]]:
    """Pair each input row of ``group`` with its returned instance.

    Rows are matched on the ``by`` columns (normalised by their fields) when every row has
    them; otherwise, or when a key cannot be matched, by position (the order the statement
    produced them in).

    Raises:
        StateError: The statement returned a different number of rows than it was given.
    """
    if len(instances) != len(group):
        raise StateError(
            model=cls,
            operation=operation,
            reason=f"{cls.__name__}.{operation}(): the database returned {len(instances)} rows "
            f"for {len(group)} inputs (a rule or trigger changed the statement); nothing can be "
            "matched back to the inputs.",
        )
    if by and all(name in group[0].columns() for name in by):
        batch = group[0].batch
        if batch is not None and len(group) == batch.size:  # the whole batch: compare columns
            in_order = all(
                [inst.__dict__[n] for inst in instances] == batch.cells[batch.positions[n]]
                for n in by
            )
        else:
            in_order = all(
                inst.__dict__[n] == row.get(n)
                for row, inst in zip(group, instances, strict=True)
                for n in by
            )
        if in_order:
            return [(row.index, inst) for row, inst in zip(group, instances, strict=True)]
        fields = [cls._meta.fields[name] for name in by]
        try:
            found = {_key(fields, [inst.__dict__[n] for n in by]): inst for inst in instances}
            pairs = [(row.index, found[_key(fields, [row.get(n) for n in by])]) for row in group]
        except (KeyError, TypeError, ValidationError):
            pass
        else:
            return pairs
    return [(row.index, inst) for row, inst in zip(group, instances, strict=True)]


def _groups(
    rows: Sequence[_PreparedRow], with_supplied: bool
) -> dict[tuple[Any, ...], list[_PreparedRow]]:
    batch = rows[0].batch if rows else None
    if batch is not None and len(rows) == batch.size and rows[-1].batch is batch:
        # One batch (prepared column by column): every row has the same columns and supplied.
        whole: tuple[Any, ...] = batch.columns
        return {(whole, rows[0].supplied) if with_supplied else whole: list(rows)}
    groups: dict[tuple[Any, ...], list[_PreparedRow]] = {}
    for row in rows:
        key: tuple[Any, ...] = row.columns()
        if with_supplied:
            key = (key, row.supplied)
        groups.setdefault(key, []).append(row)
    return groups


def _json_column(group: Sequence[_PreparedRow], name: str) -> list[str | None]:
    """The JSON text of column ``name`` for every row (encoded once, in ``prepare_rows``)."""
    return [row.json_text(name) for row in group]


def _whole_batch(group: Sequence[_PreparedRow], columns: tuple[str, ...]) -> _Batch | None:
    """The column-wise batch ``group`` is all of, in input order, writing exactly ``columns``
    (its cell lists are then the group's columns), or ``None``."""
    batch = group[0].batch
    if batch is not None and len(group) == batch.size and batch.columns == columns:
        return batch
    return None


def _column_arrays(
    cls: type[Model],
    columns: tuple[str, ...],
    group: Sequence[_PreparedRow],
    casts: tuple[str | None, ...],
    carried: Sequence[bool],
) -> list[list[Any]]:
    """One list per column of the group's values, as the carriers send them: JSON columns
    (``casts``) as their JSON text, DecimalField columns flagged in ``carried`` as text."""
    meta = cls._meta
    batch = _whole_batch(group, columns)  # if so, its JSON texts and cells are the arrays
    arrays: list[list[Any]] = []
    for i, name in enumerate(columns):
        if casts and casts[i] in _JSON_TYPES:
            if batch is not None and name in batch.texts:
                arrays.append(batch.texts[name])
            else:
                arrays.append(_json_column(group, name))
        elif batch is not None:
            arrays.append(batch.cells[i])
        else:
            arrays.append([row.get(name) for row in group])
        if carried and carried[i] and type(meta.fields[name]) is DecimalField:
            arrays[i] = _decimal_text(arrays[i])
    return arrays


def _instances(cls: type[M], objects: Any, operation: str, *, persisted: bool) -> list[M]:
    items = _as_list(cls, objects, "objects", operation)
    for index, obj in enumerate(items):
        if not isinstance(obj, cls):
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): item {index} is a {type(obj).__name__}, not a "
                f"{cls.__name__} instance.",
                row=index,
            )
        if persisted and not obj._persisted:
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): item {index} is not saved yet (no row to "
                "change); save() or create() it first.",
                row=index,
            )
        for name in cls._meta.pk_names:
            if obj.__dict__.get(name) is None:
                raise _model_error(
                    cls,
                    operation,
                    f"{cls.__name__}.{operation}(): item {index} has no primary key value "
                    f"({name} is None).",
                    row=index,
                )
    return items


def _pk_columns(
    cls: type[Model], objects: Sequence[Model], operation: str
) -> tuple[list[list[Any]], list[Any]]:
    """The prepared primary key arrays (one per key column) and the cache keys."""
    meta = cls._meta
    arrays: list[list[Any]] = [[] for _ in meta.pk_names]
    cache_keys: list[Any] = []
    for index, obj in enumerate(objects):
        data = obj.__dict__
        for column, name in zip(arrays, meta.pk_names, strict=True):
            column.append(_prepare(cls, name, data.get(name), operation, index))
        cache_keys.append(pk_cache_key(meta, data))
    return arrays, cache_keys
