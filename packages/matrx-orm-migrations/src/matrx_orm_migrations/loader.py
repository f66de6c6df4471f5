"""``MigrationLoader`` and ``MigrationFile``: find, load and order migration files."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from matrx_orm_core.exceptions import MigrationError

from .state import compute_checksum

__all__ = ["MIGRATION_FILENAME", "MigrationFile", "MigrationLoader"]

logger = logging.getLogger(__name__)

MIGRATION_FILENAME = re.compile(r"^(\d{4})_.+\.py$")
"""Names of migration files: four digits, an underscore, a name, ``.py``."""

MigrationFunction = Callable[[Any], Awaitable[Any]]


@dataclass
class MigrationFile:
    """One loaded migration file.

    Attributes:
        name: the file stem (``0002_add_posts``), which is also the migration's name.
        path: the file.
        dependencies: names of migrations that must be applied first.
        source: the file's text.
        checksum: :func:`~matrx_orm_migrations.state.compute_checksum` of ``source``.
        up: ``async def up(db)``.
        down: ``async def down(db)``, or ``None`` when the file has none.
        atomic: ``False`` when the file opts out of the per-migration transaction.
    """

    name: str
    path: Path
    dependencies: list[str]
    source: str
    checksum: str
    up: MigrationFunction
    down: MigrationFunction | None = None
    atomic: bool = True
    description: str = field(default="")

    @property
    def number(self) -> int:
        """The four-digit number the file name starts with."""
        return int(self.name[:4])


class MigrationLoader:
    """Discover the migration files of one directory and order them by dependencies.

    Args:
        migrations_dir: the directory; a missing directory holds no migrations.
    """

    def __init__(self, migrations_dir: str | Path) -> None:
        self.migrations_dir = Path(migrations_dir)
        self._migrations: dict[str, MigrationFile] | None = None

    def __repr__(self) -> str:
        return f"MigrationLoader({str(self.migrations_dir)!r})"

    @property
    def migrations(self) -> dict[str, MigrationFile]:
        """The discovered migrations by name (discovered on first access)."""
        if self._migrations is None:
            self._migrations = self.discover()
        return self._migrations

    def file_names(self) -> list[str]:
        """Stems of the migration files in the directory, sorted, without loading them."""
        if not self.migrations_dir.is_dir():
            return []
        return sorted(
            path.stem
            for path in self.migrations_dir.iterdir()
            if path.is_file() and MIGRATION_FILENAME.match(path.name)
        )

    def discover(self) -> dict[str, MigrationFile]:
        """Load every migration file and validate the dependency graph.

        Files whose name starts with ``__`` or does not match ``NNNN_name.py`` are ignored.

        Returns:
            The migrations by name, in file-name order.

        Raises:
            MigrationError: a file cannot be loaded, lacks ``up``, declares malformed
                dependencies, two files share a number, a dependency is unknown, or the
                dependencies form a cycle.
        """
        found: dict[str, MigrationFile] = {}
        for stem in self.file_names():
            found[stem] = self._load(self.migrations_dir / f"{stem}.py")
        self._check_numbers(found)
        self._check_graph(found)
        self._migrations = found
        logger.debug("Discovered %d migration(s) in %s", len(found), self.migrations_dir)
        return found

    def _load(self, path: Path) -> MigrationFile:
        name = path.stem
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise MigrationError(
                migration=name,
                original_error=err,
                message=f"Could not load migration file: {path} ({err})",
            ) from err
        module = self._import(name, path)
        up = getattr(module, "up", None)
        if not callable(up):
            raise MigrationError(
                migration=name,
                original_error="Migration file is missing an 'up' function",
                message=(
                    f"Migration '{name}' ({path}) is missing an 'up' function. Define "
                    "'async def up(db):'."
                ),
            )
        down = getattr(module, "down", None)
        for label, func in (("up", up), ("down", down)):
            if func is not None and not inspect.iscoroutinefunction(func):
                raise MigrationError(
                    migration=name,
                    original_error=f"'{label}' must be an async function",
                    message=(
                        f"Migration '{name}' ({path}): '{label}' must be declared with "
                        f"'async def {label}(db):'."
                    ),
                )
        dependencies = getattr(module, "dependencies", [])
        if not isinstance(dependencies, (list, tuple)) or not all(
            isinstance(item, str) for item in dependencies
        ):
            raise MigrationError(
                migration=name,
                original_error="'dependencies' must be a list of migration names",
                message=(
                    f"Migration '{name}' ({path}): 'dependencies' must be a list of migration "
                    f"names (file stems such as '0001_initial'), got {dependencies!r}."
                ),
            )
        atomic = getattr(module, "atomic", True)
        if not isinstance(atomic, bool):
            raise MigrationError(
                migration=name,
                original_error="'atomic' must be True or False",
                message=f"Migration '{name}' ({path}): 'atomic' must be True or False, "
                f"got {atomic!r}.",
            )
        return MigrationFile(
            name=name,
            path=path,
            dependencies=list(dependencies),
            source=source,
            checksum=compute_checksum(source),
            up=up,
            down=down if callable(down) else None,
            atomic=atomic,
            description=inspect.cleandoc(module.__doc__ or "").strip(),
        )

    @staticmethod
    def _import(name: str, path: Path) -> ModuleType:
        module_name = f"matrx_migrations.{name}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"no import spec for {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules.pop(module_name, None)
            spec.loader.exec_module(module)
        except Exception as err:
            raise MigrationError(
                migration=name,
                original_error=err,
                message=(
                    f"Could not load migration file: {path} ({type(err).__name__}: {err}). "
                    "Fix the file so it imports cleanly."
                ),
            ) from err
        return module

    @staticmethod
    def _check_numbers(found: dict[str, MigrationFile]) -> None:
        by_number: dict[int, str] = {}
        for name, migration in found.items():
            other = by_number.setdefault(migration.number, name)
            if other != name:
                raise MigrationError(
                    migration=f"{other}, {name}",
                    original_error="two migration files share a number",
                    message=(
                        f"Migrations '{other}' and '{name}' share the number "
                        f"{migration.number:04d}. Renumber one of them (and its dependants)."
                    ),
                )

    @staticmethod
    def _check_graph(found: dict[str, MigrationFile]) -> None:
        for name, migration in found.items():
            for dependency in migration.dependencies:
                if dependency not in found:
                    raise MigrationError(
                        migration=name,
                        original_error=f"Dependency '{dependency}' not found",
                        message=(
                            f"Dependency '{dependency}' not found (referenced by '{name}'). "
                            "Dependencies are full file stems such as '0001_initial'."
                        ),
                    )
        _topological(found)

    def resolve_order(self) -> list[str]:
        """Names in the order to apply them.

        Depth-first topological order, visiting names in sorted file-name order, so a
        migration always follows its dependencies (diamonds are fine).

        Raises:
            MigrationError: the dependencies form a cycle.
        """
        return _topological(self.migrations)

    def next_number(self) -> int:
        """The number for the next file: the largest existing number plus one (1 when empty)."""
        numbers = [int(stem[:4]) for stem in self.file_names()]
        return max(numbers) + 1 if numbers else 1

    def latest_name(self) -> str | None:
        """The stem with the largest number, or ``None`` when there is no file."""
        names = self.file_names()
        return names[-1] if names else None


def _topological(found: dict[str, MigrationFile]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise MigrationError(
                migration=name,
                original_error=f"Circular dependency detected involving '{name}'",
                message=(
                    f"Circular dependency detected involving '{name}'. Remove one of the "
                    "dependencies that lead back to it."
                ),
            )
        visiting.add(name)
        for dependency in sorted(found[name].dependencies):
            if dependency in found:
                visit(dependency)
        visiting.discard(name)
        done.add(name)
        order.append(name)

    for name in sorted(found):
        visit(name)
    return order
