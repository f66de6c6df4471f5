"""Every task a developer or CI runs: lint, tests at each level, isolation, wheels, docs, demo."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import nox

# Backend choice: the default virtualenv backend with pip, not uv. pip reads this machine's pip
# configuration (/etc/pip.conf and the user config: CA bundle, constraints file, local
# find-links and extra indexes under /opt); uv reads none of it, so a session could resolve
# differently under uv than under the pip a developer uses. uv does work here and is faster
# (isolation-matrx-orm-core: about 7 s of installing instead of 18 s), so `nox -fb uv ...`
# is fine for a quick local run; CI and the README use the default.
#
# Virtualenvs are NOT reused by default: the isolation and wheels sessions install our packages
# non-editable at an unchanged version (0.1.0), and pip keeps an already installed distribution
# of the same version, so a reused venv would test stale code. Use `nox -r` locally at your own
# risk for the editable sessions (lint, level1, level2).
nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = ["lint", "level1", "level2"]
# Sessions name no Python version: each venv uses the interpreter nox itself runs on (CI: 3.11;
# ruff and mypy are set to Python 3.10 rules so newer-only APIs are still caught).

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PACKAGES_DIR = ROOT / "packages"
DIST_DIR = ROOT / "dist"

# distribution name -> import package name, in dependency order (core first, umbrella last).
DISTRIBUTIONS: dict[str, str] = {
    "matrx-orm-core": "matrx_orm_core",
    "matrx-orm-cache": "matrx_orm_cache",
    "matrx-orm-relations": "matrx_orm_relations",
    "matrx-orm-migrations": "matrx_orm_migrations",
    "matrx-orm-schema-builder": "matrx_orm_schema_builder",
    "matrx-orm-cli": "matrx_orm_cli",
    "matrx-orm": "matrx_orm",
}

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _package_path(dist: str) -> str:
    return str(PACKAGES_DIR / dist)


def _internal_deps(dist: str) -> list[str]:
    """Return the internal distributions `dist` depends on directly (from its pyproject)."""
    project = nox.project.load_toml(PACKAGES_DIR / dist / "pyproject.toml")["project"]
    deps: list[str] = []
    for requirement in project.get("dependencies", []):
        match = _REQUIREMENT_NAME.match(requirement)
        if match is None:
            continue
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        if name in DISTRIBUTIONS:
            deps.append(name)
    return deps


def _external_deps(*dists: str) -> list[str]:
    """Return the third-party requirements of `dists`, as their pyprojects write them."""
    requirements: list[str] = []
    for dist in dists:
        project = nox.project.load_toml(PACKAGES_DIR / dist / "pyproject.toml")["project"]
        for requirement in project.get("dependencies", []):
            match = _REQUIREMENT_NAME.match(requirement)
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""
            if name not in DISTRIBUTIONS and requirement not in requirements:
                requirements.append(requirement)
    return requirements


def _closure(dist: str) -> list[str]:
    """Return `dist` and every internal distribution it needs, transitively, in graph order."""
    seen: set[str] = set()
    stack = [dist]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(_internal_deps(current))
    return [name for name in DISTRIBUTIONS if name in seen]


def _test_deps() -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, "test"))


def _editable(core_extras: str = "") -> list[str]:
    """pip arguments installing all seven packages editable, for ONE pip call.

    Every local path is named in the same call: a package index holds an unrelated `matrx-orm`
    (API.md §10.39), so pip must never resolve one of our names on its own. An extra of core
    (`[embedded]`) is requested on its local path for the same reason.
    """
    args: list[str] = []
    for dist in DISTRIBUTIONS:
        path = _package_path(dist)
        args += ["-e", path + core_extras if dist == "matrx-orm-core" else path]
    return args


def _pytest(session: nox.Session, *args: str) -> None:
    """Run pytest from the repository root; exit code 5 (no tests collected) fails the session."""
    session.run("python", "-m", "pytest", *args, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff format --check, ruff check, import-linter, mypy --strict, version lockstep."""
    session.install(*_editable(), *nox.project.dependency_groups(PYPROJECT, "lint"))
    # Every check runs even when an earlier one fails, so one run lists every problem.
    failed: list[str] = []

    def check(name: str, *command: str) -> None:
        try:
            session.run(*command)
        except nox.command.CommandFailed:
            failed.append(name)

    check("ruff format", "ruff", "format", "--check", ".")
    check("ruff check", "ruff", "check", ".")

    missing = [
        f"packages/{dist}/src/{name}/__init__.py"
        for dist, name in DISTRIBUTIONS.items()
        if not (PACKAGES_DIR / dist / "src" / name / "__init__.py").is_file()
    ]
    if missing:
        session.warn(
            "lint-imports needs every root package to be importable; missing: " + ", ".join(missing)
        )
        failed.append("lint-imports")
    else:
        check("lint-imports", "lint-imports")

    # mypy gets the source folders explicitly so that it checks exactly what ships (a folder
    # without Python files would be an error, and is reported above as a missing __init__.py);
    # examples/typed_models.py, the typed-usage check in the [tool.mypy] files list, joins once
    # it exists.
    targets = [
        str(src.relative_to(ROOT))
        for src in (PACKAGES_DIR / dist / "src" for dist in DISTRIBUTIONS)
        if any(src.rglob("*.py"))
    ]
    typed_example = ROOT / "examples" / "typed_models.py"
    if typed_example.is_file():
        targets.append(str(typed_example.relative_to(ROOT)))
    check("mypy", "mypy", *targets)
    check("bump_version --check", "python", "scripts/bump_version.py", "--check")
    if failed:
        session.error("lint failed: " + ", ".join(failed))


