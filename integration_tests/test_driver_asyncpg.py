"""The asyncpg driver, AsyncDatabaseManager and _execution against a live PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from matrx_orm_core import _execution
from matrx_orm_core.config import DatabaseProjectConfig, DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.drivers import get_driver
from matrx_orm_core.drivers.asyncpg import AsyncpgConnection, AsyncpgPool
from matrx_orm_core.embedded import start_embedded_server
from matrx_orm_core.exceptions import (
    ConnectionError,
    DatabaseError,
    IntegrityError,
    ParameterError,
    QueryError,
)
from matrx_orm_core.testing import DatabaseServer, create_database, drop_database

SECRET = "s3cret-Pa55word"
LOOPBACK = "127.0.0.1"
CLOSED_PORT = 1  # tcpmux: nothing listens there, and only root could bind it
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


async def _admin(server: DatabaseServer) -> asyncpg.Connection[asyncpg.Record]:
    return await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.admin_database,
    )


@pytest.fixture(scope="module")
def database_name(matrx_test_server: DatabaseServer) -> Iterator[str]:
    """This module's own database on the session's test server, dropped afterwards."""
    name = create_database(matrx_test_server)
    try:
        yield name
    finally:
        drop_database(matrx_test_server, name)


def _unregister(*names: str) -> None:
    # Only this module's names: session fixtures of other tests keep their registrations.
    for name in names:
        if name in DatabaseRegistry.get_all_database_project_names():
            DatabaseRegistry.unregister(name)


def _config(
    server: DatabaseServer, database_name: str, name: str = "drv_live", **overrides: Any
) -> DatabaseProjectConfig:
    values: dict[str, Any] = {"min_size": 1, "max_size": 4}
    values.update(overrides)
    return server.config(name, database=database_name, alias=name, **values)


@pytest.fixture
def app_name() -> str:
    return f"matrx-drv-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def registered(
    matrx_test_server: DatabaseServer, database_name: str, app_name: str
) -> Iterator[str]:
    _unregister("drv_live", "drv_short")
    register_database(
        _config(matrx_test_server, database_name, server_settings={"application_name": app_name})
    )
    yield "drv_live"
    _unregister("drv_live", "drv_short")


@pytest.fixture
async def db(registered: str) -> AsyncIterator[str]:
    # Start from no pool on this loop, even when the loop is shared with earlier tests (a
    # session-scoped loop keeps their pools open); they reopen on their next query.
    await AsyncDatabaseManager.close_all_pools()
    yield registered
    await AsyncDatabaseManager.close_all_pools()


async def _sessions(server: DatabaseServer, app_name: str) -> int:
    admin = await _admin(server)
    try:
        count: int = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app_name
        )
        return count
    finally:
        await admin.close()


# --- pools -------------------------------------------------------------------------------------


def _pools_of_open_loops() -> int:
    """Terminate closed loops' leftover pools; return how many pools other open loops keep.

    Earlier tests' loops (the session loop, the sync-twin loop) may keep pools open, so a
    synchronous test counts relative to them and passes in any order.
    """
    asyncio.run(AsyncDatabaseManager.close_all_pools())
    return AsyncDatabaseManager.pool_count()


async def test_pool_is_created_lazily_and_reused(db: str) -> None:
    others = AsyncDatabaseManager.pool_count()  # pools other loops (sync twins) keep open
    assert AsyncDatabaseManager.cached_pool(db) is None
    pool = await AsyncDatabaseManager.get_pool(db)
    assert isinstance(pool, AsyncpgPool)
    assert await AsyncDatabaseManager.get_pool(db) is pool
    assert AsyncDatabaseManager.pool_count() == others + 1
    first: Any = await AsyncDatabaseManager.execute_query(db, "SELECT $1::int + 1 AS n", 41)
    assert first == [(42,)]
    rows = await AsyncDatabaseManager.execute_query(db, "SELECT 1 AS a, 'x' AS b")
    assert dict(rows[0].items()) == {"a": 1, "b": "x"}


async def test_concurrent_first_use_creates_one_pool(
    matrx_test_server: DatabaseServer, db: str, app_name: str
) -> None:
    others = AsyncDatabaseManager.pool_count()
    pools = await asyncio.gather(*(AsyncDatabaseManager.get_pool(db) for _ in range(8)))
    assert len({id(pool) for pool in pools}) == 1
    assert AsyncDatabaseManager.pool_count() == others + 1
    assert (
        await _sessions(matrx_test_server, app_name) == 1
    )  # min_size=1: one pool opened one connection


def test_two_loops_get_two_pools(
    matrx_test_server: DatabaseServer, registered: str, app_name: str
) -> None:
    others = _pools_of_open_loops()
    loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]
    try:
        pools = [
            loop.run_until_complete(AsyncDatabaseManager.get_pool(registered)) for loop in loops
        ]
        assert pools[0] is not pools[1]
        assert AsyncDatabaseManager.pool_count() == others + 2
        for loop in loops:
            value = loop.run_until_complete(_execution.fetch_val(registered, "SELECT 7"))
            assert value == 7
        assert asyncio.run(_sessions(matrx_test_server, app_name)) == 2
        for loop in loops:
            loop.run_until_complete(AsyncDatabaseManager.close_pools_for_loop())
        assert AsyncDatabaseManager.pool_count() == others
    finally:
        for loop in loops:
            loop.close()
    assert asyncio.run(_sessions(matrx_test_server, app_name)) == 0


def test_pools_of_closed_loops_are_terminated_without_resource_warning(
    matrx_test_server: DatabaseServer, registered: str, app_name: str
) -> None:
    others = _pools_of_open_loops()
    unraisable: list[Any] = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        old_loop = asyncio.new_event_loop()
        old_loop.run_until_complete(_execution.fetch_val(registered, "SELECT 1"))
        old_loop.close()  # its pool was never closed
        new_loop = asyncio.new_event_loop()
        try:
            new_loop.run_until_complete(AsyncDatabaseManager.close_all_pools())
        finally:
            new_loop.close()
        del old_loop, new_loop
        gc.collect()
    finally:
        sys.unraisablehook = old_hook
    assert AsyncDatabaseManager.pool_count() == others
    assert [str(u.exc_value) for u in unraisable] == []

    async def wait_gone() -> int:
        for _ in range(50):
            if await _sessions(matrx_test_server, app_name) == 0:
                return 0
            await asyncio.sleep(0.05)
        return await _sessions(matrx_test_server, app_name)

    assert asyncio.run(wait_gone()) == 0


async def test_close_all_pools_leaves_no_open_connection(
    matrx_test_server: DatabaseServer, db: str, app_name: str
) -> None:
    await asyncio.gather(*(_execution.fetch_val(db, "SELECT pg_sleep(0.05)") for _ in range(4)))
    assert await _sessions(matrx_test_server, app_name) >= 2
    others = AsyncDatabaseManager.pool_count() - 1  # this loop's pool for `db`
    await AsyncDatabaseManager.close_all_pools()
    assert AsyncDatabaseManager.pool_count() == others
    assert await _sessions(matrx_test_server, app_name) == 0


async def test_default_application_name(
    matrx_test_server: DatabaseServer, database_name: str
) -> None:
    _unregister("drv_plain")
    register_database(_config(matrx_test_server, database_name, name="drv_plain"))
    try:
        assert await _execution.fetch_val(
            "drv_plain", "SELECT current_setting('application_name')"
        ) == ("matrx-orm")
    finally:
        await AsyncDatabaseManager.close_all_pools()
        _unregister("drv_plain")


# --- codecs ------------------------------------------------------------------------------------


async def test_codecs_uuid_json_jsonb_timestamptz(db: str) -> None:
    await _execution.execute(
        db,
        "DROP TABLE IF EXISTS codec; CREATE TABLE codec (id uuid PRIMARY KEY, j json, "
        "jb jsonb, at timestamptz, ids uuid[])",
    )
    first, second = uuid.uuid4(), uuid.uuid4()
    sql = "INSERT INTO codec (id, j, jb, at, ids) VALUES ($1, $2, $3, $4, $5)"
    when = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    await _execution.execute(db, sql, (str(first), {"a": [1, None]}, "hello", when, [second]))
    await _execution.execute(db, sql, (second, [1, 2], {"k": "v"}, when, [str(first)]))
    rows = await _execution.fetch(db, "SELECT * FROM codec ORDER BY at, id = $1", (second,))
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {str(first), str(second)}
    assert all(type(key) is str for key in by_id)
    assert by_id[str(first)]["j"] == {"a": [1, None]}
    assert by_id[str(first)]["jb"] == "hello"
    assert by_id[str(second)]["j"] == [1, 2]
    assert by_id[str(second)]["jb"] == {"k": "v"}
    assert by_id[str(first)]["ids"] == [str(second)]
    stored = await _execution.fetch_val(db, "SELECT jb::text FROM codec WHERE id = $1", (first,))
    assert stored == '"hello"'
    assert json.loads(stored) == "hello"
    async with AsyncDatabaseManager.get_connection(db) as conn:
        await conn.execute("SET TIME ZONE 'America/New_York'")
        at = await conn.fetch_val("SELECT at FROM codec WHERE id = $1", [first])
    assert at == dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc)
    assert at.tzinfo == dt.timezone.utc
    with pytest.raises(ParameterError):
        await _execution.fetch_val(db, "SELECT $1::uuid", (12,))
    with pytest.raises(ParameterError):
        await _execution.fetch_val(db, "SELECT $1::uuid", ("not-a-uuid",))


# --- statements --------------------------------------------------------------------------------


async def test_multi_statement_text_and_command_tags(db: str) -> None:
    tag = await _execution.execute(
        db, "DROP TABLE IF EXISTS tags; CREATE TABLE tags (n int); INSERT INTO tags VALUES (1)"
    )
    assert tag == "INSERT 0 1"
    assert await _execution.execute(db, "INSERT INTO tags VALUES ($1), ($2)", (2, 3)) == (
        "INSERT 0 2"
    )
    assert await _execution.execute(db, "UPDATE tags SET n = n + 10 WHERE n > $1", (1,)) == (
        "UPDATE 2"
    )
    tag = await _execution.execute(db, "DELETE FROM tags WHERE n = $1", (99,))
    assert (tag, _execution.rows_affected(tag)) == ("DELETE 0", 0)
    assert await _execution.execute(db, "SELECT * FROM tags") == "SELECT 3"
    await _execution.execute_many(db, "INSERT INTO tags VALUES ($1)", [(i,) for i in range(5)])
    assert await _execution.fetch_val(db, "SELECT count(*) FROM tags") == 8
    assert await _execution.fetch_one(db, "SELECT n FROM tags WHERE n < 0") is None


async def test_integrity_errors_carry_kind_constraint_table_and_column(db: str) -> None:
    await _execution.execute(
        db,
        "DROP TABLE IF EXISTS child; DROP TABLE IF EXISTS parent;"
        "CREATE TABLE parent (id int PRIMARY KEY, email text UNIQUE, name text NOT NULL,"
        " age int CONSTRAINT parent_age_check CHECK (age >= 0));"
        "CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id));"
        "INSERT INTO parent VALUES (1, 'a@b.c', 'a', 1)",
    )
    insert = "INSERT INTO parent VALUES ($1, $2, $3, $4)"
    cases: list[tuple[str, tuple[Any, ...], str, str | None, str | None]] = [
        (insert, (2, "a@b.c", "b", 1), "unique", "parent_email_key", "email"),
        (insert, (3, "x@y.z", None, 1), "not_null", None, "name"),
        (insert, (4, "q@r.s", "c", -1), "check", "parent_age_check", None),
        (
            "INSERT INTO child VALUES ($1, $2)",
            (1, 99),
            "foreign_key",
            "child_parent_id_fkey",
            "parent_id",
        ),
    ]
    for sql, params, kind, constraint_name, column in cases:
        with pytest.raises(IntegrityError) as info:
            await _execution.execute(db, sql, params, model="Parent", operation="create")
        exc = info.value
        assert exc.constraint == kind
        assert exc.constraint_name == constraint_name
        assert exc.table == ("child" if kind == "foreign_key" else "parent")
        assert exc.column == column
        assert exc.model == "Parent"
        assert exc.details["params"] == list(params)
        assert isinstance(exc.__cause__, asyncpg.IntegrityConstraintViolationError)
        assert "a@b.c" not in str(exc)


async def test_syntax_and_missing_table_are_query_errors(db: str) -> None:
    with pytest.raises(QueryError, match="Invalid SQL syntax") as info:
        await _execution.fetch(db, "SELEC 1")
    assert info.value.details["sql"] == "SELEC 1"
    assert isinstance(info.value.__cause__, asyncpg.PostgresSyntaxError)
    with pytest.raises(QueryError, match='relation "no_such_table" does not exist'):
        await _execution.fetch(db, "SELECT * FROM no_such_table")


async def test_statement_timeouts_are_database_errors(
    matrx_test_server: DatabaseServer, database_name: str, db: str
) -> None:
    with pytest.raises(DatabaseError, match=r"Statement timed out after 0\.2s"):
        await _execution.fetch_val(db, "SELECT pg_sleep(5)", timeout=0.2)
    assert await _execution.fetch_val(db, "SELECT 1") == 1  # the pool recovered
    register_database(
        _config(
            matrx_test_server,
            database_name,
            name="drv_short",
            server_settings={"statement_timeout": "100"},
        )
    )
    with pytest.raises(DatabaseError, match="Statement cancelled: canceling statement") as info:
        await _execution.fetch_val("drv_short", "SELECT pg_sleep(5)")
    assert type(info.value) is DatabaseError
    assert info.value.details["sqlstate"] == "57014"


# --- connecting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "action"),
    [("create_pool", "Connecting to"), ("connect", "Opening a session to")],
)
async def test_unreachable_port_is_connection_error_without_password(
    matrx_test_server: DatabaseServer, database_name: str, opening: str, action: str
) -> None:
    # Whatever the test server is, nothing listens on this loopback port. A pool and a
    # dedicated session (the cache's listener) are opened through one error translation.
    config = _config(
        matrx_test_server,
        database_name,
        host=LOOPBACK,
        port=CLOSED_PORT,
        password=SECRET,
        connect_timeout=3.0,
    )
    with pytest.raises(ConnectionError) as info:
        await getattr(get_driver(), opening)(config)
    text = f"{info.value}{info.value!r}{info.value.details}{info.value.message}"
    assert SECRET not in text
    assert info.value.message.startswith(f"{action} postgresql://")
    assert "127.0.0.1" in info.value.message or config.host in info.value.message


async def test_refused_login_is_connection_error_without_password(
    matrx_test_server: DatabaseServer, database_name: str
) -> None:
    # The local server trusts every login, so refuse one it cannot satisfy: an unknown role.
    config = _config(matrx_test_server, database_name, user="no_such_role_x", password=SECRET)
    with pytest.raises(ConnectionError) as info:
        await get_driver().create_pool(config)
    text = f"{info.value}{info.value!r}{info.value.details}"
    assert SECRET not in text
    assert 'role "no_such_role_x" does not exist' in info.value.message


async def test_missing_database_is_connection_error(matrx_test_server: DatabaseServer) -> None:
    config = _config(matrx_test_server, "matrx_drv_does_not_exist", password=SECRET)
    with pytest.raises(ConnectionError, match="does not exist") as info:
        await get_driver().create_pool(config)
    assert SECRET not in str(info.value)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass  # the other side went away; the handler closes both ends
    finally:
        if writer.can_write_eof() and not writer.is_closing():
            with contextlib.suppress(OSError):
                writer.write_eof()


class _TcpToUnixSocket:
    """Listens on 127.0.0.1 and forwards every connection to a server's Unix socket.

    The embedded server listens only on a Unix socket, where a client never negotiates SSL. Seen
    through this relay it is a plain TCP server: the client sends its SSLRequest over TCP and
    PostgreSQL itself answers it (with "no", as it does on a Unix socket).
    """

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.port = 0
        self._listener: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> _TcpToUnixSocket:
        self._listener = await asyncio.start_server(self._relay, LOOPBACK, 0)
        self.port = int(self._listener.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._listener is not None
        self._listener.close()
        await self._listener.wait_closed()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        writers = [writer]
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.socket_path)
            writers.append(upstream_writer)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            for each in writers:
                each.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await each.wait_closed()
            self._handlers.discard(task)


@pytest.fixture
async def plain_tcp_server(
    matrx_test_server: DatabaseServer,
) -> AsyncIterator[tuple[str, int]]:
    """``(host, port)`` of the test server over TCP, where clients ask it for SSL.

    A TCP server is used as it is; a Unix-socket server (the embedded one) is reached through a
    loopback relay to its socket.
    """
    if not matrx_test_server.host.startswith("/"):
        yield matrx_test_server.host, matrx_test_server.port
        return
    socket_path = os.path.join(matrx_test_server.host, f".s.PGSQL.{matrx_test_server.port}")
    async with _TcpToUnixSocket(socket_path) as relay:
        yield LOOPBACK, relay.port


async def test_ssl_prefer_connects_to_a_plain_server(
    matrx_test_server: DatabaseServer, database_name: str, plain_tcp_server: tuple[str, int]
) -> None:
    host, port = plain_tcp_server
    config = _config(matrx_test_server, database_name, host=host, port=port, ssl="prefer")
    pool = await get_driver().create_pool(config)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetch_val("SELECT 1") == 1
    finally:
        await pool.close()


async def test_ssl_require_against_a_plain_server_is_connection_error(
    matrx_test_server: DatabaseServer, database_name: str, plain_tcp_server: tuple[str, int]
) -> None:
    host, port = plain_tcp_server
    config = _config(
        matrx_test_server, database_name, host=host, port=port, ssl="require", password=SECRET
    )
    with pytest.raises(ConnectionError, match="rejected SSL upgrade") as info:
        await get_driver().create_pool(config)
    assert SECRET not in str(info.value)
    assert "sslmode=require" in info.value.message


@pytest.fixture
def socket_config(
    matrx_test_server: DatabaseServer, database_name: str
) -> Iterator[DatabaseProjectConfig]:
    """A configuration whose host is a Unix-socket directory, on a server that listens there.

    The test server's own socket when it has one: the embedded server's, or the local socket
    directory (``$MATRX_TEST_DB_SOCKET_DIR``, default ``/var/run/postgresql``) of a server on
    this machine's loopback. Otherwise (a remote or containerised server) an embedded server
    started for this test alone.
    """
    server = matrx_test_server
    if server.host.startswith("/"):
        yield _config(server, database_name)
        return
    local_dir = os.environ.get("MATRX_TEST_DB_SOCKET_DIR", "/var/run/postgresql")
    if server.host in LOCAL_HOSTS and os.path.exists(
        os.path.join(local_dir, f".s.PGSQL.{server.port}")
    ):
        yield _config(server, database_name, host=local_dir)
        return
    embedded = start_embedded_server()
    try:
        yield embedded.config("drv_live", alias="drv_live", min_size=1, max_size=4)
    finally:
        embedded.stop()


async def test_unix_socket_directory_host(socket_config: DatabaseProjectConfig) -> None:
    assert socket_config.host.startswith("/")
    pool = await get_driver().create_pool(socket_config)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetch_val("SELECT inet_server_addr()") is None  # not TCP
    finally:
        await pool.close()


async def test_pooler_mode_uses_no_named_prepared_statements(
    matrx_test_server: DatabaseServer, database_name: str
) -> None:
    sql = "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '__asyncpg%'"
    for pooler, expect_named in ((True, False), (False, True)):
        pool = await get_driver().create_pool(
            _config(matrx_test_server, database_name, pooler=pooler)
        )
        try:
            async with pool.acquire() as conn:
                assert isinstance(conn, AsyncpgConnection)
                settings = conn.raw._config  # type: ignore[union-attr]
                assert (settings.statement_cache_size == 0) is pooler
                for n in range(3):
                    assert await conn.fetch_val("SELECT $1::int * 2", [n]) == n * 2
                named = await conn.fetch_val(sql)
                assert (named > 0) is expect_named
        finally:
            await pool.close()


# --- connections, transactions, session state --------------------------------------------------


async def test_no_session_state_leaks_between_borrowers(
    matrx_test_server: DatabaseServer, database_name: str
) -> None:
    pool = await get_driver().create_pool(
        _config(matrx_test_server, database_name, min_size=1, max_size=1)
    )
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetch_val("SELECT pg_backend_pid()")
            await conn.execute(
                "SET search_path TO pg_catalog; SET statement_timeout = 1234;"
                "LISTEN leak_channel; SELECT pg_advisory_lock(42);"
                "CREATE TEMP TABLE leak_tmp (x int)"
            )
        async with pool.acquire() as conn:
            assert await conn.fetch_val("SELECT pg_backend_pid()") == pid  # the same session
            assert await conn.fetch_val("SHOW statement_timeout") == "0"
            assert await conn.fetch_val("SHOW search_path") == '"$user", public'
            assert await conn.fetch_val("SELECT count(*) FROM pg_listening_channels()") == 0
            locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1"
            assert await conn.fetch_val(locks, [pid]) == 0
            assert await conn.fetch_val("SELECT to_regclass('pg_temp.leak_tmp')") is None
    finally:
        await pool.close()


async def test_acquire_without_reset_sends_no_reset_query(
    matrx_test_server: DatabaseServer, database_name: str
) -> None:
    # Evidence that reset=False really skips the round trip: a setting survives that release
    # (the ORM only asks for this after its own single statements, which set nothing).
    pool = await get_driver().create_pool(
        _config(matrx_test_server, database_name, min_size=1, max_size=1)
    )
    try:
        async with pool.acquire(reset=False) as conn:
            await conn.execute("SET statement_timeout = 4321")
        async with pool.acquire() as conn:
            assert await conn.fetch_val("SHOW statement_timeout") == "4321ms"
        async with pool.acquire() as conn:
            assert await conn.fetch_val("SHOW statement_timeout") == "0"
    finally:
        await pool.close()


async def test_transaction_and_current_connection_routing(db: str) -> None:
    await _execution.execute(db, "DROP TABLE IF EXISTS tx; CREATE TABLE tx (n int)")
    async with AsyncDatabaseManager.get_connection(db) as conn:
        assert conn.is_in_transaction() is False
        transaction = conn.transaction()
        await transaction.__aenter__()
        token = _execution.current_connection.set({db: conn})
        try:
            await _execution.execute(db, "INSERT INTO tx VALUES ($1)", (1,))
            assert conn.is_in_transaction() is True
            # routed to the transaction's connection: the uncommitted row is visible
            assert await _execution.fetch_val(db, "SELECT count(*) FROM tx") == 1
        finally:
            _execution.current_connection.reset(token)
        # without the routing, another pooled connection does not see it
        assert await _execution.fetch_val(db, "SELECT count(*) FROM tx") == 0
        await transaction.__aexit__(RuntimeError, RuntimeError("roll back"), None)
        assert conn.is_in_transaction() is False
    assert await _execution.fetch_val(db, "SELECT count(*) FROM tx") == 0


async def test_stream_uses_a_server_side_cursor(db: str) -> None:
    driver = get_driver()
    async with AsyncDatabaseManager.get_connection(db) as conn, conn.transaction():
        values = [
            row["n"]
            async for row in driver.stream(
                conn, "SELECT generate_series(1, $1) AS n", [25], prefetch=10
            )
        ]
    assert values == list(range(1, 26))


async def test_listen_receives_notifications(db: str) -> None:
    received: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def handler(channel: str, payload: str) -> None:
        await received.put((channel, payload))

    async with AsyncDatabaseManager.get_connection(db) as conn:
        await conn.listen("drv_channel", handler)
        await _execution.execute(db, "SELECT pg_notify($1, $2)", ("drv_channel", "hi"))
        assert await asyncio.wait_for(received.get(), 5) == ("drv_channel", "hi")
        await conn.unlisten("drv_channel", handler)
