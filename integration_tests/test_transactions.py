"""transaction() against a live server: commit, rollback, savepoints, task binding, cancellation,
and the §10.31 rule that no session state leaks between pool borrowers."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from matrx_orm import CharField, IntegerField, Model, UUIDField
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import _execution
from matrx_orm_core.config import DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.drivers import asyncpg as asyncpg_driver
from matrx_orm_core.testing import DatabaseServer, create_database, drop_database
from matrx_orm_core.transaction import get_active_connection, in_transaction, transaction

pytestmark = pytest.mark.level2

DB = "tx_live"


class User(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100)
    _table_name = "tx_user"
    _database = DB


class Profile(Model):
    id = UUIDField(primary_key=True)
    user_id = UUIDField()
    bio = CharField(max_length=100)
    _table_name = "tx_profile"
    _database = DB


class Order(Model):
    id = UUIDField(primary_key=True)
    customer_id = UUIDField()
    total = IntegerField()
    _table_name = "tx_order"
    _database = DB


class AuditLog(Model):
    id = UUIDField(primary_key=True)
    action = CharField(max_length=100)
    _table_name = "tx_audit_log"
    _database = DB


SCHEMA = """
CREATE TABLE tx_user (id uuid PRIMARY KEY, name varchar(100) NOT NULL);
CREATE TABLE tx_profile (id uuid PRIMARY KEY, user_id uuid NOT NULL, bio varchar(100) NOT NULL);
CREATE TABLE tx_order (id uuid PRIMARY KEY, customer_id uuid NOT NULL, total integer NOT NULL);
CREATE TABLE tx_audit_log (id uuid PRIMARY KEY, action varchar(100) NOT NULL);
"""
DROP = "DROP TABLE IF EXISTS tx_user, tx_profile, tx_order, tx_audit_log"


class Boom(Exception):
    pass


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def database_name(matrx_test_server: DatabaseServer) -> Iterator[str]:
    name = create_database(matrx_test_server)
    try:
        yield name
    finally:
        drop_database(matrx_test_server, name)


@pytest.fixture
def app_name() -> str:
    return f"matrx-tx-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def db(
    matrx_test_server: DatabaseServer,
    database_name: str,
    app_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[str]:
    # transaction() without a name picks this project even when the session registered more.
    monkeypatch.setenv("MATRX_DEFAULT_DATABASE", DB)
    if DB in DatabaseRegistry.get_all_database_project_names():
        DatabaseRegistry.unregister(DB)
    register_database(
        matrx_test_server.config(
            DB,
            database=database_name,
            min_size=1,
            max_size=4,
            server_settings={"application_name": app_name},
        )
    )
    await AsyncDatabaseManager.close_pools_for_loop()
    migrations = MigrationDB(DB)
    await migrations.execute(f"{DROP}; {SCHEMA}")
    try:
        yield DB
    finally:
        await migrations.execute(DROP)
        await AsyncDatabaseManager.close_pools_for_loop()
        DatabaseRegistry.unregister(DB)


async def _admin(server: DatabaseServer) -> asyncpg.Connection[asyncpg.Record]:
    return await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.admin_database,
    )


async def _states(server: DatabaseServer, app_name: str) -> list[str]:
    admin = await _admin(server)
    try:
        rows = await admin.fetch(
            "SELECT state FROM pg_stat_activity WHERE application_name = $1 ORDER BY state",
            app_name,
        )
        return [row["state"] for row in rows]
    finally:
        await admin.close()


async def _failing_create(model: type[Model], **values: object) -> None:
    """A nested-or-not ``transaction()`` block that creates one row and then raises Boom."""
    async with transaction():
        await model.create(id=_id(), **values)
        raise Boom


async def _count(model: type[Model]) -> int:
    table = model._meta.table_name
    return int(await _execution.fetch_val(DB, f"SELECT count(*) FROM {table}"))


# --- commit, rollback, savepoints ----------------------------------------------------------------


async def test_commit_persists_and_exception_rolls_back(db: str) -> None:
    async with transaction(db):
        await User.create(id=_id(), name="kept")

    async def failing() -> None:
        async with transaction(db):
            await User.create(id=_id(), name="dropped")
            assert await _count(User) == 2  # visible inside the transaction
            raise Boom

    with pytest.raises(Boom):
        await failing()
    assert [u.name for u in await User.all()] == ["kept"]


async def test_savepoint_rollback_keeps_the_outer_writes(db: str) -> None:
    async with transaction(db):
        await User.create(id=_id(), name="outer")
        with pytest.raises(Boom):
            await _failing_create(User, name="inner")
        await User.create(id=_id(), name="after")
    assert sorted(u.name for u in await User.all()) == ["after", "outer"]


async def test_readme_transactions_example(db: str) -> None:
    # Top-level transaction
    async with transaction():
        user = await User.create(id=_id(), name="alice")
        await Profile.create(id=_id(), user_id=user.id, bio="hello")
    # Nested transaction -> savepoint; the inner block's rollback does not affect the outer
    cid = _id()
    async with transaction():
        await Order.create(id=_id(), customer_id=cid, total=99)
        with pytest.raises(Boom):
            await _failing_create(AuditLog, action="order_created")
    assert (await _count(User), await _count(Profile)) == (1, 1)
    assert (await _count(Order), await _count(AuditLog)) == (1, 0)


async def test_get_inside_a_transaction_sees_its_uncommitted_row(db: str) -> None:
    uid = _id()
    async with transaction(db):
        await User.create(id=uid, name="fresh")
        assert in_transaction(db)
        assert (await User.get(id=uid)).name == "fresh"
        # A task started from an empty context (as one started outside the block would be).
        outside = contextvars.Context().run(
            asyncio.ensure_future, _execution.fetch_val(db, "SELECT count(*) FROM tx_user")
        )
        assert await outside == 0  # a task outside the block does not see it


# --- tasks ---------------------------------------------------------------------------------------


async def test_concurrent_tasks_never_share_a_transaction(db: str) -> None:
    pids: list[int] = []
    counted: list[int] = []
    both_wrote, both_counted = asyncio.Event(), asyncio.Event()

    async def worker(name: str) -> int:
        async with transaction(db):
            await User.create(id=_id(), name=name)
            pids.append(await _execution.fetch_val(db, "SELECT pg_backend_pid()"))
            if len(pids) == 2:
                both_wrote.set()
            await both_wrote.wait()
            seen = await _count(User)  # only this transaction's own row is visible
            counted.append(seen)
            if len(counted) == 2:
                both_counted.set()
            await both_counted.wait()  # neither commits before both have looked
            return seen

    assert list(await asyncio.gather(worker("a"), worker("b"))) == [1, 1]
    assert pids[0] != pids[1]
    assert await _count(User) == 2


async def test_child_tasks_inherit_the_transaction(db: str) -> None:

    async def child() -> int:
        await User.create(id=_id(), name="child")
        return int(await _execution.fetch_val(db, "SELECT pg_backend_pid()"))

    async def parent() -> None:
        async with transaction(db):
            pid = await _execution.fetch_val(db, "SELECT pg_backend_pid()")
            assert await asyncio.create_task(child()) == pid
            assert await _count(User) == 1
            raise Boom

    with pytest.raises(Boom):
        await parent()
    assert await _count(User) == 0  # the child's write rolled back with the parent


async def test_gather_inside_a_transaction_runs_one_after_the_other(db: str) -> None:
    async with transaction(db):
        results = await asyncio.gather(
            *(
                _execution.fetch_val(db, "SELECT $1::int FROM pg_sleep(0.02)", (n,))
                for n in range(5)
            ),
            *(User.create(id=_id(), name=f"u{n}") for n in range(5)),
        )
        assert results[:5] == [0, 1, 2, 3, 4]
        assert AsyncDatabaseManager.cached_pool(db) is not None
    assert await _count(User) == 5


async def test_get_active_connection_is_the_transaction_connection(db: str) -> None:
    assert get_active_connection(db) is None
    async with transaction(db) as tx:
        conn = get_active_connection(db)
        assert conn is tx.connection
        assert conn is not None
        assert conn.is_in_transaction()
        await conn.execute("INSERT INTO tx_user VALUES ($1, 'raw')", (_id(),))
        assert await _count(User) == 1
    assert await _count(User) == 1


# --- cancellation --------------------------------------------------------------------------------


async def test_cancellation_leaves_no_connection_in_a_transaction(
    db: str, matrx_test_server: DatabaseServer, app_name: str
) -> None:
    async def slow() -> None:
        async with transaction(db):
            await User.create(id=_id(), name="never")
            await _execution.execute(db, "SELECT pg_sleep(30)")

    with pytest.raises((asyncio.TimeoutError, TimeoutError)):
        await asyncio.wait_for(slow(), 0.5)
    states = await _states(matrx_test_server, app_name)
    assert states
    assert all(state == "idle" for state in states), states
    pool = AsyncDatabaseManager.cached_pool(db)
    assert pool is not None
    assert pool.get_idle_size() == pool.get_size()
    assert await _count(User) == 0
    async with transaction(db):  # the pool still works
        await User.create(id=_id(), name="later")
    assert await _count(User) == 1


# --- §10.31: the per-release reset ---------------------------------------------------------------


async def test_no_session_state_leaks_between_get_connection_borrowers(
    matrx_test_server: DatabaseServer, database_name: str, app_name: str
) -> None:
    name = "tx_reset_one"
    register_database(
        matrx_test_server.config(
            name,
            database=database_name,
            min_size=1,
            max_size=1,
            server_settings={"application_name": app_name},
        )
    )
    try:
        async with AsyncDatabaseManager.get_connection(name) as conn:
            pid = await conn.fetch_val("SELECT pg_backend_pid()")
            await conn.execute(
                "SET search_path TO pg_catalog; SET statement_timeout = 1234;"
                "LISTEN leak_channel; SELECT pg_advisory_lock(42);"
                "CREATE TEMP TABLE leak_tmp (x int);"
                "DECLARE leak_cursor CURSOR WITH HOLD FOR SELECT 1;"
                "BEGIN; CREATE TEMP TABLE leak_tx (x int)"
            )
            assert conn.is_in_transaction()
        async with AsyncDatabaseManager.get_connection(name) as conn:
            assert await conn.fetch_val("SELECT pg_backend_pid()") == pid  # the same session
            assert not conn.is_in_transaction()
            assert await conn.fetch_val("SHOW statement_timeout") == "0"
            assert await conn.fetch_val("SHOW search_path") == '"$user", public'
            assert await conn.fetch_val("SELECT count(*) FROM pg_listening_channels()") == 0
            locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1"
            assert await conn.fetch_val(locks, [pid]) == 0
            assert await conn.fetch_val("SELECT count(*) FROM pg_cursors WHERE name <> ''") == 0
            assert await conn.fetch_val("SELECT to_regclass('pg_temp.leak_tmp')") is None
            assert await conn.fetch_val("SELECT to_regclass('pg_temp.leak_tx')") is None
        # A transaction's session state goes too (SET outside SET LOCAL survives a COMMIT).
        async with transaction(name):
            await _execution.execute(name, "SET statement_timeout = 4321")
        assert await _execution.fetch_val(name, "SHOW statement_timeout") == "0"
    finally:
        await AsyncDatabaseManager.close_pools_for_loop()
        DatabaseRegistry.unregister(name)


async def test_orm_statements_skip_the_reset_and_everything_else_gets_it(db: str) -> None:
    uid = _id()
    await User.create(id=uid, name="r")
    counts = asyncpg_driver._RESET_COUNTS
    before = dict(counts)
    for _ in range(10):
        await User.get(use_cache=False, id=uid)  # the database every time, not the state cache
    assert counts["skipped"] - before["skipped"] == 10
    assert counts["full"] == before["full"]
    await _execution.fetch(db, "SELECT 1")  # user SQL: no known operation
    async with AsyncDatabaseManager.get_connection(db):
        pass
    async with transaction(db):
        await User.get(id=uid)
    await MigrationDB(db).execute("SELECT 1")
    assert counts["full"] - before["full"] == 4
    assert counts["skipped"] - before["skipped"] == 10
