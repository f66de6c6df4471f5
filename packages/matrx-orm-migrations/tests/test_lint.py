"""The safety lint: which generated steps are reported, with a fake database answering probes."""

from __future__ import annotations

from typing import Any

import pytest

from matrx_orm_core.exceptions import MatrxORMWarning
from matrx_orm_migrations.diff import diff_schemas
from matrx_orm_migrations.lint import (
    COLUMN_VIEWS_SQL,
    MigrationSafetyWarning,
    SafetyIssue,
    lint_operations,
    rewrites_table,
)
from matrx_orm_migrations.schema import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)


class FakeDB:
    """Answers the lint's probes; records every statement with its arguments."""

    def __init__(
        self, *, rows: bool = False, nulls: bool = False, views: list[str] | None = None
    ) -> None:
        self.rows, self.nulls, self.views = rows, nulls, views or []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(
        self, sql: str, *args: Any, timeout: float | None = 30.0
    ) -> list[dict[str, Any]]:
        self.calls.append((sql, args))
        assert sql == COLUMN_VIEWS_SQL
        return [{"view_schema": "app", "view_name": v} for v in self.views]

    async def fetch_val(self, sql: str, *args: Any, timeout: float | None = 30.0) -> Any:
        self.calls.append((sql, args))
        return self.nulls if "IS NULL" in sql else self.rows


S = "app"
BASE = Table(
    "t",
    S,
    (
        Column("id", "integer", nullable=False),
        Column("a", "character varying(10)"),
        Column("old", "text"),
    ),
    PrimaryKey("t_pkey", ("id",)),
)


def with_columns(*columns: Column, **changes: Any) -> Table:
    from dataclasses import replace

    return replace(BASE, columns=(BASE.columns[0], *columns), **changes)


async def lint(target: Table, current: Table, db: FakeDB, **kw: Any) -> list[SafetyIssue]:
    ops = diff_schemas(Schema(S, (target,)), Schema(S, (current,)), **kw)
    return await lint_operations(ops, db, Schema(S, (current,)))


def test_warning_class() -> None:
    assert issubclass(MigrationSafetyWarning, MatrxORMWarning)


@pytest.mark.parametrize(("rows", "codes"), [(False, []), (True, ["not-null-without-default"])])
async def test_not_null_without_default_needs_rows(rows: bool, codes: list[str]) -> None:
    db = FakeDB(rows=rows)
    target = with_columns(*BASE.columns[1:], Column("b", "integer", nullable=False))
    issues = await lint(target, BASE, db)
    assert [i.code for i in issues] == codes
    assert db.calls == [('SELECT EXISTS (SELECT 1 FROM "app"."t")', ())]
    if codes:
        assert issues[0].message.startswith("Adding NOT NULL column t.b without a default fails")
        assert (issues[0].table, issues[0].column) == ("t", "b")


@pytest.mark.parametrize(
    "column",
    [
        Column("b", "integer", nullable=False, default="0"),
        Column("b", "integer"),
        Column("b", "integer", nullable=False, serial=True),
        Column("b", "integer", nullable=False, identity="always"),
    ],
)
async def test_columns_that_fill_themselves_are_fine(column: Column) -> None:
    db = FakeDB(rows=True)
    assert await lint(with_columns(*BASE.columns[1:], column), BASE, db) == []
    assert db.calls == []


async def test_index_on_existing_table_suggests_concurrently() -> None:
    target = with_columns(*BASE.columns[1:], indexes=(Index("t_a_idx", ("a",)),))
    (issue,) = await lint(target, BASE, FakeDB())
    assert issue.code == "index-not-concurrent"
    assert "CONCURRENTLY" in issue.message
    assert "atomic = False" in issue.message


async def test_index_on_new_table_is_fine() -> None:
    new = Table("n", S, (Column("a", "text"),), indexes=(Index("n_a", ("a",)),))
    ops = diff_schemas(Schema(S, (new,)), Schema(S))
    assert await lint_operations(ops, FakeDB(), Schema(S)) == []


async def test_rewriting_type_change_and_nulls() -> None:
    target = with_columns(Column("a", "integer", nullable=False), BASE.columns[2])
    db = FakeDB(nulls=True)
    issues = await lint(target, BASE, db)
    assert [i.code for i in issues] == ["table-rewrite", "null-values"]
    assert "character varying(10) to integer" in issues[0].message
    assert db.calls == [('SELECT EXISTS (SELECT 1 FROM "app"."t" WHERE "a" IS NULL)', ())]


