"""bulk_create/bulk_update/bulk_delete and the spec's CRUD examples against a real server."""

# ruff: noqa: RUF012 - model declarations use list class attributes, as the spec does

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from matrx_orm import (
    ArrayField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    IntegerField,
    IntegrityError,
    JSONBField,
    JSONField,
    Model,
    ParameterError,
    TextField,
    UUIDField,
    ValidationError,
    VersionField,
)
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import _execution
from matrx_orm_core.models import _bulk_copy
from matrx_orm_core.transaction import transaction

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class BulkUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=255)
    bio = TextField(null=True)
    is_active = BooleanField(default=True)

    _table_name = "bulk_user"
    _database = DB


class BulkThing(Model):
    """A server-generated integer key, a server default and several driver types."""

    id = IntegerField(primary_key=True)
    code = CharField(max_length=40, unique=True)
    score = IntegerField()
    data = JSONBField(null=True)
    amount = DecimalField(max_digits=10, decimal_places=2, null=True)
    seen_at = DateTimeField(null=True)
    ref = UUIDField(null=True)

    _table_name = "bulk_thing"
    _database = DB


class BulkPair(Model):
    a = IntegerField()
    b = IntegerField()

    _table_name = "bulk_pair"
    _database = DB
    _primary_keys = ["a", "b"]


SCHEMA = """
CREATE TABLE "bulk_user" (
    "id" uuid PRIMARY KEY,
    "username" varchar(100) NOT NULL UNIQUE,
    "email" varchar(255) NOT NULL,
    "bio" text,
    "is_active" boolean NOT NULL DEFAULT true
);
CREATE TABLE "bulk_thing" (
    "id" serial PRIMARY KEY,
    "code" varchar(40) NOT NULL UNIQUE,
    "score" integer NOT NULL DEFAULT 7,
    "data" jsonb,
    "amount" numeric(10, 2),
    "seen_at" timestamptz,
    "ref" uuid
);
CREATE TABLE "bulk_pair" ("a" integer, "b" integer, PRIMARY KEY ("a", "b"));
"""


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(SCHEMA)
    try:
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "bulk_user", "bulk_thing", "bulk_pair"')


