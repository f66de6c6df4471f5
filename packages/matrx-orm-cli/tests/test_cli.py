"""The matrx-orm command without a server: parsing, usage errors, config loading, output."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from matrx_orm_cli.main import cli, main, makemigrations_command
from matrx_orm_core.config import DatabaseRegistry, get_all_database_project_names
from matrx_orm_core.exceptions import MigrationError

pytestmark = pytest.mark.level1

ANSI = re.compile(r"\x1b\[[0-9;]*m")
URL = "postgresql://someone@db.invalid:5432/nowhere"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ambient configuration and an empty database registry, restored afterwards.

    Other tests in the same process (the level2 session fixture registers ``matrx_test``) may
    have registered databases; the CLI's "no database configured" and "pick the only one"
    answers depend on the registry being empty, so each test starts from an empty one and the
    previous registrations come back after it, whatever order the tests run in.
    """
    for key in ("DATABASE_URL", "MATRX_ORM_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(key, raising=False)
    saved = [
        DatabaseRegistry.get_config_dataclass(name) for name in get_all_database_project_names()
    ]
    DatabaseRegistry.reset()
    try:
        yield
    finally:
        DatabaseRegistry.reset()
        for config in saved:
            DatabaseRegistry.register(config)


def run(*args: str, env: dict[str, str] | None = None, color: bool = False) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), env=env, color=color, catch_exceptions=True)


def test_help_documents_commands_and_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for word in ("makemigrations", "migrate", "rollback", "status", "create_empty", "Exit codes"):
        assert word in result.output
    assert "usage error" in result.output


def test_no_subcommand_prints_help() -> None:
    result = run()
    assert result.exit_code == 0
    assert "Commands:" in result.output
    assert main([]) == 0


@pytest.mark.parametrize("command", ["makemigrations", "migrate", "rollback", "status"])
def test_each_command_has_help_with_exit_codes(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "--database" in result.output
    assert "--dir" in result.output
    assert "Exit codes" in result.output


def test_include_and_exclude_are_exclusive() -> None:
    result = run("makemigrations", "--include-tables", "a", "--exclude-tables", "b")
    assert result.exit_code == 2
    assert "mutually exclusive" in result.output
    assert main(["makemigrations", "--include-tables", "a", "--exclude-tables", "b"]) == 2


def test_table_lists_take_several_words() -> None:
    ctx = click.Context(makemigrations_command)
    makemigrations_command.parse_args(
        ctx, ["--include-tables", "user", "post", "comment", "--name", "x"]
    )
    assert ctx.params["include_tables"] == ("user", "post", "comment")
    assert ctx.params["name"] == "x"
    ctx = click.Context(makemigrations_command)
    makemigrations_command.parse_args(ctx, ["--exclude-tables=legacy_audit", "scratch_pad"])
    assert ctx.params["exclude_tables"] == ("legacy_audit", "scratch_pad")


def test_steps_must_be_positive() -> None:
    result = run("rollback", "--steps", "0")
    assert result.exit_code == 2
    assert "--steps" in result.output


def test_no_database_configured_is_a_usage_error(tmp_path: Path) -> None:
    result = run("status", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "No database configured" in result.output
    assert "--config" in result.output


def test_unknown_database_name(tmp_path: Path) -> None:
    result = run("status", "--database", "nope", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "'nope' is not registered" in result.output


def test_missing_config_file(tmp_path: Path) -> None:
    result = run("status", "--config", str(tmp_path / "missing.py"))
    assert result.exit_code == 2
    assert "file not found" in result.output


def test_missing_config_module() -> None:
    result = run("status", "--config", "no_such_module_here")
    assert result.exit_code == 2
    assert "no such module" in result.output


def test_create_empty_with_database_url_and_hyphen_alias(tmp_path: Path) -> None:
    first = run(
        "create-empty", "--dir", str(tmp_path), "--name", "first", env={"DATABASE_URL": URL}
    )
    assert first.exit_code == 0, first.output
    assert "Created migration:" in first.output
    second = run("create_empty", "--dir", str(tmp_path), env={"DATABASE_URL": URL})
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001_first.py", "0002_custom.py"]
    assert 'dependencies = ["0001_first"]' in (tmp_path / "0002_custom.py").read_text()


def test_config_file_registers_the_database(tmp_path: Path) -> None:
    config = tmp_path / "settings.py"
    config.write_text(
        "from matrx_orm_core import DatabaseProjectConfig, register_database\n"
        f"register_database(DatabaseProjectConfig.from_url('cli_cfg_test', {URL!r}))\n"
    )
    result = run("create_empty", "--config", str(config), "--dir", str(tmp_path / "m"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "0001_custom.py").is_file()
    result = run(
        "create_empty", "--dir", str(tmp_path / "m"), env={"MATRX_ORM_CONFIG": str(config)}
    )
    assert result.exit_code == 0, result.output


def test_invalid_name_is_one_line_and_a_hint(tmp_path: Path) -> None:
    result = run(
        "create_empty", "--dir", str(tmp_path), "--name", "bad name", env={"DATABASE_URL": URL}
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("Error: Migration name 'bad name'")
    assert lines[1].startswith("Hint: ")
    assert len(lines) == 2
    assert "Traceback" not in result.output


def test_broken_migration_file_reports_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "0001_bad.py").write_text(
        "dependencies = ['0000_gone']\n\nasync def up(db):\n    pass\n"
    )
    result = run("migrate", "--dir", str(tmp_path), env={"DATABASE_URL": URL})
    assert result.exit_code == 1
    assert "Error: Dependency '0000_gone' not found (referenced by '0001_bad')" in result.output
    assert "Traceback" not in result.output
    result = run("migrate", "--dir", str(tmp_path), "--traceback", env={"DATABASE_URL": URL})
    assert isinstance(result.exception, MigrationError)


def test_colour_follows_no_color(tmp_path: Path) -> None:
    coloured = run("create_empty", "--dir", str(tmp_path), env={"DATABASE_URL": URL}, color=True)
    assert ANSI.search(coloured.output)
    plain = run(
        "create_empty",
        "--dir",
        str(tmp_path),
        env={"DATABASE_URL": URL, "NO_COLOR": "1"},
        color=True,
    )
    assert plain.exit_code == 0
    assert not ANSI.search(plain.output)


def test_bad_database_url_is_a_usage_error(tmp_path: Path) -> None:
    result = run("status", "--dir", str(tmp_path), env={"DATABASE_URL": "mysql://x/y"})
    assert result.exit_code == 2
    assert "DATABASE_URL is not usable" in result.output
