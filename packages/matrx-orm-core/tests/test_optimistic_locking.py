"""Level1 tests for optimistic locking (models/_locking.py): the guarded UPDATE of save() and
update(), the version bump of set-based updates, and the errors raised before any SQL."""

# ruff: noqa: RUF012 - model declarations use list class attributes, as the spec does

from __future__ import annotations

from typing import Any

import pytest

from matrx_orm_core.exceptions import (
    FieldError,
    OptimisticLockError,
    ORMException,
    StateError,
)
from matrx_orm_core.fields import CharField, IntegerField, VersionField
from matrx_orm_core.models import Model
from matrx_orm_core.testing import Recorder

COLS = '"id", "name", "total", "version"'


class LOrder(Model):
    id = IntegerField(primary_key=True)
    name = CharField()
    total = IntegerField()
    version = VersionField()
    _database = "recorded"
    _table_name = "orders"


class LPair(Model):
    a = IntegerField()
    b = IntegerField()
    rev = VersionField()
    _database = "recorded"
    _primary_keys = ["a", "b"]


def row(**values: Any) -> dict[str, Any]:
    data = {"id": 7, "name": "n", "total": 10, "version": 2}
    data.update(values)
    return data


def test_meta_names_the_version_field() -> None:
    assert LOrder._meta.version_name == "version"
    assert LPair._meta.version_name == "rev"


def test_two_version_fields_are_rejected_at_class_creation() -> None:
    with pytest.raises(FieldError, match=r"declares 2 VersionFields \(v1, v2\).*Keep one"):

        class Twice(Model):
            id = IntegerField(primary_key=True)
            v1 = VersionField()
            v2 = VersionField()
            _database = "recorded"


def test_version_field_in_primary_keys_is_rejected() -> None:
    with pytest.raises(FieldError, match="cannot be part of the primary key"):

        class VersionKey(Model):
            id = IntegerField()
            version = VersionField()
            _database = "recorded"
            _primary_keys = ["id", "version"]


def test_version_field_is_inherited_from_an_abstract_base() -> None:
    class Versioned(Model):
        version = VersionField()

        class Meta:
            abstract = True

    class Doc(Versioned):
        id = IntegerField(primary_key=True)
        _database = "recorded"

    assert Doc._meta.version_name == "version"
    assert Doc(id=1).version == 1


async def test_create_writes_version_one(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[row(version=1)])
    order = await LOrder.create(id=7, name="n", total=10)
    assert recording_db.statements == [
        (
            f'INSERT INTO "orders" ("id", "name", "total", "version") VALUES ($1, $2, $3, $4) '
            f"RETURNING {COLS}",
            (7, "n", 10, 1),
        )
    ]
    assert order.version == 1


async def test_save_guards_and_bumps_the_version(recording_db: Recorder) -> None:
    order = LOrder._from_row(row())
    order.total = 99
    recording_db.add_result(rows=[row(total=99, version=3)])
    await order.save()
    assert recording_db.statements == [
        (
            'UPDATE "orders" SET "name" = $1, "total" = $2, "version" = "version" + 1 '
            f'WHERE ("id" = $3 AND "version" = $4) RETURNING {COLS}',
            ("n", 99, 7, 2),
        )
    ]
    assert (order.total, order.version) == (99, 3)


async def test_update_guards_and_bumps_the_version(recording_db: Recorder) -> None:
    order = LOrder._from_row(row())
    recording_db.add_result(rows=[row(name="m", version=3)])
    assert await order.update(name="m") is order
    assert recording_db.statements == [
        (
            'UPDATE "orders" SET "name" = $1, "version" = "version" + 1 '
            f'WHERE ("id" = $2 AND "version" = $3) RETURNING {COLS}',
            ("m", 7, 2),
        )
    ]
    assert order.version == 3


async def test_composite_key_guard_numbers_the_version_last(recording_db: Recorder) -> None:
    pair = LPair._from_row({"a": 1, "b": 2, "rev": 5})
    recording_db.add_result(rows=[{"a": 1, "b": 2, "rev": 6}])
    await pair.save()
    assert recording_db.statements == [
        (
            'UPDATE "l_pair" SET "rev" = "rev" + 1 WHERE ("a" = $1 AND "b" = $2 AND "rev" = $3) '
            'RETURNING "a", "b", "rev"',
            (1, 2, 5),
        )
    ]
    assert pair.rev == 6


async def test_stale_save_raises_and_keeps_the_instance(recording_db: Recorder) -> None:
    order = LOrder._from_row(row())
    order.total = 50
    recording_db.add_result(rows=[])
    with pytest.raises(OptimisticLockError) as info:
        await order.save()
    err = info.value
    assert isinstance(err, ORMException)
    assert err.details["pk"] == 7
    assert err.details["expected_version"] == 2
    text = str(err)
    assert "LOrder (pk=7)" in text
    assert "version=2" in text
    assert "Nothing was written" in text
    assert "Re-fetch the row" in text
    assert order.version == 2
    assert len(recording_db.statements) == 1


