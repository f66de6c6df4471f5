"""Tests for the set-based writes (models/_bulk.py): exact SQL and parameters of every statement
shape, input validation before anything is sent, result matching and cache notices."""

# ruff: noqa: RUF012 - model declarations use list/dict class attributes, as the spec does

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import (
    FieldError,
    IntegrityError,
    ParameterError,
    StateError,
    ValidationError,
)
from matrx_orm_core.fields import (
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    Field,
    IntegerField,
    JSONField,
    UUIDField,
)
from matrx_orm_core.models import Model, _bulk, _bulk_copy, _bulk_prepare
from matrx_orm_core.sql import Params, Table
from matrx_orm_core.testing import Recorder

U1 = "00000000-0000-0000-0000-000000000001"
U2 = "00000000-0000-0000-0000-000000000002"
U3 = "00000000-0000-0000-0000-000000000003"
COLS = '"id", "username", "email", "is_active"'


class BUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=10)
    email = CharField(null=True)
    is_active = BooleanField(default=True)
    _table_name = "user"
    _database = "recorded"


class BItem(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=20)
    data = JSONField(null=True)
    _database = "recorded"
    _db_schema = "app"


class BStamp(Model):
    id = IntegerField(primary_key=True)
    created = DateTimeField(auto_now_add=True)
    touched = DateTimeField(auto_now=True)
    _database = "recorded"


class BPair(Model):
    a = IntegerField()
    b = IntegerField()
    note = CharField(null=True)
    _database = "recorded"
    _primary_keys = ["a", "b"]


class BTags(Model):
    id = IntegerField(primary_key=True)
    tags: Field[list[str]] = Field(db_type="text[]", null=True)
    _database = "recorded"


def urow(uid: str, name: str, **extra: Any) -> dict[str, Any]:
    row = {"id": uid, "username": name, "email": None, "is_active": True}
    row.update(extra)
    return row


