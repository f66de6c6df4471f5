"""Driver selection (drivers/__init__.py) and the asyncpg driver's parts that need no server."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from matrx_orm_core import drivers
from matrx_orm_core.config import DatabaseProjectConfig
from matrx_orm_core.drivers import asyncpg as asyncpg_driver
from matrx_orm_core.drivers.asyncpg import (
    APPLICATION_NAME,
    AsyncpgConnection,
    AsyncpgDriver,
    AsyncpgPool,
    init_connection,
    pool_options,
)
from matrx_orm_core.drivers.base import Driver, Row
from matrx_orm_core.exceptions import (
    ConfigurationError,
    ConnectionError,
    DatabaseError,
    FieldError,
    IntegrityError,
    ParameterError,
    QueryError,
    StateError,
)


@pytest.fixture(autouse=True)
def _clean_drivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(drivers.DRIVER_ENV_VAR, raising=False)
    saved = dict(drivers._instances)
    drivers._instances.clear()
    yield
    for name in ("fake", "other", "broken"):
        drivers.unregister_driver(name)
    drivers._instances.clear()
    drivers._instances.update(saved)


class _NamedDriver:
    def __init__(self, name: str) -> None:
        self.name = name


def _config(**overrides: Any) -> DatabaseProjectConfig:
    values: dict[str, Any] = {
        "name": "main",
        "host": "db.example.com",
        "port": "5432",
        "database_name": "app",
        "user": "app",
        "password": "hunter2",
        "alias": "main",
    }
    values.update(overrides)
    return DatabaseProjectConfig(**values)


# --- selection ---------------------------------------------------------------------------------


def test_default_driver_is_asyncpg_and_shared() -> None:
    driver = drivers.get_driver()
    assert isinstance(driver, AsyncpgDriver)
    assert driver.name == "asyncpg"
    assert drivers.get_driver("asyncpg") is driver


def test_importing_core_does_not_import_asyncpg_driver_module() -> None:
    # The driver module is imported by get_driver, not by matrx_orm_core itself.
    code = (
        "import sys, matrx_orm_core, matrx_orm_core.connections, matrx_orm_core._execution;"
        "print('asyncpg' in sys.modules, 'matrx_orm_core.drivers.asyncpg' in sys.modules)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_registered_factory_is_called_once() -> None:
    calls: list[int] = []

    def factory() -> Driver:
        calls.append(1)
        return _NamedDriver("fake")  # type: ignore[return-value]

    drivers.register_driver("fake", factory)
    first = drivers.get_driver("fake")
    assert drivers.get_driver("fake") is first
    assert calls == [1]


def test_register_again_replaces_the_instance() -> None:
    drivers.register_driver("fake", lambda: _NamedDriver("one"))  # type: ignore[arg-type,return-value]
    assert drivers.get_driver("fake").name == "one"
    drivers.register_driver("fake", lambda: _NamedDriver("two"))  # type: ignore[arg-type,return-value]
    assert drivers.get_driver("fake").name == "two"


def test_register_empty_name_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="non-empty"):
        drivers.register_driver(" ", AsyncpgDriver)


def test_env_var_overrides_the_configured_name(monkeypatch: pytest.MonkeyPatch) -> None:
    drivers.register_driver("fake", lambda: _NamedDriver("fake"))  # type: ignore[arg-type,return-value]
    monkeypatch.setenv(drivers.DRIVER_ENV_VAR, "fake")
    assert drivers.get_driver("asyncpg").name == "fake"


def test_preference_list_takes_the_first_that_loads() -> None:
    drivers.register_driver("other", lambda: _NamedDriver("other"))  # type: ignore[arg-type,return-value]
    assert drivers.get_driver("nope, other, asyncpg").name == "other"


def test_unknown_driver_lists_every_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Driver:
        raise RuntimeError("no luck")

    # Only this test's drivers: earlier modules may have registered the recording driver.
    monkeypatch.setattr(drivers, "_factories", {})
    monkeypatch.setattr(drivers, "_instances", {})
    drivers.register_driver("broken", broken)
    monkeypatch.setitem(drivers._BUILTIN, "ghost", ("matrx_orm_core.drivers._no_such", "ghostpg"))
    monkeypatch.setenv(drivers.DRIVER_ENV_VAR, "nope,broken,ghost")
    with pytest.raises(ConfigurationError) as info:
        drivers.get_driver()
    message = info.value.message
    assert "$MATRX_ORM_DRIVER='nope,broken,ghost'" in message
    assert "nope: unknown driver (known drivers: asyncpg, broken, ghost)" in message
    assert "broken: RuntimeError: no luck" in message
    assert "ghost: import failed (No module named 'matrx_orm_core.drivers._no_such')" in message
    assert "`pip install ghostpg`" in message


def test_unknown_configured_driver_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match=r"driver='psycopg2'"):
        drivers.get_driver("psycopg2")


# --- pool settings -----------------------------------------------------------------------------


def test_pool_options_from_config() -> None:
    options = pool_options(_config(min_size=2, max_size=7, command_timeout=3.5))
    assert options == {
        "host": "db.example.com",
        "port": 5432,
        "user": "app",
        "password": "hunter2",
        "database": "app",
        "min_size": 2,
        "max_size": 7,
        "command_timeout": 3.5,
        "ssl": "prefer",
        "timeout": 10.0,
        "server_settings": {"application_name": APPLICATION_NAME},
        "init": init_connection,
        "reset": asyncpg_driver._reset_connection,
    }


def test_statement_cache_default_is_asyncpgs() -> None:
    assert "statement_cache_size" not in pool_options(_config())
    assert pool_options(_config(statement_cache_size=50))["statement_cache_size"] == 50


def test_pooler_turns_off_the_statement_cache() -> None:
    assert pool_options(_config(pooler=True))["statement_cache_size"] == 0
    # an explicit size wins (PgBouncer >= 1.21 supports prepared statements)
    assert pool_options(_config(pooler=True, statement_cache_size=50))["statement_cache_size"] == 50
    detected = _config(host="aws-0-eu.pooler.supabase.com", port="6543")
    assert pool_options(detected)["statement_cache_size"] == 0


def test_server_settings_keep_a_user_application_name() -> None:
    options = pool_options(_config(server_settings={"application_name": "mine", "jit": "off"}))
    assert options["server_settings"] == {"application_name": "mine", "jit": "off"}


def test_empty_password_and_unix_socket_host() -> None:
    options = pool_options(_config(host="/var/run/postgresql", password=""))
    assert options["host"] == "/var/run/postgresql"
    assert options["password"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("disable", False), ("require", "require"), ("verify-full", "verify-full"), (True, True)],
)
def test_ssl_values(value: str | bool, expected: str | bool) -> None:
    assert pool_options(_config(ssl=value))["ssl"] == expected


def test_ssl_context_is_passed_through() -> None:
    context = ssl.create_default_context()
    assert pool_options(_config(ssl=context))["ssl"] is context


# --- codecs ------------------------------------------------------------------------------------


def test_uuid_encoder_accepts_str_and_uuid_only() -> None:
    value = uuid.uuid4()
    assert asyncpg_driver._encode_uuid(str(value)) == str(value)
    assert asyncpg_driver._encode_uuid(value) == str(value)
    with pytest.raises(TypeError, match="not int"):
        asyncpg_driver._encode_uuid(5)


def test_json_encoder_makes_a_str_a_json_string() -> None:
    assert asyncpg_driver._encode_json("hello") == '"hello"'
    assert asyncpg_driver._encode_json({"a": [1, None]}) == '{"a": [1, null]}'


class _CodecRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def set_type_codec(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    async def fetchval(self, sql: str) -> Any:
        self.calls.append(("fetchval", {"sql": sql}))
        return None  # no hstore type in this database


async def test_init_connection_sets_uuid_json_and_jsonb_codecs() -> None:
    recorder = _CodecRecorder()
    await init_connection(recorder)  # type: ignore[arg-type]
    # uuid/json/jsonb here; point, money and the hstore lookup from drivers/_codecs.py.
    names = [name for name, _ in recorder.calls]
    assert names == ["uuid", "json", "jsonb", "point", "money", "fetchval"]
    for _name, kwargs in recorder.calls[:3]:
        assert kwargs["schema"] == "pg_catalog"
        assert kwargs["format"] == "text"
    assert recorder.calls[0][1]["decoder"] is str
    assert recorder.calls[1][1]["decoder"] is json.loads


# --- connection adapter ------------------------------------------------------------------------


class _RawRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.listeners: dict[str, Any] = {}

    async def execute(self, sql: str, *args: Any, timeout: float | None = None) -> str:
        self.calls.append(("execute", sql, args, timeout))
        return "UPDATE 3"

    async def fetch(self, sql: str, *args: Any, timeout: float | None = None) -> list[Any]:
        self.calls.append(("fetch", sql, args, timeout))
        return [{"a": 1}]

    async def fetchrow(self, sql: str, *args: Any, timeout: float | None = None) -> Any:
        self.calls.append(("fetchrow", sql, args, timeout))
        return None

    async def fetchval(self, sql: str, *args: Any, timeout: float | None = None) -> Any:
        self.calls.append(("fetchval", sql, args, timeout))
        return 7

    async def executemany(self, sql: str, args: Any, *, timeout: float | None = None) -> None:
        self.calls.append(("executemany", sql, list(args), timeout))

    async def copy_records_to_table(
        self,
        table_name: str,
        *,
        records: Any,
        columns: Any = None,
        schema_name: str | None = None,
        timeout: float | None = None,
    ) -> str:
        copied = [tuple(r) for r in records]
        self.calls.append(("copy", table_name, columns, schema_name, copied, timeout))
        return f"COPY {len(copied)}"

    async def add_listener(self, channel: str, callback: Any) -> None:
        self.listeners[channel] = callback

    async def remove_listener(self, channel: str, callback: Any) -> None:
        assert self.listeners.pop(channel) is callback

    def is_in_transaction(self) -> bool:
        return True


async def test_connection_adapter_forwards_positional_params() -> None:
    raw = _RawRecorder()
    conn = AsyncpgConnection(raw)  # type: ignore[arg-type]
    assert await conn.execute("UPDATE t SET a = $1", (1,), timeout=2.0) == "UPDATE 3"
    rows: Any = await conn.fetch("SELECT $1, $2", [1, "x"])
    assert rows == [{"a": 1}]
    assert await conn.fetch_one("SELECT 1") is None
    assert await conn.fetch_val("SELECT $1", (7,), timeout=1.0) == 7
    await conn.execute_many("INSERT INTO t VALUES ($1)", [(1,), (2,)])
    assert conn.is_in_transaction() is True
    assert raw.calls == [
        ("execute", "UPDATE t SET a = $1", (1,), 2.0),
        ("fetch", "SELECT $1, $2", (1, "x"), None),
        ("fetchrow", "SELECT 1", (), None),
        ("fetchval", "SELECT $1", (7,), 1.0),
        ("executemany", "INSERT INTO t VALUES ($1)", [(1,), (2,)], None),
    ]


async def test_copy_records_passes_plain_names_to_asyncpgs_copy() -> None:
    raw = _RawRecorder()
    conn = AsyncpgConnection(raw)  # type: ignore[arg-type]
    tag = await conn.copy_records(
        'we"ird', ("a", "b c"), [(1, "x"), [2, "y"]], schema="s", timeout=3.0
    )
    assert tag == "COPY 2"
    # asyncpg quotes the names itself (doubling '"', as quote_ident does): they go in plain.
    assert raw.calls == [("copy", 'we"ird', ["a", "b c"], "s", [(1, "x"), (2, "y")], 3.0)]


@pytest.mark.parametrize(
    ("table", "columns", "schema"),
    [("", ("a",), None), ("t", ("a", "x" * 64), None), ("t", ("a",), "bad\x00schema")],
)
async def test_copy_records_rejects_bad_names_before_sending(
    table: str, columns: tuple[str, ...], schema: str | None
) -> None:
    raw = _RawRecorder()
    conn = AsyncpgConnection(raw)  # type: ignore[arg-type]
    with pytest.raises(FieldError):
        await conn.copy_records(table, columns, [(1,) * len(columns)], schema=schema)
    assert raw.calls == []


async def test_listen_wraps_sync_and_async_handlers_and_unlisten_removes() -> None:
    raw = _RawRecorder()
    conn = AsyncpgConnection(raw)  # type: ignore[arg-type]
    seen: list[tuple[str, str]] = []

    def sync_handler(channel: str, payload: str) -> None:
        seen.append((channel, payload))

    async def async_handler(channel: str, payload: str) -> None:
        seen.append((channel.upper(), payload))

    await conn.listen("a", sync_handler)
    await raw.listeners["a"](None, 1, "a", "p1")
    await conn.unlisten("a", sync_handler)
    await conn.listen("b", async_handler)
    await raw.listeners["b"](None, 1, "b", "p2")
    await conn.unlisten("b", async_handler)
    await conn.unlisten("b", async_handler)  # unknown handler: ignored
    assert seen == [("a", "p1"), ("B", "p2")]
    assert raw.listeners == {}


async def test_control_and_terminate_reach_the_raw_connection() -> None:
    raw = _RawRecorder()
    terminated: list[bool] = []
    raw.terminate = lambda: terminated.append(True)  # type: ignore[attr-defined]
    conn = AsyncpgConnection(raw)  # type: ignore[arg-type]
    await conn.control('SAVEPOINT "sp_1"')
    conn.terminate()
    assert raw.calls == [("execute", 'SAVEPOINT "sp_1"', (), None)]
    assert terminated == [True]


class _ResetTarget(_RawRecorder):
    """A raw connection as the pool's reset callable sees it."""

    def get_reset_query(self) -> str:
        return "RESET ALL;"


