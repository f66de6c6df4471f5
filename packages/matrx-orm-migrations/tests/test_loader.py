"""MigrationLoader: discovery, validation messages, dependency order and numbering."""

from __future__ import annotations

from pathlib import Path

import pytest

from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations import MigrationLoader
from matrx_orm_migrations.state import compute_checksum

pytestmark = pytest.mark.level1


def write(folder: Path, stem: str, deps: list[str] | None = None, body: str = "") -> Path:
    path = folder / f"{stem}.py"
    text = f'"""{stem}."""\n\n'
    if deps is not None:
        text += f"dependencies = {deps!r}\n\n"
    text += body or "async def up(db):\n    pass\n\n\nasync def down(db):\n    pass\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_directory_is_empty(tmp_path: Path) -> None:
    loader = MigrationLoader(tmp_path / "nope")
    assert loader.discover() == {}
    assert loader.resolve_order() == []
    assert loader.next_number() == 1
    assert loader.latest_name() is None


def test_ignores_non_migration_files(tmp_path: Path) -> None:
    write(tmp_path, "0001_initial")
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "helpers.py").write_text("raise RuntimeError('never imported')\n")
    (tmp_path / "01_short.py").write_text("raise RuntimeError('never imported')\n")
    (tmp_path / "0002_notes.txt").write_text("not python")
    assert list(MigrationLoader(tmp_path).discover()) == ["0001_initial"]


def test_file_contents_are_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_initial", [], "atomic = False\n\nasync def up(db):\n    pass\n")
    migration = MigrationLoader(tmp_path).migrations["0001_initial"]
    assert migration.path == path
    assert migration.dependencies == []
    assert migration.down is None
    assert migration.atomic is False
    assert migration.number == 1
    assert migration.description == "0001_initial."
    assert migration.checksum == compute_checksum(path.read_text())


def test_order_follows_dependencies_not_numbers(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [])
    write(tmp_path, "0002_b", ["0003_c"])
    write(tmp_path, "0003_c", ["0001_a"])
    write(tmp_path, "0004_d", ["0002_b", "0003_c"])
    assert MigrationLoader(tmp_path).resolve_order() == ["0001_a", "0003_c", "0002_b", "0004_d"]


def test_diamond(tmp_path: Path) -> None:
    write(tmp_path, "0001_root", [])
    write(tmp_path, "0002_left", ["0001_root"])
    write(tmp_path, "0003_right", ["0001_root"])
    write(tmp_path, "0004_join", ["0002_left", "0003_right"])
    order = MigrationLoader(tmp_path).resolve_order()
    assert order == ["0001_root", "0002_left", "0003_right", "0004_join"]


def test_missing_dependency_names_both(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", ["0000_gone"])
    with pytest.raises(
        MigrationError, match=r"Dependency '0000_gone' not found \(referenced by '0001_a'\)"
    ):
        MigrationLoader(tmp_path).discover()


def test_number_only_dependency_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [])
    write(tmp_path, "0002_b", ["0001"])
    with pytest.raises(MigrationError, match="Dependency '0001' not found"):
        MigrationLoader(tmp_path).discover()


def test_cycle(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", ["0002_b"])
    write(tmp_path, "0002_b", ["0001_a"])
    with pytest.raises(MigrationError, match="Circular dependency detected involving '0001_a'"):
        MigrationLoader(tmp_path).discover()


def test_self_cycle(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", ["0001_a"])
    with pytest.raises(MigrationError, match="Circular dependency detected involving '0001_a'"):
        MigrationLoader(tmp_path).resolve_order()


def test_missing_up(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [], "async def down(db):\n    pass\n")
    with pytest.raises(MigrationError, match="missing an 'up' function") as info:
        MigrationLoader(tmp_path).discover()
    assert info.value.details["migration"] == "0001_a"


def test_sync_up_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [], "def up(db):\n    pass\n")
    with pytest.raises(MigrationError, match="async def up"):
        MigrationLoader(tmp_path).discover()


def test_import_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_a", [], "async def up(db)\n    pass\n")
    with pytest.raises(MigrationError, match="Could not load migration file") as info:
        MigrationLoader(tmp_path).discover()
    assert str(path) in info.value.message


def test_bad_dependencies_value(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", None, 'dependencies = "0000_x"\n\nasync def up(db):\n    pass\n')
    with pytest.raises(MigrationError, match="'dependencies' must be a list"):
        MigrationLoader(tmp_path).discover()


def test_bad_atomic_value(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [], "atomic = 'no'\n\nasync def up(db):\n    pass\n")
    with pytest.raises(MigrationError, match="'atomic' must be True or False"):
        MigrationLoader(tmp_path).discover()


def test_duplicate_numbers(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [])
    write(tmp_path, "0001_b", [])
    with pytest.raises(MigrationError, match="share the number 0001"):
        MigrationLoader(tmp_path).discover()


def test_next_number_and_latest(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [])
    write(tmp_path, "0007_b", ["0001_a"])
    loader = MigrationLoader(tmp_path)
    assert loader.next_number() == 8
    assert loader.latest_name() == "0007_b"


def test_migrations_property_is_lazy_and_cached(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", [])
    loader = MigrationLoader(tmp_path)
    first = loader.migrations
    write(tmp_path, "0002_b", ["0001_a"])
    assert loader.migrations is first
    assert list(loader.discover()) == ["0001_a", "0002_b"]