@nox.session
def level1(session: nox.Session) -> None:
    """Every package editable in one venv; run the tests that need no database."""
    session.install(*_editable(), *_test_deps())
    _pytest(session, "-m", "level1")


@nox.session
def level2(session: nox.Session) -> None:
    """Every package editable in one venv; run the tests against a live PostgreSQL.

    The server is the one named by MATRX_TEST_DB_HOST/PORT/USER/NAME/PASSWORD when they are set,
    otherwise an embedded server that the test plugin starts (DESIGN §7). Tests never read
    DATABASE_URL.
    """
    session.install(*_editable(), *_test_deps())
    # session.run passes the outer environment through, MATRX_TEST_DB_* included.
    configured = sorted(key for key in os.environ if key.startswith("MATRX_TEST_DB_"))
    session.log(f"test database from: {', '.join(configured) or 'an embedded server'}")
    _pytest(session, "-m", "level2")


def _isolation(session: nox.Session, dist: str) -> None:
    if dist == "matrx-orm":
        # The umbrella has no tests/ of its own: its surface is pinned by this cross-package test.
        tests = ROOT / "integration_tests" / "test_public_api.py"
        selection: tuple[str, ...] = ()
    else:
        tests = PACKAGES_DIR / dist / "tests"
        selection = ("-m", "level1")
    if not tests.exists():
        session.error(f"{tests.relative_to(ROOT)} does not exist: {dist} has no tests to run")
    # Non-editable from local paths, all in one pip call (API.md §10.39), and only the declared
    # internal dependencies: an undeclared one shows up here as an ImportError.
    paths = [_package_path(name) for name in _closure(dist)]
    session.install(*paths, *_test_deps())
    _pytest(session, str(tests.relative_to(ROOT)), *selection)


for _dist in DISTRIBUTIONS:

    def _make(dist: str) -> None:
        @nox.session(name=f"isolation-{dist}")
        def isolation(session: nox.Session) -> None:
            _isolation(session, dist)

        isolation.__doc__ = f"Only {dist} and its declared dependencies; run its tests."

    _make(_dist)