@pytest.fixture
def copied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every COPY bulk_create sends: ``(staging table, rows)``."""
    calls: list[tuple[str, int]] = []
    real = _execution.copy_records

    async def spy(database: str, table: str, columns: Any, records: Any, **kw: Any) -> int:
        calls.append((table, len(records)))
        return await real(database, table, columns, records, **kw)

    monkeypatch.setattr(_execution, "copy_records", spy)
    return calls


@pytest.fixture(params=["unnest", "copy"])
def path(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, copied: list[Any]
) -> Iterator[str]:
    """Run the test through the one-statement ``unnest`` path and through COPY (every group)."""
    if request.param == "copy":
        monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 1)
    yield request.param
    assert bool(copied) == (request.param == "copy")


STAGING_TABLES = "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_matrx\\_copy\\_%'"


# --- the spec README, "CRUD Operations" ---------------------------------------------------------


async def test_readme_create_read_update_delete(tables: MigrationDB) -> None:
    user = await BulkUser.create(id=str(uuid4()), username="alice", email="alice@example.com")
    users = await BulkUser.bulk_create(
        [
            {"id": str(uuid4()), "username": "bob", "email": "bob@example.com"},
            {"id": str(uuid4()), "username": "carol", "email": "carol@example.com"},
        ]
    )
    assert [u.username for u in users] == ["bob", "carol"]
    assert all(u._persisted and u.is_active is True for u in users)

    user_id = user.id
    assert (await BulkUser.get(id=user_id)).username == "alice"
    assert (await BulkUser.get_or_none(id=user_id)) == user
    assert (await BulkUser.get_or_none(id=str(uuid4()))) is None
    assert (await BulkUser.get(use_cache=False, id=user_id)).email == "alice@example.com"

    count = await BulkUser.filter(id=user_id).update(bio="New bio", is_active=True)
    assert count == 1
    for u in users:
        u.is_active = False
    updated = await BulkUser.bulk_update(users, ["is_active"])
    assert updated == 2
    assert await BulkUser.count(is_active=False) == 2
    assert (await BulkUser.get(use_cache=False, id=user_id)).bio == "New bio"

    assert await BulkUser.count() == 3
    assert await BulkUser.count(is_active=True) == 1
    assert await BulkUser.exists(email="alice@example.com") is True
    assert await BulkUser.exists(email="nobody@example.com") is False

    assert await BulkUser.filter(id=user_id).delete() == 1
    deleted = await BulkUser.bulk_delete(users)
    assert deleted == 2
    assert await BulkUser.count() == 0
    assert await BulkUser.bulk_delete(users) == 0


# --- bulk_create ----------------------------------------------------------------------------------


async def test_bulk_create_empty_list_returns_empty_list(tables: MigrationDB) -> None:
    assert await BulkUser.bulk_create([]) == []


async def test_bulk_create_is_atomic_for_ten_thousand_rows(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows = [
        {"id": str(uuid4()), "username": f"user{i}", "email": f"u{i}@x.io"} for i in range(10_000)
    ]
    rows[9_998]["id"] = rows[17]["id"]  # row 9,999 repeats an earlier primary key
    with pytest.raises(IntegrityError) as info:
        await BulkUser.bulk_create(rows)
    assert copied == [("_matrx_copy_0", 10_000)]  # the default threshold sends it through COPY
    assert info.value.model == "BulkUser"
    assert info.value.constraint == "unique"
    assert await BulkUser.count() == 0
    assert await tables.fetch_val(STAGING_TABLES) == 0


async def test_bulk_create_forty_thousand_rows_in_one_call(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows = [{"code": f"c{i}", "score": i} for i in range(40_000)]
    things = await BulkThing.bulk_create(rows)
    assert copied == [("_matrx_copy_0", 40_000)]
    assert len(things) == 40_000
    assert await BulkThing.count() == 40_000
    assert [t.code for t in things[:3]] == ["c0", "c1", "c2"]
    assert all(t.score == i and t.code == f"c{i}" for i, t in enumerate(things))


async def test_bulk_create_maps_returned_rows_to_inputs(tables: MigrationDB, path: str) -> None:
    rows = [{"id": str(uuid4()), "username": f"m{i}", "email": f"m{i}@x.io"} for i in range(500)]
    random.Random(3).shuffle(rows)
    users = await BulkUser.bulk_create(rows)
    assert [u.username for u in users] == [r["username"] for r in rows]
    assert [u.id for u in users] == [r["id"] for r in rows]
    server = {u.username: u.id for u in await BulkUser.all()}
    assert all(server[u.username] == u.id for u in users)


async def test_bulk_create_server_generated_keys_map_by_position(
    tables: MigrationDB, path: str
) -> None:
    things = await BulkThing.bulk_create([{"code": f"p{i}", "score": 100 - i} for i in range(50)])
    stored = {t.code: t.id for t in await BulkThing.all()}
    assert [t.id for t in things] == [stored[f"p{i}"] for i in range(50)]
    assert len({t.id for t in things}) == 50


async def test_bulk_create_rows_missing_a_column_get_the_server_default(
    tables: MigrationDB, path: str
) -> None:
    things = await BulkThing.bulk_create(
        [
            {"code": "a", "score": 1},
            {"code": "b"},
            {"code": "c", "score": 3, "data": {"k": [1, "two"]}},
            {"code": "d", "score": None},
        ]
    )
    assert [(t.code, t.score) for t in things] == [("a", 1), ("b", 7), ("c", 3), ("d", 7)]
    assert things[2].data == {"k": [1, "two"]}
    assert things[0].data is None


async def test_bulk_create_round_trips_driver_types(tables: MigrationDB, path: str) -> None:
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    ref = str(uuid4())
    rows = [
        {
            "code": "t1",
            "score": 1,
            "data": ["x", {"y": None}],
            "amount": Decimal("12.30"),
            "seen_at": when,
            "ref": ref,
        },
        {"code": "t2", "score": 2, "data": "plain", "amount": 5, "seen_at": when, "ref": ref},
    ]
    things = await BulkThing.bulk_create(rows)
    fresh = {t.code: t for t in await BulkThing.all()}
    for thing in things:
        stored = fresh[thing.code]
        assert (stored.data, stored.amount, stored.seen_at, stored.ref) == (
            thing.data,
            thing.amount,
            thing.seen_at,
            thing.ref,
        )
    assert fresh["t1"].data == ["x", {"y": None}]
    assert fresh["t2"].data == "plain"
    assert fresh["t2"].amount == Decimal("5.00")
    assert fresh["t1"].seen_at == when
    assert fresh["t1"].ref == ref


class BulkToken(Model):
    """A client-generated uuid4 key (``default=uuid4``) and the benchmark's column types."""

    id = UUIDField(primary_key=True, default=uuid4)
    name = CharField(max_length=100)
    price = DecimalField(max_digits=10, decimal_places=2)
    at = DateTimeField()
    tags = JSONBField()

    _table_name = "bulk_token"
    _database = DB


