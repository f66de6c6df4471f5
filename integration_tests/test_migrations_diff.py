"""Level2: models → diff → up/down SQL on a real server, compared through introspected snapshots."""

from __future__ import annotations

import datetime as dt
import enum
import os
import warnings
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from matrx_orm_core import (
    BigIntegerField,
    BooleanField,
    CharField,
    DecimalField,
    EnumField,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    Model,
    TextField,
    UUIDField,
)
from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations import MigrationDB
from matrx_orm_migrations.diff import SchemaDiff
from matrx_orm_migrations.introspect import introspect_schema, list_schemas
from matrx_orm_migrations.lint import MigrationSafetyWarning
from matrx_orm_migrations.operations import OPERATION_TYPES, Operation
from matrx_orm_migrations.schema import Schema
from matrx_orm_migrations.table_filter import TableFilter

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")
S = "migdiff_diff"


class Mood(str, enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class MoodV2(str, enum.Enum):
    HAPPY = "happy"
    MEH = "meh"
    SAD = "sad"
    ANGRY = "angry"


# -- version 1 ---------------------------------------------------------------------------


class MdAuthorV1(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100, null=False)
    email = CharField(max_length=255, null=True)
    active = BooleanField(default=True, null=False)
    mood = EnumField(enum_class=Mood, db_type="md_mood", null=True)
    legacy = TextField(null=True)
    hits = IntegerField(null=True)
    _table_name = "md_author"
    _db_schema = S
    _database = DB
    _indexes = ({"name": "md_author_legacy_idx", "columns": ("legacy",)},)
    _unique_together = (("name", "email"),)


class MdPostV1(Model):
    id = IntegerField(primary_key=True, db_type="serial")
    title = CharField(max_length=100, null=False)
    author_id = ForeignKey(MdAuthorV1, on_delete="CASCADE")
    price = DecimalField(max_digits=10, decimal_places=2, default=0, null=False)
    _table_name = "md_post"
    _db_schema = S
    _database = DB
    _constraints = ({"name": "md_post_price_nonneg", "check": "price >= 0"},)


class MdScratchV1(Model):
    id = BigIntegerField(primary_key=True)
    _table_name = "md_scratch"
    _db_schema = S
    _database = DB


V1 = [MdAuthorV1, MdPostV1, MdScratchV1]


# -- version 2: every change kind --------------------------------------------------------


class MdAuthorV2(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=200, null=False, unique=True)  # type widened, unique added
    email = CharField(max_length=255, null=False, default="n/a")  # NOT NULL + default
    active = BooleanField(default=False, null=False)  # default changed
    mood = EnumField(enum_class=MoodV2, db_type="md_mood", null=True)  # enum values added
    hits = BigIntegerField(null=True, index=True)  # type changed (rewrite), index added
    subtitle = TextField(null=True)  # added
    views = IntegerField(default=0, null=False)  # added NOT NULL with default
    # legacy dropped (with its index); _unique_together dropped
    _table_name = "md_author"
    _db_schema = S
    _database = DB


class MdPostV2(Model):
    id = IntegerField(primary_key=True, db_type="serial")
    title = CharField(max_length=100, null=False)
    author_id = ForeignKey(MdAuthorV2, on_delete="SET NULL")  # FK action changed
    price = DecimalField(max_digits=10, decimal_places=2, null=False)  # default dropped
    tags = ManyToManyField("MdTagV2")
    _table_name = "md_post"
    _db_schema = S
    _database = DB
    _constraints = ({"name": "md_post_title_nonempty", "check": "length(title) > 0"},)


class MdTagV2(Model):
    id = IntegerField(primary_key=True, db_type="serial")
    label = CharField(max_length=50, null=False, default="it's; -- $1")
    _table_name = "md_tag"
    _db_schema = S
    _database = DB


V2 = [MdAuthorV2, MdPostV2, MdTagV2]


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
async def db(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    database = MigrationDB(DB)
    await database.execute(f"DROP SCHEMA IF EXISTS {S} CASCADE; CREATE SCHEMA {S}")
    try:
        yield database
    finally:
        await database.execute(f"DROP SCHEMA IF EXISTS {S} CASCADE")


async def plan(
    db: MigrationDB, models: Sequence[type], **options: Any
) -> tuple[SchemaDiff, list[Operation]]:
    diff = SchemaDiff(db, S, models=models, **options)
    return diff, await diff.compute_diff()


async def run_up(db: MigrationDB, ops: Sequence[Operation]) -> None:
    for op in ops:
        for sql in op.to_up_sql():
            await db.execute(sql)


async def run_down(db: MigrationDB, ops: Sequence[Operation]) -> None:
    for op in reversed(ops):
        for sql in op.to_down_sql():
            await db.execute(sql)


async def snapshot(db: MigrationDB) -> Schema:
    return await introspect_schema(db, S)


def by_column_name(schema: Schema) -> Schema:
    """The snapshot with each table's columns sorted by name (column order aside)."""
    return replace(
        schema,
        tables=tuple(
            replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name)))
            for t in schema.tables
        ),
    )


