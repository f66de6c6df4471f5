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

import json
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from matrx_orm_core import _caching, _execution
from matrx_orm_core._quoting import quote_ident
from matrx_orm_core.exceptions import ORMException, StateError, ValidationError
from matrx_orm_core.fields.json import JSONField
from matrx_orm_core.fields.numeric import DecimalField
from matrx_orm_core.fields.text import UUIDField
from matrx_orm_core.query.lookups import condition_node, prepare_condition
from matrx_orm_core.sql import MAX_PARAMS, And, Delete, Node, Params, SQLNode, Table, Update
from matrx_orm_core.transaction import transaction

from ._persistence import (
    Compiled,
    _Slot,
    check_names,
    compile_statement,
    field_error,
    hydrate_many,
    params_for,
    pk_cache_key,
    prepare_write,
    slots,
)

if TYPE_CHECKING:
    from matrx_orm_core.drivers.base import Row
    from matrx_orm_core.fields import Field

    from .base import Model

M = TypeVar("M", bound="Model")

_CAST_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?[A-Za-z ]*(\[\])*")
"""The column types that may appear in a ``::type`` cast (``varchar(100)``, ``integer[]``)."""

_ORD = "_ord"
"""The ordinality column alias (field names never start with ``_``, so it cannot collide)."""


# --- SQL nodes ----------------------------------------------------------------------------------


def _cols(names: Sequence[str]) -> str:
    return ", ".join([quote_ident(name) for name in names])


def _returning(names: Sequence[str]) -> str:
    return " RETURNING " + _cols(names) if names else ""


def _conflict(conflict: Sequence[str], updates: Sequence[str]) -> str:
    if not conflict:
        return ""
    sets = ", ".join([f"{quote_ident(n)} = EXCLUDED.{quote_ident(n)}" for n in updates])
    return f" ON CONFLICT ({_cols(conflict)}) DO UPDATE SET {sets}"


def _unnest(arrays: Sequence[Any], types: Sequence[str], params: Params) -> str:
    args = ", ".join([f"{params.add(a)}::{t}[]" for a, t in zip(arrays, types, strict=True)])
    return f"unnest({args})"


def _values(rows: Sequence[Sequence[Any]], types: Sequence[str] | None, params: Params) -> str:
    groups: list[str] = []
    for row in rows:
        if types is None:
            groups.append("(" + ", ".join([params.add(v) for v in row]) + ")")
        else:
            cells = [f"{params.add(v)}::{t}" for v, t in zip(row, types, strict=True)]
            groups.append("(" + ", ".join(cells) + ")")
    return "VALUES " + ", ".join(groups)


def _select_list(count: int, casts: Sequence[str | None]) -> str:
    exprs = []
    for i in range(count):
        expr = quote_ident(f"_{i}")
        cast = casts[i] if casts else None
        exprs.append(expr if cast is None else f"{expr}::{cast}")
    return ", ".join(exprs)


@dataclass(frozen=True, slots=True)
class InsertRows(Node):
    """``INSERT INTO t (cols) <source> [ON CONFLICT ... DO UPDATE SET ...] RETURNING ...``.

    With ``arrays`` (one array parameter per column, typed ``types[i][]``) the source is
    ``SELECT * FROM unnest(...)``; when a column needs a cast after unnesting (``casts[i]``,
    JSON travels as text) or ``ordinality`` is set, it is ``SELECT "_0", "_1"::jsonb FROM
    unnest(...) [WITH ORDINALITY] AS "_v"("_0", "_1"[, "_ord"]) [ORDER BY "_ord"]``. Without
    ``arrays`` the source is ``VALUES ($1, ...), ...`` from ``rows``.
    """

    table: Table
    columns: tuple[str, ...]
    types: tuple[str, ...]
    returning: tuple[str, ...]
    arrays: tuple[Any, ...] | None = None
    rows: tuple[tuple[Any, ...], ...] = ()
    ordinality: bool = False
    conflict: tuple[str, ...] = ()
    updates: tuple[str, ...] = ()
    casts: tuple[str | None, ...] = ()

    def as_sql(self, params: Params) -> str:
        head = f"INSERT INTO {self.table.as_sql(params)} ({_cols(self.columns)}) "
        width = len(self.columns)
        if self.arrays is None:
            source = _values(self.rows, None, params)
        elif self.ordinality or any(self.casts):
            aliases = [f"_{i}" for i in range(width)]
            unnest = _unnest(self.arrays, self.types, params)
            source = f"SELECT {_select_list(width, self.casts)} FROM {unnest} "
            if self.ordinality:
                source += (
                    f"WITH ORDINALITY AS {quote_ident('_v')}({_cols([*aliases, _ORD])}) "
                    f"ORDER BY {quote_ident(_ORD)}"
                )
            else:
                source += f"AS {quote_ident('_v')}({_cols(aliases)})"
        else:
            source = f"SELECT * FROM {_unnest(self.arrays, self.types, params)}"
        return head + source + _conflict(self.conflict, self.updates) + _returning(self.returning)