async def test_bulk_create_same_shape_rows_equal_a_fresh_select(
    tables: MigrationDB, path: str
) -> None:
    await tables.execute(
        'CREATE TABLE "bulk_token" ("id" uuid PRIMARY KEY, "name" varchar(100) NOT NULL, '
        '"price" numeric(10, 2) NOT NULL, "at" timestamptz NOT NULL, "tags" jsonb NOT NULL)'
    )
    try:
        plus_two = dt.timezone(dt.timedelta(hours=2))
        rows = [
            {
                "name": f"n{i}",
                "price": Decimal(f"{i}.5"),
                "at": dt.datetime(2024, 1, 1, 12, i % 60, tzinfo=plus_two),
                "tags": {"i": i, "zz": [1, None], "a": "x"},
            }
            for i in range(500)
        ]
        made = await BulkToken.bulk_create(rows)
        fresh = {t.id: t for t in await BulkToken.all()}
        assert len(fresh) == 500
        for token, row in zip(made, rows, strict=True):
            stored = fresh[token.id]
            assert token.name == row["name"]
            assert {k: v for k, v in token.__dict__.items() if not k.startswith("_")} == {
                k: v for k, v in stored.__dict__.items() if not k.startswith("_")
            }
            assert str(token.price) == str(stored.price)
            assert token.at.tzinfo == dt.timezone.utc
            assert list(token.tags) == list(stored.tags)
    finally:
        await tables.execute('DROP TABLE IF EXISTS "bulk_token"')


class BulkAmount(Model):
    id = IntegerField(primary_key=True)
    free = DecimalField(max_digits=None)
    fixed = DecimalField(max_digits=12, decimal_places=3)

    _table_name = "bulk_amount"
    _database = DB


async def test_bulk_create_decimals_as_text_store_what_create_stores(
    tables: MigrationDB, path: str
) -> None:
    await tables.execute(
        'CREATE TABLE "bulk_amount" ("id" integer PRIMARY KEY, "free" numeric NOT NULL, '
        '"fixed" numeric(12, 3) NOT NULL)'
    )
    try:
        values = [
            Decimal("1.500"),
            Decimal("1E+2"),
            Decimal("-0"),
            Decimal("0.0000001"),
            Decimal("-123456789012345678901234567890.123"),
            Decimal("2.5E-12"),
        ]
        bulk = await BulkAmount.bulk_create(
            [{"id": i, "free": v, "fixed": i} for i, v in enumerate(values)]
        )
        single = [
            await BulkAmount.create(id=100 + i, free=v, fixed=i) for i, v in enumerate(values)
        ]
        fresh = {a.id: a for a in await BulkAmount.all()}
        for i, (made, one) in enumerate(zip(bulk, single, strict=True)):
            assert str(made.free) == str(one.free) == str(fresh[i].free)
            assert str(made.fixed) == str(one.fixed) == str(fresh[100 + i].fixed)
    finally:
        await tables.execute('DROP TABLE IF EXISTS "bulk_amount"')


async def test_bulk_create_validates_before_sending(tables: MigrationDB) -> None:
    with pytest.raises(BulkUser.ValidationError) as info:
        await BulkUser.bulk_create(
            [
                {"id": str(uuid4()), "username": "ok", "email": "e"},
                {"id": str(uuid4()), "username": "x" * 101, "email": "e"},
            ]
        )
    assert info.value.field == "username"
    assert info.value.details["row"] == 1
    assert await BulkUser.count() == 0


async def test_bulk_create_inside_a_transaction_rolls_back_with_it(
    tables: MigrationDB, path: str
) -> None:
    class Boom(Exception):
        pass

    async def fail_inside() -> None:
        async with transaction(DB):
            await BulkThing.bulk_create([{"code": "in-tx", "score": 1}, {"code": "other"}])
            assert await BulkThing.count() == 2
            raise Boom

    with pytest.raises(Boom):
        await fail_inside()
    assert await BulkThing.count() == 0


# --- bulk_update / bulk_delete --------------------------------------------------------------------


async def test_bulk_update_one_statement_many_fields(tables: MigrationDB) -> None:
    things = await BulkThing.bulk_create([{"code": f"u{i}", "score": i} for i in range(300)])
    for thing in things:
        thing.score = thing.score * 10
        thing.data = {"n": thing.score}
    assert await BulkThing.bulk_update(things, ["score", "data"]) == 300
    fresh = {t.code: t for t in await BulkThing.all()}
    assert all(fresh[f"u{i}"].score == i * 10 for i in range(300))
    assert fresh["u5"].data == {"n": 50}


async def test_bulk_update_rejects_unsaved_objects_and_unknown_fields(
    tables: MigrationDB,
) -> None:
    [thing] = await BulkThing.bulk_create([{"code": "only", "score": 1}])
    with pytest.raises(ValidationError):
        await BulkThing.bulk_update([thing, BulkThing(code="new", score=2)], ["score"])
    with pytest.raises(Exception, match="'nope' is not a field"):
        await BulkThing.bulk_update([thing], ["nope"])
    assert (await BulkThing.get(use_cache=False, code="only")).score == 1


