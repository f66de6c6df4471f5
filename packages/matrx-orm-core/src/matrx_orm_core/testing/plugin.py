"""The matrx-orm pytest plugin: ``recording_db``, ``matrx_test_server``, ``matrx_test_database``.

Installed with matrx-orm-core (entry point ``pytest11``), so it loads in every pytest run. At
import it touches nothing: no driver, no server, no pytest-asyncio import. Each fixture does its
work only when a test requests it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from matrx_orm_core.config import DatabaseProjectConfig

    from ._server import DatabaseServer
    from .recording import Recorder

__all__ = [
    "matrx_test_database",
    "matrx_test_server",
    "pytest_fixture_setup",
    "pytest_sessionfinish",
    "recording_db",
]

logger = logging.getLogger(__name__)

_CONNECTIONS_MODULE = "matrx_orm_core.connections"
_LOOP_MODULE = "matrx_orm_core._loop"

# pytest-asyncio (>= 0.24) provides one asyncio.Runner fixture per loop scope under these names.
_RUNNER_FIXTURE = re.compile(r"^_(function|class|module|package|session)_scoped_runner$")


@pytest.fixture
def recording_db() -> Iterator[Recorder]:
    """A database project named ``"recorded"`` whose statements are recorded, not executed.

    Models with ``_database = "recorded"`` (or any call naming that database) send their SQL
    to the yielded :class:`~matrx_orm_core.testing.Recorder`; queue answers with
    ``recorder.add_result(rows=[...], tag=...)`` and assert on ``recorder.statements``.
    """
    from .recording import recording_database

    with recording_database("recorded") as recorder:
        yield recorder


@pytest.fixture(scope="session")
def matrx_test_server() -> Iterator[DatabaseServer]:
    """The level-2 PostgreSQL server for this test session.

    ``MATRX_TEST_DB_HOST`` (with ``_PORT``, ``_USER``, ``_PASSWORD``, ``_NAME``) when set,
    otherwise an embedded server started now and stopped at the end of the session. Never skips:
    without either, the fixture errors with the fix in the message.
    """
    from ._server import start_test_server

    server = start_test_server()
    try:
        yield server
    finally:
        if server.embedded is not None:
            server.embedded.stop()


@pytest.fixture(scope="session")
def matrx_test_database(
    matrx_test_server: DatabaseServer,
) -> Iterator[DatabaseProjectConfig]:
    """A fresh, empty database ``matrx_test_<hex>`` registered as a project for the session.

    The project name and alias are ``$MATRX_TEST_DB_ALIAS`` or ``"matrx_test"``. At the end the
    pools are closed, the database is dropped (``WITH (FORCE)``) and the project unregistered.
    """
    from ._server import scratch_database

    with scratch_database(matrx_test_server) as config:
        yield config


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: Any
) -> Generator[None, Any, Any]:
    """Close a pytest-asyncio loop's ORM pools just before that loop is closed.

    Pools belong to one event loop. pytest-asyncio closes each scoped loop when its runner
    fixture is finalised; the finaliser added here runs first (finalisers run last-in first-out),
    while the loop can still run the graceful close.
    """
    value = yield
    if _RUNNER_FIXTURE.match(fixturedef.argname) and hasattr(value, "get_loop"):
        fixturedef.addfinalizer(lambda: _close_runner_pools(value))
    return value


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the ORM's sync loop and terminate pools of loops that ended without closing them."""
    if _LOOP_MODULE in sys.modules:
        from matrx_orm_core import _loop

        _loop.shutdown()
    if _CONNECTIONS_MODULE in sys.modules:
        from matrx_orm_core.connections import AsyncDatabaseManager

        if AsyncDatabaseManager.pool_count():
            # Pools of loops that are closed by now can only be terminated; cleanup() does that.
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(AsyncDatabaseManager.cleanup())
            finally:
                loop.close()


def _close_runner_pools(runner: Any) -> None:
    if _CONNECTIONS_MODULE not in sys.modules:
        return  # no pool was ever opened in this process
    from matrx_orm_core.connections import AsyncDatabaseManager

    if not AsyncDatabaseManager.pool_count():
        return
    loop: asyncio.AbstractEventLoop = runner.get_loop()
    if loop.is_closed() or loop.is_running():
        return
    runner.run(AsyncDatabaseManager.close_pools_for_loop())