class FakeCache:
    """A ModelCache recording the write notices and stores."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def lookup(self, model: type, lookup: Mapping[str, Any]) -> Any:
        return hooks.MISS

    def store(self, model: type, instances: Sequence[Any]) -> None:
        self.calls.append(("store", model, list(instances)))

    def notify_write(self, model: type, pks: Any) -> None:
        self.calls.append(("notify_write", model, pks if pks is hooks.ALL_ROWS else list(pks)))

    def clear(self, model: type | None = None, *, database: str | None = None) -> None:
        self.calls.append(("clear", model))

    def on_commit(self, database: str) -> None:
        self.calls.append(("on_commit", database))

    def on_rollback(self, database: str) -> None:
        self.calls.append(("on_rollback", database))


@pytest.fixture
def cache() -> Iterator[FakeCache]:
    fake = FakeCache()
    previous = hooks.set_model_cache(fake)
    yield fake
    hooks.set_model_cache(previous)


# --- bulk_create ----------------------------------------------------------------------------------


async def test_bulk_create_one_unnest_statement_with_array_parameters(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result(rows=[urow(U2, "bob"), urow(U1, "al")])  # order not guaranteed
    users = await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}])
    assert recording_db.statements == [
        (
            'INSERT INTO "user" ("id", "username", "is_active") SELECT "_0"::uuid, "_1", "_2" '
            'FROM unnest($1::text[], $2::varchar(10)[], $3::boolean[]) AS "_v"("_0", "_1", "_2") '
            f"RETURNING {COLS}",
            ([U1, U2], ["al", "bob"], [True, True]),
        )
    ]
    assert [u.username for u in users] == ["al", "bob"]  # matched back by primary key
    assert all(u._persisted for u in users)
    assert cache.calls == [("notify_write", BUser, [U1, U2]), ("store", BUser, users)]


async def test_bulk_create_empty_list_sends_nothing(recording_db: Recorder) -> None:
    assert await BUser.bulk_create([]) == []
    assert recording_db.statements == []


async def test_bulk_create_server_key_uses_ordinality(recording_db: Recorder) -> None:
    recording_db.add_result(
        rows=[{"id": 7, "name": "a", "data": None}, {"id": 8, "name": "b", "data": None}]
    )
    items = await BItem.bulk_create([{"name": "a"}, {"name": "b"}])
    assert recording_db.statements == [
        (
            'INSERT INTO "app"."b_item" ("name") SELECT "_0" FROM unnest($1::varchar(20)[]) '
            'WITH ORDINALITY AS "_v"("_0", "_ord") ORDER BY "_ord" '
            'RETURNING "id", "name", "data"',
            (["a", "b"],),
        )
    ]
    assert [(i.id, i.name) for i in items] == [(7, "a"), (8, "b")]


async def test_bulk_create_json_travels_as_text_and_is_cast_back(recording_db: Recorder) -> None:
    recording_db.add_result(
        rows=[{"id": 1, "name": "a", "data": [1, 2]}, {"id": 2, "name": "b", "data": "s"}]
    )
    await BItem.bulk_create(
        [{"id": 1, "name": "a", "data": [1, 2]}, {"id": 2, "name": "b", "data": "s"}]
    )
    assert recording_db.statements == [
        (
            'INSERT INTO "app"."b_item" ("id", "name", "data") SELECT "_0", "_1", "_2"::jsonb '
            'FROM unnest($1::integer[], $2::varchar(20)[], $3::text[]) AS "_v"("_0", "_1", "_2") '
            'RETURNING "id", "name", "data"',
            ([1, 2], ["a", "b"], [json.dumps([1, 2]), json.dumps("s")]),
        )
    ]


async def test_bulk_create_groups_rows_by_columns_in_one_transaction(
    recording_db: Recorder,
) -> None:
    recording_db.add_result(rows=[urow(U1, "al"), urow(U3, "cy")])
    recording_db.add_result(rows=[urow(U2, "bob", email="b@x")])
    users = await BUser.bulk_create(
        [
            {"id": U1, "username": "al"},
            {"id": U2, "username": "bob", "email": "b@x"},
            {"id": U3, "username": "cy", "email": None},
        ]
    )
    assert recording_db.sql == [
        "BEGIN",
        'INSERT INTO "user" ("id", "username", "is_active") SELECT "_0"::uuid, "_1", "_2" '
        'FROM unnest($1::text[], $2::varchar(10)[], $3::boolean[]) AS "_v"("_0", "_1", "_2") '
        f"RETURNING {COLS}",
        'INSERT INTO "user" ("id", "username", "email", "is_active") SELECT "_0"::uuid, "_1", '
        '"_2", "_3" FROM unnest($1::text[], $2::varchar(10)[], $3::varchar(255)[], '
        '$4::boolean[]) AS "_v"("_0", "_1", "_2", "_3") '
        f"RETURNING {COLS}",
        "COMMIT",
    ]
    assert recording_db.params[1] == ([U1, U3], ["al", "cy"], [True, True])
    assert [u.username for u in users] == ["al", "bob", "cy"]  # input order


async def test_bulk_create_failure_in_a_later_group_rolls_back(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow(U1, "al")])
    recording_db.add_server_error("23505", "duplicate key", constraint_name="user_pkey")
    with pytest.raises(IntegrityError):
        await BUser.bulk_create(
            [{"id": U1, "username": "al"}, {"id": U2, "username": "bob", "email": "b@x"}]
        )
    assert recording_db.sql[0] == "BEGIN"
    assert recording_db.sql[-1] == "ROLLBACK"


async def test_bulk_create_validates_every_row_before_sending(recording_db: Recorder) -> None:
    with pytest.raises(FieldError) as info:
        await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "nickname": "x"}])
    assert "'nickname' is not a field of BUser" in info.value.message
    with pytest.raises(BUser.ValidationError) as err:
        await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "x" * 11}])
    assert err.value.field == "username"
    assert err.value.details["row"] == 1
    with pytest.raises(ValidationError, match="row 1 is a str"):
        await BUser.bulk_create([{"id": U1, "username": "al"}, "oops"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="must be a list"):
        await BUser.bulk_create({"id": U1})  # type: ignore[arg-type]
    assert recording_db.statements == []


async def test_bulk_create_reports_the_first_bad_row_in_row_order(recording_db: Recorder) -> None:
    # Row 1 fails on a later field (email is not a str) and row 2 on an earlier one (username
    # too long): the error names row 1, the first bad row, as a row-by-row pass would.
    rows: list[dict[str, Any]] = [
        {"id": U1, "username": "al", "email": "a@x"},
        {"id": U2, "username": "bob", "email": 5},
        {"id": U3, "username": "x" * 11, "email": "c@x"},
    ]
    with pytest.raises(BUser.ValidationError) as err:
        await BUser.bulk_create(rows)
    assert err.value.field == "email"
    assert err.value.details["row"] == 1
    assert recording_db.statements == []


async def test_bulk_create_value_whose_eq_raises_is_reported_as_before(
    recording_db: Recorder,
) -> None:
    class Odd:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparisons")

        __hash__ = object.__hash__

    with pytest.raises(BItem.ValidationError, match="not JSON-serialisable") as err:
        await BItem.bulk_create([{"id": 1, "name": "a", "data": Odd()}])
    assert err.value.details["row"] == 0
    assert recording_db.statements == []


def test_prepare_rows_is_the_same_column_wise_and_row_by_row() -> None:
    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    same = [{"id": 1, "name": "a", "data": {"k": [1, 2]}}, {"id": 2, "name": "b", "data": "s"}]
    mixed = [*same, {"id": 3, "name": "c"}]  # different keys: the row-by-row path
    fast = _bulk.prepare_rows(BItem, same, "bulk_create", keep_none=False)
    slow = _bulk.prepare_rows(BItem, mixed, "bulk_create", keep_none=False)[:2]
    assert [r.values for r in fast] == [r.values for r in slow]
    assert [r.json_text("data") for r in fast] == ['{"k": [1, 2]}', '"s"']
    assert [r.json_text("data") for r in slow] == ['{"k": [1, 2]}', '"s"']
    assert [r.supplied for r in fast] == [(), ()]
    kept = _bulk.prepare_rows(BItem, same, "bulk_upsert", keep_none=True)
    assert [r.supplied for r in kept] == [("id", "name", "data"), ("id", "name", "data")]
    stamps = _bulk.prepare_rows(
        BStamp, [{"id": 1, "created": when}], "bulk_create", keep_none=False
    )
    assert stamps[0].values["created"] == when
    assert stamps[0].values["created"].tzinfo is dt.timezone.utc


async def test_bulk_create_generated_uuid_keys_travel_as_text(recording_db: Recorder) -> None:
    class BToken(Model):
        id = UUIDField(primary_key=True, default="gen_random_uuid()")
        label = CharField(max_length=10)
        _database = "recorded"

    recording_db.add_result(rows=[{"id": U1, "label": "a"}, {"id": U2, "label": "b"}])
    await BToken.bulk_create([{"label": "a"}, {"label": "b"}])
    sql, params = recording_db.statements[0]
    assert sql == (
        'INSERT INTO "b_token" ("id", "label") SELECT "_0"::uuid, "_1" FROM unnest($1::text[], '
        '$2::varchar(10)[]) AS "_v"("_0", "_1") RETURNING "id", "label"'
    )
    ids = params[0]
    assert len(set(ids)) == 2
    for value in ids:
        assert str(uuid.UUID(value)) == value
        assert uuid.UUID(value).version == 4


async def test_bulk_create_decimals_travel_as_text(recording_db: Recorder) -> None:
    class BPrice(Model):
        id = IntegerField(primary_key=True)
        amount = DecimalField(max_digits=6, decimal_places=2, null=True)
        free = DecimalField(max_digits=None, null=True)
        _database = "recorded"

    recording_db.add_result(rows=[{"id": 1, "amount": None, "free": None}])
    recording_db.add_result(rows=[{"id": 2, "amount": None, "free": None}])
    await BPrice.bulk_create(
        [{"id": 1, "amount": Decimal("1.5"), "free": Decimal("1E+2")}, {"id": 2, "amount": 7}]
    )
    assert recording_db.statements[1] == (
        'INSERT INTO "b_price" ("id", "amount", "free") SELECT "_0", "_1"::numeric(6,2), '
        '"_2"::numeric FROM unnest($1::integer[], $2::text[], $3::text[]) AS "_v"("_0", "_1", '
        '"_2") RETURNING "id", "amount", "free"',
        ([1], ["1.50"], ["1E+2"]),
    )
    assert recording_db.statements[2][1] == ([2], ["7.00"])


async def test_bulk_create_applies_auto_now(recording_db: Recorder) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    recording_db.add_result(rows=[{"id": 1, "created": now, "touched": now}])
    await BStamp.bulk_create([{"id": 1}])
    sql, params = recording_db.statements[0]
    assert sql.startswith('INSERT INTO "b_stamp" ("id", "created", "touched") SELECT * FROM')
    assert params[1] == params[2]
    assert params[1][0] >= now


async def test_bulk_create_with_only_defaults_inserts_default_values(
    recording_db: Recorder,
) -> None:
    recording_db.add_result(rows=[{"a": 1, "b": 2, "note": None}])
    recording_db.add_result(rows=[{"a": 3, "b": 4, "note": None}])
    pairs = await BPair.bulk_create([{}, {"note": None}])
    assert recording_db.sql == [
        "BEGIN",
        'INSERT INTO "b_pair" DEFAULT VALUES RETURNING "a", "b", "note"',
        'INSERT INTO "b_pair" DEFAULT VALUES RETURNING "a", "b", "note"',
        "COMMIT",
    ]
    assert [(p.a, p.b) for p in pairs] == [(1, 2), (3, 4)]


async def test_bulk_create_array_columns_use_values_chunks(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": []}])
    await BTags.bulk_create([{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": []}])
    assert recording_db.statements == [
        (
            'INSERT INTO "b_tags" ("id", "tags") VALUES ($1, $2), ($3, $4) RETURNING "id", "tags"',
            (1, ["x", "y"], 2, []),
        )
    ]


async def test_bulk_create_row_count_mismatch_is_a_state_error(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow(U1, "al")])
    with pytest.raises(StateError, match="returned 1 rows for 2 inputs"):
        await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "b"}])


# --- upsert / bulk_upsert -------------------------------------------------------------------------


async def test_upsert_single_row(recording_db: Recorder, cache: FakeCache) -> None:
    recording_db.add_result(rows=[urow(U1, "al", email="a@x")])
    user = await BUser.upsert({"id": U1, "email": "a@x", "username": "al"}, ["email"], ["username"])
    assert recording_db.statements == [
        (
            'INSERT INTO "user" ("id", "username", "email", "is_active") SELECT "_0"::uuid, "_1", '
            '"_2", "_3" FROM unnest($1::text[], $2::varchar(10)[], $3::varchar(255)[], '
            '$4::boolean[]) AS "_v"("_0", "_1", "_2", "_3") '
            'ON CONFLICT ("email") DO UPDATE SET "username" = EXCLUDED."username" '
            f"RETURNING {COLS}",
            ([U1], ["al"], ["a@x"], [True]),
        )
    ]
    assert user.email == "a@x"
    assert cache.calls == [("notify_write", BUser, [U1]), ("store", BUser, [user])]


async def test_upsert_default_update_set_is_supplied_columns_minus_key_and_conflict(
    recording_db: Recorder,
) -> None:
    recording_db.add_result(rows=[urow(U1, "al", email="a@x")])
    await BUser.upsert({"id": U1, "email": "a@x", "username": "al"}, ["email"])
    sql = recording_db.sql[0]
    assert 'DO UPDATE SET "username" = EXCLUDED."username" RETURNING' in sql  # not is_active


async def test_upsert_keeps_an_explicit_none_as_null(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow(U1, "al")])
    await BUser.upsert({"id": U1, "username": "al", "email": None}, ["id"])
    sql, params = recording_db.statements[0]
    assert '"email" = EXCLUDED."email"' in sql
    assert params[2] == [None]


async def test_upsert_rejects_bad_arguments_before_sending(recording_db: Recorder) -> None:
    with pytest.raises(ValidationError, match="non-empty dict"):
        await BUser.upsert({}, ["id"])
    with pytest.raises(ValidationError, match="conflict_fields is empty"):
        await BUser.upsert({"id": U1, "username": "al"}, [])
    with pytest.raises(ValidationError, match="nothing to update"):
        await BUser.upsert({"id": U1}, ["id"])
    with pytest.raises(FieldError, match="'bad\"name' is not a field"):
        await BUser.upsert({"id": U1, "username": "al"}, ['bad"name'])
    with pytest.raises(FieldError):
        await BUser.upsert({"id": U1, "username": "al"}, ["id"], ["username; --"])
    with pytest.raises(ValidationError, match="no value for conflict field"):
        await BUser.upsert({"id": U1, "username": "al"}, ["email"])
    with pytest.raises(ValidationError, match="must be a list"):
        await BUser.upsert({"id": U1, "username": "al"}, "email")  # type: ignore[arg-type]
    assert recording_db.statements == []


async def test_bulk_upsert_duplicate_conflict_key_is_rejected(recording_db: Recorder) -> None:
    with pytest.raises(ValidationError) as info:
        await BUser.bulk_upsert(
            [
                {"id": U1, "username": "a", "email": "same"},
                {"id": U2, "username": "b", "email": "same"},
            ],
            ["email"],
        )
    assert "rows 0 and 1 have the same conflict key {'email': 'same'}" in info.value.message
    assert recording_db.statements == []
    assert await BUser.bulk_upsert([], ["email"]) == []


async def test_bulk_upsert_matches_rows_by_conflict_key(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow(U2, "b", email="e2"), urow(U1, "a", email="e1")])
    users = await BUser.bulk_upsert(
        [
            {"id": U1, "username": "a", "email": "e1"},
            {"id": U2, "username": "b", "email": "e2"},
        ],
        ["email"],
    )
    assert [u.email for u in users] == ["e1", "e2"]
    assert 'SET "username" = EXCLUDED."username" RETURNING' in recording_db.sql[0]


# --- bulk_update ----------------------------------------------------------------------------------


def persisted(**values: Any) -> BUser:
    return BUser._from_row(urow(values.pop("id"), values.pop("username"), **values))


async def test_bulk_update_one_statement(recording_db: Recorder, cache: FakeCache) -> None:
    users = [persisted(id=U1, username="a"), persisted(id=U2, username="b")]
    users[0].is_active = False
    recording_db.add_result(tag="UPDATE 2")
    assert await BUser.bulk_update(users, ["is_active", "email"]) == 2
    assert recording_db.statements == [
        (
            'UPDATE "user" AS "_t" SET "is_active" = "_v"."is_active", "email" = "_v"."email" '
            "FROM unnest($1::uuid[], $2::boolean[], $3::varchar(255)[]) "
            'AS "_v"("id", "is_active", "email") WHERE "_t"."id" = "_v"."id"',
            ([U1, U2], [False, True], [None, None]),
        )
    ]
    assert cache.calls == [("notify_write", BUser, [U1, U2])]


async def test_bulk_update_composite_key_and_json(recording_db: Recorder) -> None:
    pairs = [BPair._from_row({"a": 1, "b": 2, "note": "n"})]
    recording_db.add_result(tag="UPDATE 1")
    assert await BPair.bulk_update(pairs, ["note"]) == 1
    assert recording_db.sql[0] == (
        'UPDATE "b_pair" AS "_t" SET "note" = "_v"."note" FROM unnest($1::integer[], '
        '$2::integer[], $3::varchar(255)[]) AS "_v"("a", "b", "note") '
        'WHERE "_t"."a" = "_v"."a" AND "_t"."b" = "_v"."b"'
    )
    items = [BItem._from_row({"id": 1, "name": "x", "data": {"k": 1}})]
    recording_db.add_result(tag="UPDATE 1")
    await BItem.bulk_update(items, ["data"])
    assert recording_db.statements[1] == (
        'UPDATE "app"."b_item" AS "_t" SET "data" = "_v"."data"::jsonb FROM '
        'unnest($1::integer[], $2::text[]) AS "_v"("id", "data") WHERE "_t"."id" = "_v"."id"',
        ([1], ['{"k": 1}']),
    )


async def test_bulk_update_array_columns_use_typed_values(recording_db: Recorder) -> None:
    rows = [BTags._from_row({"id": 1, "tags": ["a"]}), BTags._from_row({"id": 2, "tags": None})]
    recording_db.add_result(tag="UPDATE 2")
    assert await BTags.bulk_update(rows, ["tags"]) == 2
    assert recording_db.statements[1] == (
        'UPDATE "b_tags" AS "_t" SET "tags" = "_v"."tags" FROM (VALUES ($1::integer, '
        '$2::text[]), ($3::integer, $4::text[])) AS "_v"("id", "tags") '
        'WHERE "_t"."id" = "_v"."id"',
        (1, ["a"], 2, None),
    )
    assert recording_db.sql[0] == "BEGIN"


async def test_bulk_update_rejects_bad_input_before_sending(recording_db: Recorder) -> None:
    saved = persisted(id=U1, username="a")
    with pytest.raises(FieldError, match="'nope' is not a field"):
        await BUser.bulk_update([saved], ["nope"])
    with pytest.raises(ValidationError, match="fields is empty"):
        await BUser.bulk_update([saved], [])
    with pytest.raises(ValidationError, match="primary key"):
        await BUser.bulk_update([saved], ["id"])
    with pytest.raises(ValidationError, match="item 1 is not saved yet"):
        await BUser.bulk_update([saved, BUser(id=U2, username="b")], ["email"])
    with pytest.raises(ValidationError, match="item 0 is a BItem"):
        await BUser.bulk_update([BItem(id=1, name="x")], ["email"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="same primary key"):
        await BUser.bulk_update([saved, persisted(id=U1, username="a")], ["email"])
    saved.username = "x" * 11
    with pytest.raises(BUser.ValidationError) as info:
        await BUser.bulk_update([saved], ["username"])
    assert info.value.field == "username"
    assert await BUser.bulk_update([], ["email"]) == 0
    assert recording_db.statements == []


async def test_bulk_update_surfaces_server_errors(recording_db: Recorder) -> None:
    recording_db.add_server_error("23505", "duplicate key", constraint_name="user_username_key")
    with pytest.raises(IntegrityError):
        await BUser.bulk_update([persisted(id=U1, username="a")], ["username"])


# --- bulk_delete ----------------------------------------------------------------------------------


async def test_bulk_delete_any_array(recording_db: Recorder, cache: FakeCache) -> None:
    users = [persisted(id=U1, username="a"), persisted(id=U2, username="b")]
    recording_db.add_result(tag="DELETE 1")
    assert await BUser.bulk_delete(users) == 1
    assert recording_db.statements == [
        ('DELETE FROM "user" WHERE "id" = ANY($1::uuid[])', ([U1, U2],))
    ]
    assert cache.calls == [("notify_write", BUser, [U1, U2])]
    assert users[0]._persisted is False


async def test_bulk_delete_composite_key(recording_db: Recorder, cache: FakeCache) -> None:
    pairs = [BPair._from_row({"a": 1, "b": 2, "note": None}), BPair(a=3, b=4)]
    recording_db.add_result(tag="DELETE 2")
    assert await BPair.bulk_delete(pairs) == 2
    assert recording_db.statements == [
        (
            'DELETE FROM "b_pair" WHERE ("a", "b") IN '
            "(SELECT * FROM unnest($1::integer[], $2::integer[]))",
            ([1, 3], [2, 4]),
        )
    ]
    assert cache.calls == [("notify_write", BPair, [(1, 2), (3, 4)])]


async def test_bulk_delete_needs_keys(recording_db: Recorder) -> None:
    with pytest.raises(ValidationError, match="item 0 has no primary key value"):
        await BUser.bulk_delete([BUser(username="a")])
    assert await BUser.bulk_delete([]) == 0
    assert recording_db.statements == []


# --- update_where / delete_where ------------------------------------------------------------------


async def test_update_where_returns_rows_and_notifies(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result(rows=[urow(U1, "a", email="new"), urow(U2, "b", email="new")])
    result = await BUser.update_where({"is_active": True, "username": None}, email="new")
    assert recording_db.statements == [
        (
            'UPDATE "user" SET "email" = $1 WHERE ("is_active" = $2 AND "username" IS NULL) '
            f"RETURNING {COLS}",
            ("new", True),
        )
    ]
    assert result == {
        "rows_affected": 2,
        "updated_rows": [urow(U1, "a", email="new"), urow(U2, "b", email="new")],
    }
    assert type(result["updated_rows"][0]) is dict
    assert cache.calls == [("notify_write", BUser, [U1, U2])]


async def test_update_where_with_lookups(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[])
    await BUser.update_where({"username__in": ["a", "b"], "email__ne": "x"}, is_active=False)
    assert recording_db.statements == [
        (
            'UPDATE "user" SET "is_active" = $1 WHERE ("username" = ANY($2) AND "email" != $3) '
            f"RETURNING {COLS}",
            (False, ["a", "b"], "x"),
        )
    ]


async def test_update_where_rejects_bad_input(recording_db: Recorder) -> None:
    with pytest.raises(ValidationError, match="no field values to set"):
        await BUser.update_where({"username": "a"})
    with pytest.raises(FieldError):
        await BUser.update_where({"username": "a"}, **{'x" = 1; --': 2})
    with pytest.raises(FieldError):
        await BUser.update_where({"nope": "a"}, email="x")
    with pytest.raises(ValidationError, match="must be a dict"):
        await BUser.update_where([("username", "a")], email="x")  # type: ignore[arg-type]
    with pytest.raises(BUser.ValidationError):
        await BUser.update_where({"username": "a"}, username="x" * 11)
    assert recording_db.statements == []


async def test_delete_where_returns_the_count(recording_db: Recorder, cache: FakeCache) -> None:
    recording_db.add_result(rows=[{"id": U1}, {"id": U3}])
    assert await BUser.delete_where(email="gone", is_active=False) == 2
    assert recording_db.statements == [
        (
            'DELETE FROM "user" WHERE ("email" = $1 AND "is_active" = $2) RETURNING "id"',
            ("gone", False),
        )
    ]
    assert cache.calls == [("notify_write", BUser, [U1, U3])]
    recording_db.add_result(rows=[{"a": 1, "b": 2}])
    assert await BPair.delete_where() == 1
    assert recording_db.statements[1] == ('DELETE FROM "b_pair" RETURNING "a", "b"', ())


async def test_delete_where_unknown_field_sends_nothing(recording_db: Recorder) -> None:
    with pytest.raises(FieldError, match="nope"):
        await BUser.delete_where(nope=1)
    assert recording_db.statements == []


# --- nodes and helpers ----------------------------------------------------------------------------


def test_insert_rows_node_quotes_hostile_names() -> None:
    params = Params()
    node = _bulk.InsertRows(Table('we"ird', "s"), ('co"l',), ("text",), ('co"l',), arrays=(["v"],))
    assert node.as_sql(params) == (
        'INSERT INTO "s"."we""ird" ("co""l") SELECT * FROM unnest($1::text[]) RETURNING "co""l"'
    )
    assert params.values == [["v"]]


def test_cast_type_rejects_unsafe_db_types() -> None:
    class Odd(Model):
        id = IntegerField(primary_key=True)
        val = CharField(db_type="text); DROP TABLE x; --")
        _database = "recorded"

    assert _bulk.cast_type(Odd, "id") == "integer"
    with pytest.raises(FieldError, match="cannot be used in a bulk statement"):
        _bulk.cast_type(Odd, "val")


async def test_values_chunks_stay_under_the_parameter_cap(
    recording_db: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # inet[] cannot go through COPY (its codec is not binary), so large groups use chunks.
    class BHosts(Model):
        id = IntegerField(primary_key=True)
        hosts: Field[list[str]] = Field(db_type="inet[]", null=True)
        _database = "recorded"

    monkeypatch.setattr(_bulk, "MAX_PARAMS", 4)
    monkeypatch.setattr(_bulk_copy, "MAX_PARAMS", 4)
    recording_db.add_result(rows=[{"id": 1, "hosts": []}, {"id": 2, "hosts": []}])
    recording_db.add_result(rows=[{"id": 3, "hosts": []}])
    rows = await BHosts.bulk_create([{"id": i, "hosts": []} for i in (1, 2, 3)])
    returning = 'RETURNING "id", "hosts"'
    assert recording_db.statements == [
        ("BEGIN", ()),
        (
            f'INSERT INTO "b_hosts" ("id", "hosts") VALUES ($1, $2), ($3, $4) {returning}',
            (1, [], 2, []),
        ),
        (f'INSERT INTO "b_hosts" ("id", "hosts") VALUES ($1, $2) {returning}', (3, [])),
        ("COMMIT", ()),
    ]
    assert [r.id for r in rows] == [1, 2, 3]


HOSTILE_NAMES = [
    'name"; DROP TABLE "user"; --',
    "name; SELECT 1",
    "name -- comment",
    "name /* c */",
    "$1",
    "naïve_ünïcode",
    "x" * 64,
    "é" * 40,
    "",
    "id OR 1=1",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_names_are_rejected_before_any_sql(recording_db: Recorder, name: str) -> None:
    saved = persisted(id=U1, username="a")
    attempts = [
        BUser.bulk_create([{"id": U1, "username": "a", name: 1}]),
        BUser.bulk_update([saved], [name]),
        BUser.upsert({"id": U1, "username": "a"}, [name]),
        BUser.upsert({"id": U1, "username": "a"}, ["id"], [name]),
        BUser.bulk_upsert([{"id": U1, name: "a"}], ["id"]),
        BUser.update_where({name: 1}, email="x"),
        BUser.update_where({"email": "x"}, **{name: 1}),
        BUser.delete_where(**{name: 1}),
    ]
    for attempt in attempts:
        with pytest.raises(FieldError):
            await attempt
    assert recording_db.statements == []


async def test_bulk_upsert_with_array_columns_uses_values(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1, "tags": ["a"]}])
    await BTags.bulk_upsert([{"id": 1, "tags": ["a"]}], ["id"])
    assert recording_db.statements == [
        (
            'INSERT INTO "b_tags" ("id", "tags") VALUES ($1, $2) ON CONFLICT ("id") '
            'DO UPDATE SET "tags" = EXCLUDED."tags" RETURNING "id", "tags"',
            (1, ["a"]),
        )
    ]


# --- bulk_create through COPY ---------------------------------------------------------------------

STAGE = '"pg_temp"."_matrx_copy_0"'
STAGE_USER = (
    f'CREATE TEMP TABLE {STAGE} ("id" text, "username" varchar(10), "is_active" boolean) '
    "ON COMMIT DROP"
)
COPY_USER = (
    'COPY "pg_temp"."_matrx_copy_0" ("id", "username", "is_active") FROM STDIN (FORMAT binary)'
)
INSERT_USER = (
    'INSERT INTO "user" ("id", "username", "is_active") SELECT "id"::uuid, "username", '
    f'"is_active" FROM "pg_temp"."_matrx_copy_0" RETURNING {COLS}'
)


@pytest.fixture
def copy_from_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send groups of two rows or more through COPY."""
    monkeypatch.setattr(_bulk_copy, "COPY_MIN_ROWS", 2)


