"""The ``matrx-orm`` command end to end: subprocesses against the real server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from matrx_orm_core.testing import DatabaseServer, create_database, drop_database

pytestmark = pytest.mark.level2

MODELS = textwrap.dedent(
    """
    from matrx_orm import BooleanField, CharField, ForeignKey, Model, TextField, UUIDField

    class CliAuthor(Model):
        id = UUIDField(primary_key=True)
        name = CharField(max_length=100, unique=True)
        _table_name = "cli_author"
        _database = "cli_proj"

    class CliNote(Model):
        id = UUIDField(primary_key=True)
        body = TextField(null=True)
        done = BooleanField(default=False)
        author_id = ForeignKey("CliAuthor", "id")
        _table_name = "cli_note"
        _database = "cli_proj"
    """
)

SETTINGS = textwrap.dedent(
    """
    import os
    from matrx_orm import DatabaseProjectConfig, register_database

    register_database(DatabaseProjectConfig.from_url("cli_proj", os.environ["CLI_TEST_URL"]))
    import models  # noqa: E402,F401  (the config imports the models)
    """
)


@pytest.fixture
def project(matrx_test_server: DatabaseServer, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project directory (settings.py, models.py) and the URL of a fresh database."""
    database = create_database(matrx_test_server)
    try:
        (tmp_path / "models.py").write_text(MODELS)
        (tmp_path / "settings.py").write_text(SETTINGS)
        url = matrx_test_server.config("cli_proj", database=database).dsn(redacted=False)
        yield tmp_path, url
    finally:
        drop_database(matrx_test_server, database)


def cli(folder: Path, url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "MATRX_ORM_CONFIG"}
    }
    environ.update({"CLI_TEST_URL": url, "NO_COLOR": "1", **env})
    return subprocess.run(
        [sys.executable, "-m", "matrx_orm_cli", *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_full_cycle_with_config_file(project: tuple[Path, str]) -> None:
    folder, url = project
    base = ("--config", "settings.py", "--database", "cli_proj")

    check = cli(folder, url, "makemigrations", *base, "--check")
    assert check.returncode == 1, check.stderr
    assert "Changes detected" in check.stdout
    assert "cli_author" in check.stdout

    dry = cli(folder, url, "makemigrations", *base, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "# Would create migrations/0001_" in dry.stdout
    assert "async def up(db):" in dry.stdout
    assert not (folder / "migrations").exists()

    made = cli(folder, url, "makemigrations", *base, "--name", "initial")
    assert made.returncode == 0, made.stderr
    assert "Created migration: migrations/0001_initial.py" in made.stdout
    compile((folder / "migrations" / "0001_initial.py").read_text(), "0001_initial.py", "exec")

    again = cli(folder, url, "makemigrations", *base)
    assert again.returncode == 1
    assert "0001_initial" in again.stderr
    assert "Run migrate first" in again.stderr
    assert "Traceback" not in again.stderr

    status = cli(folder, url, "status", *base)
    assert status.returncode == 0, status.stderr
    assert "[ ] 0001_initial" in status.stdout
    assert "0 applied, 1 pending." in status.stdout

    preview = cli(folder, url, "migrate", *base, "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert "-- 0001_initial" in preview.stdout
    assert 'CREATE TABLE "public"."cli_author"' in preview.stdout

    applied = cli(folder, url, "migrate", *base)
    assert applied.returncode == 0, applied.stderr
    assert "Applying 0001_initial... done" in applied.stdout
    assert "Applied 1 migration(s)." in applied.stdout

    clean = cli(folder, url, "makemigrations", *base, "--check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No changes detected." in clean.stdout

    assert "[x] 0001_initial" in cli(folder, url, "status", *base).stdout
    nothing = cli(folder, url, "migrate", *base)
    assert "No pending migrations." in nothing.stdout

    empty = cli(folder, url, "create-empty", *base, "--name", "data_fix")
    assert empty.returncode == 0, empty.stderr
    two = cli(folder, url, "migrate", *base)
    assert "Applied 1 migration(s)." in two.stdout

    back = cli(folder, url, "rollback", *base, "--steps", "2")
    assert back.returncode == 0, back.stderr
    assert "[1/2] Rolling back 0002_data_fix... done" in back.stdout
    assert "[2/2] Rolling back 0001_initial... done" in back.stdout
    assert "Rolled back 2 migration(s)." in back.stdout
    assert "Nothing to roll back." in cli(folder, url, "rollback", *base).stdout


def test_database_url_and_models_flag(project: tuple[Path, str]) -> None:
    folder, url = project
    env = {"DATABASE_URL": url}
    made = cli(folder, url, "makemigrations", "--database", "cli_proj", "--models", "models", **env)
    assert made.returncode == 0, made.stderr
    applied = cli(folder, url, "migrate", "--database", "cli_proj", **env)
    assert applied.returncode == 0, applied.stderr
    assert "Applied 1 migration(s)." in applied.stdout
    faked = cli(folder, url, "status", **{**env, "MATRX_ORM_CONFIG": "settings.py"})
    assert "[x] 0001_" in faked.stdout


def test_edited_file_and_scoped_flags(project: tuple[Path, str]) -> None:
    folder, url = project
    base = ("--config", "settings.py", "--database", "cli_proj")
    made = cli(folder, url, "makemigrations", *base, "--include-tables", "cli_note")
    assert made.returncode == 0, made.stderr
    assert "Cross-scope FK detected: 'cli_note.author_id' references 'cli_author'" in made.stderr
    both = cli(
        folder, url, "makemigrations", *base, "--include-tables", "a", "--exclude-tables", "b"
    )
    assert both.returncode == 2
    assert "mutually exclusive" in both.stderr

    excluded = cli(
        folder, url, "makemigrations", *base, "--exclude-tables", "cli_note", "--dry-run"
    )
    assert excluded.returncode == 1  # the include-only file is still pending
    assert "not applied" in excluded.stderr


def test_edited_applied_file_is_named(project: tuple[Path, str]) -> None:
    folder, url = project
    base = ("--config", "settings.py", "--database", "cli_proj")
    assert cli(folder, url, "makemigrations", *base, "--name", "initial").returncode == 0
    assert cli(folder, url, "migrate", *base).returncode == 0
    path = folder / "migrations" / "0001_initial.py"
    path.write_text(path.read_text() + "\n# edited\n")
    status = cli(folder, url, "status", *base)
    assert "[x] 0001_initial  (file changed since it was applied)" in status.stdout
    assert "1 changed (migrate will refuse to run)" in status.stdout
    result = cli(folder, url, "migrate", *base)
    assert result.returncode == 1
    assert "modified after being applied" in result.stderr
    assert "0001_initial.py" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 2
    traced = cli(folder, url, "migrate", *base, "--traceback")
    assert "Traceback" in traced.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("matrx-orm")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "Exit codes" in result.stdout