# -- tests -----------------------------------------------------------------------------------


async def test_create_up_down_up_round_trip(db: MigrationDB) -> None:
    empty = await snapshot(db)
    _, ops = await plan(db, V1)
    assert [op.op_type for op in ops] == [
        "create_enum",
        "create_table",
        "create_table",
        "create_table",
    ]
    assert [op.table for op in ops[1:]] == ["md_author", "md_post", "md_scratch"]
    await run_up(db, ops)
    applied = await snapshot(db)
    assert {t.name for t in applied.tables} == {"md_author", "md_post", "md_scratch"}
    captured = await SchemaDiff(db, S, TableFilter(exclude={"md_scratch"})).capture_db_state()
    assert captured == {t.name: t for t in applied.tables if t.name != "md_scratch"}
    assert (await plan(db, V1))[1] == []  # nothing left to do
    await run_down(db, ops)
    assert await snapshot(db) == empty
    await run_up(db, ops)
    assert await snapshot(db) == applied


async def test_every_change_kind_up_then_down(db: MigrationDB) -> None:
    _, first = await plan(db, V1)
    await run_up(db, first)
    await db.execute(
        f"INSERT INTO {S}.md_author (id, name, email, active, hits) "
        "VALUES (gen_random_uuid(), 'a', NULL, true, 5)"
    )
    before = await snapshot(db)
    diff, ops = await plan(db, V2, allow_drop=True)
    kinds = [op.op_type for op in ops]
    assert kinds == sorted(kinds, key=OPERATION_TYPES.index)
    assert set(kinds) == {
        "add_enum_value",
        "drop_foreign_key",
        "drop_index",
        "drop_constraint",
        "create_table",
        "add_column",
        "alter_column",
        "add_constraint",
        "add_index",
        "add_foreign_key",
        "drop_column",
        "drop_table",
    }
    # referenced tables are created first: md_tag before the junction md_post_md_tag... name
    created = [op.table for op in ops if op.op_type == "create_table"]
    assert created.index("md_tag") < created.index("mdpostv2_mdtagv2")
    assert [op.details["label"] for op in ops if op.op_type == "add_enum_value"] == [
        "meh",
        "angry",
    ]
    assert not next(op for op in ops if op.op_type == "add_enum_value").transactional
    codes = {issue.code for issue in diff.safety_issues}
    assert {"table-rewrite", "index-not-concurrent", "null-values"} <= codes
    # The NULL email must be filled before NOT NULL: do what the lint says.
    await db.execute(f"UPDATE {S}.md_author SET email = 'x' WHERE email IS NULL")
    await run_up(db, ops)
    after = await snapshot(db)
    assert (await plan(db, V2, allow_drop=True))[1] == []
    author = after.table("md_author")
    assert author is not None
    hits = author.column("hits")
    assert hits is not None
    assert hits.type == "bigint"
    assert after.enum("md_mood") is not None
    assert after.enum("md_mood").labels == ("happy", "meh", "sad", "angry")  # type: ignore[union-attr]
    await run_down(db, ops)
    reverted = await snapshot(db)
    # Enum values cannot be removed, and a dropped column comes back as the last column
    # (PostgreSQL appends columns): apart from those two, everything is back as it was.
    assert reverted.table("md_author").column_names[-1] == "legacy"  # type: ignore[union-attr]
    assert by_column_name(replace(reverted, enums=())) == by_column_name(replace(before, enums=()))
    assert reverted.enum("md_mood").labels == ("happy", "meh", "sad", "angry")  # type: ignore[union-attr]
    assert await db.fetch_val(f"SELECT count(*) FROM {S}.md_author") == 1


