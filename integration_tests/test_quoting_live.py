"""Level2: quote_ident / quote_literal and the sql nodes round-trip through a real server."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import math
import uuid
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matrx_orm_core._quoting import MAX_IDENTIFIER_BYTES, quote_ident, quote_literal
from matrx_orm_core.config import DatabaseProjectConfig
from matrx_orm_core.sql import (
    And,
    Compare,
    Count,
    Delete,
    Exists,
    Insert,
    IsNull,
    Select,
    Table,
    Update,
    compile_sql,
)

T = TypeVar("T")

STRINGS = [
    "",
    "plain",
    "O'Reilly",
    "a\\b",
    "\\",
    "\\\\'",
    "it's a\\b",
    "'; DROP TABLE x; --",
    '"; DROP TABLE x; --',
    "$1",
    "$$ $tag$",
    "/* c */",
    "naïve_ß_名前",
    "emoji 🐍",
    "line\nbreak\r\ttab",
    "\\x41",
    "\\u0041",
    "E'x'",
    "'",
    "''",
    "a" * 5000,
]

NAMES = [
    "user",
    "order",
    "UPPER",
    'a"b',
    '"',
    '"; DROP TABLE x; --',
    "$1",
    "/* c */",
    "naïve_ß_名前",
    "with space",
    " ",
    "back\\slash",
    "'single'",
    "line\nbreak",
    "a" * 63,
    "名" * 21,
]


class Live:
    """One asyncpg connection driven from sync tests on a private event loop.

    Hypothesis cannot drive async test functions, so every test here is sync and runs its
    queries through `run`. It connects to the session's scratch database (the tests create
    only temporary tables).
    """

    def __init__(self, config: DatabaseProjectConfig) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.run(
            asyncpg.connect(
                host=config.host,
                port=config.port_number,
                user=config.user,
                password=config.password or None,
                database=config.database_name,
                # Each text must be parsed under the current standard_conforming_strings;
                # a cached prepared statement would hide the second mode.
                statement_cache_size=0,
            )
        )

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def val(self, sql: str, *args: Any) -> Any:
        return self.run(self.conn.fetchval(sql, *args))

    def close(self) -> None:
        try:
            self.run(self.conn.close())
        finally:
            self.loop.close()


@pytest.fixture(scope="module")
def live(matrx_test_database: DatabaseProjectConfig) -> Iterator[Live]:
    connection = Live(matrx_test_database)
    try:
        yield connection
    finally:
        connection.close()


def _select_literal_both_modes(live: Live, value: str) -> None:
    literal = quote_literal(value)
    try:
        for mode in ("on", "off"):
            live.val(f"SET standard_conforming_strings = {mode}")
            assert live.val(f"SELECT {literal}") == value, (mode, literal)
    finally:
        live.val("SET standard_conforming_strings = on")


# --- literals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", STRINGS)
def test_string_literal_corpus(live: Live, value: str) -> None:
    _select_literal_both_modes(live, value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(
        st.one_of(
            st.sampled_from(["'", "\\", '"', "$", "E", "\n"]),
            st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
        )
    )
)
def test_string_literal_property(live: Live, value: str) -> None:
    _select_literal_both_modes(live, value)


@pytest.mark.parametrize("value", STRINGS[:-1])
def test_string_literal_as_column_default(live: Live, value: str) -> None:
    # The real use: DDL defaults are written with quote_literal.
    conn = live.conn
    live.run(conn.execute(f"CREATE TEMP TABLE lit_default (v text DEFAULT {quote_literal(value)})"))
    try:
        assert live.val("INSERT INTO lit_default DEFAULT VALUES RETURNING v") == value
    finally:
        live.run(conn.execute("DROP TABLE lit_default"))


UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("value", "cast"),
    [
        (0, "numeric"),
        (42, "int4"),
        (-5, "int4"),
        (-32768, "int2"),  # parenthesised: -(32768::int2) would overflow
        (10**30, "numeric"),
        (1.5, "float8"),
        (0.1, "float8"),
        (-0.5, "float8"),
        (1e300, "float8"),
        (5e-324, "float8"),
        (decimal.Decimal("1.50"), "numeric"),
        (decimal.Decimal("-1.50"), "numeric"),
        (decimal.Decimal("1E+2"), "numeric"),
        (decimal.Decimal("Infinity"), "numeric"),
        (decimal.Decimal("-Infinity"), "numeric"),
        (dt.date(2024, 1, 2), "date"),
        (dt.date(1, 1, 1), "date"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 6), "timestamp"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "timestamptz"),
        (
            dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
            "timestamptz",
        ),
        (dt.time(3, 4, 5, 6), "time"),
        (dt.time(3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-2))), "timetz"),
        (dt.timedelta(days=1, seconds=2, microseconds=3), "interval"),
        (dt.timedelta(seconds=-1), "interval"),
        (dt.timedelta(days=-3, microseconds=-7), "interval"),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "uuid"),
        (True, "bool"),
        (False, "bool"),
        (b"", "bytea"),
        (b"\x00\x01\xff'\\", "bytea"),
    ],
)
def test_typed_literals(live: Live, value: Any, cast: str) -> None:
    result = live.val(f"SELECT {quote_literal(value)}::{cast}")
    if isinstance(value, uuid.UUID):
        assert str(result) == str(value)
    else:
        assert result == value
        assert type(result) is type(value) or isinstance(value, (int, float))


@pytest.mark.parametrize("value", [float("nan"), decimal.Decimal("NaN")])
def test_nan_literals(live: Live, value: Any) -> None:
    cast = "float8" if isinstance(value, float) else "numeric"
    result = live.val(f"SELECT {quote_literal(value)}::{cast}")
    assert math.isnan(result)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), -0.0])
def test_special_floats(live: Live, value: float) -> None:
    result = live.val(f"SELECT {quote_literal(value)}::float8")
    assert result == value
    assert math.copysign(1.0, result) == math.copysign(1.0, value)


def test_null_literal(live: Live) -> None:
    assert live.val(f"SELECT {quote_literal(None)}::text IS NULL") is True


def test_interval_literal_ignores_interval_style(live: Live) -> None:
    value = dt.timedelta(days=-3, seconds=5)
    try:
        live.val("SET IntervalStyle = sql_standard")
        assert live.val(f"SELECT {quote_literal(value)}::interval") == value
    finally:
        live.val("SET IntervalStyle = postgres")


def test_negative_literal_after_minus_is_not_a_comment(live: Live) -> None:
    assert live.val(f"SELECT 1 -{quote_literal(-5)}") == 6


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_literal_property(live: Live, value: float) -> None:
    result = live.val(f"SELECT {quote_literal(value)}::float8")
    assert result == value
    assert math.copysign(1.0, result) == math.copysign(1.0, value)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_int_literal_property(live: Live, value: int) -> None:
    assert live.val(f"SELECT {quote_literal(value)}::numeric") == value


# --- identifiers ------------------------------------------------------------------------------


def _column_name(live: Live, name: str) -> str:
    statement = live.run(live.conn.prepare(f"SELECT 1 AS {quote_ident(name)}"))
    attributes = statement.get_attributes()
    assert len(attributes) == 1
    return str(attributes[0].name)


@pytest.mark.parametrize("name", NAMES)
def test_identifier_corpus(live: Live, name: str) -> None:
    assert _column_name(live, name) == name


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(
        st.one_of(
            st.sampled_from(['"', "'", "\\", " ", "$", "."]),
            st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
        ),
        min_size=1,
        max_size=MAX_IDENTIFIER_BYTES,
    ).filter(lambda s: len(s.encode("utf-8")) <= MAX_IDENTIFIER_BYTES)
)
def test_identifier_property(live: Live, name: str) -> None:
    assert _column_name(live, name) == name


# --- the sql nodes against the server ---------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_statements_with_hostile_names_and_values(live: Live, name: str) -> None:
    conn = live.conn
    other = name[:-1] + ("x" if name[-1] != "x" else "y") if len(name) > 1 else name + "2"
    table = Table(name)
    live.run(
        conn.execute(
            f"CREATE TEMP TABLE {quote_ident(name)} "
            f"(id int PRIMARY KEY, {quote_ident(other)} text, note text)"
        )
    )
    try:
        values: list[str | None] = [*STRINGS[:4], name, None]
        rows = tuple((i, value, "n") for i, value in enumerate(values))
        sql, params = compile_sql(Insert(table, ("id", other, "note"), rows, returning=("*",)))
        inserted = live.run(conn.fetch(sql, *params))
        assert [tuple(r) for r in inserted] == list(rows)

        sql, params = compile_sql(
            Select(table, ("id", other), Compare(other, "=", name), (("id", True),), 5, 0)
        )
        assert [tuple(r) for r in live.run(conn.fetch(sql, *params))] == [(4, name)]

        sql, params = compile_sql(Count(table, IsNull(other)))
        assert live.val(sql, *params) == 1
        sql, params = compile_sql(Exists(table, Compare(other, "=", "O'Reilly")))
        assert live.val(sql, *params) is True

        sql, params = compile_sql(
            Update(
                table,
                ((other, "a\\b"), ("note", name)),
                And((Compare("id", ">=", 1), Compare("id", "<", 3))),
                returning=("id",),
            )
        )
        assert sorted(r["id"] for r in live.run(conn.fetch(sql, *params))) == [1, 2]

        sql, params = compile_sql(Delete(table, Compare(other, "=", "a\\b"), ("id",)))
        assert sorted(r["id"] for r in live.run(conn.fetch(sql, *params))) == [1, 2, 3]
        sql, params = compile_sql(Count(table))
        assert live.val(sql, *params) == 3
    finally:
        live.run(conn.execute(f"DROP TABLE {quote_ident(name)}"))
