"""The seven distributions' metadata agree with the dependency graph, and core imports alone."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the `tomli` backport, in the test and lint dependency groups
    import tomli as tomllib

pytestmark = pytest.mark.level1

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"

# DESIGN §2: core <- cache, relations, migrations; migrations <- schema-builder;
# migrations, schema-builder <- cli; everything <- matrx-orm.
GRAPH: dict[str, set[str]] = {
    "matrx-orm-core": set(),
    "matrx-orm-cache": {"matrx-orm-core"},
    "matrx-orm-relations": {"matrx-orm-core"},
    "matrx-orm-migrations": {"matrx-orm-core"},
    "matrx-orm-schema-builder": {"matrx-orm-migrations"},
    "matrx-orm-cli": {"matrx-orm-migrations", "matrx-orm-schema-builder"},
    "matrx-orm": {
        "matrx-orm-core",
        "matrx-orm-cache",
        "matrx-orm-relations",
        "matrx-orm-migrations",
        "matrx-orm-schema-builder",
        "matrx-orm-cli",
    },
}

REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*(?P<spec>[^;]*)"
)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def import_name(dist: str) -> str:
    return dist.replace("-", "_")


def load(dist: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((PACKAGES / dist / "pyproject.toml").read_text())
    project: dict[str, Any] = data["project"]
    return project


def requirements(project: dict[str, Any]) -> list[re.Match[str]]:
    found = []
    for requirement in project.get("dependencies", []):
        match = REQUIREMENT.match(requirement)
        assert match is not None, requirement
        found.append(match)
    return found


def internal_requirements(project: dict[str, Any]) -> list[re.Match[str]]:
    return [m for m in requirements(project) if normalize(m.group("name")) in GRAPH]


def test_the_packages_folder_holds_exactly_the_seven_distributions() -> None:
    folders = {path.name for path in PACKAGES.iterdir() if path.is_dir()}
    assert folders == set(GRAPH)
    for dist in GRAPH:
        assert load(dist)["name"] == dist


@pytest.mark.parametrize("dist", sorted(GRAPH))
def test_internal_dependencies_are_the_design_graph(dist: str) -> None:
    edges = {normalize(m.group("name")) for m in internal_requirements(load(dist))}
    assert edges == GRAPH[dist]


@pytest.mark.parametrize("dist", sorted(GRAPH))
def test_internal_pins_are_exact_to_the_shared_version(dist: str) -> None:
    version = load("matrx-orm-core")["version"]
    project = load(dist)
    pinned = internal_requirements(project)
    for extra in project.get("optional-dependencies", {}).values():
        pinned += [
            m
            for m in (REQUIREMENT.match(r) for r in extra)
            if m is not None and normalize(m.group("name")) in GRAPH
        ]
    for match in pinned:
        assert match.group("spec").strip() == f"=={version}", match.string


def test_all_versions_are_equal() -> None:
    versions = {dist: load(dist)["version"] for dist in GRAPH}
    assert len(set(versions.values())) == 1, versions
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", versions["matrx-orm-core"])


def test_the_umbrella_forwards_the_embedded_extra() -> None:
    version = load("matrx-orm")["version"]
    assert load("matrx-orm")["optional-dependencies"]["embedded"] == [
        f"matrx-orm-core[embedded]=={version}"
    ]


def test_third_party_drivers_are_declared_only_by_core() -> None:
    for dist in GRAPH:
        names = {normalize(m.group("name")) for m in requirements(load(dist))}
        if dist == "matrx-orm-core":
            assert "asyncpg" in names
        else:
            assert not names & {"asyncpg", "psycopg", "psycopg-binary"}, dist


@pytest.mark.parametrize("dist", sorted(GRAPH))
def test_each_distribution_ships_its_files(dist: str) -> None:
    folder = PACKAGES / dist
    package = folder / "src" / import_name(dist)
    missing = [
        str(path.relative_to(ROOT))
        for path in (
            folder / "README.md",
            folder / "LICENSE",
            package / "py.typed",
            package / "__init__.py",
        )
        if not path.is_file()
    ]
    assert missing == []
    assert (folder / "README.md").read_text().strip(), f"{dist}/README.md is empty"
    assert (folder / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()


@pytest.mark.parametrize("dist", sorted(GRAPH))
def test_each_wheel_ships_its_own_import_package(dist: str) -> None:
    data = tomllib.loads((PACKAGES / dist / "pyproject.toml").read_text())
    assert data["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        f"src/{import_name(dist)}"
    ]
    assert data["build-system"]["build-backend"] == "hatchling.build"


def test_importing_core_loads_no_driver_and_no_other_package_of_ours() -> None:
    code = textwrap.dedent(
        """
        import sys
        import matrx_orm_core
        loaded = sorted(
            name for name in sys.modules
            if name.split(".")[0] in {"asyncpg", "psycopg", "psycopg_pool", "jinja2", "click"}
            or (name.startswith("matrx_orm") and not name.startswith("matrx_orm_core"))
        )
        print(",".join(loaded))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
