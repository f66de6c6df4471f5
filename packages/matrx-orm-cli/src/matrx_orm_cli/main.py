"""The ``matrx-orm`` command: makemigrations, migrate, rollback, status, create_empty."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from matrx_orm_core import AsyncDatabaseManager
from matrx_orm_migrations import (
    MigrationDB,
    MigrationExecutor,
    create_empty,
    makemigrations,
    migrate,
    rollback,
    sql_preview,
)
from matrx_orm_migrations.integration import plan_migrations

from ._output import Progress, echo, fail, show_warning, style
from ._setup import CONFIG_ENV, DATABASE_URL_ENV, load_config, load_models, resolve_database

__all__ = ["cli", "main"]

T = TypeVar("T")

EXIT_CODES = f"""\b
Configuration: --config (or {CONFIG_ENV}) names a Python file or module that calls
register_database() and imports your models; --models imports more modules; without a
registered database, {DATABASE_URL_ENV} is used.

\b
Exit codes:
  0  success (also: nothing to do)
  1  a migration, database or configuration error (one line plus a hint; --traceback shows
     the full report), or `makemigrations --check` found changes
  2  usage error: unknown or conflicting options, no database configured
"""


class _AliasedGroup(click.Group):
    """Accepts ``create-empty`` for ``create_empty`` (hyphen spellings of every command)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or super().get_command(
            ctx, cmd_name.replace("-", "_")
        )


_GREEDY = ("--include-tables", "--exclude-tables")


