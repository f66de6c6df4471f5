"""``MigrationExecutor``: apply, roll back, inspect and preview migrations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from matrx_orm_core.drivers.base import Connection
from matrx_orm_core.exceptions import MigrationError, ORMException, ParameterError

from ._preview import format_statement, recording_route
from ._session import migration_session
from .db import MigrationDB
from .loader import MigrationFile, MigrationLoader
from .state import MigrationState

__all__ = ["MODIFIED_MESSAGE", "MigrationExecutor", "MigrationStatus", "ProgressCallback"]

logger = logging.getLogger(__name__)

MigrationStatus = Literal["applied", "pending", "missing"]
"""``applied``/``pending`` for files; ``missing`` for an applied record whose file is gone."""

ProgressCallback = Callable[[str, str, int, int], None]
"""Called as ``(event, name, position, total)``; event is ``"start"`` or ``"done"``."""

MODIFIED_MESSAGE = (
    "Migration file(s) modified after being applied. Create a new migration instead of "
    "editing applied ones."
)


class MigrationExecutor:
    """Apply and roll back the migrations of one directory on one database.

    ``migrate`` and ``rollback`` run on one direct session connection holding a PostgreSQL
    advisory lock (see ``_session``), so concurrent runs on one database apply each
    migration exactly once; each migration's ``up``/``down`` and its tracking row share one
    transaction unless the file sets ``atomic = False``.

    Args:
        db: the ``MigrationDB`` passed to the migrations (its database is the target).
        loader: a :class:`MigrationLoader`, or the migrations directory.
        lock_timeout: seconds to wait for another run's lock (``None``: no limit).
        on_progress: optional callback told when each migration starts and finishes.
    """

    def __init__(
        self,
        db: MigrationDB,
        loader: MigrationLoader | str | Path,
        *,
        lock_timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if not isinstance(db, MigrationDB):
            raise ParameterError(
                args=[db],
                reason=f"MigrationExecutor needs a MigrationDB, got {type(db).__name__}.",
                class_name="MigrationExecutor",
                method_name="__init__",
            )
        self.db = db
        self.loader = loader if isinstance(loader, MigrationLoader) else MigrationLoader(loader)
        self.state = MigrationState(db)
        self.lock_timeout = lock_timeout
        self.on_progress = on_progress

    # -- reading -------------------------------------------------------------------------

    async def _applied_checked(self, migrations: dict[str, MigrationFile]) -> set[str]:
        """Applied names, after the checksum and history checks ``migrate`` insists on."""
        records = await self.state.applied_migrations()
        modified = [
            record.name
            for record in records
            if record.name in migrations and migrations[record.name].checksum != record.checksum
        ]
        if modified:
            paths = ", ".join(str(migrations[name].path) for name in modified)
            raise MigrationError(
                migration=", ".join(modified),
                original_error=MODIFIED_MESSAGE,
                message=(
                    f"Migration file(s) modified after being applied: {paths}. Create a new "
                    "migration instead of editing applied ones (or restore the file)."
                ),
            )
        applied = {record.name for record in records}
        for record in records:
            migration = migrations.get(record.name)
            if migration is None:
                continue
            missing = [dep for dep in migration.dependencies if dep not in applied]
            if missing:
                raise MigrationError(
                    migration=record.name,
                    original_error="inconsistent migration history",
                    message=(
                        f"Migration '{record.name}' is applied but its dependency "
                        f"{', '.join(repr(m) for m in missing)} is not. The history is "
                        "inconsistent: a file was added below an applied one. Renumber the new "
                        "file so it depends on the latest applied migration."
                    ),
                )
        return applied

    async def _applied_names_readonly(self) -> set[str]:
        if not await self.state.table_exists():
            return set()
        return await self.state.applied_names()

    async def status(self) -> dict[str, MigrationStatus]:
        """Every migration file in resolved order with ``applied``/``pending``, then ``missing``.

        ``missing`` marks a recorded migration whose file no longer exists. Read-only: the
        tracking table is not created and no lock is taken.
        """
        order = self.loader.resolve_order()
        applied_records = (
            await self.state.applied_migrations() if await self.state.table_exists() else []
        )
        applied = {record.name for record in applied_records}
        result: dict[str, MigrationStatus] = {
            name: "applied" if name in applied else "pending" for name in order
        }
        for record in applied_records:
            if record.name not in result:
                result[record.name] = "missing"
        return result

    async def modified(self) -> list[str]:
        """Applied migrations whose file changed since (``migrate`` would stop on them).

        Read-only, like :meth:`status`.
        """
        if not await self.state.table_exists():
            return []
        checksums = {name: m.checksum for name, m in self.loader.migrations.items()}
        return await self.state.verify_checksums(checksums)

    async def pending(self) -> list[str]:
        """Names of the files not applied yet, in the order ``migrate`` would apply them."""
        order = self.loader.resolve_order()
        applied = await self._applied_names_readonly()
        return [name for name in order if name not in applied]

    async def sql_preview(self) -> dict[str, list[str]]:
        """What ``migrate`` would run, without running it.

        Each pending migration's ``up`` runs with the database's statements routed to a
        recorder (see ``_preview``): ``db`` calls and ORM calls on models of this database are
        captured, nothing is sent, and reads see no rows. The checksum and history checks of
        ``migrate`` apply.

        Returns:
            The statements of each pending migration, by name, in apply order.
        """
        migrations = self.loader.discover()
        order = self.loader.resolve_order()
        if await self.state.table_exists():
            applied = await self._applied_checked(migrations)
        else:
            applied = set()
        preview: dict[str, list[str]] = {}
        for name in order:
            if name in applied:
                continue
            with recording_route(self.db.config_name) as recorder:
                try:
                    await migrations[name].up(self.db)
                except ORMException:
                    raise
                except Exception as err:
                    raise _failure(name, err, atomic=True, preview=True) from err
            preview[name] = [format_statement(sql, args) for sql, args in recorder.statements]
        return preview

    # -- applying ------------------------------------------------------------------------

    async def migrate(self, *, fake: bool = False) -> list[str]:
        """Apply every pending migration in dependency order.

        Args:
            fake: record the pending migrations as applied without running them (for a
                database whose schema already matches, e.g. adopted from another tool).

        Returns:
            The names applied, in order (``[]`` when nothing was pending).

        Raises:
            MigrationError: a file cannot be loaded, an applied file was modified (nothing is
                applied then), the history is inconsistent, or a migration failed (its
                transaction is rolled back; migrations before it stay applied).
            ConfigurationError: pooler mode without ``direct_url``.
        """
        migrations = self.loader.discover()
        order = self.loader.resolve_order()
        done: list[str] = []
        async with migration_session(self.db.config_name, lock_timeout=self.lock_timeout) as conn:
            await self.state.ensure_table()
            applied = await self._applied_checked(migrations)
            pending = [name for name in order if name not in applied]
            for position, name in enumerate(pending, start=1):
                migration = migrations[name]
                self._progress("start", name, position, len(pending))
                await self._apply(conn, migration, fake=fake)
                done.append(name)
                self._progress("done", name, position, len(pending))
                logger.info("  %s: %s", "Faked" if fake else "Applied", name)
        if done:
            logger.info("%s %d migration(s).", "Faked" if fake else "Applied", len(done))
        else:
            logger.info("No pending migrations.")
        return done

    async def _apply(self, conn: Connection, migration: MigrationFile, *, fake: bool) -> None:
        name = migration.name
        if fake:
            await self.state.record_migration(name, migration.checksum)
            return
        if not migration.atomic:
            try:
                await migration.up(self.db)
            except Exception as err:
                raise _failure(name, err, atomic=False) from err
            await self.state.record_migration(name, migration.checksum)
            return
        await conn.control("BEGIN")
        try:
            await migration.up(self.db)
            await self.state.record_migration(name, migration.checksum)
        except BaseException as err:
            await _rollback(conn)
            if not isinstance(err, Exception):
                raise
            raise _failure(name, err, atomic=True) from err
        await conn.control("COMMIT")

    async def rollback(self, steps: int = 1) -> list[str]:
        """Roll back the last ``steps`` applied migrations, newest first (by id).

        Returns:
            The names rolled back, in order (``[]`` when nothing was applied).

        Raises:
            MigrationError: ``steps`` is not a positive integer, a migration's file is missing
                or has no ``down``, or a ``down`` failed (its transaction is rolled back).
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise MigrationError(
                original_error=f"invalid steps {steps!r}",
                message=f"rollback(steps=...) needs a positive integer, got {steps!r}.",
            )
        migrations = self.loader.discover()
        done: list[str] = []
        async with migration_session(self.db.config_name, lock_timeout=self.lock_timeout) as conn:
            await self.state.ensure_table()
            records = await self.state.applied_migrations()
            targets = list(reversed(records))[:steps]
            for position, record in enumerate(targets, start=1):
                migration = migrations.get(record.name)
                if migration is None:
                    raise MigrationError(
                        migration=record.name,
                        original_error="Migration file not found on disk - cannot roll back",
                        message=(
                            f"Migration '{record.name}': Migration file not found on disk - "
                            f"cannot roll back. Restore {record.name}.py in "
                            f"{self.loader.migrations_dir}."
                        ),
                    )
                if migration.down is None:
                    raise MigrationError(
                        migration=record.name,
                        original_error="Migration has no 'down' function - cannot roll back",
                        message=(
                            f"Migration '{record.name}': Migration has no 'down' function - "
                            "cannot roll back. Add 'async def down(db):' to the file."
                        ),
                    )
                if migration.checksum != record.checksum:
                    logger.warning(
                        "Rolling back %s although its file changed since it was applied",
                        record.name,
                    )
                self._progress("start", record.name, position, len(targets))
                await self._revert(conn, migration)
                done.append(record.name)
                self._progress("done", record.name, position, len(targets))
                logger.info("  Rolled back: %s", record.name)
        if done:
            logger.info("Rolled back %d migration(s).", len(done))
        else:
            logger.info("Nothing to roll back.")
        return done

    async def _revert(self, conn: Connection, migration: MigrationFile) -> None:
        down = migration.down
        if down is None:  # checked by rollback(); kept for the type checker
            raise MigrationError(migration=migration.name, original_error="no down function")
        if not migration.atomic:
            try:
                await down(self.db)
            except Exception as err:
                raise _failure(migration.name, err, atomic=False, step="down") from err
            await self.state.unrecord_migration(migration.name)
            return
        await conn.control("BEGIN")
        try:
            await down(self.db)
            await self.state.unrecord_migration(migration.name)
        except BaseException as err:
            await _rollback(conn)
            if not isinstance(err, Exception):
                raise
            raise _failure(migration.name, err, atomic=True, step="down") from err
        await conn.control("COMMIT")

    def _progress(self, event: str, name: str, position: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(event, name, position, total)


async def _rollback(conn: Connection) -> None:
    """ROLLBACK; a connection that cannot even do that is closed (the pool replaces it)."""
    try:
        await conn.control("ROLLBACK")
    except Exception:
        logger.warning("ROLLBACK failed after a migration error; closing the connection")
        conn.terminate()


def _failure(
    name: str, err: Exception, *, atomic: bool, step: str = "up", preview: bool = False
) -> MigrationError:
    if preview:
        outcome = "This was a preview: nothing was sent to the database."
    elif atomic:
        outcome = "It was rolled back: nothing of it was applied."
    else:
        outcome = (
            "It runs outside a transaction (atomic = False), so the statements before the "
            "failing one stay applied; check the database before retrying."
        )
    text = err.message if isinstance(err, ORMException) else str(err)
    return MigrationError(
        migration=name,
        original_error=err,
        message=f"Migration '{name}' failed in {step}(): {type(err).__name__}: {text}. {outcome}",
        details={"original_error": f"{type(err).__name__}: {text}", "step": step},
    )
