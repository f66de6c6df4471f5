"""upsert, bulk_upsert, update_where and delete_where (and their sync twins) on a real server."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from matrx_orm import (
    BooleanField,
    CharField,
    DateTimeField,
    FieldError,
    Model,
    TextField,
    UUIDField,
    ValidationError,
)
from matrx_orm.migrations import MigrationDB

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")
ROOT = Path(__file__).resolve().parent.parent


class UpUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100)
    email = CharField(max_length=255, unique=True)
    bio = TextField(null=True)
    is_active = BooleanField(default=True)
    status = CharField(max_length=20, default="draft")
    created_at = DateTimeField(null=True)

    _table_name = "up_user"
    _database = DB


SCHEMA = """
CREATE TABLE "up_user" (
    "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    "username" varchar(100) NOT NULL,
    "email" varchar(255) NOT NULL UNIQUE,
    "bio" text,
    "is_active" boolean NOT NULL DEFAULT true,
    "status" varchar(20) NOT NULL DEFAULT 'draft',
    "created_at" timestamptz
);
"""


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(SCHEMA)
    try:
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "up_user"')


# --- the spec README, "Upsert" ------------------------------------------------------------------


async def test_readme_single_upsert_inserts_then_updates(tables: MigrationDB) -> None:
    user = await UpUser.upsert(
        data={"id": str(uuid4()), "email": "alice@example.com", "username": "alice"},
        conflict_fields=["email"],
        update_fields=["username"],
    )
    assert user._persisted
    assert user.username == "alice"
    again = await UpUser.upsert(
        data={"id": str(uuid4()), "email": "alice@example.com", "username": "alice2"},
        conflict_fields=["email"],
        update_fields=["username"],
    )
    assert again.id == user.id  # the existing row was updated, its key kept
    assert again.username == "alice2"
    assert await UpUser.count() == 1


async def test_readme_bulk_upsert_uses_server_keys_and_updates(tables: MigrationDB) -> None:
    users = await UpUser.bulk_upsert(
        objects_data=[
            {"email": "bob@example.com", "username": "bob"},
            {"email": "carol@example.com", "username": "carol"},
        ],
        conflict_fields=["email"],
    )
    assert [u.username for u in users] == ["bob", "carol"]
    users2 = await UpUser.bulk_upsert(
        objects_data=[
            {"email": "carol@example.com", "username": "carol_v2"},
            {"email": "bob@example.com", "username": "bob_v2"},
            {"email": "dave@example.com", "username": "dave"},
        ],
        conflict_fields=["email"],
    )
    assert [(u.email, u.username) for u in users2] == [
        ("carol@example.com", "carol_v2"),
        ("bob@example.com", "bob_v2"),
        ("dave@example.com", "dave"),
    ]
    assert users2[1].id == users[0].id
    assert users2[0].id == users[1].id
    assert await UpUser.count() == 3
    assert await UpUser.bulk_upsert([], ["email"]) == []


async def test_upsert_default_update_set_keeps_unsupplied_columns(tables: MigrationDB) -> None:
    first = await UpUser.create(email="e@x.io", username="e", is_active=False, status="live")
    updated = await UpUser.upsert({"email": "e@x.io", "username": "e2"}, ["email"])
    assert updated.id == first.id
    assert (updated.username, updated.is_active, updated.status) == ("e2", False, "live")


async def test_bulk_upsert_duplicate_key_in_one_batch_is_rejected(tables: MigrationDB) -> None:
    with pytest.raises(ValidationError) as info:
        await UpUser.bulk_upsert(
            [
                {"email": "same@x.io", "username": "a"},
                {"email": "other@x.io", "username": "b"},
                {"email": "same@x.io", "username": "c"},
            ],
            ["email"],
        )
    assert "rows 0 and 2" in info.value.message
    assert "same@x.io" in info.value.message
    assert await UpUser.count() == 0


async def test_upsert_bad_arguments_send_nothing(tables: MigrationDB) -> None:
    with pytest.raises(ValidationError):
        await UpUser.upsert({}, ["email"])
    with pytest.raises(ValidationError):
        await UpUser.upsert({"email": "x@x.io", "username": "x"}, [])
    with pytest.raises(ValidationError, match="nothing to update"):
        await UpUser.upsert({"email": "x@x.io"}, ["email"])
    with pytest.raises(FieldError):
        await UpUser.upsert({"email": "x@x.io", "username": "x"}, ['email"; DROP TABLE up_user'])
    with pytest.raises(FieldError):
        await UpUser.upsert({"email": "x@x.io", "username": "x"}, ["email"], ["nope"])
    assert await UpUser.count() == 0


# --- the spec README, "Count, Exists, Update-Where, Delete-Where" ---------------------------------


async def test_readme_update_where_and_delete_where(tables: MigrationDB) -> None:
    cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    old = cutoff - dt.timedelta(days=3)
    new = cutoff + dt.timedelta(days=3)
    await UpUser.bulk_create(
        [
            {"email": "1@x.io", "username": "a", "status": "draft", "created_at": old},
            {"email": "2@x.io", "username": "b", "status": "draft", "created_at": old},
            {"email": "3@x.io", "username": "c", "status": "draft", "created_at": new},
            {"email": "4@x.io", "username": "d", "status": "expired", "created_at": old},
        ]
    )
    total = await UpUser.count()
    active = await UpUser.count(is_active=True)
    assert (total, active) == (4, 4)
    assert await UpUser.exists(email="1@x.io")

    result = await UpUser.update_where(
        {"status": "draft", "created_at__lt": cutoff},
        status="archived",
    )
    assert result["rows_affected"] == 2
    assert sorted(row["email"] for row in result["updated_rows"]) == ["1@x.io", "2@x.io"]
    assert all(row["status"] == "archived" for row in result["updated_rows"])
    assert set(result["updated_rows"][0]) == set(UpUser._meta.fields)
    assert await UpUser.count(status="archived") == 2

    deleted = await UpUser.delete_where(status="expired")
    assert deleted == 1
    assert await UpUser.delete_where(status="expired") == 0
    assert await UpUser.count() == 3


async def test_update_where_null_filter_and_errors(tables: MigrationDB) -> None:
    await UpUser.bulk_create([{"email": "n@x.io", "username": "n"}])
    result = await UpUser.update_where({"bio": None}, bio="set")
    assert result["rows_affected"] == 1
    with pytest.raises(ValidationError):
        await UpUser.update_where({"bio": "set"})
    with pytest.raises(FieldError):
        await UpUser.update_where({"bio": "set"}, **{"status = 'x' --": "y"})
    with pytest.raises(FieldError):
        await UpUser.delete_where(**{"1=1 OR email": "x"})
    assert await UpUser.count(bio="set") == 1


# --- sync twins ----------------------------------------------------------------------------------

SYNC_SCRIPT = textwrap.dedent(
    """
    import asyncio, os
    from matrx_orm import CharField, DatabaseProjectConfig, Model, UUIDField, register_database
    from matrx_orm.migrations import MigrationDB
    from matrx_orm_core.connections import AsyncDatabaseManager

    class SyncRow(Model):
        id = UUIDField(primary_key=True, default="gen_random_uuid()")
        name = CharField(max_length=50, unique=True)
        state = CharField(max_length=20)
        _database = "sync_bulk"

    register_database(DatabaseProjectConfig.from_url("sync_bulk", os.environ["DATABASE_URL"]))

    async def reset():
        await MigrationDB("sync_bulk").execute(
            'DROP TABLE IF EXISTS sync_row; CREATE TABLE sync_row '
            '(id uuid PRIMARY KEY, name varchar(50) UNIQUE NOT NULL, state varchar(20) NOT NULL)'
        )
        await AsyncDatabaseManager.close_all_pools()

    asyncio.run(reset())
    rows = SyncRow.bulk_create_sync([{"name": f"r{i}", "state": "new"} for i in range(5)])
    assert [r.name for r in rows] == ["r0", "r1", "r2", "r3", "r4"]
    up = SyncRow.upsert_sync({"name": "r0", "state": "seen"}, ["name"])
    assert up.id == rows[0].id and up.state == "seen"
    result = SyncRow.update_where_sync({"state": "new"}, state="old")
    assert result["rows_affected"] == 4
    assert SyncRow.delete_where_sync(state="old") == 4
    assert SyncRow.count_sync() == 1
    print("sync bulk ok")
    """
)


def test_sync_twins_of_the_set_based_writes(matrx_test_database: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATRX_TEST_DB_")}
    env["DATABASE_URL"] = matrx_test_database.dsn(redacted=False)
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", SYNC_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "sync bulk ok"