@dataclass(frozen=True, slots=True)
class UpdateFrom(Node):
    """``UPDATE t AS "_t" SET "f" = "_v"."f" FROM <source> AS "_v"(keys, fields) WHERE keys``.

    The source is ``unnest(...)`` of one array per column (``casts[i]`` applied to a value after
    unnesting, for JSON sent as text), or typed ``VALUES`` rows.
    """

    table: Table
    keys: tuple[str, ...]
    fields: tuple[str, ...]
    types: tuple[str, ...]
    arrays: tuple[Any, ...] | None = None
    rows: tuple[tuple[Any, ...], ...] = ()
    casts: tuple[str | None, ...] = ()

    def as_sql(self, params: Params) -> str:
        t, v = quote_ident("_t"), quote_ident("_v")
        names = (*self.keys, *self.fields)
        if self.arrays is None:
            source = "(" + _values(self.rows, self.types, params) + ")"
        else:
            source = _unnest(self.arrays, self.types, params)
        casts = self.casts[len(self.keys) :] if self.casts else ()
        sets = []
        for i, name in enumerate(self.fields):
            cast = casts[i] if casts else None
            value = f"{v}.{quote_ident(name)}" + ("" if cast is None else f"::{cast}")
            sets.append(f"{quote_ident(name)} = {value}")
        where = " AND ".join([f"{t}.{quote_ident(n)} = {v}.{quote_ident(n)}" for n in self.keys])
        return (
            f"UPDATE {self.table.as_sql(params)} AS {t} SET {', '.join(sets)} "
            f"FROM {source} AS {v}({_cols(names)}) WHERE {where}"
        )


@dataclass(frozen=True, slots=True)
class DeleteKeys(Node):
    """``DELETE FROM t WHERE "pk" = ANY($1::type[])``, or for composite keys
    ``WHERE ("a", "b") IN (SELECT * FROM unnest($1::t1[], $2::t2[]))``."""

    table: Table
    keys: tuple[str, ...]
    types: tuple[str, ...]
    arrays: tuple[Any, ...]

    def as_sql(self, params: Params) -> str:
        head = f"DELETE FROM {self.table.as_sql(params)} WHERE "
        if len(self.keys) == 1:
            return (
                head
                + f"{quote_ident(self.keys[0])} = ANY({params.add(self.arrays[0])}::"
                + (f"{self.types[0]}[])")
            )
        return (
            head
            + f"({_cols(self.keys)}) IN (SELECT * FROM {_unnest(self.arrays, self.types, params)})"
        )


# --- helpers ------------------------------------------------------------------------------------


def cast_type(cls: type[Model], name: str) -> str:
    """The ``db_type`` of field ``name``, checked to be safe inside a ``::type`` cast.

    Raises:
        FieldError: The declared type is not a plain type name.
    """
    db_type = cls._meta.fields[name].db_type
    if not _CAST_TYPE.fullmatch(db_type):
        raise field_error(
            cls,
            name,
            f"{cls.__name__}.{name}: db_type {db_type!r} cannot be used in a bulk statement's "
            "type cast; declare a plain PostgreSQL type name such as 'varchar(100)'.",
        )
    return db_type


def _types(cls: type[Model], names: Sequence[str]) -> tuple[str, ...]:
    return tuple([cast_type(cls, name) for name in names])


def _is_array(db_type: str) -> bool:
    return db_type.endswith("]")


_JSON_TYPES = frozenset({"json", "jsonb"})


def _carriers(
    types: Sequence[str], as_text: Sequence[bool] = ()
) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """How each column travels through ``unnest``: its array element type and a cast after.

    JSON values travel as text (``json.dumps``) and are cast back, because the driver would
    read a JSON list inside an array parameter as another array dimension. Columns flagged in
    ``as_text`` (see ``_text_carried``) travel as text too and are cast back by the server.

    Returns:
        ``(element types, casts)``; ``casts`` is empty when no column needs one.
    """
    text = [t in _JSON_TYPES or (bool(as_text) and as_text[i]) for i, t in enumerate(types)]
    if not any(text):
        return tuple(types), ()
    elements = tuple(["text" if x else t for t, x in zip(types, text, strict=True)])
    return elements, tuple([t if x else None for t, x in zip(types, text, strict=True)])