@pytest.mark.usefixtures("copy_from_two")
async def test_bulk_create_copies_large_groups_through_a_staging_table(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result(tag="CREATE TABLE")
    recording_db.add_result(tag="COPY 2")
    recording_db.add_result(rows=[urow(U2, "bob"), urow(U1, "al")])  # order not guaranteed
    users = await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}])
    assert recording_db.statements == [
        ("BEGIN", ()),
        (STAGE_USER, ()),
        (COPY_USER, ((U1, "al", True), (U2, "bob", True))),
        (INSERT_USER, ()),
        ('DROP TABLE "pg_temp"."_matrx_copy_0"', ()),
        ("COMMIT", ()),
    ]
    assert [u.username for u in users] == ["al", "bob"]  # matched back by primary key
    assert all(u._persisted for u in users)
    # The same cache notices as the one-statement path, after the step's own transaction.
    assert cache.calls == [
        ("on_commit", "recorded"),
        ("notify_write", BUser, [U1, U2]),
        ("store", BUser, users),
    ]


async def test_small_groups_keep_the_single_unnest_statement(recording_db: Recorder) -> None:
    assert _bulk_copy.COPY_MIN_ROWS > 2
    recording_db.add_result(rows=[urow(U1, "al"), urow(U2, "bob")])
    await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}])
    assert len(recording_db.statements) == 1
    assert recording_db.sql[0].startswith('INSERT INTO "user" ("id", "username", "is_active") ')
    assert "unnest(" in recording_db.sql[0]


