"""Testing helpers for code that uses matrx-orm: a recording driver and level-2 database fixtures.

The pytest fixtures (``recording_db``, ``matrx_test_server``, ``matrx_test_database``) come from
:mod:`matrx_orm_core.testing.plugin`, which pytest loads automatically when matrx-orm-core is
installed. Everything here also works without pytest.
"""

from __future__ import annotations

from ._queries import CountedQueries, assert_num_queries, count_queries
from ._server import (
    DEFAULT_ALIAS,
    SCRATCH_PREFIX,
    DatabaseServer,
    create_database,
    drop_database,
    scratch_database,
    server_from_env,
    start_test_server,
)
from .recording import (
    RECORDING_DRIVER_NAME,
    RecordedRow,
    RecordedServerError,
    Recorder,
    RecordingConnection,
    RecordingDriver,
    RecordingPool,
    Responder,
    Result,
    Statement,
    recording_database,
)

__all__ = [
    "CountedQueries",
    "DEFAULT_ALIAS",
    "RECORDING_DRIVER_NAME",
    "SCRATCH_PREFIX",
    "DatabaseServer",
    "RecordedRow",
    "RecordedServerError",
    "Recorder",
    "RecordingConnection",
    "RecordingDriver",
    "RecordingPool",
    "Responder",
    "Result",
    "Statement",
    "assert_num_queries",
    "count_queries",
    "create_database",
    "drop_database",
    "recording_database",
    "scratch_database",
    "server_from_env",
    "start_test_server",
]
