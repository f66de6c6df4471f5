"""One direct session connection for a migration run, holding the migration advisory lock.

``migrate`` and ``rollback`` need a real session: a session-level advisory lock, and each
migration's statements plus its tracking row in one transaction on one connection. Behind a
transaction pooler (PgBouncer, Supabase's pooler) consecutive statements may land on different
server sessions, so a lock would protect nothing; there the run uses the configuration's
``direct_url`` or refuses.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from matrx_orm_core import AsyncDatabaseManager
from matrx_orm_core._execution import current_connection
from matrx_orm_core.config import get_config
from matrx_orm_core.drivers.base import Connection
from matrx_orm_core.exceptions import ConfigurationError, MigrationError
from matrx_orm_core.transaction import in_transaction

__all__ = ["LOCK_KEY", "migration_session", "routed_to"]

logger = logging.getLogger(__name__)

LOCK_KEY = int.from_bytes(hashlib.sha256(b"matrx_orm_migrations").digest()[:8], "big", signed=True)
"""The bigint key of the session advisory lock ``migrate``/``rollback`` hold (per database)."""


@contextmanager
def routed_to(database: str, connection: Connection) -> Iterator[None]:
    """Send this task's statements for ``database`` through the execution layer to
    ``connection`` for the duration of the block (other databases keep their routing)."""
    routed = dict(current_connection.get() or {})
    routed[database] = connection
    token = current_connection.set(routed)
    try:
        yield
    finally:
        current_connection.reset(token)


@asynccontextmanager
async def _direct_connection(database: str) -> AsyncIterator[Connection]:
    config = get_config(database)
    if not config.uses_pooler:
        async with AsyncDatabaseManager.get_connection(database) as connection:
            yield connection
        return
    direct = config.direct_config()
    if direct is None:
        raise ConfigurationError(
            config_key="direct_url",
            reason=(
                f"Database {database!r} is reached through a transaction pooler, and migrations "
                "need a direct session connection (for the advisory lock and one transaction "
                "per migration). Set direct_url= on its DatabaseProjectConfig (for Supabase: "
                "the 'Direct connection' string on port 5432), or pooler=False if this is not "
                "a pooler."
            ),
        )
    driver = AsyncDatabaseManager.driver_for(database)
    pool = await driver.create_pool(direct)
    try:
        async with pool.acquire(timeout=direct.connect_timeout) as connection:
            yield connection
    finally:
        await pool.close()


@asynccontextmanager
async def migration_session(
    database: str, *, lock_timeout: float | None = None
) -> AsyncIterator[Connection]:
    """Borrow a direct session connection, route ``database``'s statements to it, lock.

    Inside the block every statement for ``database`` sent through the ORM's execution layer
    (``MigrationDB`` included) runs on the yielded connection, in autocommit unless the caller
    sends ``BEGIN``. The session advisory lock :data:`LOCK_KEY` is held for the whole block, so
    a second ``migrate`` on the same database waits until this one has finished.

    Args:
        database: a registered database name or alias.
        lock_timeout: seconds to wait for another run's lock; ``None`` waits as long as it
            takes.

    Raises:
        MigrationError: called inside a ``transaction()`` on ``database``, or the lock was not
            obtained within ``lock_timeout``.
        ConfigurationError: pooler mode without ``direct_url``.
    """
    if in_transaction(database):
        raise MigrationError(
            original_error="called inside transaction()",
            message=(
                f"Migrations on database {database!r} cannot run inside a transaction() block: "
                "each migration commits on its own. Call migrate()/rollback() outside it."
            ),
        )
    async with _direct_connection(database) as connection:
        with routed_to(database, connection):
            await _lock(connection, database, lock_timeout)
            try:
                yield connection
            finally:
                await _unlock(connection)


async def _lock(connection: Connection, database: str, lock_timeout: float | None) -> None:
    got = await connection.fetch_val("SELECT pg_try_advisory_lock($1)", (LOCK_KEY,))
    if got:
        return
    logger.info(
        "Another migration run holds the lock on database %r; waiting for it to finish", database
    )
    try:
        await connection.fetch_val("SELECT pg_advisory_lock($1)", (LOCK_KEY,), timeout=lock_timeout)
    except (asyncio.TimeoutError, TimeoutError) as err:
        raise MigrationError(
            original_error=err,
            message=(
                f"Another migration run kept the lock on database {database!r} for more than "
                f"{lock_timeout} seconds. Wait for it to finish, or raise lock_timeout."
            ),
        ) from err


async def _unlock(connection: Connection) -> None:
    """Release the lock; a broken session needs nothing (its locks died with it)."""
    try:
        if connection.is_in_transaction():
            await connection.control("ROLLBACK")
        await connection.fetch_val("SELECT pg_advisory_unlock($1)", (LOCK_KEY,))
    except Exception:
        logger.debug("Could not release the migration lock; the session is gone", exc_info=True)
