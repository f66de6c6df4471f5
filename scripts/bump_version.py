"""Set or check the one version shared by every distribution under packages/.

Usage:
    python scripts/bump_version.py 0.2.0      rewrite every version and every internal == pin
    python scripts/bump_version.py --check    exit 1, listing them, if any of them disagree

The files are edited as text (only the version strings change), then checked again with a TOML
parser (tomllib; the tomli backport on Python 3.10). A development tool, not shipped code.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the `tomli` backport, in the test and lint dependency groups
    import tomli as tomllib


DEFAULT_ROOT = Path(__file__).resolve().parent.parent

# PEP 440 release X.Y.Z with an optional pre-, post- or dev-release suffix (0.2.0, 1.0.0rc1).
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?$")
_REQUIREMENT_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*(?P<spec>[^;]*)"
)
_PROJECT_VERSION_RE = re.compile(r'^(version\s*=\s*)(["\'])([^"\']*)(["\'])', re.MULTILINE)


def normalize(name: str) -> str:
    """Return the PEP 503 normalised form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Package:
    """One distribution's version facts, read from its pyproject.toml."""

    path: Path
    name: str
    version: str
    # (requirement string as written, internal dependency name, specifier)
    pins: list[tuple[str, str, str]] = field(default_factory=list)


def find_pyprojects(root: Path) -> list[Path]:
    """Return every packages/*/pyproject.toml under `root`, sorted."""
    return sorted((root / "packages").glob("*/pyproject.toml"))


def read_packages(root: Path) -> list[Package]:
    """Parse every distribution's name, version and internal requirements.

    Raises:
        SystemExit: when there are no packages or a pyproject has no static name/version.
    """
    paths = find_pyprojects(root)
    if not paths:
        raise SystemExit(f"error: no packages/*/pyproject.toml under {root}")
    projects = {}
    for path in paths:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
        if not isinstance(project.get("name"), str) or not isinstance(project.get("version"), str):
            raise SystemExit(f"error: {path}: [project] needs a static name and version")
        projects[path] = project
    internal = {normalize(project["name"]) for project in projects.values()}

    packages = []
    for path, project in projects.items():
        package = Package(path=path, name=project["name"], version=project["version"])
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements.extend(extra)
        for requirement in requirements:
            match = _REQUIREMENT_RE.match(requirement)
            if match and normalize(match.group("name")) in internal:
                spec = match.group("spec").strip()
                package.pins.append((requirement, normalize(match.group("name")), spec))
        packages.append(package)
    return packages


def expected_version(packages: list[Package]) -> str:
    """Return the version everything should have: core's, else the most common one."""
    for package in packages:
        if normalize(package.name) == "matrx-orm-core":
            return package.version
    return Counter(package.version for package in packages).most_common(1)[0][0]


def disagreements(packages: list[Package], root: Path) -> list[str]:
    """Return one line per version or pin that differs from the expected version."""
    expected = expected_version(packages)
    problems = []
    for package in packages:
        where = package.path.relative_to(root)
        if package.version != expected:
            problems.append(f"{where}: version {package.version!r} (expected {expected!r})")
        for requirement, _name, spec in package.pins:
            if spec != f"=={expected}":
                problems.append(
                    f"{where}: dependency {requirement!r} must pin exactly '=={expected}'"
                )
    return problems


def rewrite(path: Path, internal: set[str], version: str) -> bool:
    """Rewrite the [project] version and every internal == pin in one file.

    Returns:
        True when the file changed.
    """
    text = path.read_text(encoding="utf-8")
    start = re.search(r"^\[project\]\s*$", text, re.MULTILINE)
    if start is None:
        raise SystemExit(f"error: {path}: no [project] table")
    following = re.search(r"^\[", text[start.end() :], re.MULTILINE)
    end = start.end() + following.start() if following else len(text)
    section = text[start.end() : end]
    section, count = _PROJECT_VERSION_RE.subn(
        lambda m: f"{m.group(1)}{m.group(2)}{version}{m.group(4)}", section, count=1
    )
    if count != 1:
        raise SystemExit(f"error: {path}: no `version = ...` line in [project]")
    new_text = text[: start.end()] + section + text[end:]

    def pin(match: re.Match[str]) -> str:
        if normalize(match.group("name")) not in internal:
            return match.group(0)
        return (
            f"{match.group('quote')}{match.group('name')}{match.group('extras') or ''}=={version}"
        )

    new_text = re.sub(
        r"(?P<quote>[\"'])(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<extras>\[[^\]]*\])?"
        r"\s*==\s*[^\"';,\s]+",
        pin,
        new_text,
    )
    if new_text != text:
        path.write_text(new_text, encoding="utf-8")
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", help="the new version, X.Y.Z")
    parser.add_argument("--check", action="store_true", help="only check that all agree")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()

    if args.check == (args.version is not None):
        parser.error("give either a version or --check")

    if args.check:
        packages = read_packages(root)
        problems = disagreements(packages, root)
        if problems:
            print(
                f"error: versions disagree (expected {expected_version(packages)!r}, the "
                "version of matrx-orm-core); run scripts/bump_version.py X.Y.Z to fix:",
                file=sys.stderr,
            )
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            return 1
        print(f"ok: {len(packages)} packages at {expected_version(packages)}")
        return 0

    version: str = args.version
    if not VERSION_RE.match(version):
        parser.error(f"{version!r} is not a version like 1.2.3 (or 1.2.3rc1, 1.2.3.dev0)")
    packages = read_packages(root)
    internal = {normalize(package.name) for package in packages}
    for package in packages:
        if rewrite(package.path, internal, version):
            print(f"updated {package.path.relative_to(root)}")
    problems = disagreements(read_packages(root), root)
    if problems:
        print("error: some versions could not be rewritten:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"ok: {len(packages)} packages at {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
