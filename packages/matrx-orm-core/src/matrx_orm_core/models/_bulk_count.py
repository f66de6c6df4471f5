"""``bulk_create(..., returning=False)``: COPY straight into the model's table, count the rows.

When the caller does not need the stored rows back, nothing has to come back from the server:
each column group is one ``COPY "t" ("a", "b", ...) FROM STDIN (FORMAT binary)`` into the
model's own table. COPY applies the table's server defaults to the columns it is not given,
and its constraints, triggers (row triggers fire for COPY) and foreign keys as an INSERT does.
A single group's COPY is one atomic statement; several groups (or a fallback group) run in
one transaction.

Only groups whose every column type COPY's binary protocol can carry are copied directly:
the built-in types of ``_bulk_copy``'s allow-list plus ``uuid``, ``json`` and ``jsonb`` (the
driver's copy call encodes these with its built-in binary codecs, so a JSON value is sent as
the JSON text ``prepare_rows`` already encoded). Any other type (enums, hstore, inet,
``uuid[]``, ``jsonb[]``, ...) sends its group through the usual INSERT path, whose returned
rows are then only counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matrx_orm_core import _execution

from ._bulk_copy import copyable_type
from ._bulk_prepare import _column_arrays, _PreparedRow, _whole_batch
from ._bulk_sql import _JSON_TYPES

if TYPE_CHECKING:
    from .base import Model

__all__ = ["DirectCopy", "direct_copy", "group_keys"]

_DIRECT_EXTRA = re.compile(r"uuid|json|jsonb", re.IGNORECASE)
"""Types copied with the driver's built-in binary codecs (no array forms: their elements
would need the text codecs)."""


def _direct_type(db_type: str) -> bool:
    return copyable_type(db_type) or _DIRECT_EXTRA.fullmatch(db_type.strip()) is not None


class DirectCopy:
    """One column group copied straight into the model's table.

    Args:
        columns: The model columns the group writes (the others get their server defaults).
        records: One tuple per row, values in ``columns`` order, as the COPY encoders take
            them (JSON columns as JSON text).
    """

    __slots__ = ("columns", "records")

    def __init__(self, columns: tuple[str, ...], records: list[tuple[Any, ...]]) -> None:
        self.columns = columns
        self.records = records

    async def run(self, cls: type[Model], operation: str) -> int:
        """COPY the records into ``cls``'s table.

        Returns:
            The number of rows copied.

        Raises:
            DatabaseError: COPY failed (translated, naming the model and the operation).
        """
        table = cls._meta.table
        return await _execution.copy_records(
            cls._meta.database,
            table.name,
            self.columns,
            self.records,
            schema=table.schema,
            model=cls,
            operation=operation,
        )


def direct_copy(
    cls: type[Model], columns: tuple[str, ...], types: Sequence[str], group: Sequence[_PreparedRow]
) -> DirectCopy | None:
    """The direct COPY of a group, or ``None`` when a column type cannot be copied directly.

    Returns:
        The step, with the group's records built column by column.
    """
    if not all(_direct_type(t) for t in types):
        return None
    kinds = [t.strip().lower() for t in types]
    casts = tuple([k if k in _JSON_TYPES else None for k in kinds])
    arrays = _column_arrays(cls, columns, group, casts, ())
    return DirectCopy(columns, list(zip(*arrays, strict=True)))


def group_keys(
    cls: type[Model], columns: tuple[str, ...], group: Sequence[_PreparedRow]
) -> list[Any] | None:
    """The cache keys of a group's rows (``pk_cache_key`` form), or ``None`` when the rows
    leave the primary key to the server (their keys are unknown without RETURNING)."""
    names = cls._meta.pk_names
    if not all(name in columns for name in names):
        return None
    if len(names) == 1:
        name = names[0]
        batch = _whole_batch(group, columns)
        if batch is not None:
            return list(batch.cells[batch.positions[name]])
        return [row.get(name) for row in group]
    return [tuple([row.get(name) for name in names]) for row in group]