async def test_reset_runs_unless_the_borrower_opted_out() -> None:
    counts = asyncpg_driver._RESET_COUNTS
    before = dict(counts)
    full, skipped = _ResetTarget(), _ResetTarget()
    asyncpg_driver._SKIP_RESET.add(skipped)
    await asyncpg_driver._reset_connection(full)  # type: ignore[arg-type]
    await asyncpg_driver._reset_connection(skipped)  # type: ignore[arg-type]
    assert full.calls == [("execute", "RESET ALL;\nDISCARD TEMP;", (), None)]
    assert skipped.calls == []
    assert skipped not in asyncpg_driver._SKIP_RESET  # one release only
    await asyncpg_driver._reset_connection(skipped)  # type: ignore[arg-type]
    assert len(skipped.calls) == 1
    assert counts["full"] - before["full"] == 2
    assert counts["skipped"] - before["skipped"] == 1


class _Proxy:
    def __init__(self, in_transaction: bool = False) -> None:
        self._con: Any = _ResetTarget()
        self.in_transaction = in_transaction

    def is_in_transaction(self) -> bool:
        return self.in_transaction


class _ProxyPool:
    def __init__(self, idle: int = 0, in_transaction: bool = False) -> None:
        self.idle = idle
        self.in_transaction = in_transaction
        self.acquired: list[float | None] = []
        self.released: list[tuple[Any, float | None]] = []

    def get_idle_size(self) -> int:
        return self.idle

    async def acquire(self, *, timeout: float | None = None) -> Any:
        self.acquired.append(timeout)
        return _Proxy(self.in_transaction)

    async def release(self, proxy: Any, *, timeout: float | None = None) -> None:
        self.released.append((proxy, timeout))


