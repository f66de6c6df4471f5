"""Rendering migration files: valid Python, exact SQL, reversed downs, naming."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations import MigrationLoader
from matrx_orm_migrations._render import (
    migration_filename,
    python_literal,
    render_empty,
    render_migration,
    render_operations,
    split_operations,
    suggest_name,
)

pytestmark = pytest.mark.level1

HOSTILE_SQL = [
    'CREATE TABLE "a""""b" (x text DEFAULT \'say """hi"""\')',
    "COMMENT ON TABLE t IS 'C:\\path\\new'",
    "SELECT 'ends with quote\"'",
    'SELECT 1 AS "x"',
    "INSERT INTO t VALUES (E'\\n\\t', 'tab\there', 'cr\rhere')",
    "SELECT 'nul-free \u00e9\u2028 unicode line sep'",
    "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql",
]


def module_of(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<migration>", "exec"), namespace)
    return namespace


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def execute(self, sql: str) -> list[Any]:
        self.sent.append(sql)
        return []


@pytest.mark.parametrize("sql", HOSTILE_SQL)
def test_python_literal_round_trips(sql: str) -> None:
    assert ast.literal_eval(python_literal(sql)) == sql


def test_plain_sql_uses_triple_quotes() -> None:
    assert python_literal("SELECT 1") == '"""SELECT 1"""'
    assert python_literal('DROP TABLE "post"') == "'''DROP TABLE \"post\"'''"
    both = "SELECT ''''' AS \"x\""
    assert python_literal(both) == repr(both)
    assert python_literal("a\\b") == repr("a\\b")


async def test_hostile_sql_survives_a_file() -> None:
    source = render_migration(
        description='Weird """ description \\ here',
        dependencies=["0001_initial"],
        up_sql=HOSTILE_SQL,
        down_sql=list(reversed(HOSTILE_SQL)),
    )
    module = module_of(source)
    assert module["__doc__"] == 'Weird """ description \\ here'
    assert module["dependencies"] == ["0001_initial"]
    assert "atomic" not in module
    db = Recorder()
    await module["up"](db)
    assert db.sent == HOSTILE_SQL
    db = Recorder()
    await module["down"](db)
    assert db.sent == list(reversed(HOSTILE_SQL))


def test_non_atomic_flag() -> None:
    source = render_migration(
        description="Index", dependencies=[], up_sql=["SELECT 1"], down_sql=[], atomic=False
    )
    module = module_of(source)
    assert module["atomic"] is False
    assert "    pass\n" in source  # empty down


def test_empty_template() -> None:
    source = render_empty(dependencies=["0003_x"])
    module = module_of(source)
    assert module["__doc__"] == "TODO: describe this migration."
    assert module["dependencies"] == ["0003_x"]
    assert source.count("    pass\n") == 2
    assert source.endswith("\n")


def test_statement_lists_are_checked() -> None:
    with pytest.raises(MigrationError, match="up_sql must be a list of SQL strings"):
        render_migration(description="x", dependencies=[], up_sql="SELECT 1", down_sql=[])


def test_generated_file_is_ruff_formatted(tmp_path: Path) -> None:
    source = render_migration(
        description="Create table post; Add column x to y",
        dependencies=["0001_initial"],
        up_sql=['CREATE TABLE "post" (\n    "id" uuid PRIMARY KEY\n)'],
        down_sql=['DROP TABLE IF EXISTS "post"'],
        atomic=False,
    )
    path = tmp_path / "0002_x.py"
    path.write_text(source)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--isolated", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if "No module named ruff" in result.stderr:
        pytest.fail("ruff must be installed in the test environment (lint dependency group)")
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class Op:
    op_type: str
    table: str
    up: list[str]
    down: list[str]
    transactional: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return f"{self.op_type} {self.table}"

    def to_up_sql(self) -> list[str]:
        return self.up

    def to_down_sql(self) -> list[str]:
        return self.down


async def test_render_operations_reverses_operations_not_their_statements() -> None:
    ops = [
        Op("create_table", "a", ["UP A"], ["DOWN A"]),
        Op("add_column", "b", ["UP B1", "UP B2"], ["DOWN B1", "DOWN B2"]),
    ]
    module = module_of(render_operations(ops, dependencies=[]))
    assert module["__doc__"] == "create_table a; add_column b"
    db = Recorder()
    await module["up"](db)
    assert db.sent == ["UP A", "UP B1", "UP B2"]
    db = Recorder()
    await module["down"](db)
    assert db.sent == ["DOWN B1", "DOWN B2", "DOWN A"]
    assert "atomic" not in module


def test_render_operations_non_transactional_step_makes_file_non_atomic() -> None:
    ops = [Op("add_enum_value", "mood", ["ALTER TYPE ..."], [], transactional=False)]
    assert module_of(render_operations(ops, dependencies=[]))["atomic"] is False


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([Op("create_table", "post", [], [])], "create_post"),
        ([Op("drop_table", "post", [], [])], "drop_post"),
        ([Op("add_column", "post", [], [], details={"column_name": "title"})], "add_title_to_post"),
        ([Op("drop_column", "post", [], [], details={"column": "x"})], "drop_x_from_post"),
        ([Op("alter_column", "post", [], [])], "alter_column_post"),
        ([Op("add_column", "post", [], []), Op("add_column", "post", [], [])], "update_post"),
        ([Op("create_table", "a", [], []), Op("create_table", "b", [], [])], "auto"),
        ([Op("create_table", "My Table!", [], [])], "create_my_table"),
        ([], "auto"),
    ],
)
def test_suggest_name(ops: list[Op], expected: str) -> None:
    assert suggest_name(ops) == expected


def test_filename() -> None:
    assert migration_filename(3, "add_posts") == "0003_add_posts.py"
    with pytest.raises(MigrationError, match="letters, digits and underscores"):
        migration_filename(3, "../evil")
    with pytest.raises(MigrationError, match="from 1 to 9999"):
        migration_filename(10000, "x")


def test_rendered_file_loads_through_the_loader(tmp_path: Path) -> None:
    (tmp_path / "0001_initial.py").write_text(render_empty(dependencies=[]))
    (tmp_path / "0002_next.py").write_text(
        render_migration(
            description="Next",
            dependencies=["0001_initial"],
            up_sql=["SELECT 1"],
            down_sql=["SELECT 2"],
        )
    )
    loader = MigrationLoader(tmp_path)
    assert loader.resolve_order() == ["0001_initial", "0002_next"]
    assert loader.migrations["0002_next"].description == "Next"


def test_split_operations_isolates_non_transactional_runs() -> None:
    a = Op("create_table", "a", [], [])
    e1 = Op("add_enum_value", "mood", [], [], transactional=False)
    e2 = Op("add_enum_value", "mood", [], [], transactional=False)
    b = Op("add_column", "a", [], [])
    c = Op("add_column", "b", [], [])
    assert split_operations([]) == []
    assert split_operations([a, b]) == [[a, b]]
    assert split_operations([e1, e2, a, b]) == [[e1, e2], [a, b]]
    assert split_operations([a, e1, b, c]) == [[a], [e1], [b, c]]
