"""Models -> makemigrations -> migrate -> makemigrations again: nothing; up, down, up: same catalog.

This goes through the whole user path (files on disk, the loader, the executor's
transactions and tracking rows), not just the diff's SQL.
"""

from __future__ import annotations

import enum
import os
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from matrx_orm import (
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    EnumField,
    ForeignKey,
    IntegerField,
    JSONBField,
    ManyToManyField,
    Model,
    TextField,
    UUIDField,
    makemigrations,
    migrate,
    migration_status,
    rollback,
)
from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations import MigrationDB, MigrationLoader, sql_preview
from matrx_orm_migrations.introspect import introspect_schema
from matrx_orm_migrations.lint import MigrationSafetyWarning
from matrx_orm_migrations.schema import Schema

pytestmark = pytest.mark.level2

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")
S = "migexec_rt"


class Stage(str, enum.Enum):
    DRAFT = "draft"
    LIVE = "live"


class RtAuthorV1(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100, null=False, unique=True)
    bio = TextField(null=True)
    active = BooleanField(default=True, null=False)
    stage = EnumField(enum_class=Stage, db_type="rt_stage", null=True)
    _table_name = "rt_author"
    _db_schema = S
    _database = DB


class RtPostV1(Model):
    id = IntegerField(primary_key=True, db_type="serial")
    title = CharField(max_length=200, null=False)
    author_id = ForeignKey(RtAuthorV1, on_delete="CASCADE")
    price = DecimalField(max_digits=10, decimal_places=2, default=0, null=False)
    meta = JSONBField(null=True)
    created = DateTimeField(null=True)
    tags = ManyToManyField("RtTagV1", db_table="rt_post_tag")
    _table_name = "rt_post"
    _db_schema = S
    _database = DB
    _indexes = ({"name": "rt_post_title_idx", "columns": ("title",)},)


class RtTagV1(Model):
    id = IntegerField(primary_key=True, db_type="serial")
    label = CharField(max_length=50, null=False, default='it\'s; -- "quoted" \\ $1')
    _table_name = "rt_tag"
    _db_schema = S
    _database = DB


V1 = [RtAuthorV1, RtPostV1, RtTagV1]


class RtAuthorV2(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100, null=False, unique=True)
    bio = TextField(null=True)
    active = BooleanField(default=True, null=False)
    stage = EnumField(enum_class=Stage, db_type="rt_stage", null=True)
    karma = IntegerField(default=0, null=False, index=True)  # added
    _table_name = "rt_author"
    _db_schema = S
    _database = DB


V2 = [RtAuthorV2, RtPostV1, RtTagV1]


class StageV3(str, enum.Enum):
    DRAFT = "draft"
    LIVE = "live"
    ARCHIVED = "archived"


class RtAuthorV3(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100, null=False, unique=True)
    bio = TextField(null=True)
    active = BooleanField(default=True, null=False)
    stage = EnumField(enum_class=StageV3, db_type="rt_stage", null=True)
    archived_stage = EnumField(
        enum_class=StageV3, db_type="rt_stage", default=StageV3.ARCHIVED, null=False
    )
    _table_name = "rt_author"
    _db_schema = S
    _database = DB


V3 = [RtAuthorV3, RtPostV1, RtTagV1]