async def test_bulk_update_and_delete_with_a_composite_key(tables: MigrationDB) -> None:
    pairs = await BulkPair.bulk_create([{"a": i, "b": i % 3} for i in range(10)])
    assert await BulkPair.count() == 10
    assert await BulkPair.bulk_delete(pairs[:4]) == 4
    assert sorted(p.a for p in await BulkPair.all()) == list(range(4, 10))
    assert pairs[0]._persisted is False


async def test_bulk_update_counts_only_rows_that_exist(tables: MigrationDB) -> None:
    things = await BulkThing.bulk_create([{"code": "x1", "score": 1}, {"code": "x2", "score": 2}])
    await BulkThing.delete_where(code="x2")
    for thing in things:
        thing.score = 50
    assert await BulkThing.bulk_update(things, ["score"]) == 1


HOSTILE_VALUES = [
    "'; DROP TABLE bulk_user; --",
    "quote \" and ' both",
    "/* comment */ -- line",
    "$1 $2 ?",
    "naïve 🚀 ünïcode",
    "back\\slash",
    '{"json": [1]}',
    "x" * 90,
]


async def test_hostile_values_round_trip_verbatim(tables: MigrationDB, path: str) -> None:
    rows = [
        {"id": str(uuid4()), "username": f"h{i}", "email": value, "bio": value}
        for i, value in enumerate(HOSTILE_VALUES)
    ]
    created = await BulkUser.bulk_create(rows)
    assert [u.bio for u in created] == HOSTILE_VALUES
    fresh = {u.username: u for u in await BulkUser.all()}
    assert [fresh[f"h{i}"].bio for i in range(len(HOSTILE_VALUES))] == HOSTILE_VALUES
    for user in created:
        user.email = user.bio + "!"
    assert await BulkUser.bulk_update(created, ["email"]) == len(HOSTILE_VALUES)
    result = await BulkUser.update_where({"bio": HOSTILE_VALUES[0]}, bio=HOSTILE_VALUES[1])
    assert result["updated_rows"][0]["bio"] == HOSTILE_VALUES[1]
    fresh = {u.username: u for u in await BulkUser.all()}
    assert [fresh[f"h{i}"].email for i in range(len(HOSTILE_VALUES))] == [
        v + "!" for v in HOSTILE_VALUES
    ]
    assert await BulkUser.delete_where(email=HOSTILE_VALUES[2] + "!") == 1


# --- bulk_create through COPY ---------------------------------------------------------------------


class BulkCopyMix(Model):
    """Every carrier the COPY path uses: text-carried uuid/numeric/json/jsonb, binary others."""

    id = UUIDField(primary_key=True, default=uuid4)
    doc = JSONField(null=True)
    docb = JSONBField(null=True)
    price = DecimalField(max_digits=12, decimal_places=3, null=True)
    at = DateTimeField(null=True)
    flag = BooleanField(null=True)
    note = TextField(null=True)
    nums = ArrayField(IntegerField(), null=True)
    rank = IntegerField()

    _table_name = "bulk_copy_mix"
    _database = DB


MIX_TABLE = (
    'CREATE TABLE "bulk_copy_mix" ("id" uuid PRIMARY KEY, "doc" json, "docb" jsonb, '
    '"price" numeric(12, 3), "at" timestamptz, "flag" boolean, "note" text, "nums" integer[], '
    '"rank" integer NOT NULL DEFAULT 42)'
)


@pytest.fixture
async def mix(tables: MigrationDB) -> AsyncIterator[MigrationDB]:
    await tables.execute(MIX_TABLE)
    try:
        yield tables
    finally:
        await tables.execute('DROP TABLE IF EXISTS "bulk_copy_mix"')


def _public(instance: Model) -> dict[str, Any]:
    return {k: v for k, v in instance.__dict__.items() if not k.startswith("_")}


