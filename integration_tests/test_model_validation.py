"""Bad input raises a named exception before any SQL is sent, and a failed create writes nothing."""

from __future__ import annotations

import enum
import os
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from matrx_orm import (
    CharField,
    ConfigurationError,
    EnumField,
    FieldError,
    IntegerField,
    IntegrityError,
    Model,
    UUIDField,
    ValidationError,
)
from matrx_orm.migrations import MigrationDB

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Widget(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=10, null=False)
    size = IntegerField(null=True)
    colour = EnumField(enum_class=Colour, null=True)

    _database = DB


class Stray(Model):
    id = UUIDField(primary_key=True)

    _database = "nowhere_registered"


@pytest.fixture
async def widgets(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(
        'CREATE TABLE "widget" ("id" uuid PRIMARY KEY, "name" varchar(10) NOT NULL, '
        '"size" integer, "colour" varchar(255))'
    )
    try:
        yield db
    finally:
        await db.execute('DROP TABLE "widget"')


async def count(db: MigrationDB) -> Any:
    return await db.fetch_val('SELECT count(*) FROM "widget"')


async def test_unknown_field_in_create(widgets: MigrationDB) -> None:
    with pytest.raises(FieldError) as info:
        await Widget.create(id=str(uuid4()), name="a", weight=3)
    text = str(info.value)
    assert "weight" in text
    assert "Widget" in text
    assert await count(widgets) == 0


async def test_unknown_field_in_filter(widgets: MigrationDB) -> None:
    with pytest.raises(FieldError) as info:
        await Widget.filter(wieght=3).all()
    assert "wieght" in str(info.value)
    with pytest.raises(FieldError):
        await Widget.get(nme="a")


async def test_wrong_type(widgets: MigrationDB) -> None:
    with pytest.raises(ValidationError) as info:
        await Widget.create(id=str(uuid4()), name="a", size="big")
    assert "size" in str(info.value)
    assert "Widget" in str(info.value)
    assert await count(widgets) == 0


async def test_over_max_length_is_rejected_not_truncated(widgets: MigrationDB) -> None:
    with pytest.raises(ValidationError) as info:
        await Widget.create(id=str(uuid4()), name="x" * 11)
    assert "name" in str(info.value)
    assert await count(widgets) == 0


async def test_bad_enum_value(widgets: MigrationDB) -> None:
    with pytest.raises(ValidationError) as info:
        await Widget.create(id=str(uuid4()), name="a", colour="green")
    assert "colour" in str(info.value)
    assert await count(widgets) == 0
    made = await Widget.create(id=str(uuid4()), name="a", colour=Colour.BLUE)
    again = await Widget.get(id=made.id, use_cache=False)
    assert again.colour is Colour.BLUE
    assert await widgets.fetch_val('SELECT colour FROM "widget"') == "blue"


async def test_bad_uuid_primary_key(widgets: MigrationDB) -> None:
    with pytest.raises(ValidationError):
        await Widget.create(id="not-a-uuid", name="a")
    assert await count(widgets) == 0


async def test_missing_primary_key_on_delete_and_update(widgets: MigrationDB) -> None:
    unsaved = Widget(name="a")
    with pytest.raises(ValidationError):
        await unsaved.delete()
    assert await count(widgets) == 0


async def test_unregistered_database(matrx_test_database: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        await Stray.get(id=str(uuid4()))
    assert "nowhere_registered" in str(info.value)


async def test_failed_create_writes_nothing(widgets: MigrationDB) -> None:
    await Widget.create(id=(first := str(uuid4())), name="a")
    with pytest.raises(IntegrityError):
        await Widget.create(id=first, name="b")
    assert await count(widgets) == 1
    assert await widgets.fetch_val('SELECT name FROM "widget"') == "a"