async def test_drops_need_allow_drop(db: MigrationDB) -> None:
    _, first = await plan(db, V1)
    await run_up(db, first)
    diff, ops = await plan(db, [MdAuthorV1, MdPostV1])  # md_scratch has no model any more
    assert ops == []  # a skipped drop alone makes no migration
    assert [op.op_type for op in diff.skipped_operations] == ["drop_table"]
    assert [issue.code for issue in diff.safety_issues] == ["drop-skipped"]
    assert "allow_drop" in diff.safety_issues[0].message
    skipped = diff.skipped_operations[0]
    assert all(line.startswith("-- ") for line in skipped.to_up_sql())
    assert skipped.to_down_sql() == []
    for sql in skipped.to_up_sql():
        await db.execute(sql)  # comments only: nothing happens
    assert (await snapshot(db)).table("md_scratch") is not None
    _, ops = await plan(db, [MdAuthorV1, MdPostV1], allow_drop=True)
    assert [op.op_type for op in ops] == ["drop_table"]
    await run_up(db, ops)
    assert (await snapshot(db)).table("md_scratch") is None


async def test_lint_not_null_without_default_on_table_with_rows(db: MigrationDB) -> None:
    class MdLintV1(Model):
        id = IntegerField(primary_key=True)
        _table_name = "md_lint"
        _db_schema = S
        _database = DB

    class MdLintV2(Model):
        id = IntegerField(primary_key=True)
        code = CharField(max_length=5, null=False)
        _table_name = "md_lint"
        _db_schema = S
        _database = DB

    _, ops = await plan(db, [MdLintV1])
    await run_up(db, ops)
    diff, ops = await plan(db, [MdLintV2])
    assert diff.safety_issues == []  # empty table: adding NOT NULL is fine
    await db.execute(f"INSERT INTO {S}.md_lint VALUES (1)")
    diff, ops = await plan(db, [MdLintV2])
    assert [i.code for i in diff.safety_issues] == ["not-null-without-default"]
    assert "md_lint.code" in diff.safety_issues[0].message


async def test_lint_column_still_referenced_by_view_and_fk(db: MigrationDB) -> None:
    _, ops = await plan(db, V1)
    await run_up(db, ops)
    await db.execute(f"CREATE VIEW {S}.legacy_view AS SELECT legacy FROM {S}.md_author")

    class MdAuthorNoLegacy(Model):
        id = UUIDField(primary_key=True)
        name = CharField(max_length=100, null=False)
        email = CharField(max_length=255, null=True)
        active = BooleanField(default=True, null=False)
        mood = EnumField(enum_class=Mood, db_type="md_mood", null=True)
        hits = IntegerField(null=True)
        _table_name = "md_author"
        _db_schema = S
        _database = DB
        _unique_together = (("name", "email"),)

    diff, ops = await plan(db, [MdAuthorNoLegacy, MdPostV1, MdScratchV1], allow_drop=True)
    referenced = [i for i in diff.safety_issues if i.code == "column-still-referenced"]
    assert len(referenced) == 1
    assert f"view {S}.legacy_view" in referenced[0].message


async def test_scoped_diff_warns_cross_scope_and_spec_snippet_silences(db: MigrationDB) -> None:
    scoped = SchemaDiff(db, S, TableFilter(include={"md_post"}), models=V1)
    with pytest.warns(UserWarning, match="Cross-scope FK detected") as caught:
        ops = await scoped.compute_diff()
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    assert messages == [
        "[matrx-orm] Cross-scope FK detected: 'md_post.author_id' references 'md_author', "
        "which is outside the current migration scope. The FK constraint will be included in "
        "the generated SQL, but 'md_author' will not be created or managed by this migration "
        "set. Ensure it already exists in the target database."
    ]
    assert [op.table for op in ops] == ["md_post"]  # no enum, no other table
    assert "REFERENCES" in ops[0].to_up_sql()[0]
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        # The spec README's own snippet:
        warnings.filterwarnings("ignore", category=UserWarning, module="matrx_orm")
        await SchemaDiff(db, S, TableFilter(include={"md_post"}), models=V1).compute_diff()
    assert [w for w in recorded if issubclass(w.category, UserWarning)] == []