@pytest.mark.parametrize("reset", [True, False])
async def test_acquire_marks_connections_that_skip_the_reset(reset: bool) -> None:
    raw_pool = _ProxyPool()
    pool = AsyncpgPool(raw_pool)  # type: ignore[arg-type]
    async with pool.acquire(timeout=1.0, reset=reset) as conn:
        assert isinstance(conn, AsyncpgConnection)
        proxy: Any = conn.raw
        assert (proxy._con in asyncpg_driver._SKIP_RESET) is (not reset)
    # A clean skip-reset release sends nothing, so it gets no time limit.
    assert raw_pool.released == [(proxy, 1.0 if reset else None)]
    assert raw_pool.acquired == [1.0]  # no idle connection: the borrow may wait
    asyncpg_driver._SKIP_RESET.discard(proxy._con)


async def test_acquire_with_an_idle_connection_and_release_limits() -> None:
    raw_pool = _ProxyPool(idle=1, in_transaction=True)
    pool = AsyncpgPool(raw_pool)  # type: ignore[arg-type]
    conn: Any
    async with pool.acquire(timeout=1.0, reset=False) as conn:
        proxy = conn.raw
    failed: list[Any] = []

    async def fail() -> None:
        conn: Any
        async with pool.acquire(timeout=2.0, reset=False) as conn:
            failed.append(conn.raw)
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await fail()
    # A free connection is queued: the borrow cannot wait, so it gets no timeout wrapper.
    assert raw_pool.acquired == [None, None]
    # An open transaction or an error: the release may send a ROLLBACK, so it keeps the limit.
    assert raw_pool.released == [(proxy, 1.0), (failed[0], 2.0)]
    asyncpg_driver._SKIP_RESET.discard(proxy._con)
    asyncpg_driver._SKIP_RESET.discard(failed[0]._con)