@pytest.mark.usefixtures("copy_from_two")
async def test_copy_carries_json_decimal_and_uuid_as_text(recording_db: Recorder) -> None:
    class BDoc(Model):
        id = UUIDField(primary_key=True)
        price = DecimalField(max_digits=6, decimal_places=2)
        body = JSONField(null=True)
        _database = "recorded"

    rows = [
        {"id": U1, "price": Decimal("1.5"), "body": {"a": [1, "x"]}},
        {"id": U2, "price": 2, "body": "s"},
    ]
    recording_db.add_result(tag="CREATE TABLE")
    recording_db.add_result(tag="COPY 2")
    recording_db.add_result(
        rows=[
            {"id": U1, "price": Decimal("1.50"), "body": {"a": [1, "x"]}},
            {"id": U2, "price": Decimal("2.00"), "body": "s"},
        ]
    )
    docs = await BDoc.bulk_create(rows)
    assert recording_db.statements[1:5] == [
        (
            'CREATE TEMP TABLE "pg_temp"."_matrx_copy_0" ("id" text, "price" text, "body" text) '
            "ON COMMIT DROP",
            (),
        ),
        (
            'COPY "pg_temp"."_matrx_copy_0" ("id", "price", "body") FROM STDIN (FORMAT binary)',
            ((U1, "1.50", json.dumps({"a": [1, "x"]})), (U2, "2.00", json.dumps("s"))),
        ),
        (
            'INSERT INTO "b_doc" ("id", "price", "body") SELECT "id"::uuid, '
            '"price"::numeric(6,2), "body"::jsonb FROM "pg_temp"."_matrx_copy_0" '
            'RETURNING "id", "price", "body"',
            (),
        ),
        ('DROP TABLE "pg_temp"."_matrx_copy_0"', ()),
    ]
    assert [d.price for d in docs] == [Decimal("1.50"), Decimal("2.00")]


