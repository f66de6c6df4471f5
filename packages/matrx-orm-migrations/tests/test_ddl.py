"""DDLGenerator, the definition dataclasses and the expression check: exact DDL text."""

from __future__ import annotations

import pytest

from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations.ddl import (
    AlterColumnChanges,
    ColumnDef,
    ConstraintDef,
    DDLGenerator,
    ForeignKeyDef,
    IndexDef,
    check_expression,
    constraint_name,
    literal,
)

G = DDLGenerator


def test_column_def_to_sql_every_clause() -> None:
    fk = ForeignKeyDef("user", "id", on_delete="cascade", on_update="set  null", schema="app")
    column = ColumnDef(
        "author_id", "uuid", nullable=False, unique=True, default="gen_random_uuid()", references=fk
    )
    assert column.to_sql() == (
        '"author_id" uuid NOT NULL UNIQUE DEFAULT gen_random_uuid() '
        'REFERENCES "app"."user"("id") ON DELETE CASCADE ON UPDATE SET NULL'
    )
    # NOT NULL and UNIQUE are left out for a primary key.
    assert ColumnDef("id", "serial", nullable=False, primary_key=True, unique=True).to_sql() == (
        '"id" serial PRIMARY KEY'
    )
    assert ColumnDef("n", "varchar(20)").to_sql() == '"n" character varying(20)'
    named = ForeignKeyDef("t", "id", constraint_name="fk_x")
    assert ColumnDef("t_id", "int8", references=named).to_sql() == (
        '"t_id" bigint CONSTRAINT "fk_x" REFERENCES "t"("id")'
    )


def test_create_and_drop_table() -> None:
    sql = G.create_table(
        "post",
        [
            ColumnDef("id", "int", nullable=False),
            ColumnDef("title", "text", default=literal("it's")),
        ],
        [
            G.key_constraint("post_pkey", "PRIMARY KEY", ["id"]),
            ConstraintDef("post_title_check", "check", "length(title) > 0"),
        ],
        schema="blog",
    )
    assert sql == (
        'CREATE TABLE "blog"."post" (\n'
        '    "id" integer NOT NULL,\n'
        "    \"title\" text DEFAULT 'it''s',\n"
        '    CONSTRAINT "post_pkey" PRIMARY KEY ("id"),\n'
        '    CONSTRAINT "post_title_check" CHECK (length(title) > 0)\n'
        ")"
    )
    assert G.drop_table("post") == 'DROP TABLE IF EXISTS "post"'
    assert (
        G.drop_table("post", "blog", cascade=True) == 'DROP TABLE IF EXISTS "blog"."post" CASCADE'
    )
    with pytest.raises(MigrationError, match="at least one column"):
        G.create_table("post", [])


def test_columns_add_drop_alter() -> None:
    assert G.add_column("post", ColumnDef("views", "int", nullable=False, default="0")) == (
        'ALTER TABLE "post" ADD COLUMN "views" integer NOT NULL DEFAULT 0'
    )
    assert (
        G.drop_column("post", "views", "s")
        == 'ALTER TABLE "s"."post" DROP COLUMN IF EXISTS "views"'
    )
    changes = AlterColumnChanges(
        new_type="bigint", set_nullable=False, new_default="1", rename_to="hits"
    )
    assert G.alter_column("post", "views", changes) == [
        'ALTER TABLE "post" RENAME COLUMN "views" TO "hits"',
        'ALTER TABLE "post" ALTER COLUMN "hits" TYPE bigint USING "hits"::bigint',
        'ALTER TABLE "post" ALTER COLUMN "hits" SET NOT NULL',
        'ALTER TABLE "post" ALTER COLUMN "hits" SET DEFAULT 1',
    ]
    assert G.alter_column(
        "post", "x", AlterColumnChanges(set_nullable=True, drop_default=True)
    ) == [
        'ALTER TABLE "post" ALTER COLUMN "x" DROP NOT NULL',
        'ALTER TABLE "post" ALTER COLUMN "x" DROP DEFAULT',
    ]
    assert G.alter_column("post", "x", AlterColumnChanges()) == []


def test_indexes() -> None:
    index = IndexDef("idx_post_title", "post", ["title", "id"])
    assert (
        G.add_index(index)
        == 'CREATE INDEX IF NOT EXISTS "idx_post_title" ON "post" ("title", "id")'
    )
    partial = IndexDef(
        "u", "post", ["slug"], unique=True, method="GIN", where="deleted IS NULL", schema="s"
    )
    assert G.add_index(partial) == (
        'CREATE UNIQUE INDEX IF NOT EXISTS "u" ON "s"."post" USING gin ("slug") '
        "WHERE deleted IS NULL"
    )
    assert G.add_index(index, schema="s", concurrently=True) == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_post_title" ON "s"."post" ("title", "id")'
    )
    assert G.drop_index("u") == 'DROP INDEX IF EXISTS "u"'
    assert G.drop_index("u", "s", concurrently=True) == 'DROP INDEX CONCURRENTLY IF EXISTS "s"."u"'
    with pytest.raises(MigrationError, match="unknown method"):
        G.add_index(IndexDef("i", "t", ["a"], method="btree; DROP"))
    with pytest.raises(MigrationError, match="non-empty list"):
        G.add_index(IndexDef("i", "t", "a"))


