"""Loading the user's configuration and models, and choosing the database, for each command."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import click

from matrx_orm_core import DatabaseProjectConfig, get_all_database_project_names, register_database
from matrx_orm_core.config import get_config
from matrx_orm_core.exceptions import ConfigurationError

__all__ = ["CONFIG_ENV", "DATABASE_URL_ENV", "load_config", "load_models", "resolve_database"]

CONFIG_ENV = "MATRX_ORM_CONFIG"
"""Environment variable naming the config module or file when ``--config`` is not given."""

DATABASE_URL_ENV = "DATABASE_URL"
"""Environment variable with a ``postgresql://`` URL, used when no config registers the database."""

DEFAULT_URL_NAME = "default"
"""Project name a ``DATABASE_URL`` is registered under when ``--database`` is not given."""


def _import_path(path: Path) -> ModuleType:
    module_name = f"matrx_orm_user_config_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise click.UsageError(f"--config {path}: not a Python file that can be imported.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    parent = str(path.resolve().parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)  # so the config can import its sibling modules (models)
    spec.loader.exec_module(module)
    return module


def _import_module(name: str, what: str) -> ModuleType:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and (name == err.name or name.startswith(err.name + ".")):
            raise click.UsageError(
                f"{what} {name!r}: no such module (looked in {cwd} and the installed "
                "packages). Pass a dotted module name or a path to a .py file."
            ) from err
        raise


def _import_target(target: str, source: str) -> None:
    """Import ``target`` as a file (ends in ``.py`` or names a file) or as a dotted module."""
    path = Path(target)
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            raise click.UsageError(f"{source} {target}: file not found.")
        _import_path(path)
    else:
        _import_module(target, source)


def load_config(config: str | None) -> str | None:
    """Import the config given by ``--config`` or ``MATRX_ORM_CONFIG``.

    A value ending in ``.py`` (or naming an existing file) is imported as a file; anything
    else as a dotted module name from the current directory or the installed packages. The
    module is expected to call ``register_database`` and import the models.

    Returns:
        What was loaded, or ``None`` when neither was set.

    Raises:
        click.UsageError: the file or module does not exist.
    """
    target = config or os.environ.get(CONFIG_ENV) or None
    if target is None:
        return None
    _import_target(target, "--config" if config else CONFIG_ENV)
    return target


def load_models(models: Sequence[str]) -> list[str]:
    """Import each module of ``--models`` (repeatable, or comma-separated).

    Returns:
        The module names imported.
    """
    names = [part.strip() for value in models for part in value.split(",") if part.strip()]
    for name in names:
        _import_target(name, "--models")
    return names


def resolve_database(database: str | None) -> str:
    """The registered project name the command runs against.

    ``--database`` wins when it is registered. Otherwise ``DATABASE_URL`` is registered under
    the ``--database`` name (or ``default``). Without either, the only registered database is
    used.

    Raises:
        click.UsageError: nothing says which database to use, or several are registered and
            ``--database`` was not given.
    """
    registered = get_all_database_project_names()
    url = os.environ.get(DATABASE_URL_ENV) or None
    if database is not None and _registered(database):
        return database
    if url is not None:
        name = database or DEFAULT_URL_NAME
        if name not in registered:
            try:
                register_database(DatabaseProjectConfig.from_url(name, url))
            except ConfigurationError as err:
                raise click.UsageError(f"{DATABASE_URL_ENV} is not usable: {err.message}") from err
        return name
    if database is not None:
        known = ", ".join(registered) or "none"
        raise click.UsageError(
            f"Database {database!r} is not registered (registered: {known}). Pass --config "
            f"with a module that calls register_database(), or set {DATABASE_URL_ENV}."
        )
    if len(registered) == 1:
        return registered[0]
    if not registered:
        raise click.UsageError(
            "No database configured. Pass --config path/to/config.py (a module that calls "
            f"register_database() and imports your models), set {CONFIG_ENV}, or set "
            f"{DATABASE_URL_ENV}."
        )
    raise click.UsageError(
        f"Several databases are registered ({', '.join(registered)}); choose one with --database."
    )


def _registered(name: str) -> bool:
    try:
        get_config(name)
    except ConfigurationError:
        return False
    return True