@pytest.fixture
async def db(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    database = MigrationDB(DB)
    await database.execute(f"DROP SCHEMA IF EXISTS {S} CASCADE; CREATE SCHEMA {S}")
    try:
        yield database
    finally:
        await database.execute(f"DROP SCHEMA IF EXISTS {S} CASCADE")
        if await database.fetch_val("SELECT to_regclass('_matrx_migrations') IS NOT NULL"):
            await database.execute("DELETE FROM _matrx_migrations WHERE name LIKE '%\\_rt\\_%'")


async def snapshot(db: MigrationDB) -> Schema:
    return await introspect_schema(db, S)


async def make(folder: Path, name: str, models: list[type[Model]]) -> Path | None:
    return await makemigrations(DB, folder, name=name, schema=S, models=models)


async def test_round_trip_through_files(db: MigrationDB, tmp_path: Path) -> None:
    empty = await snapshot(db)

    first = await make(tmp_path, "rt_v1", V1)
    assert first is not None
    assert first.stem == "0001_rt_v1"
    compile(first.read_text(), str(first), "exec")
    assert await migrate(DB, tmp_path) == ["0001_rt_v1"]
    assert await make(tmp_path, "rt_again", V1) is None  # nothing left to do
    assert MigrationLoader(tmp_path).file_names() == ["0001_rt_v1"]
    applied_v1 = await snapshot(db)
    assert {t.name for t in applied_v1.tables} >= {"rt_author", "rt_post", "rt_tag"}

    # up, down, up: identical catalog snapshots
    assert await rollback(DB, tmp_path) == ["0001_rt_v1"]
    assert await snapshot(db) == empty
    assert await migrate(DB, tmp_path) == ["0001_rt_v1"]
    assert await snapshot(db) == applied_v1

    # a second generation on top of the first
    with pytest.warns(MigrationSafetyWarning, match="CONCURRENTLY"):
        second = await make(tmp_path, "rt_v2", V2)  # the safety lint reports as warnings
    assert second is not None
    assert 'dependencies = ["0001_rt_v1"]' in second.read_text()
    preview = await sql_preview(DB, tmp_path)
    assert list(preview) == ["0002_rt_v2"]
    assert any("karma" in sql for sql in preview["0002_rt_v2"])
    assert await migrate(DB, tmp_path) == ["0002_rt_v2"]
    assert await make(tmp_path, "rt_again", V2) is None
    applied_v2 = await snapshot(db)
    assert applied_v2 != applied_v1

    assert await rollback(DB, tmp_path) == ["0002_rt_v2"]
    assert await snapshot(db) == applied_v1
    assert await migrate(DB, tmp_path) == ["0002_rt_v2"]
    assert await snapshot(db) == applied_v2

    assert await rollback(DB, tmp_path, steps=2) == ["0002_rt_v2", "0001_rt_v1"]
    assert await snapshot(db) == empty
    assert set((await migration_status(DB, tmp_path)).values()) == {"pending"}


async def test_makemigrations_refuses_while_files_are_pending(
    db: MigrationDB, tmp_path: Path
) -> None:
    assert await make(tmp_path, "rt_pending", V1) is not None
    with pytest.raises(MigrationError, match="0001_rt_pending") as info:
        await make(tmp_path, "rt_next", V2)
    assert "Run migrate first" in info.value.message
    assert len(MigrationLoader(tmp_path).file_names()) == 1


async def test_scoped_makemigrations_warns_and_the_spec_snippet_silences_it(
    db: MigrationDB, tmp_path: Path
) -> None:
    with pytest.warns(UserWarning, match=r"Cross-scope FK detected: 'rt_post.author_id'"):
        path = await makemigrations(
            DB,
            tmp_path,
            name="rt_scoped",
            schema=S,
            include_tables={"rt_post", "rt_tag"},
            models=V1,
        )
    assert path is not None
    text = path.read_text()
    assert "rt_post" in text
    assert 'CREATE TABLE "migexec_rt"."rt_author"' not in text
    path.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=UserWarning, module="matrx_orm")
        assert (
            await makemigrations(
                DB,
                tmp_path,
                name="rt_scoped",
                schema=S,
                include_tables={"rt_post", "rt_tag"},
                models=V1,
            )
            is not None
        )
    with pytest.raises(MigrationError, match="either 'include' or 'exclude'"):
        await makemigrations(
            DB, tmp_path, schema=S, include_tables={"a"}, exclude_tables={"b"}, models=V1
        )


async def test_new_enum_value_gets_its_own_non_transactional_file(
    db: MigrationDB, tmp_path: Path
) -> None:
    assert await make(tmp_path, "rt_base", V1) is not None
    await migrate(DB, tmp_path)
    base = await snapshot(db)
    last = await make(tmp_path, "rt_archive", V3)
    assert last is not None
    loader = MigrationLoader(tmp_path)
    assert loader.file_names() == [
        "0001_rt_base",
        "0002_add_enum_value_rt_stage",
        "0003_rt_archive",
    ]
    files = loader.discover()
    assert files["0002_add_enum_value_rt_stage"].atomic is False
    assert files["0003_rt_archive"].atomic is True
    assert files["0003_rt_archive"].dependencies == ["0002_add_enum_value_rt_stage"]
    # the new column's default uses the new label: it works because the label was committed
    # by the file before
    assert await migrate(DB, tmp_path) == ["0002_add_enum_value_rt_stage", "0003_rt_archive"]
    assert await make(tmp_path, "rt_again", V3) is None
    assert await rollback(DB, tmp_path) == ["0003_rt_archive"]
    assert await snapshot(db) != base  # the enum still has the new label...
    # ...because PostgreSQL cannot drop an enum value: that down step is a "Cannot reverse"
    # comment, so rolling the file back only forgets it.
    assert "Cannot reverse" in files["0002_add_enum_value_rt_stage"].source
    assert await rollback(DB, tmp_path) == ["0002_add_enum_value_rt_stage"]
    labels = await db.fetch_val(
        "SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum "
        "JOIN pg_type t ON t.oid = enumtypid WHERE t.typname = 'rt_stage'"
    )
    assert labels == ["draft", "live", "archived"]
    assert {t.name: t for t in (await snapshot(db)).tables} == {t.name: t for t in base.tables}


PROBE = '''"""ORM calls inside up() share the migration's transaction."""

dependencies = []


async def up(db):
    from matrx_orm import IntegerField, Model

    class RtOrmProbe(Model):
        id = IntegerField(primary_key=True)
        _table_name = "rt_probe"
        _db_schema = "migexec_rt"
        _database = db.config_name

    await db.execute("CREATE TABLE migexec_rt.rt_probe (id int PRIMARY KEY)")
    await RtOrmProbe.create(id=1)  # sees the uncommitted table: same connection
    assert await RtOrmProbe.filter(id=1).count() == 1
    raise RuntimeError("stop after the ORM calls")
'''


def write_probe(folder: Path) -> None:
    (folder / "0001_rt_probe.py").write_text(PROBE)


async def test_orm_calls_in_up_join_the_migration_transaction(
    db: MigrationDB, tmp_path: Path
) -> None:
    write_probe(tmp_path)
    with pytest.raises(MigrationError, match="stop after the ORM calls"):
        await migrate(DB, tmp_path)
    assert await db.fetch_val("SELECT to_regclass('migexec_rt.rt_probe')") is None
