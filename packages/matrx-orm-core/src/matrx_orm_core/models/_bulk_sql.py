"""Bulk statement nodes (InsertRows, UpdateFrom, DeleteKeys), column type casts and compiling."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matrx_orm_core._quoting import quote_ident
from matrx_orm_core.fields.numeric import DecimalField
from matrx_orm_core.fields.text import UUIDField
from matrx_orm_core.sql import Node, Params, Table

from ._locking import increment_sql
from ._persistence import field_error

if TYPE_CHECKING:
    from .base import Model

_CAST_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?[A-Za-z ]*(\[\])*")
"""The column types that may appear in a ``::type`` cast (``varchar(100)``, ``integer[]``)."""

_ORD = "_ord"
"""The ordinality column alias (field names never start with ``_``, so it cannot collide)."""


# --- SQL nodes ----------------------------------------------------------------------------------


def _cols(names: Sequence[str]) -> str:
    return ", ".join([quote_ident(name) for name in names])


def _returning(names: Sequence[str]) -> str:
    return " RETURNING " + _cols(names) if names else ""


def _conflict(
    conflict: Sequence[str], updates: Sequence[str], table: str = "", bump: str | None = None
) -> str:
    if not conflict:
        return ""
    sets = [f"{quote_ident(n)} = EXCLUDED.{quote_ident(n)}" for n in updates]
    if bump is not None:  # the row's VersionField: existing value + 1 (models._locking)
        sets.append(f"{quote_ident(bump)} = {increment_sql(bump, table)}")
    return f" ON CONFLICT ({_cols(conflict)}) DO UPDATE SET {', '.join(sets)}"


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
    bump: str | None = None

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
        conflict = _conflict(self.conflict, self.updates, self.table.name, self.bump)
        return head + source + conflict + _returning(self.returning)


@dataclass(frozen=True, slots=True)
class UpdateFrom(Node):
    """``UPDATE t AS "_t" SET "f" = "_v"."f" FROM <source> AS "_v"(keys, fields) WHERE keys``.

    The source is ``unnest(...)`` of one array per column (``casts[i]`` applied to a value after
    unnesting, for JSON sent as text), or typed ``VALUES`` rows. ``bump`` names a column to set
    to ``"_t"."col" + 1`` as well (the model's VersionField, see ``models._locking``).
    """

    table: Table
    keys: tuple[str, ...]
    fields: tuple[str, ...]
    types: tuple[str, ...]
    arrays: tuple[Any, ...] | None = None
    rows: tuple[tuple[Any, ...], ...] = ()
    casts: tuple[str | None, ...] = ()
    bump: str | None = None

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
        if self.bump is not None:
            sets.append(f"{quote_ident(self.bump)} = {increment_sql(self.bump, '_t')}")
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


def _compile(node: Node) -> tuple[str, tuple[Any, ...]]:
    params = Params()
    sql = node.as_sql(params)
    return sql, tuple(params.values)