def _text_carried(cls: type[Model], columns: Sequence[str], types: Sequence[str]) -> list[bool]:
    """Which columns travel through ``unnest`` as text, cast back by the server.

    ``uuid`` columns of a UUIDField (prepared values are canonical text) and ``numeric``
    columns of a DecimalField (prepared values are ``Decimal``, sent as ``str(value)``, which
    PostgreSQL parses to the same number and scale): text skips the driver's per-element
    encoding, the largest client cost of these arrays.
    """
    fields = cls._meta.fields
    carried = []
    for name, db_type in zip(columns, types, strict=True):
        kind = type(fields[name])
        carried.append(
            (kind is UUIDField and db_type == "uuid")
            or (kind is DecimalField and (db_type == "numeric" or db_type.startswith("numeric(")))
        )
    return carried


def _decimal_text(values: list[Any]) -> list[str | None]:
    return [None if value is None else str(value) for value in values]


def _array(values: list[Any], cast: str | None) -> list[Any]:
    if cast is None:
        return values
    return [None if v is None else json.dumps(v) for v in values]


def atomic(database: str) -> AbstractAsyncContextManager[Any]:
    """One transaction for several statements: ``transaction(database)``.

    Inside an open transaction on ``database`` this is a savepoint on its connection;
    otherwise a new transaction on one pooled connection, bound for the block.
    """
    return transaction(database)


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


def prepare_rows(
    cls: type[Model], objects_data: Any, operation: str, *, keep_none: bool
) -> list[_PreparedRow]:
    """Validate names and prepare every value of every row, as ``create()`` would.

    A field missing from a row gets its client default (when it has one); ``auto_now`` fields
    get the current time and ``auto_now_add`` fields the current time when empty. ``None``
    values are left out (so server defaults apply) unless ``keep_none``, where a ``None`` the
    caller supplied is written as NULL.

    Raises:
        ValidationError: ``objects_data`` is not a list of dicts, or a value is not acceptable
            (the error names the row index).
        FieldError: A key is not a field of ``cls``.
    """
    rows = _as_list(cls, objects_data, "objects_data", operation)
    meta = cls._meta
    keys: dict[str, None] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise _model_error(
                cls,
                operation,
                f"{cls.__name__}.{operation}(): row {index} is a {type(row).__name__}, not a "
                "dict of field values.",
                row=index,
            )
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
        columnwise = _prepare_columns(cls, rows, plan, names, now, keep_none, operation)
        if columnwise is not None:
            return columnwise
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
) -> list[_PreparedRow] | None:
    """``prepare_rows`` one column at a time, for the common shape: every row has the same
    keys and no value (given or default) is ``None``.

    Each column is prepared with one ``map`` over the rows, and the rows' value dicts are
    built from the columns at the end. The result is the same as the row-by-row loop's.

    Returns:
        The prepared rows, or ``None`` when the input does not have that shape or anything
        fails (a rejected value, an object whose ``==`` raises): the caller then runs the
        row-by-row loop, which gives the same result or raises the error for the first bad
        cell in row order (callable defaults are then called again).
    """
    first = rows[0].keys()
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
                if None in column:
                    return None
            elif has_default:
                ready = None if prep is None or is_now else field.get_prepared_defaults(count)
                if ready is not None:
                    columns.append(name)
                    cells.append(ready)
                    continue
                column = [field.get_default() for _ in range(count)]
                if None in column:
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
    return [_PreparedRow(index, None, supplied, None, batch) for index in range(count)]


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