def test_constraints_and_foreign_keys() -> None:
    unique = G.key_constraint("post_slug_key", "UNIQUE", ["slug", "site"])
    assert G.add_constraint("post", unique) == (
        'ALTER TABLE "post" ADD CONSTRAINT "post_slug_key" UNIQUE ("slug", "site")'
    )
    assert G.drop_constraint("post", "post_slug_key", "s") == (
        'ALTER TABLE "s"."post" DROP CONSTRAINT IF EXISTS "post_slug_key"'
    )
    fk = ForeignKeyDef("user", "id", on_delete="SET NULL")
    assert G.add_foreign_key("post", fk, "author_id") == (
        'ALTER TABLE "post" ADD CONSTRAINT "fk_post_author_id_user_id" FOREIGN KEY ("author_id") '
        'REFERENCES "user"("id") ON DELETE SET NULL'
    )
    assert G.drop_foreign_key("post", "fk_post_author_id_user_id") == (
        'ALTER TABLE "post" DROP CONSTRAINT IF EXISTS "fk_post_author_id_user_id"'
    )
    assert G.rename_table("a", "b", "s") == 'ALTER TABLE "s"."a" RENAME TO "b"'
    with pytest.raises(MigrationError, match="Unknown constraint type"):
        ConstraintDef("c", "TRIGGER", "x").to_sql()
    with pytest.raises(MigrationError, match="needs references"):
        ConstraintDef("c", "FOREIGN KEY", '"a"').to_sql()
    with pytest.raises(MigrationError, match="Invalid ON DELETE action"):
        G.add_foreign_key("post", ForeignKeyDef("user", "id", on_delete="EXPLODE"), "a")


def test_foreign_key_default_name_is_capped_at_63_bytes_with_a_hash() -> None:
    long = "a" * 40
    name = constraint_name("fk", long, "author_id", long, "id")
    assert len(name.encode()) == 63
    assert name == constraint_name("fk", long, "author_id", long, "id")  # stable
    assert name[-9] == "_"
    assert name != constraint_name("fk", long, "editor_id", long, "id")
    sql = G.add_foreign_key(long, ForeignKeyDef(long, "id"), "author_id")
    assert f'ADD CONSTRAINT "{name}" FOREIGN KEY' in sql


def test_enum_statements_quote_labels_through_quote_literal() -> None:
    assert G.create_enum("mood", ["happy", "it's", "a\\b"], "s") == (
        "CREATE TYPE \"s\".\"mood\" AS ENUM ('happy', 'it''s', E'a\\\\b')"
    )
    assert G.add_enum_value("mood", "meh", after="happy") == (
        "ALTER TYPE \"mood\" ADD VALUE IF NOT EXISTS 'meh' AFTER 'happy'"
    )
    assert G.add_enum_value("mood", "x'); DROP TYPE mood; --", before="happy") == (
        "ALTER TYPE \"mood\" ADD VALUE IF NOT EXISTS 'x''); DROP TYPE mood; --' BEFORE 'happy'"
    )
    assert G.drop_enum("mood") == 'DROP TYPE IF EXISTS "mood"'
    with pytest.raises(MigrationError, match="63 bytes"):
        G.create_enum("mood", ["é" * 32])
    with pytest.raises(MigrationError, match="non-empty"):
        G.create_enum("mood", [""])


@pytest.mark.parametrize(
    "name",
    ['a"b', "x'; DROP TABLE t; --", "$1", "naïve_ß_名前", "Mixed Case", "semi;colon", "a" * 63],
)
def test_hostile_identifiers_are_quoted(name: str) -> None:
    quoted = '"' + name.replace('"', '""') + '"'
    assert G.drop_table(name, name) == f"DROP TABLE IF EXISTS {quoted}.{quoted}"
    assert G.drop_column(name, name) == f"ALTER TABLE {quoted} DROP COLUMN IF EXISTS {quoted}"


@pytest.mark.parametrize("name", ["", "a" * 64, "é" * 32, "nul\x00byte"])
def test_invalid_identifiers_raise_migration_error(name: str) -> None:
    with pytest.raises(MigrationError, match="Invalid"):
        G.drop_table(name)


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("1; DROP TABLE x", "';'"),
        ("1 -- comment", "comment"),
        ("1 /* c */", "comment"),
        ("$1", "'\\$'"),
        ("$$x$$", "'\\$'"),
        ("1) , (2", "closes a parenthesis"),
        ("(1", "leaves a parenthesis open"),
        ("'unterminated", "unterminated quote"),
        ('"unterminated', "unterminated quote"),
        ("0, evil text", "top-level ','"),
        ("   ", "non-empty"),
        ("a\x00b", "NUL"),
        # Read as a plain constant, 'a\' ends at the second quote and the ';' is SQL: a scanner
        # that took xe'...' for an E'' string would hide it. Refused either way.
        ("xe'a\\'; DROP TABLE t; --'", "backslash"),
        ("'a\\b'", "backslash in a '...' constant"),
    ],
)
def test_check_expression_rejects(expr: str, problem: str) -> None:
    with pytest.raises(MigrationError, match=problem):
        check_expression(expr, "default of t.c")


@pytest.mark.parametrize(
    "expr",
    [
        "now()",
        "coalesce(a, b) > 0",
        "status = 'a;b -- c /* d */ $1'",
        "E'it\\'s; fine'",
        '"odd;name" IS NOT NULL',
        "price >= 0 AND price < 100",
        "name <> E'a\\\\b\\'c'",
    ],
)
def test_check_expression_accepts(expr: str) -> None:
    assert check_expression(f"  {expr} ", "x") == expr


def test_column_types_are_checked() -> None:
    with pytest.raises(MigrationError, match="not usable in DDL"):
        ColumnDef("a", "int; DROP TABLE t").to_sql()
    with pytest.raises(MigrationError, match="refused"):
        ColumnDef("a", "int", default="0; DROP TABLE t").to_sql()


def test_literal_wraps_quote_literal_errors() -> None:
    assert literal(None) == "NULL"
    assert literal(-5) == "(-5)"
    with pytest.raises(MigrationError, match="Cannot write"):
        literal(object())
