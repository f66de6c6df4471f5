"""The programmatic migration API: ``makemigrations``, ``migrate``, ``rollback``, ``status``...

Every function logs what it did on the ``matrx_orm_migrations`` loggers (the CLI prints);
nothing here prints.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matrx_orm_core.exceptions import MigrationError

from ._render import (
    migration_filename,
    render_empty,
    render_operations,
    split_operations,
    suggest_name,
    write_new_file,
)
from .db import MigrationDB
from .executor import MigrationExecutor, MigrationStatus, ProgressCallback
from .loader import MigrationLoader

if TYPE_CHECKING:
    from matrx_orm_core.models import Model

__all__ = [
    "PlannedMigration",
    "create_empty",
    "makemigrations",
    "migrate",
    "migration_status",
    "pending_migrations",
    "plan_migrations",
    "rollback",
    "sql_preview",
    "status",
]

logger = logging.getLogger(__name__)


@dataclass
class PlannedMigration:
    """The file ``makemigrations`` would write (``plan_migration``'s result).

    Attributes:
        path: where the file goes.
        source: its text.
        operations: the diff operations it holds.
        safety_issues: what the safety lint found (each has a ``message``).
    """

    path: Path
    source: str
    operations: list[Any]
    safety_issues: list[Any] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The migration's name (the file stem)."""
        return self.path.stem


async def pending_migrations(database: str, migrations_dir: str | Path = "migrations") -> list[str]:
    """Names of migration files not applied to ``database`` yet, in apply order."""
    executor = MigrationExecutor(MigrationDB(database), migrations_dir)
    return await executor.pending()


async def plan_migrations(
    database: str,
    migrations_dir: str | Path = "migrations",
    name: str | None = None,
    schema: str = "public",
    include_tables: Iterable[str] | None = None,
    exclude_tables: Iterable[str] | None = None,
    *,
    allow_drop: bool = False,
    models: Sequence[type[Model]] | None = None,
) -> list[PlannedMigration]:
    """Compare the models with ``database`` and build the next migration file(s), unwritten.

    Arguments as :func:`makemigrations`. Usually one file; a step that must run outside a
    transaction (``ALTER TYPE ... ADD VALUE``) gets a file of its own (``atomic = False``),
    numbered in order, so the other operations keep their transaction.

    Returns:
        The planned files in order; ``[]`` when models and database already match.

    Raises:
        MigrationError: migration files are pending (they are listed), both table lists were
            given, or ``name`` is not a valid file-name part.
    """
    from .diff import SchemaDiff
    from .table_filter import TableFilter

    table_filter = None
    if include_tables is not None or exclude_tables is not None:
        table_filter = TableFilter(
            include=set(include_tables) if include_tables is not None else None,
            exclude=set(exclude_tables) if exclude_tables is not None else None,
        )
    loader = MigrationLoader(migrations_dir)
    pending = await pending_migrations(database, migrations_dir)
    if pending:
        raise MigrationError(
            migration=", ".join(pending),
            original_error="migration files are pending",
            message=(
                f"Migration file(s) not applied to database {database!r} yet: "
                f"{', '.join(pending)}. Run migrate first, so the new migration does not "
                "repeat what they do."
            ),
        )
    diff = SchemaDiff(
        MigrationDB(database),
        schema=schema,
        table_filter=table_filter,
        allow_drop=allow_drop,
        models=models,
    )
    operations = list(await diff.compute_diff())
    if not operations:
        return []
    groups = split_operations(operations)
    latest = loader.latest_name()
    number = loader.next_number()
    planned: list[PlannedMigration] = []
    for index, group in enumerate(groups):
        # A given name goes to the ordinary operations; a split-off step is named after
        # what it does (add_enum_value_<type>).
        main = all(op.transactional for op in group) or len(groups) == 1
        part = (name if main else None) or suggest_name(group)
        path = loader.migrations_dir / migration_filename(number + index, part)
        planned.append(
            PlannedMigration(
                path=path,
                source=render_operations(group, dependencies=[latest] if latest else []),
                operations=list(group),
                safety_issues=list(getattr(diff, "safety_issues", [])) if index == 0 else [],
            )
        )
        latest = path.stem
    return planned


async def makemigrations(
    database: str,
    migrations_dir: str | Path = "migrations",
    name: str | None = None,
    schema: str = "public",
    include_tables: Iterable[str] | None = None,
    exclude_tables: Iterable[str] | None = None,
    *,
    allow_drop: bool = False,
    models: Sequence[type[Model]] | None = None,
) -> Path | None:
    """Write the next migration file from the difference between models and database.

    Args:
        database: the registered database to compare against.
        migrations_dir: the directory of migration files (created when missing).
        name: the file's name part (default: derived from the operations, API.md §5.2).
        schema: the PostgreSQL schema compared.
        include_tables: only these tables (mutually exclusive with ``exclude_tables``).
        exclude_tables: every table but these.
        allow_drop: emit ``DROP TABLE`` for tables without a model (never by default).
        models: compare only these model classes (default: every registered model).

    Returns:
        The new file (the last one when a non-transactional step got a file of its own, see
        :func:`plan_migrations`), or ``None`` when nothing changed.

    Raises:
        MigrationError: files are pending (listed), or both table lists were given.

    Each safety issue the lint finds is reported as a ``MigrationSafetyWarning``.
    """
    planned = await plan_migrations(
        database,
        migrations_dir,
        name,
        schema,
        include_tables,
        exclude_tables,
        allow_drop=allow_drop,
        models=models,
    )
    if not planned:
        logger.info("No changes detected.")
        return None
    from .lint import MigrationSafetyWarning

    for issue in planned[0].safety_issues:
        warnings.warn(str(issue.message), MigrationSafetyWarning, stacklevel=2)
    for item in planned:
        write_new_file(item.path, item.source)
        logger.info("Created migration: %s", item.path)
    return planned[-1].path


async def migrate(
    database: str,
    migrations_dir: str | Path = "migrations",
    *,
    fake: bool = False,
    lock_timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[str]:
    """Apply the pending migrations of ``migrations_dir`` to ``database``.

    See :meth:`MigrationExecutor.migrate`. Returns the applied names in order.
    """
    executor = MigrationExecutor(
        MigrationDB(database), migrations_dir, lock_timeout=lock_timeout, on_progress=on_progress
    )
    return await executor.migrate(fake=fake)


async def rollback(
    database: str,
    migrations_dir: str | Path = "migrations",
    steps: int = 1,
    *,
    lock_timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[str]:
    """Roll back the last ``steps`` applied migrations of ``database``, newest first.

    See :meth:`MigrationExecutor.rollback`. Returns the rolled-back names in order.
    """
    executor = MigrationExecutor(
        MigrationDB(database), migrations_dir, lock_timeout=lock_timeout, on_progress=on_progress
    )
    return await executor.rollback(steps)


async def status(
    database: str, migrations_dir: str | Path = "migrations"
) -> dict[str, MigrationStatus]:
    """Each migration with ``"applied"`` or ``"pending"``, then recorded ones with no file
    as ``"missing"``. Read-only."""
    result = await MigrationExecutor(MigrationDB(database), migrations_dir).status()
    if not result:
        logger.info("  No migrations found.")
    for name, state in result.items():
        mark = {"applied": "[x]", "pending": "[ ]", "missing": "[?]"}[state]
        logger.info("  %s %s%s", mark, name, " (file missing)" if state == "missing" else "")
    return result


migration_status = status
"""The top-level name of :func:`status` (``matrx_orm.migration_status``)."""


async def sql_preview(
    database: str, migrations_dir: str | Path = "migrations"
) -> dict[str, list[str]]:
    """The statements ``migrate`` would run, by pending migration, without running them."""
    return await MigrationExecutor(MigrationDB(database), migrations_dir).sql_preview()


async def create_empty(
    database: str, migrations_dir: str | Path = "migrations", name: str = "custom"
) -> Path:
    """Write an empty migration ``NNNN_<name>.py`` to fill in by hand.

    ``database`` is not used (it is kept for the spec's signature). The new file depends on
    the latest existing migration (its full stem).

    Raises:
        MigrationError: ``name`` is not letters, digits and underscores.
    """
    del database
    loader = MigrationLoader(migrations_dir)
    latest = loader.latest_name()
    path = loader.migrations_dir / migration_filename(loader.next_number(), name)
    write_new_file(path, render_empty(dependencies=[latest] if latest else []))
    logger.info("Created migration: %s", path)
    return path