async def test_release_of_a_connection_closed_in_the_block_is_skipped() -> None:
    raw_pool = _ProxyPool()
    pool = AsyncpgPool(raw_pool)  # type: ignore[arg-type]
    conn: Any
    async with pool.acquire(timeout=1.0) as conn:
        conn.raw._con = None  # asyncpg detaches the proxy when the socket closes
    assert raw_pool.released == []


async def test_stream_unwraps_a_transaction_connection() -> None:
    from matrx_orm_core._execution import SerialConnection

    wrapped = SerialConnection(object(), "db")  # type: ignore[arg-type]
    with pytest.raises(StateError, match="got object"):
        async for _row in AsyncpgDriver().stream(wrapped, "SELECT 1"):
            pass


class _SlowPool:
    def get_idle_size(self) -> int:
        return 0

    async def acquire(self, *, timeout: float | None = None) -> Any:
        raise asyncio.TimeoutError


async def test_acquire_timeout_is_database_error() -> None:
    pool = AsyncpgPool(_SlowPool())  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match=r"Timeout acquiring connection after 0\.5s") as info:
        async with pool.acquire(timeout=0.5):
            pass
    assert isinstance(info.value.__cause__, asyncio.TimeoutError)


async def test_stream_rejects_a_foreign_connection() -> None:
    with pytest.raises(StateError, match="needs a connection from the asyncpg driver"):
        async for _row in AsyncpgDriver().stream(object(), "SELECT 1"):  # type: ignore[arg-type]
            pass