def _statements(
    cls: type[Model],
    columns: tuple[str, ...],
    group: Sequence[_PreparedRow],
    conflict: tuple[str, ...],
    updates: tuple[str, ...],
) -> list[tuple[Compiled, list[Any], list[_PreparedRow]]]:
    """The compiled statement(s) inserting ``group`` and each one's values and rows."""
    meta = cls._meta
    returning = meta.select_columns
    types = _types(cls, columns)
    if any(_is_array(t) for t in types):
        per = max(1, MAX_PARAMS // len(columns))
        result: list[tuple[Compiled, list[Any], list[_PreparedRow]]] = []
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
    decimals = {
        i
        for i, name in enumerate(columns)
        if carried[i] and type(meta.fields[name]) is DecimalField
    }
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
            )
        ),
    )
    batch = group[0].batch
    if batch is not None and len(group) == batch.size and batch.columns == columns:
        # The whole batch, in input order: its columns are the arrays.
        arrays: list[list[Any]] = [
            batch.texts[name] if casts and casts[i] in _JSON_TYPES else batch.cells[i]
            for i, name in enumerate(columns)
        ]
    else:
        arrays = [
            _json_column(group, name)
            if casts and casts[i] in _JSON_TYPES
            else [row.get(name) for row in group]
            for i, name in enumerate(columns)
        ]
    for i in decimals:
        arrays[i] = _decimal_text(arrays[i])
    return [(compiled, arrays, list(group))]


def _json_column(group: Sequence[_PreparedRow], name: str) -> list[str | None]:
    """The JSON text of column ``name`` for every row (encoded once, in ``prepare_rows``)."""
    return [row.json_text(name) for row in group]


async def _run_inserts(
    cls: type[M],
    plan: Sequence[tuple[Compiled, list[Any], list[_PreparedRow], tuple[str, ...]]],
    total: int,
    operation: str,
) -> list[M]:
    meta = cls._meta
    database = meta.database
    results: list[M | None] = [None] * total

    async def run() -> None:
        for compiled, values, group, by in plan:
            if compiled[0] == "":
                rows: list[Row] = []
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
            for index, instance in _match(cls, operation, group, hydrate_many(cls, rows), by):
                results[index] = instance

    if len(plan) > 1 or (plan and plan[0][0][0] == "" and len(plan[0][2]) > 1):
        async with atomic(database):
            await run()
    else:
        await run()
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


async def bulk_create(cls: type[M], objects_data: Any) -> list[M]:
    """``Model.bulk_create``: see the module docstring.

    Returns:
        The persisted instances, in input order.
    """
    operation = "bulk_create"
    rows = prepare_rows(cls, objects_data, operation, keep_none=False)
    if not rows:
        return []
    pk_names = cls._meta.pk_names
    plan: list[tuple[Compiled, list[Any], list[_PreparedRow], tuple[str, ...]]] = []
    for key, group in _groups(rows, with_supplied=False).items():
        columns: tuple[str, ...] = key
        if not columns:
            plan.append((_DEFAULTS_ONLY, [], group, ()))
            continue
        by = pk_names if all(name in columns for name in pk_names) else ()
        for compiled, values, chunk in _statements(cls, columns, group, (), ()):
            plan.append((compiled, values, chunk, by))
    return await _run_inserts(cls, plan, len(rows), operation)


# --- upsert -----------------------------------------------------------------------------------


def _upsert_plan(
    cls: type[Model],
    objects_data: Any,
    conflict_fields: Any,
    update_fields: Any,
    operation: str,
) -> tuple[
    list[_PreparedRow], list[tuple[Compiled, list[Any], list[_PreparedRow], tuple[str, ...]]]
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
    plan: list[tuple[Compiled, list[Any], list[_PreparedRow], tuple[str, ...]]] = []
    skip = set(conflict) | set(meta.pk_names)
    for key, group in _groups(rows, with_supplied=True).items():
        columns: tuple[str, ...] = key[0]
        supplied = set(key[1]) | set(meta.auto_now_fields)
        if explicit is not None:
            updates = explicit
        else:
            updates = tuple([n for n in columns if n in supplied and n not in skip])
        if not updates:
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
                        meta.table, meta.pk_names, names, types, rows=tuple(map(tuple, chunk))
                    )
                )
                tag = await _execution.execute(
                    database, sql, params, model=cls, operation=operation
                )
                count += _execution.rows_affected(tag)
    _caching.notify_write(cls, cache_keys)
    return count


def _compile(node: Node) -> tuple[str, tuple[Any, ...]]:
    params = Params()
    sql = node.as_sql(params)
    return sql, tuple(params.values)


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
    set_values = [prepare_write(cls, name, value, operation) for name, value in updates.items()]
    names = tuple(updates)
    compiled: Compiled = meta.compiled(
        ("update_where", names, shape),
        lambda: compile_statement(
            Update(
                meta.table,
                tuple(zip(names, slots(0, len(names)), strict=True)),
                _where(shape, len(names)),
                meta.select_columns,
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