@pytest.mark.usefixtures("copy_from_two")
async def test_copy_without_a_supplied_key_orders_by_position(recording_db: Recorder) -> None:
    recording_db.add_result(tag="CREATE TABLE")
    recording_db.add_result(tag="COPY 2")
    recording_db.add_result(
        rows=[{"id": 7, "name": "a", "data": None}, {"id": 8, "name": "b", "data": None}]
    )
    items = await BItem.bulk_create([{"name": "a"}, {"name": "b"}])
    assert recording_db.statements[1:5] == [
        (
            f'CREATE TEMP TABLE {STAGE} ("name" varchar(20), "_ord" bigint) ON COMMIT DROP',
            (),
        ),
        (
            'COPY "pg_temp"."_matrx_copy_0" ("name", "_ord") FROM STDIN (FORMAT binary)',
            (("a", 0), ("b", 1)),
        ),
        (
            'INSERT INTO "app"."b_item" ("name") SELECT "name" FROM "pg_temp"."_matrx_copy_0" '
            'ORDER BY "_ord" RETURNING "id", "name", "data"',
            (),
        ),
        ('DROP TABLE "pg_temp"."_matrx_copy_0"', ()),
    ]
    assert [(i.id, i.name) for i in items] == [(7, "a"), (8, "b")]


