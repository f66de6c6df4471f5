"""``select_related``: follow foreign keys with JOINs and hydrate the targets in one query.

The query's own SELECT (where, ordering, limit/offset, DISTINCT, ``only()``...) is built by the
compiler as usual; this module only widens it. Each followed foreign key becomes a join to a
derived table that renames the target's columns::

    SELECT "id", "title", "author_id", "_sr0"."_sr0_0", "_sr0"."_sr0_1"
    FROM "post"
    LEFT JOIN (SELECT "id" AS "_sr0_0", "username" AS "_sr0_1" FROM "user") AS "_sr0"
      ON "post"."author_id" = "_sr0"."_sr0_0"
    WHERE "is_published" = $1

Because the joined relations expose only ``_sr<i>_<j>`` names (a field name never starts with
``_``), the main query's unqualified column references can never become ambiguous, whatever
names the models share; PostgreSQL flattens the derived tables, so the plan is a plain join.
A nullable foreign key (or one reached through a LEFT JOIN) is a LEFT JOIN, a NOT NULL one an
INNER JOIN. Hydration stores each target instance with ``set_related`` on its parent, under the
FK field name, so ``get_related("author")`` and ``get_related("author_id")`` return it with no
query; a target whose joined columns are all NULL (no related row) is stored as ``None``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from matrx_orm_core._quoting import quote_ident, quote_qualified
from matrx_orm_core.exceptions import FieldError, QueryError, RelationshipError
from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.sql import Column, ForUpdate, Node, Params, Select, Table

from ._sqlnodes import WithQuery
from .compiler import Extras, QueryShape, build_node

if TYPE_CHECKING:
    from matrx_orm_core.drivers.base import Row
    from matrx_orm_core.models.base import Model
    from matrx_orm_core.models.options import ModelOptions

    from .builder import QueryBuilder

__all__ = ["JoinStep", "compile_select_related", "hydrate_related", "resolve_paths"]

M = TypeVar("M", bound="Model")


@dataclasses.dataclass(frozen=True)
class JoinStep:
    """One followed foreign key.

    Attributes:
        path: The FK field names from the queried model to this one (``("author_id",)``).
        key: The FK field name on the parent model (its ``_meta.foreign_keys`` key).
        parent: The index of the parent step, or -1 for the queried model.
        target: The model the FK points to.
        to_column: The referenced column of ``target``.
        inner: INNER JOIN (the FK is NOT NULL and every step above it is INNER too).
    """

    path: tuple[str, ...]
    key: str
    parent: int
    target: type[Model]
    to_column: str
    inner: bool


def _alias(index: int) -> str:
    return f"_sr{index}"


def _column_alias(index: int, position: int) -> str:
    return f"_sr{index}_{position}"


def _fk_key(model: type[Model], segment: str, full: str, operation: str) -> str:
    meta = model._meta
    if segment in meta.foreign_keys:
        return segment
    if f"{segment}_id" in meta.foreign_keys:
        return f"{segment}_id"
    fks = ", ".join(meta.foreign_keys) or "(none)"
    if segment in meta.inverse_foreign_keys or segment in meta.many_to_many_keys:
        hint = (
            f"'{segment}' is a to-many relation, which one JOIN cannot load; use "
            "prefetch_related() for it."
        )
    else:
        hint = f"'{segment}' is not a foreign key of {model.__name__}."
    where = f" (in {full!r})" if full != segment else ""
    reason = (
        f"{model.__name__}.{operation}(): {hint}{where} Foreign keys of {model.__name__}: "
        f"{fks} (the '_id' suffix may be left out)."
    )
    raise FieldError(model=model, field=segment, reason=reason, message=reason)


def resolve_paths(
    model: type[Model],
    names: Sequence[Any],
    existing: tuple[JoinStep, ...],
    operation: str = "select_related",
) -> tuple[JoinStep, ...]:
    """Resolve FK names and ``__`` paths into join steps, after ``existing`` (parents first).

    Raises:
        FieldError: A name is not a str, is empty, or a segment is not a foreign key.
        RelationshipError: A foreign key leads to another database (no cross-database JOIN).
        ConfigurationError: A target model is not registered.
    """
    steps = list(existing)
    index = {step.path: i for i, step in enumerate(steps)}
    database = model._meta.database
    for name in names:
        if not isinstance(name, str) or not name or "" in name.split("__"):
            reason = (
                f"{model.__name__}.{operation}(): {name!r} is not a foreign key name; pass "
                "names such as 'author' / 'author_id', or paths such as 'author__company'."
            )
            raise FieldError(model=model, field=repr(name), reason=reason, message=reason)
        current: type[Model] = model
        path: tuple[str, ...] = ()
        parent = -1
        for segment in name.split("__"):
            key = _fk_key(current, segment, name, operation)
            path = (*path, key)
            reference = current._meta.foreign_keys[key]
            if path not in index:
                target = reference.related_model
                target_meta = vars(target).get("_meta")
                target_db = reference.to_db or (target_meta.database if target_meta else None)
                if target_db is not None and target_db != database:
                    reason = (
                        f"{model.__name__}.{operation}(): '{'__'.join(path)}' points to "
                        f"{target.__name__} in database '{target_db}', but the query runs on "
                        f"'{database}'; PostgreSQL cannot JOIN across databases. Load it with "
                        f"instance.fetch_fk('{key}') or prefetch_related('{key}') instead."
                    )
                    raise RelationshipError(model=model, field=key, reason=reason, message=reason)
                nullable = current._meta.fields[key].nullable
                inner = not nullable and (parent < 0 or steps[parent].inner)
                index[path] = len(steps)
                steps.append(JoinStep(path, key, parent, target, reference.related_column, inner))
            parent = index[path]
            current = steps[parent].target
    return tuple(steps)


@dataclasses.dataclass(frozen=True, slots=True)
class _Join(Node):
    """``[LEFT] JOIN (SELECT "c" AS "_srI_0", ... FROM t) AS "_srI" ON <parent col> = ...``."""

    index: int
    step: JoinStep
    parent_ref: str

    def as_sql(self, params: Params) -> str:
        meta: ModelOptions = self.step.target._meta
        alias = _alias(self.index)
        renamed = ", ".join(
            [
                f"{quote_ident(name)} AS {quote_ident(_column_alias(self.index, j))}"
                for j, name in enumerate(meta.select_columns)
            ]
        )
        to_position = meta.select_columns.index(self.step.to_column)
        kind = "JOIN" if self.step.inner else "LEFT JOIN"
        return (
            f" {kind} (SELECT {renamed} FROM {meta.table.as_sql(params)}) AS "
            f"{quote_ident(alias)} ON {self.parent_ref} = "
            f"{quote_qualified(alias, _column_alias(self.index, to_position))}"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _JoinedTable(Table):
    """The main table followed by the select_related joins."""

    joins: tuple[_Join, ...] = ()

    def as_sql(self, params: Params) -> str:
        return quote_qualified(self.schema, self.name) + "".join(
            [join.as_sql(params) for join in self.joins]
        )


def _parent_ref(meta: ModelOptions, steps: tuple[JoinStep, ...], step: JoinStep) -> str:
    if step.parent < 0:
        return quote_qualified(meta.db_schema, meta.table_name, step.key)
    parent_meta: ModelOptions = steps[step.parent].target._meta
    position = parent_meta.select_columns.index(step.key)
    return quote_qualified(_alias(step.parent), _column_alias(step.parent, position))


def _build(
    meta: ModelOptions, shape: QueryShape, steps: tuple[JoinStep, ...], extras: Extras | None
) -> _p.Compiled:
    if extras is not None and (
        extras.group_by or extras.having or any(agg for _, _, agg in extras.annotations)
    ):
        raise QueryError(
            message=f"{meta.model_name}: select_related() loads related rows for each row, "
            "so it cannot be combined with group_by() or aggregate annotations (which return "
            "groups); drop select_related, or read the groups with values().",
        )
    node = build_node(meta, shape, extras)
    if isinstance(node, WithQuery):  # WITH ...: widen the statement under the CTEs
        statement = node.statement
        if not isinstance(statement, Select):  # pragma: no cover - always a Select here
            raise TypeError(f"select_related needs a SELECT, got {type(statement).__name__}")
        return _p.compile_statement(
            dataclasses.replace(node, statement=_widen(meta, statement, steps))
        )
    if not isinstance(node, Select):  # pragma: no cover - the compiler builds a Select here
        raise TypeError(f"select_related needs a SELECT, got {type(node).__name__}")
    return _p.compile_statement(_widen(meta, node, steps))


def _widen(meta: ModelOptions, base: Select, steps: tuple[JoinStep, ...]) -> Select:
    joins = tuple(_Join(i, step, _parent_ref(meta, steps, step)) for i, step in enumerate(steps))
    extra = tuple(
        Column(_column_alias(i, j), _alias(i))
        for i, step in enumerate(steps)
        for j in range(len(step.target._meta.select_columns))
    )
    for_update = base.for_update
    if for_update is not None and not for_update.of:
        # The nullable side of an outer join cannot be locked: lock the queried rows only.
        for_update = ForUpdate((meta.table_name,), for_update.nowait, for_update.skip_locked)
    return dataclasses.replace(
        base,
        table=_JoinedTable(meta.table.name, meta.table.schema, joins),
        columns=(*(base.columns or meta.select_columns), *extra),
        for_update=for_update,
    )


def compile_select_related(
    meta: ModelOptions,
    shape: QueryShape,
    steps: tuple[JoinStep, ...],
    extras: Extras | None = None,
) -> _p.Compiled:
    """The cached ``(sql, template, direct)`` entry of a select_related SELECT.

    ``extras`` are the query's expression parts (annotations, CTEs, expression ordering); the
    joins bind no value, so the values are numbered exactly as the plain query's.

    Returns:
        The compiled entry.

    Raises:
        QueryError: ``extras`` group rows (group_by, HAVING or an aggregate annotation).
    """
    entry: _p.Compiled = meta.compiled(
        ("select_related", shape, steps, extras), lambda: _build(meta, shape, steps, extras)
    )
    return entry


def hydrate_related(qb: QueryBuilder[M], rows: Sequence[Row]) -> list[M]:
    """``qb``'s instances from select_related rows, each followed FK stored on its parent.

    Returns:
        The queried model's instances.
    """
    from ._results import hydrate_plain  # _results dispatches here

    steps: tuple[JoinStep, ...] = qb._select_related
    layouts = [
        (
            step,
            step.target._meta.select_columns,
            [_column_alias(i, j) for j in range(len(step.target._meta.select_columns))],
        )
        for i, step in enumerate(steps)
    ]
    joined = {alias for _, _, aliases in layouts for alias in aliases}
    # The queried model's columns and any annotation values; the joined columns go below.
    main_rows: list[Any] = [
        {key: value for key, value in row.items() if key not in joined} for row in rows
    ]
    instances = hydrate_plain(qb, main_rows)
    for instance, row in zip(instances, rows, strict=True):
        loaded: list[Model | None] = []
        for step, names, aliases in layouts:
            values = [row[alias] for alias in aliases]
            related: Model | None = None
            if any(value is not None for value in values):
                related = _p.hydrate(step.target, dict(zip(names, values, strict=True)))
            loaded.append(related)
            owner = instance if step.parent < 0 else loaded[step.parent]
            if owner is not None:
                owner.set_related(step.key, related)
    return instances