async def test_stale_update_restores_the_assigned_values(recording_db: Recorder) -> None:
    order = LOrder._from_row(row())
    recording_db.add_result(rows=[])
    with pytest.raises(OptimisticLockError):
        await order.update(name="new", total=1)
    assert (order.name, order.total, order.version) == ("n", 10, 2)


async def test_update_of_the_version_field_is_rejected(recording_db: Recorder) -> None:
    order = LOrder._from_row(row())
    with pytest.raises(FieldError, match="'version' is the VersionField of LOrder"):
        await order.update(version=9)
    with pytest.raises(FieldError, match="the ORM sets it"):
        await LOrder.filter(id=7).update(version=9)
    with pytest.raises(FieldError, match="Remove it from the values"):
        await LOrder.update_where({"id": 7}, version=9)
    with pytest.raises(FieldError, match="VersionField"):
        await LOrder.bulk_update([order], ["version"])
    assert recording_db.statements == []


async def test_save_without_a_loaded_version_is_refused(recording_db: Recorder) -> None:
    order = LOrder._from_row({"id": 7, "name": "n", "total": 1})
    order.__dict__["_deferred"] = frozenset({"version"})
    with pytest.raises(StateError, match="holds no value for its VersionField 'version'"):
        await order.save()
    order2 = LOrder._from_row(row())
    order2.version = None  # type: ignore[assignment]
    with pytest.raises(StateError, match="optimistic lock cannot be checked"):
        await order2.save()
    assert recording_db.statements == []


async def test_queryset_update_bumps_the_version(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[], tag="UPDATE 3")
    assert await LOrder.filter(total=10).update(name="x") == 3
    assert recording_db.statements == [
        (
            'UPDATE "orders" SET "name" = $1, "version" = "version" + 1 WHERE "total" = $2',
            ("x", 10),
        )
    ]


async def test_update_where_bumps_the_version(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[row(name="x", version=3)])
    result = await LOrder.update_where({"id": 7}, name="x")
    assert recording_db.statements == [
        (
            'UPDATE "orders" SET "name" = $1, "version" = "version" + 1 WHERE "id" = $2 '
            f"RETURNING {COLS}",
            ("x", 7),
        )
    ]
    assert result["updated_rows"][0]["version"] == 3


async def test_bulk_update_bumps_the_version(recording_db: Recorder) -> None:
    a = LOrder._from_row(row(id=1, total=5))
    b = LOrder._from_row(row(id=2, total=6))
    recording_db.add_result(rows=[], tag="UPDATE 2")
    assert await LOrder.bulk_update([a, b], ["total"]) == 2
    assert recording_db.statements == [
        (
            'UPDATE "orders" AS "_t" SET "total" = "_v"."total", "version" = "_t"."version" + 1 '
            'FROM unnest($1::integer[], $2::integer[]) AS "_v"("id", "total") '
            'WHERE "_t"."id" = "_v"."id"',
            ([1, 2], [5, 6]),
        )
    ]


async def test_model_without_version_field_is_unchanged(recording_db: Recorder) -> None:
    class Plain(Model):
        id = IntegerField(primary_key=True)
        name = CharField()
        _database = "recorded"

    plain = Plain._from_row({"id": 1, "name": "a"})
    recording_db.add_result(rows=[])
    with pytest.raises(Plain.DoesNotExist):
        await plain.update(name="b")
    assert recording_db.statements == [
        ('UPDATE "plain" SET "name" = $1 WHERE "id" = $2 RETURNING "id", "name"', ("b", 1))
    ]


async def test_upsert_bumps_the_version_of_an_updated_row(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[row(version=3)])
    order = await LOrder.upsert({"id": 7, "name": "n", "total": 10}, ["id"])
    assert recording_db.statements == [
        (
            'INSERT INTO "orders" ("id", "name", "total", "version") '
            "SELECT * FROM unnest($1::integer[], $2::varchar(255)[], $3::integer[], "
            '$4::integer[]) ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", '
            '"total" = EXCLUDED."total", "version" = "orders"."version" + 1 '
            f"RETURNING {COLS}",
            ([7], ["n"], [10], [1]),
        )
    ]
    assert order.version == 3


async def test_upsert_of_only_the_key_still_bumps(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[row()])
    await LOrder.upsert({"id": 7}, ["id"])
    assert 'DO UPDATE SET "version" = "orders"."version" + 1 RETURNING' in recording_db.sql[0]


async def test_upsert_cannot_name_the_version(recording_db: Recorder) -> None:
    with pytest.raises(FieldError, match="'version' is the VersionField"):
        await LOrder.upsert({"id": 7, "version": 5}, ["id"], update_fields=["version"])
    assert recording_db.statements == []