@pytest.mark.usefixtures("copy_from_two")
async def test_copy_groups_by_columns_in_one_transaction(recording_db: Recorder) -> None:
    recording_db.set_responder(
        lambda sql, params: (
            [urow(U1, "al"), urow(U3, "cy")]
            if sql == INSERT_USER
            else [urow(U2, "bob", email="b@x")]
            if sql.startswith("INSERT")
            else None
        )
    )
    users = await BUser.bulk_create(
        [
            {"id": U1, "username": "al"},
            {"id": U2, "username": "bob", "email": "b@x"},
            {"id": U3, "username": "cy"},
        ]
    )
    sql = recording_db.sql
    assert sql[0] == "BEGIN"
    assert sql[1:5] == [STAGE_USER, COPY_USER, INSERT_USER, 'DROP TABLE "pg_temp"."_matrx_copy_0"']
    assert "unnest(" in sql[5]  # the one-row group is below the threshold
    assert sql[6] == "COMMIT"
    assert [u.username for u in users] == ["al", "bob", "cy"]  # input order


@pytest.mark.usefixtures("copy_from_two")
async def test_copy_failure_rolls_back_and_names_the_model(recording_db: Recorder) -> None:
    recording_db.add_result(tag="CREATE TABLE")
    recording_db.add_server_error(
        "22001", "value too long for type character varying(10)", column_name="username"
    )
    with pytest.raises(ParameterError) as info:
        await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}])
    assert info.value.model == "BUser"
    assert info.value.operation == "bulk_create"
    assert info.value.details["sql"] == COPY_USER
    assert info.value.details["params"] == (2,)  # the row count, not every copied row
    assert recording_db.sql == ["BEGIN", STAGE_USER, COPY_USER, "ROLLBACK"]
    assert _bulk_copy._stages_in_use == set()


@pytest.mark.usefixtures("copy_from_two")
async def test_duplicate_key_at_the_insert_rolls_back(recording_db: Recorder) -> None:
    recording_db.add_result(tag="CREATE TABLE")
    recording_db.add_result(tag="COPY 2")
    recording_db.add_server_error(
        "23505", "duplicate key", constraint_name="user_pkey", detail=f"Key (id)=({U2})"
    )
    with pytest.raises(IntegrityError) as info:
        await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}])
    assert info.value.model == "BUser"
    assert recording_db.sql == ["BEGIN", STAGE_USER, COPY_USER, INSERT_USER, "ROLLBACK"]


