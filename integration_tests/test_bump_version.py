"""Tests for scripts/bump_version.py, run on a temporary copy of the packages tree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.level1

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bump_version.py"


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of every packages/*/pyproject.toml (nothing else is needed by the script)."""
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        target = tmp_path / "packages" / pyproject.parent.name / "pyproject.toml"
        target.parent.mkdir(parents=True)
        shutil.copyfile(pyproject, target)
    return tmp_path


def versions_and_pins(root: Path) -> tuple[set[str], set[str]]:
    versions: set[str] = set()
    pins: set[str] = set()
    for pyproject in (root / "packages").glob("*/pyproject.toml"):
        text = pyproject.read_text()
        versions.update(re.findall(r'^version = "([^"]+)"', text, re.MULTILINE))
        pins.update(re.findall(r'"matrx-orm(?:-[a-z-]+)?(?:\[[a-z]+\])?([=<>!~]=[^"]+)"', text))
    return versions, pins


def test_repository_versions_agree() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"ok: 7 packages at \S+\n", result.stdout)


def test_check_passes_on_a_consistent_copy(tree: Path) -> None:
    result = run(tree, "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 7 packages at ")


def test_bump_rewrites_every_version_and_pin(tree: Path) -> None:
    result = run(tree, "2.3.4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("updated packages/") == 7
    assert result.stdout.endswith("ok: 7 packages at 2.3.4\n")
    versions, pins = versions_and_pins(tree)
    assert versions == {"2.3.4"}
    assert pins == {"==2.3.4"}
    umbrella = (tree / "packages" / "matrx-orm" / "pyproject.toml").read_text()
    assert '"matrx-orm-core[embedded]==2.3.4"' in umbrella
    assert run(tree, "--check").returncode == 0


def test_bump_leaves_third_party_requirements_and_layout_alone(tree: Path) -> None:
    cli = tree / "packages" / "matrx-orm-cli" / "pyproject.toml"
    before = cli.read_text()
    assert run(tree, "0.9.0").returncode == 0
    assert run(tree, "0.9.0").returncode == 0
    after = cli.read_text()
    assert '"click>=8.1"' in after
    old = re.findall(r'^version = "([^"]+)"', before, re.MULTILINE)
    assert len(old) == 1
    assert after.replace("0.9.0", old[0]) == before


def test_bump_twice_is_stable(tree: Path) -> None:
    assert run(tree, "1.0.0rc1").returncode == 0
    second = run(tree, "1.0.0rc1")
    assert second.returncode == 0
    assert "updated" not in second.stdout


def test_check_lists_a_version_that_disagrees(tree: Path) -> None:
    cache = tree / "packages" / "matrx-orm-cache" / "pyproject.toml"
    text = cache.read_text()
    (core_version,) = re.findall(r'^version = "([^"]+)"', text, re.MULTILINE)
    cache.write_text(text.replace(f'version = "{core_version}"', 'version = "7.7.7"', 1))
    result = run(tree, "--check")
    assert result.returncode == 1
    assert "versions disagree" in result.stderr
    assert (
        f"packages/matrx-orm-cache/pyproject.toml: version '7.7.7' (expected '{core_version}')"
        in result.stderr
    )
    assert result.stderr.count("\n  ") == 1


def test_check_lists_pins_that_are_not_exact(tree: Path) -> None:
    relations = tree / "packages" / "matrx-orm-relations" / "pyproject.toml"
    relations.write_text(relations.read_text().replace("matrx-orm-core==", "matrx-orm-core>="))
    umbrella = tree / "packages" / "matrx-orm" / "pyproject.toml"
    umbrella.write_text(umbrella.read_text().replace("matrx-orm-cli==", "matrx-orm-cli==9"))
    result = run(tree, "--check")
    assert result.returncode == 1
    lines = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert len(lines) == 2
    relations_line, umbrella_line = sorted(lines, key=lambda line: "matrx-orm/" in line)
    assert relations_line.startswith("packages/matrx-orm-relations/pyproject.toml: dependency ")
    assert "'matrx-orm-core>=" in relations_line
    assert umbrella_line.startswith(
        "packages/matrx-orm/pyproject.toml: dependency 'matrx-orm-cli==9"
    )


def test_bump_fails_when_a_pin_is_not_exact(tree: Path) -> None:
    relations = tree / "packages" / "matrx-orm-relations" / "pyproject.toml"
    relations.write_text(relations.read_text().replace("matrx-orm-core==", "matrx-orm-core~="))
    result = run(tree, "3.0.0")
    assert result.returncode == 1
    assert "must pin exactly '==3.0.0'" in result.stderr


@pytest.mark.parametrize("bad", ["1.2", "v1.2.3", "1.2.3-beta", "latest", "1.2.3 "])
def test_bump_rejects_a_malformed_version(tree: Path, bad: str) -> None:
    result = run(tree, bad)
    assert result.returncode == 2
    assert "is not a version like 1.2.3" in result.stderr
    versions, _ = versions_and_pins(tree)
    assert bad not in versions


def test_version_and_check_are_exclusive(tree: Path) -> None:
    assert run(tree).returncode == 2
    assert run(tree, "--check", "1.0.0").returncode == 2


def test_no_packages_is_an_error(tmp_path: Path) -> None:
    result = run(tmp_path, "--check")
    assert result.returncode == 1
    assert "no packages/*/pyproject.toml" in result.stderr
