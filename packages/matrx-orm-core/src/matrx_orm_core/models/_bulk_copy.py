"""bulk_create/bulk_upsert through COPY: a staging table, one COPY, one ``INSERT ... SELECT``.

COPY cannot return rows, fill server defaults of columns it is given, or report which input
became which row, and bulk_create must do all three. So large groups are copied into a
temporary staging table holding just the group's columns, and one ``INSERT INTO t (cols) SELECT
... FROM stage RETURNING ...`` moves them into the model's table, where defaults, constraints and
triggers apply as for any INSERT. Inside the group's transaction::

    CREATE TEMP TABLE "pg_temp"."_matrx_copy_0" ("id" text, "qty" integer, ...) ON COMMIT DROP
    COPY "pg_temp"."_matrx_copy_0" ("id", "qty", ...) FROM STDIN (FORMAT binary)
    INSERT INTO "t" ("id", "qty", ...) SELECT "id"::uuid, "qty", ...
        FROM "pg_temp"."_matrx_copy_0" RETURNING ...
    DROP TABLE "pg_temp"."_matrx_copy_0"

The staging columns use the carriers the ``unnest`` path uses (uuid, numeric and JSON values as
``text``, cast back in the SELECT), so the driver's text-format codecs for uuid and JSON never
meet COPY's binary protocol. Without a supplied primary key a ``"_ord"`` column carries each
row's position and the SELECT orders by it, so returned rows match inputs by position. The
explicit ``DROP`` keeps a long outer transaction from accumulating staging tables; ``ON COMMIT
DROP`` and the rollback of a failed step are the safety nets, and a pooled connection used in a
transaction is reset (``DISCARD TEMP``) on release in any case. bulk_upsert's large groups take
the same path with ``ON CONFLICT (...) DO UPDATE SET ...`` after the SELECT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matrx_orm_core import _execution
from matrx_orm_core._quoting import quote_ident, quote_qualified
from matrx_orm_core.sql import MAX_PARAMS

from ._bulk_sql import _cols, _conflict, _returning

if TYPE_CHECKING:
    from matrx_orm_core.drivers.base import Row

    from .base import Model

__all__ = ["COPY_MIN_ROWS", "CopyStep", "copy_applies", "copyable_type"]

COPY_MIN_ROWS = 5000
"""Groups of at least this many rows go through COPY. Measured (10k-row bench shape, one call
in flight): COPY wins from about 5,000 rows (115 ms against 137 ms at 5,000; 189 against 209 at
10,000); at 2,500 rows the two tie, and with four 2,500-row calls in flight ``unnest``'s single
round trip wins (162 ms against 199 ms), so smaller groups keep the one ``unnest`` INSERT."""

_STAGE_PREFIX = "_matrx_copy_"
_TEMP_SCHEMA = "pg_temp"
"""Every staging name is qualified with the session's temporary schema, so a table of the same
name elsewhere on the ``search_path`` can never be the one created, copied into or dropped."""
_ORD = "_ord"

# Base types whose values the driver encodes in COPY's binary format as prepared (no ORM text
# codec on them). uuid, json, jsonb and numeric take part only as text carriers.
_COPYABLE = re.compile(
    r"(smallint|integer|int|int2|int4|int8|bigint|text|varchar|character varying|char|"
    r"character|boolean|bool|real|float4|float8|double precision|date|time|timestamp|"
    r"timestamptz|timestamp with time zone|timestamp without time zone|interval|bytea|"
    r"numeric|decimal)"
    r"(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*",
    re.IGNORECASE,
)

_stages_in_use: set[int] = set()
"""Staging table numbers held by running copy steps (two steps may share one transaction's
connection when tasks are gathered inside it; each then needs its own table). The first free
number is taken, so the name is ``_matrx_copy_0`` unless steps overlap in this process."""


def copyable_type(db_type: str) -> bool:
    """Whether the driver's COPY encodes values of ``db_type`` in binary as prepared.

    Returns:
        True for the built-in types of the allow-list (and arrays of them).
    """
    return _COPYABLE.fullmatch(db_type.strip()) is not None


def copy_applies(element_types: Sequence[str], rows: int) -> bool:
    """Whether a bulk_create group with these carrier types and row count goes through COPY.

    A group with an array column goes through COPY once ``VALUES`` would need more than one
    statement for it (``unnest`` flattens arrays, so such groups otherwise use ``VALUES``
    chunks under the 32,767-parameter cap, one statement per chunk).

    Returns:
        True when every carrier type is copyable in binary and the group is large enough.
    """
    if not all(copyable_type(t) for t in element_types):
        return False
    if rows >= COPY_MIN_ROWS:
        return True
    return any(t.endswith("]") for t in element_types) and rows * len(element_types) > MAX_PARAMS


class CopyStep:
    """One group's COPY insert: the staging layout and the records to copy.

    Args:
        columns: The model columns the group writes.
        elements: The staging column type of each (its carrier: ``text`` for cast-back values).
        casts: The cast applied to each staging column in the SELECT (empty: none).
        records: One tuple per row, values in ``columns`` order.
        ordinality: Carry each row's position and order the SELECT by it.
        conflict: For bulk_upsert: the conflict columns of ``ON CONFLICT (...) DO UPDATE``.
        updates: For bulk_upsert: the columns set from ``EXCLUDED`` on conflict.
        bump: For bulk_upsert: the VersionField raised by one on conflict (``None``: none).
        table_name: The model table's bare name (the bump's ``"t"."version" + 1``).
    """

    __slots__ = (
        "bump",
        "casts",
        "columns",
        "conflict",
        "elements",
        "ordinality",
        "records",
        "table_name",
        "updates",
    )

    def __init__(
        self,
        columns: tuple[str, ...],
        elements: tuple[str, ...],
        casts: tuple[str | None, ...],
        records: list[tuple[Any, ...]],
        ordinality: bool,
        conflict: tuple[str, ...] = (),
        updates: tuple[str, ...] = (),
        bump: str | None = None,
        table_name: str = "",
    ) -> None:
        self.columns = columns
        self.elements = elements
        self.casts = casts
        self.records = records
        self.ordinality = ordinality
        self.conflict = conflict
        self.updates = updates
        self.bump = bump
        self.table_name = table_name

    def statements(self, table_sql: str, stage: str, returning: Sequence[str]) -> list[str]:
        """The CREATE, INSERT ... SELECT and DROP texts around the COPY into ``stage``.

        Returns:
            ``[create, insert, drop]``.
        """
        name = quote_qualified(_TEMP_SCHEMA, stage)
        defs = [f"{quote_ident(c)} {t}" for c, t in zip(self.columns, self.elements, strict=True)]
        if self.ordinality:
            defs.append(f"{quote_ident(_ORD)} bigint")
        create = f"CREATE TEMP TABLE {name} ({', '.join(defs)}) ON COMMIT DROP"
        select = ", ".join(
            [
                quote_ident(c)
                + ("" if not self.casts or self.casts[i] is None else f"::{self.casts[i]}")
                for i, c in enumerate(self.columns)
            ]
        )
        insert = (
            f"INSERT INTO {table_sql} ({_cols(self.columns)}) SELECT {select} FROM {name}"
            + (f" ORDER BY {quote_ident(_ORD)}" if self.ordinality else "")
            + _conflict(self.conflict, self.updates, self.table_name, self.bump)
            + _returning(returning)
        )
        return [create, insert, f"DROP TABLE {name}"]

    async def run(self, cls: type[Model], table_sql: str, operation: str) -> list[Row]:
        """Run the step on the transaction bound for ``cls``'s database.

        Returns:
            The rows the INSERT returned.

        Raises:
            DatabaseError: any statement failed (translated, naming the model and operation).
        """
        meta = cls._meta
        database = meta.database
        number = 0
        while number in _stages_in_use:
            number += 1
        _stages_in_use.add(number)
        try:
            stage = f"{_STAGE_PREFIX}{number}"
            create, insert, drop = self.statements(table_sql, stage, meta.select_columns)
            await _execution.execute(database, create, model=cls, operation=operation)
            columns = (*self.columns, _ORD) if self.ordinality else self.columns
            records = (
                [(*record, i) for i, record in enumerate(self.records)]
                if self.ordinality
                else self.records
            )
            await _execution.copy_records(
                database,
                stage,
                columns,
                records,
                schema=_TEMP_SCHEMA,
                model=cls,
                operation=operation,
            )
            rows = await _execution.fetch(database, insert, model=cls, operation=operation)
            await _execution.execute(database, drop, model=cls, operation=operation)
        finally:
            _stages_in_use.discard(number)
        return rows