async def test_exclude_filter_and_safety_warning_class(db: MigrationDB) -> None:
    _, ops = await plan(db, V1, table_filter=TableFilter(exclude={"md_scratch"}))
    assert "md_scratch" not in {op.table for op in ops}
    assert issubclass(MigrationSafetyWarning, Warning)
    with pytest.raises(MigrationError, match="either 'include' or 'exclude'"):
        TableFilter(include={"a"}, exclude={"b"})


HOSTILE = [
    'a"b',
    "x'; DROP TABLE md_author; --",
    "$1",
    "naïve_ß_名前",
    "Mixed Case",
    "semi;colon",
]


@pytest.mark.parametrize("name", HOSTILE)
async def test_hostile_identifiers_and_literals_round_trip(db: MigrationDB, name: str) -> None:
    quoted = '"' + name.replace('"', '""')
    hostile_enum = enum.Enum("HostileEnum", {"A": name, "B": "plain"}, type=str)  # type: ignore[misc]
    attrs: dict[str, Any] = {
        "id": IntegerField(primary_key=True),
        "value": CharField(max_length=100, default=name, null=False),
        # db_type is SQL type text: a name that needs quoting is written quoted.
        "kind": EnumField(enum_class=hostile_enum, db_type=quoted + "_t" + '"', null=True),
        "_table_name": name,
        "_db_schema": S,
        "_database": DB,
        "_indexes": [{"name": name[:40] + "_idx", "columns": ["value", name]}],
        name: TextField(default=name, null=True),  # a hostile column name and default
    }
    model = type(f"MdHostile{HOSTILE.index(name)}", (Model,), attrs)
    _, ops = await plan(db, [model])
    await run_up(db, ops)
    snap = await snapshot(db)
    assert [t.name for t in snap.tables] == [name]
    assert snap.enums[0].labels == (name, "plain")
    await db.execute(f'INSERT INTO {S}."{name.replace(chr(34), chr(34) * 2)}" (id) VALUES (1)')
    assert (
        await db.fetch_val(f'SELECT value FROM {S}."{name.replace(chr(34), chr(34) * 2)}"') == name
    )
    column = f'"{name.replace(chr(34), chr(34) * 2)}"'
    assert await db.fetch_val(f"SELECT {column} FROM {S}.{column}") == name
    assert (await plan(db, [model]))[1] == []
    await run_down(db, ops)
    assert await snapshot(db) == Schema(S)


async def test_over_long_names_and_bad_expressions_are_rejected(db: MigrationDB) -> None:
    long_model = type(
        "MdTooLong",
        (Model,),
        {
            "id": IntegerField(primary_key=True),
            "_table_name": "t" * 64,
            "_db_schema": S,
            "_database": DB,
        },
    )
    _, ops = await plan(db, [long_model])
    with pytest.raises(MigrationError, match="63"):
        ops[0].to_up_sql()
    bad_check = type(
        "MdBadCheck",
        (Model,),
        {
            "id": IntegerField(primary_key=True),
            "_table_name": "md_bad",
            "_db_schema": S,
            "_database": DB,
            "_constraints": [{"name": "c", "check": "true); DROP SCHEMA public CASCADE; --"}],
        },
    )
    with pytest.raises(MigrationError, match="refused before any SQL was sent"):
        await plan(db, [bad_check])
    bad_type = type(
        "MdBadType",
        (Model,),
        {
            "id": IntegerField(primary_key=True, db_type="int; DROP TABLE x"),
            "_table_name": "md_bad2",
            "_db_schema": S,
            "_database": DB,
        },
    )
    with pytest.raises(MigrationError, match="not usable in DDL"):
        await plan(db, [bad_type])
    assert await snapshot(db) == Schema(S)


