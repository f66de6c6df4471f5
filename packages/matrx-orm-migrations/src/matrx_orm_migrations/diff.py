"""``SchemaDiff``: model state against database state, as ordered operations (API.md §5.7).

:func:`diff_schemas` compares two :class:`~.schema.Schema` snapshots (pure, no database);
:class:`SchemaDiff` builds them (models through :mod:`.model_state`, the database through
:mod:`.introspect`), applies the :class:`~.table_filter.TableFilter`, runs the safety lint and
writes migration files.

Operation order (so every step finds what it needs): new enum types and values; dropped or
changed foreign keys, indexes and constraints; new tables (referenced tables first); new
columns; changed columns; new constraints, indexes and foreign keys; dropped columns; dropped
tables (referencing tables first); dropped enum types. Drops of tables, columns and types need
``allow_drop=True``; without it they are written as comments and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from matrx_orm_core.exceptions import MigrationError

from ._types import (
    ORM_TO_PG,
    PG_TYPE_ALIASES,
    normalize_type,
    orm_type_to_pg,
    same_default,
    user_type_name,
)
from .db import MigrationDB
from .introspect import introspect_schema, list_schemas
from .lint import SafetyIssue, lint_operations
from .model_state import build_model_schema
from .operations import Operation
from .schema import Column, ForeignKey, Index, Schema, Table
from .table_filter import TableFilter

__all__ = [
    "ORM_TO_PG",
    "PG_TYPE_ALIASES",
    "Operation",
    "SchemaDiff",
    "TableColumnState",
    "TableState",
    "diff_schemas",
    "executable",
    "normalize_type",
    "orm_type_to_pg",
]

logger = logging.getLogger(__name__)

TableState = Table
"""A table's state (the schema model's frozen :class:`~.schema.Table`)."""

TableColumnState = Column
"""A column's state (the schema model's frozen :class:`~.schema.Column`)."""


def executable(operations: Iterable[Operation]) -> bool:
    """Whether any operation does something (skipped drops are only comments)."""
    return any(not op.skipped for op in operations)


def _topological(tables: Sequence[Table], among: set[str]) -> tuple[list[Table], set[str]]:
    """Order ``tables`` so referenced tables come first; returns the order and the names of
    FKs that close a cycle (they must be added after all tables exist)."""
    by_name = {t.name: t for t in tables}
    order: list[Table] = []
    state: dict[str, int] = {}
    deferred: set[str] = set()

    def visit(name: str) -> None:
        state[name] = 1
        for fk in sorted(by_name[name].foreign_keys, key=lambda f: f.name):
            target = fk.ref_table
            if target == name or target not in among or target not in by_name:
                continue
            if state.get(target) == 1:
                deferred.add(fk.name)
            elif target not in state:
                visit(target)
        state[name] = 2
        order.append(by_name[name])

    for name in sorted(by_name):
        if name not in state:
            visit(name)
    return order, deferred


def _match_fks(
    target: Sequence[ForeignKey], current: Sequence[ForeignKey]
) -> tuple[list[ForeignKey], list[ForeignKey]]:
    """(to add, to drop): foreign keys compared by columns, target and actions, not name."""
    add = [fk for fk in target if not any(fk.same_target(c) for c in current)]
    drop = [fk for fk in current if not any(fk.same_target(t) for t in target)]
    return add, drop


def _match_indexes(
    target: Sequence[Index], current: Sequence[Index]
) -> tuple[list[Index], list[Index]]:
    """(to add, to drop): by name and definition; an unnamed match by definition also counts."""
    current_by_name = {i.name: i for i in current}
    add: list[Index] = []
    kept: set[str] = set()
    for index in target:
        same = current_by_name.get(index.name)
        if same is not None and same.same_definition(index):
            kept.add(same.name)
            continue
        twin = next(
            (
                c
                for c in current
                if c.name not in kept
                and c.name not in {t.name for t in target}
                and c.same_definition(index)
            ),
            None,
        )
        if twin is not None:
            kept.add(twin.name)
            continue
        add.append(index)
    drop = [i for i in current if i.name not in kept]
    return add, drop


def _column_changed(new: Column, old: Column) -> bool:
    return (
        new.type != old.type
        or new.nullable != old.nullable
        or not same_default(new.default, old.default)
    )


def diff_schemas(
    target: Schema,
    current: Schema,
    *,
    allow_drop: bool = False,
    manage_enums: bool = True,
    schema_exists: bool = True,
) -> list[Operation]:
    """Operations that turn ``current`` (the database) into ``target`` (the models).

    Args:
        target: the desired schema.
        current: the schema as it is.
        allow_drop: really drop tables, columns and enum types that ``target`` lacks;
            otherwise those drops are emitted as skipped operations (comments).
        manage_enums: compare enum types (off for scoped diffs: types are not tables).
        schema_exists: ``False`` when the schema itself is missing from the database: a
            ``create_schema`` step comes first when anything is to be created.

    Returns:
        The operations in execution order (see the module docstring).
    """
    schema = target.name
    want = target.table_map
    have = current.table_map
    ops: list[Operation] = []

    def op(kind: str, on: str, /, **details: Any) -> Operation:
        return Operation(kind, on, schema, details)

    if manage_enums:
        ops += _enum_operations(target, current, op)

    shared = sorted(set(want) & set(have))
    drops: dict[str, list[Operation]] = {"fk": [], "index": [], "constraint": []}
    adds: dict[str, list[Operation]] = {"constraint": [], "index": [], "fk": []}
    for name in shared:
        new, old = want[name], have[name]
        add_fks, drop_fks = _match_fks(new.foreign_keys, old.foreign_keys)
        drops["fk"] += [op("drop_foreign_key", name, fk=fk) for fk in drop_fks]
        add_idx, drop_idx = _match_indexes(new.indexes, old.indexes)
        drops["index"] += [op("drop_index", name, index=i) for i in drop_idx]
        old_uniques = {u.columns: u for u in old.uniques}
        new_uniques = {u.columns: u for u in new.uniques}
        old_checks = {c.name: c for c in old.checks}
        new_checks = {c.name: c for c in new.checks}
        old_pk = old.primary_key.columns if old.primary_key else None
        new_pk = new.primary_key.columns if new.primary_key else None
        stale: list[Any] = [u for cols, u in old_uniques.items() if cols not in new_uniques]
        stale += [c for key, c in old_checks.items() if key not in new_checks]
        if old_pk != new_pk and old.primary_key is not None:
            stale.append(old.primary_key)
        drops["constraint"] += [op("drop_constraint", name, constraint=c) for c in stale]
        fresh: list[Any] = []
        if old_pk != new_pk and new.primary_key is not None:
            fresh.append(new.primary_key)
        fresh += [u for cols, u in new_uniques.items() if cols not in old_uniques]
        fresh += [c for key, c in new_checks.items() if key not in old_checks]
        adds["constraint"] += [op("add_constraint", name, constraint=c) for c in fresh]
        adds["index"] += [op("add_index", name, index=i) for i in add_idx]
        adds["fk"] += [op("add_foreign_key", name, fk=fk) for fk in add_fks]
    ops += drops["fk"] + drops["index"] + drops["constraint"]
    later = adds["constraint"] + adds["index"] + adds["fk"]

    new_tables = [want[n] for n in sorted(set(want) - set(have))]
    ordered, cyclic = _topological(new_tables, set(want))
    deferred_fks: list[Operation] = []
    for table in ordered:
        inline = tuple(fk for fk in table.foreign_keys if fk.name not in cyclic)
        deferred_fks += [
            op("add_foreign_key", table.name, fk=fk)
            for fk in table.foreign_keys
            if fk.name in cyclic
        ]
        ops.append(op("create_table", table.name, table=_replace_fks(table, inline)))

    for name in shared:
        new, old = want[name], have[name]
        for column in new.columns:
            if old.column(column.name) is None:
                ops.append(op("add_column", name, column=column))
    for name in shared:
        new, old = want[name], have[name]
        for column in new.columns:
            before = old.column(column.name)
            if before is not None and _column_changed(column, before):
                ops.append(op("alter_column", name, column=column, old=before))
    ops += later + deferred_fks

    for name in shared:
        new, old = want[name], have[name]
        for column in old.columns:
            if new.column(column.name) is None:
                ops.append(op("drop_column", name, column=column, skipped=not allow_drop))

    gone = [have[n] for n in sorted(set(have) - set(want))]
    gone_order, _ = _topological(gone, set(have))
    for table in reversed(gone_order):
        ops.append(op("drop_table", table.name, table=table, skipped=not allow_drop))

    if not schema_exists and any(not o.skipped for o in ops):
        ops.insert(0, op("create_schema", schema))
    if manage_enums and allow_drop:
        used = {c.type.removesuffix("[]") for t in target.tables for c in t.columns}
        wanted = {e.name for e in target.enums}
        for enum in current.enums:
            if enum.name not in wanted and user_type_name(enum.schema, enum.name) not in used:
                ops.append(op("drop_enum", enum.name, enum=enum))
    return ops


def _enum_operations(
    target: Schema, current: Schema, op: Callable[..., Operation]
) -> list[Operation]:
    """``create_enum`` for new types and ``add_enum_value`` for new labels, each placed before
    or after a neighbour that exists so the type's order follows the Python enum."""
    ops: list[Operation] = []
    have_enums = {e.name: e for e in current.enums}
    for enum in target.enums:
        existing = have_enums.get(enum.name)
        if existing is None:
            ops.append(op("create_enum", enum.name, enum=enum))
            continue
        labels = list(existing.labels)
        for position, label in enumerate(enum.labels):
            if label in labels:
                continue
            previous = enum.labels[position - 1] if position > 0 else None
            following = next((x for x in enum.labels[position:] if x in labels), None)
            if previous is not None and previous in labels:
                ops.append(op("add_enum_value", enum.name, label=label, after=previous))
                labels.insert(labels.index(previous) + 1, label)
            elif following is not None:
                ops.append(op("add_enum_value", enum.name, label=label, before=following))
                labels.insert(labels.index(following), label)
            else:
                ops.append(op("add_enum_value", enum.name, label=label))
                labels.append(label)
    return ops


