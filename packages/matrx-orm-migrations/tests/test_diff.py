"""diff_schemas and Operation: which operations, in which order, with which up and down SQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations.diff import diff_schemas, executable
from matrx_orm_migrations.operations import Operation
from matrx_orm_migrations.schema import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)

S = "app"

USER = Table(
    "user",
    S,
    (Column("id", "uuid", nullable=False), Column("name", "text", nullable=False)),
    PrimaryKey("user_pkey", ("id",)),
)
POST = Table(
    "post",
    S,
    (
        Column("id", "integer", nullable=False, serial=True),
        Column("title", "character varying(100)", nullable=False, default="'untitled'"),
        Column("author_id", "uuid"),
    ),
    PrimaryKey("post_pkey", ("id",)),
    uniques=(UniqueConstraint("post_title_key", ("title",)),),
    foreign_keys=(
        ForeignKey("fk_post_author_id_user_id", ("author_id",), S, "user", ("id",), "CASCADE"),
    ),
    checks=(CheckConstraint("post_title_check", "length(title) > 0"),),
    indexes=(Index("idx_post_author_id", ("author_id",)),),
)


def sql(ops: list[Operation]) -> tuple[list[str], list[str]]:
    up = [s for op in ops for s in op.to_up_sql()]
    down = [s for op in reversed(ops) for s in op.to_down_sql()]
    return up, down


def test_create_tables_referenced_first_with_exact_sql() -> None:
    ops = diff_schemas(Schema(S, (POST, USER)), Schema(S))
    assert [(op.op_type, op.table) for op in ops] == [
        ("create_table", "user"),
        ("create_table", "post"),
    ]
    assert ops[1].description == "Create table post"
    up, down = sql(ops)
    assert up == [
        'CREATE TABLE "app"."user" (\n'
        '    "id" uuid NOT NULL,\n'
        '    "name" text NOT NULL,\n'
        '    CONSTRAINT "user_pkey" PRIMARY KEY ("id")\n'
        ")",
        'CREATE TABLE "app"."post" (\n'
        '    "id" serial NOT NULL,\n'
        "    \"title\" character varying(100) NOT NULL DEFAULT 'untitled',\n"
        '    "author_id" uuid,\n'
        '    CONSTRAINT "post_pkey" PRIMARY KEY ("id"),\n'
        '    CONSTRAINT "post_title_key" UNIQUE ("title"),\n'
        '    CONSTRAINT "post_title_check" CHECK (length(title) > 0),\n'
        '    CONSTRAINT "fk_post_author_id_user_id" FOREIGN KEY ("author_id") '
        'REFERENCES "app"."user"("id") ON DELETE CASCADE ON UPDATE NO ACTION\n'
        ")",
        'CREATE INDEX IF NOT EXISTS "idx_post_author_id" ON "app"."post" ("author_id")',
    ]
    assert down == ['DROP TABLE IF EXISTS "app"."post"', 'DROP TABLE IF EXISTS "app"."user"']


def test_identical_schemas_give_no_operations() -> None:
    schema = Schema(S, (POST, USER), (EnumType(S, "mood", ("a", "b")),))
    assert diff_schemas(schema, schema) == []
    # Defaults compare by meaning, constraints and indexes by definition, not by name.
    server = replace(
        POST,
        columns=(
            POST.columns[0],
            replace(POST.columns[1], default="'untitled'::character varying"),
            POST.columns[2],
        ),
        uniques=(UniqueConstraint("other_name", ("title",)),),
        foreign_keys=(replace(POST.foreign_keys[0], name="post_author_id_fkey"),),
        indexes=(Index("post_author_idx", ("author_id",)),),
    )
    assert diff_schemas(Schema(S, (POST, USER)), Schema(S, (server, USER))) == []


def test_foreign_key_cycle_is_added_after_both_tables() -> None:
    a = Table(
        "a",
        S,
        (Column("id", "integer", nullable=False), Column("b_id", "integer")),
        PrimaryKey("a_pkey", ("id",)),
        foreign_keys=(ForeignKey("fk_a_b", ("b_id",), S, "b", ("id",)),),
    )
    b = Table(
        "b",
        S,
        (Column("id", "integer", nullable=False), Column("a_id", "integer")),
        PrimaryKey("b_pkey", ("id",)),
        foreign_keys=(ForeignKey("fk_b_a", ("a_id",), S, "a", ("id",)),),
    )
    ops = diff_schemas(Schema(S, (a, b)), Schema(S))
    assert [(op.op_type, op.table) for op in ops] == [
        ("create_table", "b"),
        ("create_table", "a"),
        ("add_foreign_key", "b"),
    ]
    assert ops[0].details["table"].foreign_keys == ()
    up, down = sql(ops[2:])
    assert up == [
        'ALTER TABLE "app"."b" ADD CONSTRAINT "fk_b_a" FOREIGN KEY ("a_id") REFERENCES "app"."a"'
        '("id") ON DELETE NO ACTION ON UPDATE NO ACTION'
    ]
    assert down == ['ALTER TABLE "app"."b" DROP CONSTRAINT IF EXISTS "fk_b_a"']


def test_column_changes_up_and_down() -> None:
    old = Table(
        "t",
        S,
        (
            Column("id", "integer", nullable=False),
            Column("a", "character varying(10)"),
            Column("b", "integer", nullable=False, default="0"),
            Column("gone", "text", default="'x'"),
        ),
        PrimaryKey("t_pkey", ("id",)),
    )
    new = Table(
        "t",
        S,
        (
            Column("id", "integer", nullable=False),
            Column("a", "text", nullable=False),
            Column("b", "integer", nullable=False),
            Column("c", "boolean", nullable=False, default="FALSE"),
        ),
        PrimaryKey("t_pkey", ("id",)),
    )
    ops = diff_schemas(Schema(S, (new,)), Schema(S, (old,)), allow_drop=True)
    assert [op.op_type for op in ops] == [
        "add_column",
        "alter_column",
        "alter_column",
        "drop_column",
    ]
    assert [op.description for op in ops] == [
        "Add column c to t",
        "Alter column a on t",
        "Alter column b on t",
        "Drop column gone from t",
    ]
    up, down = sql(ops)
    assert up == [
        'ALTER TABLE "app"."t" ADD COLUMN "c" boolean NOT NULL DEFAULT FALSE',
        'ALTER TABLE "app"."t" ALTER COLUMN "a" TYPE text USING "a"::text',
        'ALTER TABLE "app"."t" ALTER COLUMN "a" SET NOT NULL',
        'ALTER TABLE "app"."t" ALTER COLUMN "b" DROP DEFAULT',
        'ALTER TABLE "app"."t" DROP COLUMN IF EXISTS "gone"',
    ]
    assert down == [
        'ALTER TABLE "app"."t" ADD COLUMN "gone" text DEFAULT \'x\'',
        'ALTER TABLE "app"."t" ALTER COLUMN "b" SET DEFAULT 0',
        'ALTER TABLE "app"."t" ALTER COLUMN "a" TYPE character varying(10) USING '
        '"a"::character varying(10)',
        'ALTER TABLE "app"."t" ALTER COLUMN "a" DROP NOT NULL',
        'ALTER TABLE "app"."t" DROP COLUMN IF EXISTS "c"',
    ]


def test_constraint_index_and_foreign_key_changes() -> None:
    old = replace(
        POST,
        uniques=(UniqueConstraint("post_title_key", ("title",)),),
        checks=(CheckConstraint("old_check", "id > 0"),),
        indexes=(Index("stale_idx", ("title",)),),
    )
    new = replace(
        POST,
        primary_key=PrimaryKey("post_pkey", ("id", "title")),
        uniques=(UniqueConstraint("post_author_id_key", ("author_id",)),),
        checks=(CheckConstraint("post_title_check", "length(title) > 0"),),
        foreign_keys=(replace(POST.foreign_keys[0], on_delete="SET NULL"),),
        indexes=(Index("idx_post_title", ("title",), unique=True, where="id > 0"),),
    )
    ops = diff_schemas(Schema(S, (new, USER)), Schema(S, (old, USER)))
    assert [(op.op_type, op.description) for op in ops] == [
        ("drop_foreign_key", "Drop foreign key fk_post_author_id_user_id on post"),
        ("drop_index", "Drop index stale_idx on post"),
        ("drop_constraint", "Drop constraint post_title_key on post"),
        ("drop_constraint", "Drop constraint old_check on post"),
        ("drop_constraint", "Drop constraint post_pkey on post"),
        ("add_constraint", "Add constraint post_pkey on post"),
        ("add_constraint", "Add constraint post_author_id_key on post"),
        ("add_constraint", "Add constraint post_title_check on post"),
        ("add_index", "Add index idx_post_title on post"),
        ("add_foreign_key", "Add foreign key fk_post_author_id_user_id on post"),
    ]
    up, down = sql(ops)
    assert up[5:] == [
        'ALTER TABLE "app"."post" ADD CONSTRAINT "post_pkey" PRIMARY KEY ("id", "title")',
        'ALTER TABLE "app"."post" ADD CONSTRAINT "post_author_id_key" UNIQUE ("author_id")',
        'ALTER TABLE "app"."post" ADD CONSTRAINT "post_title_check" CHECK (length(title) > 0)',
        'CREATE UNIQUE INDEX IF NOT EXISTS "idx_post_title" ON "app"."post" ("title") WHERE id > 0',
        'ALTER TABLE "app"."post" ADD CONSTRAINT "fk_post_author_id_user_id" FOREIGN KEY '
        '("author_id") REFERENCES "app"."user"("id") ON DELETE SET NULL ON UPDATE NO ACTION',
    ]
    assert (
        up[:4]
        == [
            'ALTER TABLE "app"."post" DROP CONSTRAINT IF EXISTS "fk_post_author_id_user_id"',
            'DROP INDEX IF EXISTS "app"."stale_idx"',
            'ALTER TABLE "app"."post" DROP CONSTRAINT IF EXISTS "post_title_key"',
            'ALTER TABLE "app"."post" DROP CONSTRAINT IF EXISTS "old_check"',
        ][:4]
        or up
    )
    assert down[0] == (
        'ALTER TABLE "app"."post" DROP CONSTRAINT IF EXISTS "fk_post_author_id_user_id"'
    )
    assert down[-1] == (
        'ALTER TABLE "app"."post" ADD CONSTRAINT "fk_post_author_id_user_id" FOREIGN KEY '
        '("author_id") REFERENCES "app"."user"("id") ON DELETE CASCADE ON UPDATE NO ACTION'
    )
    assert 'CREATE INDEX IF NOT EXISTS "stale_idx" ON "app"."post" ("title")' in down


def test_drops_are_comments_without_allow_drop() -> None:
    ops = diff_schemas(Schema(S, (USER,)), Schema(S, (POST, USER)))
    assert [op.op_type for op in ops] == ["drop_table"]
    assert ops[0].skipped
    assert not executable(ops)
    assert ops[0].description == "Drop table post (skipped: allow_drop not set)"
    assert ops[0].to_up_sql() == [
        '-- DROP TABLE IF EXISTS "app"."post" CASCADE',
        "-- skipped: pass allow_drop=True (--allow-drop) to drop it",
    ]
    assert ops[0].to_down_sql() == []
    dropped = diff_schemas(Schema(S, (USER,)), Schema(S, (POST, USER)), allow_drop=True)
    assert executable(dropped)
    assert dropped[0].to_up_sql() == ['DROP TABLE IF EXISTS "app"."post" CASCADE']
    assert dropped[0].to_down_sql()[0].startswith('CREATE TABLE "app"."post" (')


def test_drop_tables_referencing_first() -> None:
    ops = diff_schemas(Schema(S), Schema(S, (POST, USER)), allow_drop=True)
    assert [op.table for op in ops] == ["post", "user"]


def test_enum_types_and_values() -> None:
    current = Schema(S, enums=(EnumType(S, "mood", ("happy", "sad")),))
    target = Schema(
        S,
        enums=(
            EnumType(S, "mood", ("first", "happy", "meh", "sad", "last")),
            EnumType(S, "size", ("s", "m")),
        ),
    )
    ops = diff_schemas(target, current)
    assert [(op.op_type, op.table, op.details.get("label")) for op in ops] == [
        ("add_enum_value", "mood", "first"),
        ("add_enum_value", "mood", "meh"),
        ("add_enum_value", "mood", "last"),
        ("create_enum", "size", None),
    ]
    up, down = sql(ops)
    assert up == [
        "ALTER TYPE \"app\".\"mood\" ADD VALUE IF NOT EXISTS 'first' BEFORE 'happy'",
        "ALTER TYPE \"app\".\"mood\" ADD VALUE IF NOT EXISTS 'meh' AFTER 'happy'",
        "ALTER TYPE \"app\".\"mood\" ADD VALUE IF NOT EXISTS 'last' AFTER 'sad'",
        "CREATE TYPE \"app\".\"size\" AS ENUM ('s', 'm')",
    ]
    assert down[0] == 'DROP TYPE IF EXISTS "app"."size"'
    assert down[1:] == [
        "-- Cannot reverse: PostgreSQL cannot remove value 'last' from enum type mood; "
        "recreate the type by hand if you must.",
        "-- Cannot reverse: PostgreSQL cannot remove value 'meh' from enum type mood; "
        "recreate the type by hand if you must.",
        "-- Cannot reverse: PostgreSQL cannot remove value 'first' from enum type mood; "
        "recreate the type by hand if you must.",
    ]
    assert not ops[0].transactional
    assert not ops[0].reversible
    assert ops[-1].transactional
    assert ops[0].description == "Add value 'first' to enum type mood"


def test_irreversible_comment_cannot_escape_its_line() -> None:
    op = Operation("add_enum_value", "mood", S, {"label": "x\nDROP TABLE t; --"})
    (line,) = op.to_down_sql()
    assert "\n" not in line
    assert line.startswith("-- Cannot reverse")


def test_unused_enum_dropped_only_with_allow_drop() -> None:
    current = Schema(S, enums=(EnumType(S, "old", ("a",)),))
    assert diff_schemas(Schema(S), current) == []
    ops = diff_schemas(Schema(S), current, allow_drop=True)
    assert [op.op_type for op in ops] == ["drop_enum"]
    assert sql(ops) == (
        ['DROP TYPE IF EXISTS "app"."old"'],
        ['CREATE TYPE "app"."old" AS ENUM (\'a\')'],
    )


def test_unknown_operation_type() -> None:
    op = Operation("rename_everything", "t")  # API.md §5.7: the error comes from the SQL
    assert op.description == "rename_everything on t"
    with pytest.raises(MigrationError, match="Unknown operation type: rename_everything"):
        op.to_up_sql()
    with pytest.raises(MigrationError, match="Unknown operation type: rename_everything"):
        op.to_down_sql()


def test_identity_and_generated_columns_render() -> None:
    table = Table(
        "g",
        S,
        (
            Column("id", "bigint", nullable=False, identity="always"),
            Column("n", "integer", nullable=False, identity="by default"),
            Column("twice", "integer", generated="(n * 2)"),
        ),
        PrimaryKey("g_pkey", ("id",)),
    )
    (create,) = Operation("create_table", "g", S, {"table": table}).to_up_sql()
    assert '"id" bigint NOT NULL GENERATED ALWAYS AS IDENTITY' in create
    assert '"n" integer NOT NULL GENERATED BY DEFAULT AS IDENTITY' in create
    assert '"twice" integer GENERATED ALWAYS AS ((n * 2)) STORED' in create


def test_missing_schema_is_created_first() -> None:
    ops = diff_schemas(Schema(S, (USER,)), Schema(S), schema_exists=False)
    assert [op.op_type for op in ops] == ["create_schema", "create_table"]
    assert ops[0].description == "Create schema app"
    assert ops[0].to_up_sql() == ['CREATE SCHEMA IF NOT EXISTS "app"']
    assert ops[0].to_down_sql() == ['DROP SCHEMA IF EXISTS "app"']
    assert diff_schemas(Schema(S), Schema(S), schema_exists=False) == []


def test_schema_diff_arguments_and_model_state() -> None:
    from matrx_orm_core import CharField, IntegerField, Model
    from matrx_orm_migrations import MigrationDB
    from matrx_orm_migrations.diff import SchemaDiff
    from matrx_orm_migrations.table_filter import TableFilter

    class DfThing(Model):
        id = IntegerField(primary_key=True)
        name = CharField(max_length=5, null=False)
        _database = "migdiff_test_diff"

    class DfOther(Model):
        id = IntegerField(primary_key=True)
        _database = "migdiff_test_diff"

    db = MigrationDB("migdiff_test_diff")
    with pytest.raises(MigrationError, match="needs a schema name"):
        SchemaDiff(db, "")
    with pytest.raises(MigrationError, match="must be a TableFilter"):
        SchemaDiff(db, table_filter={"a"})  # type: ignore[arg-type]
    everything = SchemaDiff(db).capture_model_state()  # registered models of the database
    assert set(everything) == {"df_thing", "df_other"}
    state = SchemaDiff(db, table_filter=TableFilter(exclude={"df_other"})).capture_model_state()
    assert list(state) == ["df_thing"]
    assert state["df_thing"].column("name") == Column("name", "character varying(5)", False)
    only = SchemaDiff(db, models=[DfOther]).capture_model_state()
    assert list(only) == ["df_other"]


def test_index_read_from_the_catalog_is_recreated_from_its_definition() -> None:
    statement = 'CREATE INDEX "i" ON app.t USING btree (lower(name) DESC) WHERE active'
    index = Index("i", ("lower(name)",), where="active", definition=statement)
    assert index == Index("i", ("lower(name)",), where="active")  # definition is not compared
    op = Operation("drop_index", "t", S, {"index": index})
    assert op.to_up_sql() == ['DROP INDEX IF EXISTS "app"."i"']
    assert op.to_down_sql() == [statement]
