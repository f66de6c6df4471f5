"""Terminal output for the CLI: colour (off for NO_COLOR and non-terminals), errors, progress."""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import IO, NoReturn

import click

from matrx_orm_core.exceptions import ConfigurationError, MigrationError, ORMException

__all__ = ["Progress", "echo", "fail", "hint_for", "show_warning", "style"]


def _colour() -> bool | None:
    """``False`` when NO_COLOR is set (any value, per no-color.org); else click decides."""
    return False if os.environ.get("NO_COLOR") else None


def style(text: str, colour: str, *, bold: bool = False) -> str:
    """``text`` wrapped in ANSI colour codes (stripped again by :func:`echo` when needed)."""
    return click.style(text, fg=colour, bold=bold)


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print a line; colour codes are removed for NO_COLOR and when not writing to a tty."""
    click.echo(text, err=err, nl=nl, color=_colour())


def hint_for(err: BaseException) -> str:
    """A one-line hint for an error the CLI reports without a traceback."""
    if isinstance(err, ORMException):
        hints = err.hints()
        if hints:
            return hints[0]
    if isinstance(err, MigrationError):
        return (
            "Fix what the message names, check `matrx-orm status`, then run the command "
            "again (add --traceback for the full report)."
        )
    if isinstance(err, ConfigurationError):
        return (
            "Check the database settings your --config / MATRX_ORM_CONFIG module registers, "
            "or DATABASE_URL."
        )
    if isinstance(err, ORMException):
        return "Run again with --traceback for the full report."
    return "This looks like a bug in the code being run; run again with --traceback to see where."


def fail(err: BaseException, *, progress: Progress | None = None) -> NoReturn:
    """Report ``err`` as one line plus a hint on stderr and exit with status 1."""
    if progress is not None:
        progress.interrupt()
    message = err.message if isinstance(err, ORMException) else f"{type(err).__name__}: {err}"
    one_line = " ".join(message.split())
    echo(style("Error: ", "red", bold=True) + one_line, err=True)
    echo(style("Hint: ", "yellow") + hint_for(err), err=True)
    raise click.exceptions.Exit(1)


def show_warning(warning: warnings.WarningMessage, stream: IO[str] | None = None) -> None:
    """Print a captured warning as ``Warning: ...`` on stderr."""
    del stream
    text = " ".join(str(warning.message).split())
    echo(style("Warning: ", "yellow", bold=True) + text, err=True)


class Progress:
    """``[i/n] Applying name... done (0.12s)`` lines while migrations run."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self._open = False
        self._started = 0.0

    def __call__(self, event: str, name: str, position: int, total: int) -> None:
        """The executor's ``on_progress`` callback."""
        if event == "start":
            self._started = time.perf_counter()
            prefix = f"  [{position}/{total}] " if total > 1 else "  "
            echo(f"{prefix}{self.verb} {name}...", nl=False)
            self._open = True
            sys.stdout.flush()
        elif event == "done":
            elapsed = time.perf_counter() - self._started
            echo(" " + style("done", "green") + f" ({elapsed:.2f}s)")
            self._open = False

    def interrupt(self) -> None:
        """End a half-written progress line before an error is printed."""
        if self._open:
            echo(" " + style("failed", "red"))
            self._open = False