async def test_copy_round_trips_every_carrier_and_null(
    mix: MigrationDB, copied: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 1_000)
    plus_five = dt.timezone(dt.timedelta(hours=5, minutes=30))
    rows: list[dict[str, Any]] = []
    for i in range(3_000):
        row: dict[str, Any] = {"rank": i}
        if i % 3:  # a third of the rows leave every nullable column out: their own group
            row.update(
                id=str(uuid4()),
                doc=[i, "x", {"k": None}] if i % 2 else "plain string",
                docb={"i": i, "nested": {"list": [1.5, True, None]}},
                price=Decimal(i) / 8,
                at=dt.datetime(2024, 2, 29, 23, 59, i % 60, 123456, tzinfo=plus_five),
                flag=bool(i % 2),
                note=f"n{i}\t\\N\n",
                nums=[i, -i, 0],
            )
        rows.append(row)
    made = await BulkCopyMix.bulk_create(rows)
    assert sorted(n for _, n in copied) == [1_000, 2_000]  # both groups went through COPY
    fresh = {m.id: m for m in await BulkCopyMix.all()}
    assert len(fresh) == 3_000
    for row, inst in zip(rows, made, strict=True):
        assert _public(inst) == _public(fresh[inst.id])
        assert inst.rank == row["rank"]
        if "doc" in row:
            assert inst.id == row["id"]
            assert (inst.doc, inst.docb, inst.nums, inst.note) == (
                row["doc"],
                row["docb"],
                row["nums"],
                row["note"],
            )
            assert inst.price == Decimal(row["price"]).quantize(Decimal("0.001"))
            assert inst.at == row["at"]
        else:
            assert (inst.doc, inst.docb, inst.price, inst.at, inst.nums) == (None,) * 5


async def test_copy_fills_server_defaults_for_the_union_of_keys(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows: list[dict[str, Any]] = [
        {"code": f"s{i}", "score": i} if i % 2 else {"code": f"s{i}"} for i in range(12_000)
    ]
    things = await BulkThing.bulk_create(rows)
    assert sorted(n for _, n in copied) == [6_000, 6_000]
    assert [t.score for t in things[:4]] == [7, 1, 7, 3]  # 7 is the column's server default
    assert [t.code for t in things] == [r["code"] for r in rows]
    stored = {t.code: (t.id, t.score) for t in await BulkThing.all()}
    assert all(stored[t.code] == (t.id, t.score) for t in things)


async def test_copy_error_names_the_model_and_the_column(
    tables: MigrationDB, monkeypatch: pytest.MonkeyPatch, copied: list[tuple[str, int]]
) -> None:
    monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 1)
    rows = [{"id": str(uuid4()), "username": f"e{i}"} for i in range(3)]  # email is NOT NULL
    with pytest.raises(IntegrityError) as info:
        await BulkUser.bulk_create(rows)
    assert copied
    error = info.value
    assert error.model == "BulkUser"
    assert error.operation == "bulk_create"
    assert error.constraint == "not_null"
    assert error.column == "email"
    assert await BulkUser.count() == 0


async def test_copy_leaves_no_staging_table_in_or_after_a_transaction(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows = [{"code": f"t{i}", "score": i} for i in range(_bulk_copy.COPY_MIN_ROWS)]
    async with transaction(DB):
        await BulkThing.bulk_create(rows)
        # Same connection, same transaction: the step dropped its table already, so a second
        # COPY in the same transaction can create it again.
        assert await _execution.fetch_val(DB, STAGING_TABLES) == 0
        await BulkThing.bulk_create([{**r, "code": r["code"] + "b"} for r in rows])
    assert [name for name, _ in copied] == ["_matrx_copy_0", "_matrx_copy_0"]
    assert await BulkThing.count() == 2 * len(rows)
    # The catalog of every session, the pooled connections included, holds no staging table.
    assert await tables.fetch_val(STAGING_TABLES) == 0


async def test_copy_inside_a_failed_transaction_leaves_nothing(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows = [{"code": f"f{i}", "score": i} for i in range(_bulk_copy.COPY_MIN_ROWS)]

    async def copy_then_fail() -> None:
        async with transaction(DB):
            await BulkThing.bulk_create(rows)
            raise RuntimeError("after the copy")

    with pytest.raises(RuntimeError, match="after the copy"):
        await copy_then_fail()
    assert copied
    assert await BulkThing.count() == 0
    assert await tables.fetch_val(STAGING_TABLES) == 0


async def test_copy_ignores_a_table_named_like_the_staging_table(
    tables: MigrationDB, monkeypatch: pytest.MonkeyPatch, copied: list[tuple[str, int]]
) -> None:
    monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 1)
    await tables.execute('CREATE TABLE "_matrx_copy_0" ("code" text)')
    try:
        async with transaction(DB):
            # With pg_temp after public, an unqualified "_matrx_copy_0" would mean the table
            # above for COPY, INSERT ... SELECT and DROP.
            await _execution.execute(DB, "SET LOCAL search_path = public, pg_temp")
            things = await BulkThing.bulk_create([{"code": "s1", "score": 1}, {"code": "s2"}])
        assert [(t.code, t.score) for t in things] == [("s1", 1), ("s2", 7)]
        assert copied
        # The staging steps used the session's own temporary schema: this table is untouched.
        assert await tables.fetch_val('SELECT count(*) FROM "_matrx_copy_0"') == 0
    finally:
        await tables.execute('DROP TABLE IF EXISTS "_matrx_copy_0"')


async def test_bulk_upsert_through_copy_inserts_updates_and_stays_atomic(
    tables: MigrationDB, monkeypatch: pytest.MonkeyPatch, copied: list[tuple[str, int]]
) -> None:
    monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 1_000)
    first = [{"id": str(uuid4()), "username": f"u{i}", "email": f"old{i}"} for i in range(2_000)]
    await BulkUser.bulk_create(first)
    # Half the rows hit an existing username (updated), half are new (inserted).
    rows = [
        {"id": str(uuid4()), "username": f"u{i}", "email": f"new{i}"} for i in range(1_000, 3_000)
    ]
    users = await BulkUser.bulk_upsert(rows, ["username"], update_fields=["email"])
    assert [n for _, n in copied] == [2_000, 2_000]
    assert [u.email for u in users] == [r["email"] for r in rows]
    # An updated row keeps its stored key; an inserted one has the key it was given.
    assert users[0].id == first[1_000]["id"]
    assert users[-1].id == rows[-1]["id"]
    assert await BulkUser.count() == 3_000
    assert await BulkUser.count(email="old5") == 1
    assert await BulkUser.count(email="new2999") == 1

    # A primary key that collides with another row (not the conflict target) fails the whole
    # statement: nothing of this call is written, the earlier rows are unchanged.
    clash = [{"id": str(uuid4()), "username": f"u{i}", "email": f"x{i}"} for i in range(1_500)]
    clash[-1]["id"] = first[0]["id"]
    clash[-1]["username"] = "someone-new"
    with pytest.raises(IntegrityError) as info:
        await BulkUser.bulk_upsert(clash, ["username"], update_fields=["email"])
    assert info.value.model == "BulkUser"
    assert await BulkUser.count(email__startswith="x") == 0
    assert await BulkUser.count() == 3_000