async def test_widening_varchar_is_not_a_rewrite() -> None:
    target = with_columns(Column("a", "character varying(20)"), BASE.columns[2])
    assert await lint(target, BASE, FakeDB()) == []


@pytest.mark.parametrize(
    ("old", "new", "rewrite"),
    [
        ("character varying(10)", "character varying(20)", False),
        ("character varying(20)", "character varying(10)", True),
        ("character varying(10)", "character varying", False),
        ("character varying", "character varying(10)", True),
        ("character varying(10)", "text", False),
        ("text", "character varying", False),
        ("numeric(10,2)", "numeric(12,2)", False),
        ("numeric(10,2)", "numeric(12,3)", True),
        ("numeric(10,2)", "numeric", False),
        ("numeric", "numeric(10,2)", True),
        ("bit varying(3)", "bit varying(5)", False),
        ("cidr", "inet", False),
        ("integer", "bigint", True),
        ("timestamp without time zone", "timestamp with time zone", True),
        ("text", "text", False),
    ],
)
def test_rewrites_table(old: str, new: str, rewrite: bool) -> None:
    assert rewrites_table(old, new) is rewrite


async def test_dropping_a_column_still_referenced() -> None:
    other = Table(
        "o",
        S,
        (Column("t_old", "text"),),
        foreign_keys=(ForeignKey("o_fk", ("t_old",), S, "t", ("old",)),),
    )
    target = with_columns(BASE.columns[1])
    ops = diff_schemas(Schema(S, (target, other)), Schema(S, (BASE, other)), allow_drop=True)
    db = FakeDB(views=["v_old"])
    (issue,) = await lint_operations(ops, db, Schema(S, (BASE, other)))
    assert issue.code == "column-still-referenced"
    assert "foreign key o_fk on o" in issue.message
    assert "view app.v_old" in issue.message
    assert db.calls == [(COLUMN_VIEWS_SQL, ("app", "t", "old"))]  # bound parameters


async def test_dropping_a_column_nothing_uses() -> None:
    target = with_columns(BASE.columns[1])
    assert await lint(target, BASE, FakeDB(), allow_drop=True) == []


async def test_skipped_drops_and_referenced_tables() -> None:
    other = Table(
        "o",
        S,
        (Column("t_id", "integer"),),
        foreign_keys=(ForeignKey("o_fk", ("t_id",), S, "t", ("id",)),),
    )
    current = Schema(S, (BASE, other))
    skipped = diff_schemas(Schema(S, (other,)), current)
    (issue,) = await lint_operations(skipped, FakeDB(), current)
    assert issue.code == "drop-skipped"
    assert issue.message.startswith("Drop table t: not dropped")
    dropped = diff_schemas(Schema(S, (other,)), current, allow_drop=True)
    (issue,) = await lint_operations(dropped, FakeDB(), current)
    assert issue.code == "table-still-referenced"
    assert "o.t_id" in issue.message


async def test_removed_enum_labels_are_reported() -> None:
    (issue,) = await lint_operations([], FakeDB(), Schema(S), removed_enum_labels=[("mood", "sad")])
    assert issue.code == "enum-value-removed"
    assert "'sad'" in issue.message


@pytest.mark.parametrize(
    ("changes", "advice"),
    [
        ({"uniques": (UniqueConstraint("t_a_key", ("a",)),)}, "USING INDEX"),
        ({"checks": (CheckConstraint("t_a_check", "a <> ''"),)}, "NOT VALID"),
        ({"foreign_keys": (ForeignKey("t_fk", ("a",), S, "o", ("a",)),)}, "VALIDATE CONSTRAINT"),
    ],
)
@pytest.mark.parametrize("rows", [False, True])
async def test_constraints_on_tables_with_rows(
    changes: dict[str, Any], advice: str, rows: bool
) -> None:
    target = with_columns(*BASE.columns[1:], **changes)
    issues = await lint(target, BASE, FakeDB(rows=rows))
    assert [i.code for i in issues] == (["constraint-validation"] if rows else [])
    if rows:
        assert advice in issues[0].message