class _GreedyListCommand(click.Command):
    """Lets ``--include-tables a b c`` take several values, as the spec's CLI shows.

    click options take one value each; before parsing, every bare word after one of
    :data:`_GREEDY` is turned into another occurrence of that option (the command has no
    positional arguments, so nothing is lost).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        current: str | None = None
        needs_first = False
        for arg in args:
            if arg.startswith("-"):
                flag = arg.split("=", 1)[0]
                current = flag if flag in _GREEDY else None
                needs_first = current is not None and "=" not in arg
                rewritten.append(arg)
            elif current is not None and not needs_first:
                rewritten += [current, arg]
            else:
                needs_first = False
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


@dataclass
class _Common:
    database: str | None
    migrations_dir: Path
    config: str | None
    models: tuple[str, ...]
    traceback: bool
    verbose: bool


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--database",
            "-d",
            help="Registered database name (default: the only one registered, or "
            f"'default' from {DATABASE_URL_ENV}).",
        ),
        click.option(
            "--dir",
            "migrations_dir",
            default="migrations",
            show_default=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Directory of migration files.",
        ),
        click.option(
            "--config",
            "config",
            help=f"Python file or module that registers databases and imports models "
            f"(default: ${CONFIG_ENV}).",
        ),
        click.option(
            "--models",
            multiple=True,
            help="Module(s) defining models to import (repeat or comma-separate).",
        ),
        click.option("--traceback", is_flag=True, help="Show the full report on errors."),
        click.option("-v", "--verbose", is_flag=True, help="Log what the library does."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _common(kwargs: dict[str, Any]) -> _Common:
    return _Common(
        database=kwargs.pop("database"),
        migrations_dir=kwargs.pop("migrations_dir"),
        config=kwargs.pop("config"),
        models=kwargs.pop("models"),
        traceback=kwargs.pop("traceback"),
        verbose=kwargs.pop("verbose"),
    )


async def _then_close(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    finally:
        await AsyncDatabaseManager.close_all_pools()


def _run(
    common: _Common,
    action: Callable[[str], Awaitable[T]],
    *,
    progress: Progress | None = None,
) -> T:
    """Load config and models, pick the database, run ``action``; report errors briefly."""
    if common.verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    with warnings.catch_warnings(record=True) as caught:
        try:
            load_config(common.config)
            load_models(common.models)
            database = resolve_database(common.database)
            result = asyncio.run(_then_close(action(database)))
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            for warning in caught:
                show_warning(warning)
            if common.traceback:
                raise
            fail(err, progress=progress)
    for warning in caught:
        show_warning(warning)
    return result


@click.group(
    cls=_AliasedGroup,
    invoke_without_command=True,
    epilog=EXIT_CODES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="matrx-orm-cli", prog_name="matrx-orm")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """matrx-orm: create and apply database migrations from your models."""
    if ctx.invoked_subcommand is None:
        echo(ctx.get_help())


def _tables(values: Sequence[str]) -> list[str] | None:
    names = [part for value in values for part in value.replace(",", " ").split() if part]
    return names or None


@cli.command(name="makemigrations", cls=_GreedyListCommand, epilog=EXIT_CODES)
@_common_options
@click.option("--name", help="Name part of the new file (default: derived from the changes).")
@click.option("--schema", default="public", show_default=True, help="PostgreSQL schema.")
@click.option(
    "--include-tables", multiple=True, help="Only these tables (space- or comma-separated)."
)
@click.option("--exclude-tables", multiple=True, help="Every table but these (same form).")
@click.option("--allow-drop", is_flag=True, help="Emit DROP TABLE for tables without a model.")
@click.option("--dry-run", is_flag=True, help="Print the file it would write; write nothing.")
@click.option("--check", is_flag=True, help="Exit 1 when models and database differ (for CI).")
def makemigrations_command(**kwargs: Any) -> None:
    """Write the next migration file from the difference between models and database."""
    common = _common(kwargs)
    include, exclude = _tables(kwargs["include_tables"]), _tables(kwargs["exclude_tables"])
    if include and exclude:
        raise click.UsageError("--include-tables and --exclude-tables are mutually exclusive.")
    options = {
        "name": kwargs["name"],
        "schema": kwargs["schema"],
        "include_tables": include,
        "exclude_tables": exclude,
    }
    if kwargs["dry_run"] or kwargs["check"]:
        planned = _run(
            common,
            lambda db: plan_migrations(
                db, common.migrations_dir, allow_drop=kwargs["allow_drop"], **options
            ),
        )
        if not planned:
            echo("No changes detected.")
            return
        for issue in planned[0].safety_issues:
            echo(style("Warning: ", "yellow", bold=True) + str(issue.message), err=True)
        if kwargs["check"]:
            paths = ", ".join(str(item.path) for item in planned)
            echo(style("Changes detected", "yellow", bold=True) + f" (would write {paths}):")
            for item in planned:
                for op in item.operations:
                    echo(f"  - {op.description}")
            raise click.exceptions.Exit(1)
        for item in planned:
            echo(style(f"# Would create {item.path}", "cyan"))
            echo(item.source)
        return
    path = _run(
        common,
        lambda db: makemigrations(
            db, common.migrations_dir, allow_drop=kwargs["allow_drop"], **options
        ),
    )
    if path is None:
        echo("No changes detected.")
    else:
        echo(style("Created migration: ", "green") + str(path))


@cli.command(name="migrate", epilog=EXIT_CODES)
@_common_options
@click.option("--fake", is_flag=True, help="Record pending migrations as applied; run nothing.")
@click.option("--dry-run", is_flag=True, help="Print the SQL it would run; run nothing.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for another run's lock (default: wait).",
)
def migrate_command(**kwargs: Any) -> None:
    """Apply pending migrations (each in its own transaction, under a lock)."""
    common = _common(kwargs)
    if kwargs["dry_run"]:
        preview = _run(common, lambda db: sql_preview(db, common.migrations_dir))
        if not preview:
            echo("No pending migrations.")
        for name, statements in preview.items():
            echo(style(f"-- {name}", "cyan", bold=True))
            for sql in statements:
                echo(sql)
            echo()
        return
    progress = Progress("Faking" if kwargs["fake"] else "Applying")
    applied = _run(
        common,
        lambda db: migrate(
            db,
            common.migrations_dir,
            fake=kwargs["fake"],
            lock_timeout=kwargs["lock_timeout"],
            on_progress=progress,
        ),
        progress=progress,
    )
    if applied:
        verb = "Faked" if kwargs["fake"] else "Applied"
        echo(style(f"{verb} {len(applied)} migration(s).", "green", bold=True))
    else:
        echo("No pending migrations.")


@cli.command(name="rollback", epilog=EXIT_CODES)
@_common_options
@click.option("--steps", default=1, show_default=True, type=click.IntRange(min=1))
def rollback_command(**kwargs: Any) -> None:
    """Roll back the last --steps applied migrations, newest first."""
    common = _common(kwargs)
    progress = Progress("Rolling back")
    done = _run(
        common,
        lambda db: rollback(db, common.migrations_dir, kwargs["steps"], on_progress=progress),
        progress=progress,
    )
    if done:
        echo(style(f"Rolled back {len(done)} migration(s).", "green", bold=True))
    else:
        echo("Nothing to roll back.")


_MARKS = {
    "applied": ("[x]", "green"),
    "pending": ("[ ]", "yellow"),
    "missing": ("[?]", "red"),
}


@cli.command(name="status", epilog=EXIT_CODES)
@_common_options
def status_command(**kwargs: Any) -> None:
    """List migrations: [x] applied, [ ] pending, [?] applied but the file is missing.

    An applied file that changed since is flagged (migrate would refuse to run).
    """
    common = _common(kwargs)
    result, modified = _run(common, lambda db: _status(db, common.migrations_dir))
    if not result:
        echo("  No migrations found.")
        return
    for name, state in result.items():
        mark, colour = _MARKS[state]
        suffix = "  (applied, file missing)" if state == "missing" else ""
        if name in modified:
            suffix = "  " + style("(file changed since it was applied)", "red")
        echo(f"  {style(mark, colour, bold=True)} {name}{suffix}")
    counts = {state: sum(1 for s in result.values() if s == state) for state in _MARKS}
    summary = f"{counts['applied']} applied, {counts['pending']} pending"
    if counts["missing"]:
        summary += f", {counts['missing']} missing"
    if modified:
        summary += f", {len(modified)} changed (migrate will refuse to run)"
    echo(summary + ".")


async def _status(database: str, migrations_dir: Path) -> tuple[dict[str, str], set[str]]:
    # One executor: its loader reads the migration files once for both questions.
    executor = MigrationExecutor(MigrationDB(database), migrations_dir)
    result = await executor.status()
    return dict(result), set(await executor.modified())


@cli.command(name="create_empty", epilog=EXIT_CODES)
@_common_options
@click.option("--name", default="custom", show_default=True, help="Name part of the file.")
def create_empty_command(**kwargs: Any) -> None:
    """Write an empty migration to fill in by hand."""
    common = _common(kwargs)
    path = _run(common, lambda db: create_empty(db, common.migrations_dir, kwargs["name"]))
    echo(style("Created migration: ", "green") + str(path))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Without a subcommand the help is printed (status 0).
    """
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="matrx-orm",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        echo("Aborted.", err=True)
        return 1
    return code if isinstance(code, int) else 0
