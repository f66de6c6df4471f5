"""Tests for the named-query registry: registration errors, parameter checks, the three
executors (exact SQL, parameters and transaction control), cache clearing and the documentation
helpers. The ``:name`` scanner itself is tested in test_sqltext.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import IntegrityError, SyncContextError, ValidationError
from matrx_orm_core.sql_executor import (
    QueryRegistry,
    SQLQuery,
    display_help,
    execute_batch_query,
    execute_query,
    execute_query_sync,
    execute_standard_query,
    execute_transaction_query,
    generate_documentation,
    get_query_details,
    get_registry,
    list_available_queries,
    register_query,
)
from matrx_orm_core.testing import Recorder
from matrx_orm_core.transaction import transaction


class FakeCache:
    """A ModelCache that records clear() calls."""

    def __init__(self) -> None:
        self.cleared: list[str | None] = []

    def lookup(self, model: type[Any], lookup: Mapping[str, Any]) -> Any:
        return hooks.MISS

    def store(self, model: type[Any], instances: Sequence[Any]) -> None:
        pass

    def notify_write(self, model: type[Any], pks: Any) -> None:
        pass

    def clear(self, model: type[Any] | None = None, *, database: str | None = None) -> None:
        self.cleared.append(database)

    def on_commit(self, database: str) -> None:
        pass

    def on_rollback(self, database: str) -> None:
        pass


@pytest.fixture
def cache() -> Iterator[FakeCache]:
    fake = FakeCache()
    previous = hooks.set_model_cache(fake)
    try:
        yield fake
    finally:
        hooks.set_model_cache(previous)


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[QueryRegistry]:
    registry = get_registry()
    saved = dict(registry._queries)
    registry.clear()
    try:
        yield registry
    finally:
        registry.clear()
        registry._queries.update(saved)


def q(sql: str, *params: str, required: bool = True, **extra: Any) -> SQLQuery:
    query: dict[str, Any] = {
        "query": sql,
        "database": "recorded",
        "params": [{"name": name, "required": required} for name in params],
    }
    query.update(extra)
    return query  # type: ignore[return-value]


# --- registration -----------------------------------------------------------------------------


def test_register_rewrites_once_and_registry_api(fresh_registry: QueryRegistry) -> None:
    definition = q("SELECT * FROM t WHERE a = :a AND b = :b", "a", "b", description="d")
    register_query("by_ab", definition)
    definition["query"] = "changed"  # the registry keeps its own copy
    assert fresh_registry.exists("by_ab")
    assert not fresh_registry.exists("nope")
    got = fresh_registry.get("by_ab")
    assert got is not None
    assert got["query"] == "SELECT * FROM t WHERE a = :a AND b = :b"
    assert fresh_registry.get("nope") is None
    prepared = fresh_registry.prepared("by_ab")
    assert [(s.sql, s.names) for s in prepared.statements] == [
        ("SELECT * FROM t WHERE a = $1 AND b = $2", ("a", "b"))
    ]
    register_query("second", q("SELECT 1"))
    assert fresh_registry.list_names() == ["by_ab", "second"]
    assert set(fresh_registry.get_all()) == {"by_ab", "second"}
    assert fresh_registry.unregister("second") is True
    assert fresh_registry.unregister("second") is False
    fresh_registry.clear()
    assert fresh_registry.list_names() == []


def test_duplicate_name_is_a_value_error() -> None:
    register_query("dup", q("SELECT 1"))
    with pytest.raises(ValueError, match="already registered") as info:
        register_query("dup", q("SELECT 2"))
    assert isinstance(info.value, ValidationError)
    assert get_registry().get("dup") == q("SELECT 1")


BAD_DEFINITIONS: list[tuple[Any, str]] = [
    (q("SELECT :a"), "undeclared parameter"),
    (q("SELECT 1", "a"), "not used"),
    (q("SELECT $1"), "not \\$n"),
    (q("SELECT 1; SELECT 2"), "standard query runs one statement"),
    (q("SELECT 'x"), "cannot be parsed"),
    (q("SELECT $$ x"), "cannot be parsed"),
    (q("SELECT 1 /* x"), "cannot be parsed"),
    (q("   -- nothing\n"), "no statement"),
    (q(""), "non-empty SQL"),
    (q("SELECT 1", executor_type="fast"), "executor_type"),
    ({"query": "SELECT 1"}, "'database'"),
    ({**q("SELECT 1"), "sql": "x"}, "unknown definition key"),
    ({**q("SELECT :a"), "params": [{"name": "a"}, {"name": "a"}]}, "declared twice"),
    ({**q("SELECT 1"), "params": [{"name": "a-b"}]}, "plain identifier"),
    ({**q("SELECT 1"), "params": ["a"]}, "plain identifier"),
    ("SELECT 1", "must be a dict"),
]


@pytest.mark.parametrize(("definition", "message"), BAD_DEFINITIONS)
def test_bad_definitions_are_rejected(definition: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        register_query("bad", definition)
    assert not get_registry().exists("bad")


@pytest.mark.parametrize("name", ["", "  ", None])
def test_bad_names_are_rejected(name: Any) -> None:
    with pytest.raises(ValidationError, match="non-empty"):
        register_query(name, q("SELECT 1"))


# --- parameters -------------------------------------------------------------------------------


def _params_query() -> None:
    register_query(
        "p",
        {
            "query": "SELECT :a, :b, :c, :d",
            "database": "recorded",
            "params": [
                {"name": "a", "required": True},
                {"name": "b", "required": True},
                {"name": "c", "default": 7},
                {"name": "d"},
            ],
        },
    )


async def test_missing_required_params_are_named(recording_db: Recorder) -> None:
    _params_query()
    with pytest.raises(ValidationError, match="missing required parameter\\(s\\) a, b") as info:
        await execute_query("p", {})
    assert info.value.field == "a"
    assert info.value.details["query_name"] == "p"
    assert recording_db.statements == []


async def test_unknown_params_are_rejected(recording_db: Recorder) -> None:
    _params_query()
    with pytest.raises(ValidationError, match="unknown parameter\\(s\\) zz") as info:
        await execute_query("p", {"a": 1, "b": 2, "zz": 3})
    assert "declared: a, b, c, d" in str(info.value)
    with pytest.raises(ValidationError, match="must be a dict"):
        await execute_query("p", [1, 2])  # type: ignore[arg-type]
    assert recording_db.statements == []


async def test_defaults_are_applied_and_values_bound(recording_db: Recorder) -> None:
    _params_query()
    recording_db.add_result([{"x": 1}])
    assert await execute_query("p", {"b": "'; DROP TABLE t; --", "a": 1}) == [{"x": 1}]
    assert recording_db.statements == [
        ("SELECT $1, $2, $3, $4", (1, "'; DROP TABLE t; --", 7, None))
    ]


async def test_unknown_query_lists_available(recording_db: Recorder) -> None:
    register_query("known", q("SELECT 1"))
    with pytest.raises(ValidationError, match="no such query; available: known"):
        await execute_query("unknown")
    with pytest.raises(ValidationError, match="no such query"):
        get_query_details("unknown")


# --- executors --------------------------------------------------------------------------------


async def test_standard_query_sql_and_rows(recording_db: Recorder, cache: FakeCache) -> None:
    register_query("one", q("SELECT * FROM t WHERE id = :id", "id"))
    recording_db.add_result([{"id": 1, "name": "a"}])
    rows = await execute_standard_query("one", {"id": 1})
    assert rows == [{"id": 1, "name": "a"}]
    assert all(type(row) is dict for row in rows)
    assert recording_db.statements == [("SELECT * FROM t WHERE id = $1", (1,))]
    assert cache.cleared == []


async def test_standard_write_clears_cache(recording_db: Recorder, cache: FakeCache) -> None:
    register_query("upd", q("UPDATE t SET a = :a", "a"))
    await execute_query("upd", {"a": 1})
    assert cache.cleared == ["recorded"]


async def test_standard_refuses_multi_statement_query(recording_db: Recorder) -> None:
    register_query("two", q("SELECT 1; SELECT 2", executor_type="transaction"))
    with pytest.raises(ValidationError, match="2 statements"):
        await execute_standard_query("two")
    assert recording_db.statements == []


async def test_transaction_query_runs_all_statements_in_one_transaction(
    recording_db: Recorder, cache: FakeCache
) -> None:
    register_query(
        "move",
        q(
            "UPDATE acc SET bal = bal - :amt WHERE id = :src;"
            "UPDATE acc SET bal = bal + :amt WHERE id = :dst RETURNING bal",
            "amt",
            "src",
            "dst",
            executor_type="transaction",
        ),
    )
    recording_db.add_result([])
    recording_db.add_result([{"bal": 15}])
    assert await execute_query("move", {"amt": 5, "src": 1, "dst": 2}) == [{"bal": 15}]
    assert recording_db.statements == [
        ("BEGIN", ()),
        ("UPDATE acc SET bal = bal - $1 WHERE id = $2", (5, 1)),
        ("UPDATE acc SET bal = bal + $1 WHERE id = $2 RETURNING bal", (5, 2)),
        ("COMMIT", ()),
    ]
    assert cache.cleared == ["recorded"]


async def test_transaction_query_failure_rolls_back(
    recording_db: Recorder, cache: FakeCache
) -> None:
    register_query(
        "pair",
        q("INSERT INTO t VALUES (:a); INSERT INTO t VALUES (:a)", "a", executor_type="transaction"),
    )
    recording_db.add_result([])
    recording_db.add_server_error("23505", "duplicate key", constraint_name="t_pkey")
    with pytest.raises(IntegrityError) as info:
        await execute_transaction_query("pair", {"a": 1})
    assert info.value.method_name == "execute_transaction_query"
    assert recording_db.sql == [
        "BEGIN",
        "INSERT INTO t VALUES ($1)",
        "INSERT INTO t VALUES ($1)",
        "ROLLBACK",
    ]
    assert cache.cleared == ["recorded"]


async def test_transaction_query_inside_transaction_is_a_savepoint(
    recording_db: Recorder,
) -> None:
    register_query("w", q("DELETE FROM t", executor_type="transaction"))
    async with transaction("recorded"):
        await execute_query("w")
    sql = recording_db.sql
    assert sql[0] == "BEGIN"
    assert sql[1].startswith("SAVEPOINT ")
    assert sql[2] == "DELETE FROM t"
    assert sql[3].startswith("RELEASE SAVEPOINT ")
    assert sql[4] == "COMMIT"


async def test_standard_query_uses_open_transaction(recording_db: Recorder) -> None:
    register_query("r", q("SELECT 1"))
    async with transaction("recorded"):
        await execute_query("r")
    assert recording_db.sql == ["BEGIN", "SELECT 1", "COMMIT"]


async def test_batch_query_batches_in_transactions(
    recording_db: Recorder, cache: FakeCache
) -> None:
    register_query("ins", q("INSERT INTO t VALUES (:v) RETURNING v", "v"))
    recording_db.set_responder(lambda sql, params: [{"v": params[0]}])
    rows = await execute_batch_query("ins", [{"v": 1}, {"v": 2}, {"v": 3}], batch_size=2)
    assert rows == [{"v": 1}, {"v": 2}, {"v": 3}]
    assert recording_db.statements == [
        ("BEGIN", ()),
        ("INSERT INTO t VALUES ($1) RETURNING v", (1,)),
        ("INSERT INTO t VALUES ($1) RETURNING v", (2,)),
        ("COMMIT", ()),
        ("BEGIN", ()),
        ("INSERT INTO t VALUES ($1) RETURNING v", (3,)),
        ("COMMIT", ()),
    ]
    assert cache.cleared == ["recorded"]


async def test_batch_checks_every_set_before_sending(recording_db: Recorder) -> None:
    register_query("ins", q("INSERT INTO t VALUES (:v)", "v"))
    with pytest.raises(ValidationError, match="missing required") as info:
        await execute_query("ins", batch_params=[{"v": 1}, {}])
    assert info.value.details["batch_index"] == 1
    for size in (0, -1, 1.5, True):
        with pytest.raises(ValidationError, match="batch_size"):
            await execute_batch_query("ins", [{"v": 1}], batch_size=size)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="list of dicts"):
        await execute_batch_query("ins", {"v": 1})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not both"):
        await execute_query("ins", {"v": 1}, batch_params=[{"v": 2}])
    assert recording_db.statements == []


async def test_batch_type_with_params_runs_one_row(recording_db: Recorder) -> None:
    register_query("b", q("INSERT INTO t VALUES (:v)", "v", executor_type="batch"))
    assert await execute_query("b", {"v": 9}) == []
    assert recording_db.statements == [
        ("BEGIN", ()),
        ("INSERT INTO t VALUES ($1)", (9,)),
        ("COMMIT", ()),
    ]
    assert await execute_batch_query("b", []) == []


async def test_sync_twin_refuses_running_loop() -> None:
    register_query("r", q("SELECT 1"))
    with pytest.raises(SyncContextError, match="await execute_query"):
        execute_query_sync("r")


def test_sync_twin_runs_on_background_loop(recording_db: Recorder) -> None:
    register_query("r", q("SELECT :v", "v"))
    recording_db.add_result([{"v": 3}])
    assert execute_query_sync("r", {"v": 3}) == [{"v": 3}]
    assert recording_db.statements == [("SELECT $1", (3,))]


# --- documentation ----------------------------------------------------------------------------


def _documented() -> None:
    register_query(
        "users_by_role",
        {
            "query": "SELECT * FROM users WHERE role = :role LIMIT :lim",
            "database": "main",
            "description": "Users with a role | paged",
            "example": "await execute_query('users_by_role', {'role': 'admin'})",
            "params": [
                {"name": "role", "required": True, "type": "str", "description": "The role"},
                {"name": "lim", "type": "int", "default": 10, "description": "Page size"},
            ],
        },
    )


def test_list_and_details() -> None:
    _documented()
    assert list_available_queries() == [
        {
            "name": "users_by_role",
            "description": "Users with a role | paged",
            "database": "main",
            "executor_type": "standard",
            "params": ["role", "lim"],
        }
    ]
    details = get_query_details("users_by_role")
    assert details["statements"] == [
        {"sql": "SELECT * FROM users WHERE role = $1 LIMIT $2", "param_order": ["role", "lim"]}
    ]
    assert details["params"][1] == {
        "name": "lim",
        "required": False,
        "type": "int",
        "default": 10,
        "description": "Page size",
    }


def test_generate_documentation_is_markdown() -> None:
    assert generate_documentation() == "# SQL queries\n\nNo queries are registered.\n"
    _documented()
    doc = generate_documentation()
    assert doc.startswith("# SQL queries\n\n## users_by_role\n")
    assert "| `role` | str | yes |  | The role |" in doc
    assert "| `lim` | int | no | 10 | Page size |" in doc
    assert "Users with a role | paged" in doc
    assert "```sql\nSELECT * FROM users WHERE role = :role LIMIT :lim\n```" in doc
    assert "```python\nawait execute_query('users_by_role', {'role': 'admin'})\n```" in doc


def test_display_help_returns_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert "No queries are registered" in display_help()
    _documented()
    overview = display_help()
    assert "- `users_by_role` (role, lim): Users with a role | paged" in overview
    one = display_help("users_by_role")
    assert one.startswith("# users_by_role\n")
    assert capsys.readouterr().out == ""
    with pytest.raises(ValidationError):
        display_help("missing")