def _replace_fks(table: Table, fks: tuple[ForeignKey, ...]) -> Table:
    return replace(table, foreign_keys=fks)


def removed_enum_labels(target: Schema, current: Schema) -> list[tuple[str, str]]:
    """``(type, label)`` pairs the database has and the models dropped."""
    have = {e.name: e for e in current.enums}
    found = []
    for enum in target.enums:
        existing = have.get(enum.name)
        if existing is not None:
            found += [(enum.name, label) for label in existing.labels if label not in enum.labels]
    return found


class SchemaDiff:
    """Compare registered models with a database schema.

    Args:
        db: the database (a ``MigrationDB``).
        schema: the PostgreSQL schema compared.
        table_filter: limit the diff to some tables (API.md §5.8).
        allow_drop: drop tables, columns and enum types the models no longer have. Without it
            those drops become comments plus a safety issue, never SQL.
        models: the model classes to compare (default: every registered model).

    Attributes:
        safety_issues: what the lint found in the last ``compute_diff`` (each has ``message``).
        skipped_operations: the drops left out by the last ``compute_diff``.
    """

    def __init__(
        self,
        db: MigrationDB,
        schema: str = "public",
        table_filter: TableFilter | None = None,
        *,
        allow_drop: bool = False,
        models: Iterable[type] | None = None,
    ) -> None:
        if not isinstance(schema, str) or not schema:
            raise MigrationError(message=f"SchemaDiff needs a schema name, got {schema!r}.")
        if table_filter is not None and not isinstance(table_filter, TableFilter):
            raise MigrationError(
                message=f"table_filter must be a TableFilter, got {type(table_filter).__name__}.",
            )
        self.db = db
        self.schema = schema
        self.table_filter = table_filter or TableFilter()
        self.allow_drop = allow_drop
        self._models = None if models is None else list(models)
        self.safety_issues: list[SafetyIssue] = []
        self.skipped_operations: list[Operation] = []

    def _model_classes(self) -> list[type]:
        if self._models is not None:
            return self._models
        from matrx_orm_core.registry import model_registry

        database = getattr(self.db, "config_name", None)
        return list(model_registry.all_models(database).values())

    def model_schema(self) -> Schema:
        """The schema the models describe, filtered by the table filter (enum types only
        where an in-scope table uses them)."""
        scoped = _filtered(
            build_model_schema(self._model_classes(), self.schema), self.table_filter
        )
        used = {c.type.removesuffix("[]") for t in scoped.tables for c in t.columns}
        enums = tuple(e for e in scoped.enums if user_type_name(e.schema, e.name) in used)
        return replace(scoped, enums=enums)

    def capture_model_state(self) -> dict[str, TableState]:
        """The in-scope tables the models describe, keyed by table name (no database needed)."""
        return self.model_schema().table_map

    async def database_schema(self) -> Schema:
        """The schema as the database has it, filtered by the table filter."""
        return _filtered(await introspect_schema(self.db, self.schema), self.table_filter)

    async def capture_db_state(self) -> dict[str, TableState]:
        """The in-scope tables of the database schema, keyed by table name."""
        return (await self.database_schema()).table_map

    async def compute_diff(self) -> list[Operation]:
        """The operations that bring the database to the models.

        Also fills ``safety_issues`` and ``skipped_operations`` and emits the cross-scope
        ``UserWarning`` for in-scope foreign keys whose target is out of scope.

        Returns:
            The operations in execution order; ``[]`` when nothing would run (drops that were
            skipped for lack of ``allow_drop`` alone do not make a migration).

        Raises:
            MigrationError: a model cannot be turned into DDL (the message names it).
            DatabaseError: introspection failed.
        """
        target = self.model_schema()
        self.table_filter.warn_cross_references(target.table_map)
        current = await self.database_schema()
        scoped = self.table_filter.include is not None or self.table_filter.exclude is not None
        exists = self.schema in await list_schemas(self.db)
        operations = diff_schemas(target, current, allow_drop=self.allow_drop, schema_exists=exists)
        if scoped:  # types are not tables: a scoped diff never drops one
            operations = [o for o in operations if o.op_type != "drop_enum"]
        self.skipped_operations = [o for o in operations if o.skipped]
        self.safety_issues = await lint_operations(
            operations,
            self.db,
            current,
            removed_enum_labels=removed_enum_labels(target, current),
        )
        if not executable(operations):
            return []
        return operations

    async def generate_migration_file(
        self,
        migrations_dir: str | Path,
        name: str | None = None,
        number: int | None = None,
    ) -> Path | None:
        """Write the next migration file(s) for :meth:`compute_diff`'s operations.

        Usually one file. A step that must run outside a transaction (``ALTER TYPE ... ADD
        VALUE``) gets a file of its own (``atomic = False``), numbered in order, as
        ``makemigrations`` does, so the other operations keep their transaction.

        Args:
            migrations_dir: the directory (created when missing).
            name: the name part of the file holding the ordinary operations (default: derived
                from the operations).
            number: the first file's number (default: the loader's next number).

        Returns:
            The last file written, or ``None`` when there is nothing to do.

        Raises:
            MigrationError: a file exists already, or ``name`` is not a valid name part.
        """
        from ._render import (
            migration_filename,
            render_operations,
            split_operations,
            suggest_name,
            write_new_file,
        )
        from .loader import MigrationLoader

        operations = await self.compute_diff()
        if not operations:
            return None
        loader = MigrationLoader(migrations_dir)
        latest = loader.latest_name()
        first = number if number is not None else loader.next_number()
        groups = split_operations(operations)
        path: Path | None = None
        for index, group in enumerate(groups):
            main = all(op.transactional for op in group) or len(groups) == 1
            part = (name if main else None) or suggest_name(group)
            path = Path(migrations_dir) / migration_filename(first + index, part)
            source = render_operations(group, dependencies=[latest] if latest else [])
            write_new_file(path, source)
            logger.info("Created migration: %s", path)
            latest = path.stem
        return path


def _filtered(schema: Schema, table_filter: TableFilter) -> Schema:
    return replace(
        schema, tables=tuple(t for t in schema.tables if table_filter.is_included(t.name))
    )