def _every_field_type() -> type:
    from matrx_orm_core.fields import (
        ArrayField,
        BinaryField,
        BooleanArrayField,
        DateField,
        DateTimeField,
        FloatField,
        HStoreField,
        IntegerArrayField,
        IPAddressField,
        IPNetworkField,
        JSONBArrayField,
        JSONBField,
        JSONField,
        MacAddressField,
        MoneyField,
        PointField,
        SmallIntegerField,
        TextArrayField,
        TimeDeltaField,
        TimeField,
        UUIDArrayField,
    )

    columns: dict[str, Any] = {
        "id": BigIntegerField(primary_key=True),
        "v_char": CharField(max_length=20),
        "v_char_unlimited": CharField(max_length=None),
        "v_text": TextField(default="x"),
        "v_int": IntegerField(default=-5),
        "v_small": SmallIntegerField(),
        "v_float": FloatField(default=1.5),
        "v_real": FloatField(precision="real"),
        "v_dec": DecimalField(max_digits=10, decimal_places=2),
        "v_money": MoneyField(),
        "v_bool": BooleanField(default=False),
        "v_ts": DateTimeField(default=dt.datetime(2024, 1, 2, 3, 4, 5, 120000, dt.timezone.utc)),
        "v_ts_naive": DateTimeField(timezone=False, default=dt.datetime(2024, 1, 2, 3, 4, 5)),
        "v_date": DateField(default=dt.date(2024, 2, 29)),
        "v_time": TimeField(default=dt.time(3, 4, 5, 123000)),
        "v_timetz": TimeField(timezone=True),
        "v_interval": TimeDeltaField(default=dt.timedelta(days=-1, seconds=5, microseconds=7)),
        "v_json": JSONField(jsonb=False),
        "v_jsonb": JSONBField(default={"a": [1, "it's"]}),
        "v_uuid": UUIDField(),
        "v_inet": IPAddressField(),
        "v_cidr": IPNetworkField(),
        "v_mac": MacAddressField(),
        "v_hstore": HStoreField(),
        "v_point": PointField(),
        "v_bytes": BinaryField(),
        "v_int_arr": IntegerArrayField(),
        "v_text_arr": TextArrayField(),
        "v_bool_arr": BooleanArrayField(),
        "v_uuid_arr": UUIDArrayField(),
        "v_jsonb_arr": JSONBArrayField(),
        "v_arr": ArrayField(DecimalField(max_digits=5, decimal_places=1)),
        "v_enum_text": EnumField(enum_class=Mood),
        "v_custom": TextField(db_type="citext"),
        "_table_name": "md_types",
        "_db_schema": S,
        "_database": DB,
    }
    return type("MdEveryType", (Model,), columns)


async def test_every_field_type_round_trips_through_the_catalog(db: MigrationDB) -> None:
    await db.execute("CREATE EXTENSION IF NOT EXISTS hstore; CREATE EXTENSION IF NOT EXISTS citext")
    model = _every_field_type()
    _, ops = await plan(db, [model])
    await run_up(db, ops)
    # Every column type and default reads back in the spelling the models produce.
    assert (await plan(db, [model]))[1] == []
    table = (await snapshot(db)).table("md_types")
    assert table is not None
    # Constant defaults reached the catalog (and compare equal to the models' spelling above).
    assert {c.name for c in table.columns if c.default is not None} == {
        "v_text",
        "v_int",
        "v_float",
        "v_bool",
        "v_ts",
        "v_ts_naive",
        "v_date",
        "v_time",
        "v_interval",
        "v_jsonb",
    }
    assert {c.name: c.type for c in table.columns} == {
        c.name: c.type
        for c in SchemaDiff(db, S, models=[model]).capture_model_state()["md_types"].columns
    }


async def test_generate_migration_file(db: MigrationDB, tmp_path: Any) -> None:
    directory = tmp_path / "migrations"
    diff = SchemaDiff(db, S, models=V1)
    path = await diff.generate_migration_file(directory)
    assert path is not None
    assert path.name == "0001_auto.py"
    source = path.read_text(encoding="utf-8")
    compile(source, str(path), "exec")
    assert source.startswith('"""Create enum type md_mood; Create table md_author; ')
    assert "dependencies = []" in source
    assert 'CREATE TABLE "migdiff_diff"."md_post"' in source
    with pytest.raises(MigrationError, match="already exists"):
        await diff.generate_migration_file(directory, number=1, name="auto")
    await run_up(db, await diff.compute_diff())
    assert await SchemaDiff(db, S, models=V1).generate_migration_file(directory) is None
    # An enum value is added in a file of its own that runs outside a transaction.
    models = [*V1[1:], MdAuthorEnumOnly, MdExtraV3]
    path = await SchemaDiff(db, S, models=models).generate_migration_file(
        directory, name="more", number=7
    )
    assert path is not None
    assert path.name == "0008_more.py"
    enum_file = directory / "0007_update_md_mood.py"  # two values added to md_mood
    source = enum_file.read_text(encoding="utf-8")
    assert "atomic = False" in source
    assert 'dependencies = ["0001_auto"]' in source
    assert "ADD VALUE IF NOT EXISTS 'meh' AFTER 'happy'" in source
    assert "-- Cannot reverse" in source
    source = path.read_text(encoding="utf-8")
    assert "atomic = False" not in source
    assert 'dependencies = ["0007_update_md_mood"]' in source
    assert 'CREATE TABLE "migdiff_diff"."md_extra"' in source