@nox.session
def wheels(session: nox.Session) -> None:
    """Build all 14 artefacts into dist/, install them from dist/ only, smoke-test them."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "build"))
    shutil.rmtree(DIST_DIR, ignore_errors=True)
    for dist in DISTRIBUTIONS:
        session.run("python", "-m", "build", "--outdir", str(DIST_DIR), _package_path(dist))

    wheels_built = sorted(DIST_DIR.glob("*.whl"))
    sdists_built = sorted(DIST_DIR.glob("*.tar.gz"))
    if len(wheels_built) != len(DISTRIBUTIONS) or len(sdists_built) != len(DISTRIBUTIONS):
        session.error(
            f"expected {len(DISTRIBUTIONS)} wheels and {len(DISTRIBUTIONS)} sdists in dist/, "
            f"found {[p.name for p in wheels_built]} and {[p.name for p in sdists_built]}"
        )

    with tempfile.TemporaryDirectory(prefix="matrx-wheels-") as tmp:
        full = Path(tmp) / "full"
        core_only = Path(tmp) / "core-only"
        session.run("python", "-m", "venv", str(full))
        session.run("python", "-m", "venv", str(core_only))
        full_python = str(full / "bin" / "python")
        core_python = str(core_only / "bin" / "python")

        # Third-party dependencies come from the index; our names come from dist/ only
        # (`--no-index`), so an unrelated index release of a same-named package can never win.
        session.run(
            full_python, "-m", "pip", "install", *_external_deps(*DISTRIBUTIONS), external=True
        )
        session.run(
            full_python,
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            str(DIST_DIR),
            *DISTRIBUTIONS,
            external=True,
        )
        imports = "; ".join(f"import {name}" for name in DISTRIBUTIONS.values())
        session.run(full_python, "-c", f"{imports}; print('all packages import')", external=True)
        # Every import path of the spec, with every name it pins, from the installed wheels.
        session.run(
            full_python,
            "-c",
            "import importlib, json, sys; "
            f"pins = json.load(open({str(ROOT / 'integration_tests' / 'public_api.json')!r})); "
            "missing = [f'{m}.{n}' for m, names in pins.items() "
            "for n in names if not hasattr(importlib.import_module(m), n)]; "
            "sys.exit(f'missing from the wheels: {missing}') if missing else "
            "print(f'{len(pins)} spec import paths resolve from the wheels')",
            external=True,
        )
        cli_main = PACKAGES_DIR / "matrx-orm-cli" / "src" / "matrx_orm_cli" / "main.py"
        if cli_main.is_file():
            session.run(str(full / "bin" / "matrx-orm"), "--help", external=True)
        else:
            session.log("matrx_orm_cli/main.py does not exist yet: skipping `matrx-orm --help`")

        session.run(
            core_python, "-m", "pip", "install", *_external_deps("matrx-orm-core"), external=True
        )
        session.run(
            core_python,
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            str(DIST_DIR),
            "matrx-orm-core",
            external=True,
        )
        session.run(
            core_python,
            "-c",
            "import matrx_orm_core, importlib.metadata as m; "
            "others = sorted(d.metadata['Name'] for d in m.distributions() "
            "if d.metadata['Name'].startswith('matrx-orm') and d.metadata['Name'] != "
            "'matrx-orm-core'); "
            "assert not others, others; print('core alone imports')",
            external=True,
        )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark suite (bench/) and write docs/performance.md.

    All seven packages editable (core with `[embedded]`) plus the `bench` group's peer libraries,
    in one pip call. The server is the one named by MATRX_TEST_DB_* when set, otherwise an
    embedded one; the suite creates a scratch database and drops it at the end. Arguments after
    `--` replace the default `--output docs/performance.md` (e.g. `-- --scale 0.25`).
    """
    session.install(
        *_editable(core_extras="[embedded]"), *nox.project.dependency_groups(PYPROJECT, "bench")
    )
    configured = sorted(key for key in os.environ if key.startswith("MATRX_TEST_DB_"))
    session.log(f"benchmark server from: {', '.join(configured) or 'an embedded server'}")
    args = session.posargs or ["--output", "docs/performance.md"]
    session.run("python", "-m", "bench", *args)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; any warning (broken link, missing page) fails."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    # The banner material prints about MkDocs 2 is noise in CI logs.
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Run the quickstart example; without DATABASE_URL it starts an embedded server."""
    session.install(*_editable(core_extras="[embedded]"))
    if not (ROOT / "examples" / "quickstart" / "__main__.py").is_file():
        session.error("examples/quickstart/__main__.py does not exist")
    session.run("python", "examples/quickstart")