@pytest.mark.usefixtures("copy_from_two")
async def test_a_running_copy_makes_the_next_one_take_another_staging_table(
    recording_db: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two tasks gathered inside one transaction share its connection; while one step holds
    # "_matrx_copy_0" (simulated here), the other must not create a table of the same name.
    monkeypatch.setattr(_bulk_copy, "_stages_in_use", {0})
    recording_db.set_responder(
        lambda sql, params: [urow(U1, "al"), urow(U2, "bob")] if sql.startswith("INSERT") else None
    )
    await BUser.bulk_create([{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}])
    assert recording_db.sql[1] == STAGE_USER.replace("_matrx_copy_0", "_matrx_copy_1")
    assert recording_db.sql[4] == 'DROP TABLE "pg_temp"."_matrx_copy_1"'
    assert _bulk_copy._stages_in_use == {0}  # its own number is given back, the other kept


async def test_array_columns_go_through_copy_above_the_parameter_cap(
    recording_db: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_bulk_copy, "MAX_PARAMS", 4)
    recording_db.add_result(tag="CREATE TABLE")
    recording_db.add_result(tag="COPY 3")
    recording_db.add_result(rows=[{"id": i, "tags": ["a"]} for i in (1, 2, 3)])
    rows = await BTags.bulk_create([{"id": i, "tags": ["a"]} for i in (1, 2, 3)])
    assert recording_db.statements[1:3] == [
        (
            f'CREATE TEMP TABLE {STAGE} ("id" integer, "tags" text[]) ON COMMIT DROP',
            (),
        ),
        (
            'COPY "pg_temp"."_matrx_copy_0" ("id", "tags") FROM STDIN (FORMAT binary)',
            ((1, ["a"]), (2, ["a"]), (3, ["a"])),
        ),
    ]
    assert [r.id for r in rows] == [1, 2, 3]


def test_copy_applies_only_to_binary_copyable_carriers() -> None:
    big = _bulk_copy.COPY_MIN_ROWS
    assert _bulk_copy.copy_applies(("integer", "varchar(10)", "text", "timestamptz"), big)
    assert not _bulk_copy.copy_applies(("integer", "text"), big - 1)
    # uuid/json arrays, hstore, inet: the driver's codecs for them are text-format only.
    for odd in ("uuid[]", "jsonb[]", "hstore", "inet", "serial", "my_enum"):
        assert not _bulk_copy.copy_applies(("integer", odd), big), odd
    assert _bulk_copy.copy_applies(("integer", "integer[]"), 20_000)
    assert not _bulk_copy.copy_applies(("integer", "integer[]"), 10)


@pytest.mark.usefixtures("copy_from_two")
async def test_bulk_upsert_copies_large_groups_and_keeps_on_conflict(
    recording_db: Recorder,
) -> None:
    recording_db.set_responder(
        lambda sql, params: (
            [urow(U2, "b", email="e2"), urow(U1, "a", email="e1")]
            if sql.startswith("INSERT")
            else None
        )
    )
    users = await BUser.bulk_upsert(
        [
            {"id": U1, "username": "a", "email": "e1"},
            {"id": U2, "username": "b", "email": "e2"},
        ],
        ["email"],
    )
    assert recording_db.statements[2:4] == [
        (
            f'COPY {STAGE} ("id", "username", "email", "is_active") FROM STDIN (FORMAT binary)',
            ((U1, "a", "e1", True), (U2, "b", "e2", True)),
        ),
        (
            'INSERT INTO "user" ("id", "username", "email", "is_active") SELECT "id"::uuid, '
            f'"username", "email", "is_active" FROM {STAGE} ON CONFLICT ("email") DO UPDATE SET '
            f'"username" = EXCLUDED."username" RETURNING {COLS}',
            (),
        ),
    ]
    assert [u.email for u in users] == ["e1", "e2"]  # matched back by the conflict key


@pytest.mark.usefixtures("copy_from_two")
async def test_single_upsert_never_copies(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[urow(U1, "a", email="e1")])
    await BUser.upsert({"id": U1, "username": "a", "email": "e1"}, ["email"])
    assert len(recording_db.statements) == 1
    assert "unnest(" in recording_db.sql[0]


@pytest.mark.usefixtures("copy_from_two")
async def test_bulk_upsert_through_copy_bumps_the_version(recording_db: Recorder) -> None:
    from matrx_orm_core.fields import VersionField

    class BVersioned(Model):
        id = IntegerField(primary_key=True)
        name = CharField(max_length=10)
        version = VersionField()
        _database = "recorded"
        _table_name = "versioned"

    stored = [{"id": 1, "name": "a", "version": 4}, {"id": 2, "name": "b", "version": 1}]
    recording_db.set_responder(lambda sql, params: stored if sql.startswith("INSERT") else None)
    rows = await BVersioned.bulk_upsert([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], ["id"])
    assert recording_db.statements[2][1] == ((1, "a", 1), (2, "b", 1))
    assert recording_db.sql[3] == (
        'INSERT INTO "versioned" ("id", "name", "version") SELECT "id", "name", "version" '
        f'FROM {STAGE} ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", '
        '"version" = "versioned"."version" + 1 RETURNING "id", "name", "version"'
    )
    assert [r.version for r in rows] == [4, 1]


# --- bulk_create(returning=False): COPY straight into the table -----------------------------------

COPY_INTO_USER = 'COPY "user" ("id", "username", "is_active") FROM STDIN (FORMAT binary)'


class BDocument(Model):
    id = UUIDField(primary_key=True)
    price = DecimalField(max_digits=6, decimal_places=2)
    body = JSONField(null=True)
    _database = "recorded"


class BNet(Model):
    id = IntegerField(primary_key=True)
    addr: Field[str] = Field(db_type="inet", null=True)
    _database = "recorded"


async def test_count_mode_copies_straight_into_the_table(
    recording_db: Recorder, cache: FakeCache
) -> None:
    rows = [{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}]
    assert await BUser.bulk_create(rows, returning=False) == 2
    # One COPY (atomic on its own): no transaction, no staging table, nothing returned.
    assert recording_db.statements == [(COPY_INTO_USER, ((U1, "al", True), (U2, "bob", True)))]
    # The write notice names the keys; no instance exists, so nothing is stored in the cache.
    assert cache.calls == [("notify_write", BUser, [U1, U2])]


async def test_count_mode_sends_json_as_text_and_keeps_uuid_and_decimal(
    recording_db: Recorder,
) -> None:
    rows = [
        {"id": U1, "price": Decimal("1.5"), "body": {"a": [1, "x"]}},
        {"id": uuid.UUID(U2), "price": 2, "body": "s"},
    ]
    assert await BDocument.bulk_create(rows, returning=False) == 2
    assert recording_db.statements == [
        (
            'COPY "b_document" ("id", "price", "body") FROM STDIN (FORMAT binary)',
            (
                (U1, Decimal("1.50"), json.dumps({"a": [1, "x"]})),
                (U2, Decimal("2.00"), json.dumps("s")),
            ),
        )
    ]


async def test_count_mode_copies_each_column_group_in_one_transaction(
    recording_db: Recorder, cache: FakeCache
) -> None:
    count = await BItem.bulk_create(
        [{"name": "a"}, {"name": "b", "data": [1, {"k": None}]}, {"name": "c"}], returning=False
    )
    assert count == 3
    assert recording_db.statements == [
        ("BEGIN", ()),
        ('COPY "app"."b_item" ("name") FROM STDIN (FORMAT binary)', (("a",), ("c",))),
        (
            'COPY "app"."b_item" ("name", "data") FROM STDIN (FORMAT binary)',
            (("b", json.dumps([1, {"k": None}])),),
        ),
        ("COMMIT", ()),
    ]
    # The server makes the keys: the notice says "any row" (after the commit, as always).
    assert cache.calls == [("on_commit", "recorded"), ("notify_write", BItem, hooks.ALL_ROWS)]


async def test_count_mode_falls_back_to_insert_for_types_copy_cannot_carry(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result(rows=[{"id": 1, "addr": "10.0.0.1"}, {"id": 2, "addr": "::1"}])
    count = await BNet.bulk_create(
        [{"id": 1, "addr": "10.0.0.1"}, {"id": 2, "addr": "::1"}], returning=False
    )
    assert count == 2
    assert recording_db.sql == [
        'INSERT INTO "b_net" ("id", "addr") SELECT * FROM unnest($1::integer[], $2::inet[]) '
        'RETURNING "id", "addr"'
    ]
    assert cache.calls == [("notify_write", BNet, [1, 2])]


async def test_count_mode_rows_with_no_value_use_default_values(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 5, "name": "a", "data": None}])
    recording_db.add_result(rows=[{"id": 6, "name": "x", "data": None}])
    assert await BItem.bulk_create([{"name": "a"}, {}], returning=False) == 2
    assert recording_db.sql == [
        "BEGIN",
        'COPY "app"."b_item" ("name") FROM STDIN (FORMAT binary)',
        'INSERT INTO "app"."b_item" DEFAULT VALUES RETURNING "id", "name", "data"',
        "COMMIT",
    ]