class MdExtraV3(Model):
    id = IntegerField(primary_key=True)
    _table_name = "md_extra"
    _db_schema = S
    _database = DB


class MdAuthorEnumOnly(MdAuthorV1):
    """MdAuthorV1 with two more enum members (fields are copied from the concrete parent)."""

    mood = EnumField(enum_class=MoodV2, db_type="md_mood", null=True)
    _table_name = "md_author"


async def test_missing_schema_is_created_and_removed(db: MigrationDB) -> None:
    fresh = "migdiff_fresh"
    model = type(
        "MdFresh",
        (Model,),
        {"id": IntegerField(primary_key=True), "_db_schema": fresh, "_database": DB},
    )
    await db.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")
    try:
        diff = SchemaDiff(db, fresh, models=[model])
        ops = await diff.compute_diff()
        assert [op.op_type for op in ops] == ["create_schema", "create_table"]
        await run_up(db, ops)
        assert [t.name for t in (await introspect_schema(db, fresh)).tables] == ["md_fresh"]
        assert await SchemaDiff(db, fresh, models=[model]).compute_diff() == []
        await run_down(db, ops)
        assert fresh not in await list_schemas(db)
    finally:
        await db.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")


async def test_undeclared_expression_index_is_dropped_and_restored_exactly(db: MigrationDB) -> None:
    _, ops = await plan(db, V1)
    await run_up(db, ops)
    await db.execute(
        f'CREATE INDEX "odd ""idx""" ON {S}.md_author (lower(name) DESC, legacy text_pattern_ops) '
        "INCLUDE (email) WHERE active"
    )
    before = await snapshot(db)
    definition = next(i for i in before.table_map["md_author"].indexes if i.name == 'odd "idx"')
    assert definition.columns == ("lower(name::text)", "legacy")
    _, ops = await plan(db, V1)
    assert [(op.op_type, op.details["index"].name) for op in ops] == [("drop_index", 'odd "idx"')]
    await run_up(db, ops)
    assert 'odd "idx"' not in {i.name for i in (await snapshot(db)).table_map["md_author"].indexes}
    await run_down(db, ops)
    after = await snapshot(db)
    assert after == before
    restored = next(i for i in after.table_map["md_author"].indexes if i.name == 'odd "idx"')
    assert restored.definition == definition.definition


async def test_db_defaults_reach_the_server_and_diff_clean(db: MigrationDB) -> None:
    from matrx_orm_core.query.functions import Func, Now
    from matrx_orm_migrations.ddl import SQLExpression

    class GenRandomUUID(Func):
        function = "gen_random_uuid"
        arity = 0

    model = type(
        "MdDbDefaults",
        (Model,),
        {
            "id": UUIDField(primary_key=True, db_default=GenRandomUUID()),
            "created": TextField(db_type="timestamptz", null=False, db_default=Now()),
            "status": CharField(max_length=10, null=False, db_default="it's"),
            "day": TextField(db_type="date", db_default=SQLExpression("CURRENT_DATE + 1")),
            "_table_name": "md_db_defaults",
            "_db_schema": S,
            "_database": DB,
        },
    )
    _, ops = await plan(db, [model])
    await run_up(db, ops)
    assert (await plan(db, [model]))[1] == []
    await db.execute(f"INSERT INTO {S}.md_db_defaults DEFAULT VALUES")
    row = await db.fetch_one(f"SELECT status, day - CURRENT_DATE AS days FROM {S}.md_db_defaults")
    assert row == {"status": "it's", "days": 1}