# --- error translation -------------------------------------------------------------------------


def _server_error(**fields: str) -> asyncpg.PostgresError:
    return asyncpg.PostgresError.new(fields)


def test_translate_unique_violation_from_asyncpg() -> None:
    err = _server_error(
        C="23505",
        M='duplicate key value violates unique constraint "users_email_key"',
        D="Key (email)=(a@b.c) already exists.",
        n="users_email_key",
        t="users",
        s="public",
    )
    assert isinstance(err, asyncpg.UniqueViolationError)
    exc = AsyncpgDriver().translate_error(err, sql="INSERT ...", params=["a@b.c"])
    assert isinstance(exc, IntegrityError)
    assert (exc.constraint, exc.constraint_name, exc.table, exc.column) == (
        "unique",
        "users_email_key",
        "users",
        "email",
    )
    assert exc.details["schema"] == "public"
    assert "a@b.c" not in exc.message


def test_translate_syntax_error_from_asyncpg() -> None:
    err = _server_error(C="42601", M='syntax error at or near "SELEC"')
    exc = AsyncpgDriver().translate_error(err, sql="SELEC 1")
    assert isinstance(exc, QueryError)
    assert exc.message == 'Invalid SQL syntax: syntax error at or near "SELEC"'


def test_translate_client_errors() -> None:
    driver = AsyncpgDriver()
    released = asyncpg.InterfaceError("cannot call Connection.fetch(): connection released")
    assert isinstance(driver.translate_error(released), StateError)
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    assert isinstance(driver.translate_error(lost), ConnectionError)
    count = asyncpg.InterfaceError("the server expects 1 argument for this query, 2 were passed")
    assert isinstance(driver.translate_error(count), ParameterError)
    data = asyncpg.exceptions._base.DataError("invalid input")
    assert isinstance(driver.translate_error(data), ParameterError)
    bad_config = asyncpg.exceptions.ClientConfigurationError("bad sslmode")
    assert isinstance(driver.translate_error(bad_config), ConfigurationError)
    reset = driver.translate_error(ConnectionResetError(104, "Connection reset by peer"))
    assert isinstance(reset, ConnectionError)
    assert driver.translate_error(ValueError("not ours")) is None


def test_translate_timeout_names_the_limit() -> None:
    exc = AsyncpgDriver().translate_error(asyncio.TimeoutError(), sql="SELECT 1", timeout=3)
    assert isinstance(exc, DatabaseError)
    assert exc.message.startswith("Statement timed out after 3s")


def test_record_satisfies_row_protocol() -> None:
    assert issubclass(asyncpg.Record, Row)


async def test_create_pool_refused_port_is_connection_error_without_password() -> None:
    # Port 1 on localhost refuses at once; no server is needed.
    config = _config(host="127.0.0.1", port=1, password="hunter2", connect_timeout=2.0)
    with pytest.raises(ConnectionError) as info:
        await AsyncpgDriver().create_pool(config)
    text = str(info.value) + repr(info.value) + info.value.message
    assert "hunter2" not in text
    assert "127.0.0.1" in info.value.message
    assert isinstance(info.value.__cause__, OSError)