async def test_count_mode_validates_like_the_default_mode_before_sending(
    recording_db: Recorder,
) -> None:
    rows = [{"id": U1, "username": "al"}, {"id": U2, "username": "much too long"}]
    with pytest.raises(ValidationError) as counted:
        await BUser.bulk_create(rows, returning=False)
    with pytest.raises(ValidationError) as returned:
        await BUser.bulk_create(rows)
    assert str(counted.value) == str(returned.value)
    assert counted.value.details == returned.value.details
    assert "username" in str(counted.value)
    with pytest.raises(FieldError, match="nope"):
        await BUser.bulk_create([{"id": U1, "username": "al", "nope": 1}], returning=False)
    assert recording_db.statements == []


@pytest.mark.parametrize("bad", ["no", 0, None])
async def test_count_mode_takes_only_a_bool(recording_db: Recorder, bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"BUser.bulk_create\(\): returning must be"):
        await BUser.bulk_create([{"id": U1, "username": "al"}], returning=bad)
    with pytest.raises(TypeError):
        await BUser.bulk_create([{"id": U1, "username": "al"}], False)  # type: ignore[misc]
    assert recording_db.statements == []


async def test_count_mode_of_nothing_sends_nothing(recording_db: Recorder) -> None:
    assert await BUser.bulk_create([], returning=False) == 0
    assert recording_db.statements == []


async def test_count_mode_copy_failure_names_the_model_and_rolls_back(
    recording_db: Recorder, cache: FakeCache
) -> None:
    recording_db.add_result(tag="COPY 1")
    recording_db.add_server_error(
        "23505", 'duplicate key value violates unique constraint "b_item_name_key"'
    )
    with pytest.raises(IntegrityError) as info:
        await BItem.bulk_create([{"name": "a"}, {"name": "b", "data": 1}], returning=False)
    assert info.value.model == "BItem"
    assert info.value.operation == "bulk_create"
    assert info.value.details["sql"] == (
        'COPY "app"."b_item" ("name", "data") FROM STDIN (FORMAT binary)'
    )
    assert list(info.value.details["params"]) == [1]  # the row count, never the rows
    assert recording_db.sql[0] == "BEGIN"
    assert recording_db.sql[-1] == "ROLLBACK"
    assert cache.calls == [("on_rollback", "recorded")]  # no write notice for a failed load


def test_count_mode_sync_twin(recording_db: Recorder) -> None:
    from matrx_orm_core import _loop

    try:
        count = BUser.bulk_create_sync([{"id": U1, "username": "al"}], returning=False)
    finally:
        _loop.shutdown()  # close the ORM loop's pool for "recorded" (other tests count pools)
    assert count == 1
    assert recording_db.statements == [(COPY_INTO_USER, ((U1, "al", True),))]


# --- prepare_rows: the one pass over the rows ---------------------------------------------------


async def test_rows_with_the_same_keys_in_another_order_form_one_group(
    recording_db: Recorder,
) -> None:
    from types import MappingProxyType

    recording_db.add_result(rows=[urow(U1, "al"), urow(U2, "bob"), urow(U3, "cy")])
    users = await BUser.bulk_create(
        [
            {"id": U1, "username": "al"},
            {"username": "bob", "id": U2},  # same keys, other order
            MappingProxyType({"id": U3, "username": "cy"}),  # any Mapping is a row
        ]
    )
    assert len(recording_db.statements) == 1
    assert recording_db.params[0] == ([U1, U2, U3], ["al", "bob", "cy"], [True, True, True])
    assert [u.username for u in users] == ["al", "bob", "cy"]


async def test_a_row_that_is_not_a_mapping_is_named_by_index(recording_db: Recorder) -> None:
    for returning in (True, False):
        with pytest.raises(ValidationError, match=r"row 1 is a list, not a dict") as info:
            await BUser.bulk_create(
                [{"id": U1, "username": "al"}, [("id", U2)]], returning=returning
            )
        assert info.value.details["row"] == 1
    assert recording_db.statements == []


def test_batch_rows_build_each_row_on_demand() -> None:
    rows = _bulk_prepare.prepare_rows(
        BUser,
        [{"id": U1, "username": "al"}, {"id": U2, "username": "bob"}, {"id": U3, "username": "cy"}],
        "bulk_create",
        keep_none=False,
        lazy=True,
    )
    assert isinstance(rows, _bulk_prepare.BatchRows)
    assert len(rows) == 3
    assert [r.index for r in rows] == [0, 1, 2]
    assert rows[-1].values == {"id": U3, "username": "cy", "is_active": True}
    assert [r.get("username") for r in rows[1:]] == ["bob", "cy"]
    with pytest.raises(IndexError):
        rows[3]
    # Rows that cannot be prepared column by column come back as a list either way.
    mixed = _bulk_prepare.prepare_rows(
        BUser, [{"id": U1, "username": "al"}, {"id": U2}], "bulk_create", keep_none=False, lazy=True
    )
    assert isinstance(mixed, list)


async def test_count_mode_of_rows_without_values_inserts_defaults(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1, "name": "x", "data": None}])
    recording_db.add_result(rows=[{"id": 2, "name": "x", "data": None}])
    assert await BItem.bulk_create([{}, {}], returning=False) == 2
    assert recording_db.sql == [
        "BEGIN",
        'INSERT INTO "app"."b_item" DEFAULT VALUES RETURNING "id", "name", "data"',
        'INSERT INTO "app"."b_item" DEFAULT VALUES RETURNING "id", "name", "data"',
        "COMMIT",
    ]