class BulkVersioned(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=20)
    version = VersionField()

    _table_name = "bulk_versioned"
    _database = DB


async def test_bulk_upsert_through_copy_bumps_the_version_of_updated_rows(
    tables: MigrationDB, monkeypatch: pytest.MonkeyPatch, copied: list[tuple[str, int]]
) -> None:
    monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 1_000)
    await tables.execute(
        'CREATE TABLE "bulk_versioned" ("id" integer PRIMARY KEY, "name" varchar(20) NOT NULL, '
        '"version" integer NOT NULL DEFAULT 1)'
    )
    try:
        await BulkVersioned.bulk_create([{"id": i, "name": f"v{i}"} for i in range(1_000)])
        rows = [{"id": i, "name": f"w{i}"} for i in range(500, 1_500)]
        result = await BulkVersioned.bulk_upsert(rows, ["id"])
        assert [n for _, n in copied] == [1_000, 1_000]
        assert [r.version for r in result[:2]] == [2, 2]  # existing rows: bumped
        assert [r.version for r in result[-2:]] == [1, 1]  # new rows: first version
        assert await BulkVersioned.count(version=2) == 500
        assert await BulkVersioned.count(name__startswith="w") == 1_000
    finally:
        await tables.execute('DROP TABLE IF EXISTS "bulk_versioned"')


# --- bulk_create(returning=False): COPY straight into the table -----------------------------------


async def test_count_mode_copies_straight_into_the_table_and_is_atomic(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows = [
        {"id": str(uuid4()), "username": f"user{i}", "email": f"u{i}@x.io"} for i in range(10_000)
    ]
    rows[9_998]["id"] = rows[17]["id"]  # row 9,999 repeats an earlier primary key
    with pytest.raises(IntegrityError) as info:
        await BulkUser.bulk_create(rows, returning=False)
    assert copied == [("bulk_user", 10_000)]  # one COPY into the model's own table
    assert info.value.model == "BulkUser"
    assert info.value.operation == "bulk_create"
    assert info.value.constraint == "unique"
    assert await BulkUser.count() == 0
    rows[9_998]["id"] = str(uuid4())
    assert await BulkUser.bulk_create(rows, returning=False) == 10_000
    stored = {u.id: u for u in await BulkUser.all()}
    assert len(stored) == 10_000
    assert stored[rows[9_998]["id"]].username == "user9998"
    assert all(u.is_active for u in stored.values())  # the field's client default


async def test_count_mode_fills_server_defaults_for_the_union_of_keys(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows: list[dict[str, Any]] = [
        {"code": f"s{i}", "score": i} if i % 2 else {"code": f"s{i}"} for i in range(1_000)
    ]
    assert await BulkThing.bulk_create(rows, returning=False) == 1_000
    assert sorted(copied) == [("bulk_thing", 500), ("bulk_thing", 500)]
    stored = {t.code: t for t in await BulkThing.all()}
    assert [stored[f"s{i}"].score for i in range(4)] == [7, 1, 7, 3]  # 7: the server default
    assert len({t.id for t in stored.values()}) == 1_000  # serial keys from the server


async def test_count_mode_round_trips_every_type_and_null(
    mix: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    plus_five = dt.timezone(dt.timedelta(hours=5, minutes=30))
    rows: list[dict[str, Any]] = []
    for i in range(300):
        row: dict[str, Any] = {"rank": i}
        if i % 3:
            row.update(
                id=str(uuid4()),
                doc=[i, "x", {"k": None}] if i % 2 else "plain string",
                docb={"i": i, "nested": {"list": [1.5, True, None]}, "quote": "'\"\\"},
                price=Decimal(i) / 8,
                at=dt.datetime(2024, 2, 29, 23, 59, i % 60, 123456, tzinfo=plus_five),
                flag=bool(i % 2),
                note=HOSTILE_VALUES[i % len(HOSTILE_VALUES)] + "\t\\N\n",
                nums=[i, -i, 0],
            )
        elif i % 2:
            row.update(doc=None, docb=None, price=None, at=None, flag=None, note=None, nums=None)
        rows.append(row)
    assert await BulkCopyMix.bulk_create(rows, returning=False) == 300
    # None is left to the server default as in create(): rows giving None and rows leaving the
    # columns out form one group.
    assert sorted(n for _, n in copied) == [100, 200]
    fresh = {m.rank: m for m in await BulkCopyMix.all()}
    assert len(fresh) == 300
    for row in rows:
        inst = fresh[row["rank"]]
        if "doc" in row and row["doc"] is not None:
            assert inst.id == row["id"]
            assert (inst.doc, inst.docb, inst.nums, inst.note, inst.flag) == (
                row["doc"],
                row["docb"],
                row["nums"],
                row["note"],
                row["flag"],
            )
            assert inst.price == Decimal(row["price"]).quantize(Decimal("0.001"))
            assert inst.at == row["at"]
        else:
            assert (inst.doc, inst.docb, inst.price, inst.at, inst.nums) == (None,) * 5
            assert (inst.flag, inst.note) == (None, None)


async def test_count_mode_error_names_the_model_and_the_column(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    rows = [{"id": str(uuid4()), "username": f"e{i}"} for i in range(3)]  # email is NOT NULL
    with pytest.raises(IntegrityError) as info:
        await BulkUser.bulk_create(rows, returning=False)
    assert copied == [("bulk_user", 3)]
    assert (info.value.model, info.value.constraint, info.value.column) == (
        "BulkUser",
        "not_null",
        "email",
    )
    assert await BulkUser.count() == 0


async def test_count_mode_groups_roll_back_together(
    tables: MigrationDB, copied: list[tuple[str, int]]
) -> None:
    # Two column groups: the first copies fine, the second breaks the unique code.
    rows: list[dict[str, Any]] = [{"code": f"g{i}", "score": i} for i in range(100)]
    rows += [{"code": f"h{i}"} for i in range(99)] + [{"code": "g3"}]
    with pytest.raises(IntegrityError) as info:
        await BulkThing.bulk_create(rows, returning=False)
    assert info.value.model == "BulkThing"
    assert [n for _, n in copied] == [100, 100]
    assert await BulkThing.count() == 0


async def test_count_mode_inside_a_failed_transaction_leaves_nothing(
    tables: MigrationDB,
) -> None:
    async def copy_then_fail() -> None:
        async with transaction(DB):
            assert await BulkThing.bulk_create([{"code": "t1"}], returning=False) == 1
            assert await BulkThing.count() == 1  # visible inside the transaction
            raise RuntimeError("after the copy")

    with pytest.raises(RuntimeError, match="after the copy"):
        await copy_then_fail()
    assert await BulkThing.count() == 0


async def test_count_mode_leaves_no_session_state_on_pooled_connections(
    tables: MigrationDB,
) -> None:
    rows = [{"id": str(uuid4()), "username": f"p{i}", "email": "e"} for i in range(50)]
    assert await BulkUser.bulk_create(rows, returning=False) == 50
    with pytest.raises(IntegrityError):
        await BulkUser.bulk_create(rows, returning=False)  # duplicates: the COPY fails
    # Every pooled connection is idle (no transaction left open by the failed COPY) and a
    # plain statement on each works.
    states = await tables.fetch(
        "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
    )
    assert list(states) == []
    assert await BulkUser.count() == 50
    assert await tables.fetch_val(STAGING_TABLES) == 0


async def test_driver_copy_encodes_uuid_and_json_with_builtin_codecs(tables: MigrationDB) -> None:
    ref = uuid4()
    async with transaction(DB):
        copied = await _execution.copy_records(
            DB,
            "bulk_thing",
            ("code", "data", "ref"),
            [("a", '{"k": [1, "x"]}', ref), ("b", '"text"', str(ref)), ("c", None, None)],
            model="BulkThing",
            operation="bulk_create",
        )
        # The same connection still uses the ORM's text codecs for ordinary statements.
        value = await _execution.fetch_val(DB, "SELECT $1::jsonb", [{"k": "v"}])
    assert copied == 3
    assert value == {"k": "v"}  # encoded and decoded by json.dumps/json.loads
    stored = {t.code: t for t in await BulkThing.all()}
    assert (stored["a"].data, stored["a"].ref) == ({"k": [1, "x"]}, str(ref))
    assert (stored["b"].data, stored["b"].ref, stored["c"].data) == ("text", str(ref), None)


class CopyShapeA(Model):
    id = IntegerField(primary_key=True)
    code = CharField(max_length=20)
    seen_at = DateTimeField(null=True)

    _table_name = "bulk_shape_a"
    _database = DB


class CopyShapeB(Model):
    id = UUIDField(primary_key=True)
    code = IntegerField()
    seen_at = DateField(null=True)

    _table_name = "bulk_shape_b"
    _database = DB


SHAPES = (
    'CREATE TABLE "bulk_shape_a" ("id" integer PRIMARY KEY, "code" varchar(20) NOT NULL, '
    '"seen_at" timestamptz);'
    'CREATE TABLE "bulk_shape_b" ("id" uuid PRIMARY KEY, "code" integer NOT NULL, '
    '"seen_at" date)'
)


@pytest.mark.parametrize("returning", [True, False])
async def test_copies_of_same_named_columns_with_other_types_on_one_connection(
    tables: MigrationDB, monkeypatch: pytest.MonkeyPatch, returning: bool
) -> None:
    # Both models stage (or copy) columns "id", "code" and "seen_at" of other types on one
    # connection, the staging table under one name: each COPY must encode for the types of
    # the table it writes now, not for a description cached from the previous one.
    monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 1)
    await tables.execute(SHAPES)
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    try:
        async with transaction(DB):
            for round_ in range(2):
                await CopyShapeA.filter().delete()
                await CopyShapeB.filter().delete()
                a_rows = [{"id": i, "code": f"a{i}", "seen_at": when} for i in range(3)]
                b_rows = [{"id": str(uuid4()), "code": i, "seen_at": when.date()} for i in range(3)]
                for model, rows in ((CopyShapeA, a_rows), (CopyShapeB, b_rows)):
                    made = await model.bulk_create(rows, returning=returning)
                    assert (made if not returning else len(made)) == 3, (round_, model)
        assert sorted(b.code for b in await CopyShapeB.all()) == [0, 1, 2]
        assert {b.seen_at for b in await CopyShapeB.all()} == {when.date()}
        assert sorted(a.code for a in await CopyShapeA.all()) == ["a0", "a1", "a2"]
        assert {a.seen_at for a in await CopyShapeA.all()} == {when}
    finally:
        await tables.execute('DROP TABLE IF EXISTS "bulk_shape_a", "bulk_shape_b"')


async def test_count_mode_value_the_table_type_refuses_is_a_parameter_error(
    tables: MigrationDB,
) -> None:
    # The model says timestamptz (aware datetimes); the table was made with a naive timestamp.
    # COPY encodes for the table's type, which refuses an aware value: a ParameterError naming
    # the model and the COPY target, nothing stored, and the pool's connections stay usable.
    await tables.execute(
        'CREATE TABLE "bulk_shape_a" ("id" integer PRIMARY KEY, "code" varchar(20) NOT NULL, '
        '"seen_at" timestamp)'
    )
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    try:
        for _ in range(3):
            with pytest.raises(ParameterError) as info:
                await CopyShapeA.bulk_create(
                    [{"id": i, "code": "c", "seen_at": when} for i in range(3)], returning=False
                )
            assert info.value.model == "CopyShapeA"
            assert info.value.operation == "bulk_create"
            assert 'COPY "bulk_shape_a"' in str(info.value)
        assert [await CopyShapeA.count() for _ in range(8)] == [0] * 8
        # The default mode lets the server convert, as it always has.
        assert len(await CopyShapeA.bulk_create([{"id": 1, "code": "c", "seen_at": when}])) == 1
    finally:
        await tables.execute('DROP TABLE IF EXISTS "bulk_shape_a"')
