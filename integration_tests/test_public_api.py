"""The public API pin: every ``__all__`` of the umbrella and the parts, checked against a file.

``integration_tests/public_api.json`` holds, for each module, its sorted ``__all__``. A change
to the public API must change that file in the same commit (regenerate it with
``python integration_tests/test_public_api.py --write`` and review the diff).
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import matrx_orm
import matrx_orm_core
import matrx_orm_core.exceptions

pytestmark = pytest.mark.level1

API_FILE = Path(__file__).with_name("public_api.json")

PARTS = [
    "matrx_orm_core",
    "matrx_orm_cache",
    "matrx_orm_relations",
    "matrx_orm_migrations",
    "matrx_orm_schema_builder",
    "matrx_orm_cli",
]

# One static module for every import path in API.md §0 (and the upstream migrations submodules).
UMBRELLA_MODULES = [
    "matrx_orm",
    "matrx_orm.core",
    "matrx_orm.core.async_db_manager",
    "matrx_orm.core.base",
    "matrx_orm.core.config",
    "matrx_orm.core.expressions",
    "matrx_orm.core.extended",
    "matrx_orm.core.fields",
    "matrx_orm.core.paginator",
    "matrx_orm.core.registry",
    "matrx_orm.core.relations",
    "matrx_orm.core.signals",
    "matrx_orm.core.transaction",
    "matrx_orm.exceptions",
    "matrx_orm.migrations",
    "matrx_orm.migrations.cli",
    "matrx_orm.migrations.ddl",
    "matrx_orm.migrations.diff",
    "matrx_orm.migrations.executor",
    "matrx_orm.migrations.integration",
    "matrx_orm.migrations.introspect",
    "matrx_orm.migrations.lint",
    "matrx_orm.migrations.loader",
    "matrx_orm.migrations.model_state",
    "matrx_orm.migrations.operations",
    "matrx_orm.migrations.schema",
    "matrx_orm.migrations.state",
    "matrx_orm.migrations.table_filter",
    "matrx_orm.query",
    "matrx_orm.query.builder",
    "matrx_orm.schema_builder",
    "matrx_orm.schema_builder.generator",
    "matrx_orm.sql_executor",
    "matrx_orm.state",
]

# Modules whose content arrives later (or that export nothing until then): their docstring
# names the issue.
LATER: dict[str, str] = {
    "matrx_orm.migrations.integration": "#8",
    "matrx_orm.schema_builder": "#8",
    "matrx_orm.schema_builder.generator": "#8",
    "matrx_orm_schema_builder": "#8",
    "matrx_orm_cli": "#8",
}

ALL_MODULES = UMBRELLA_MODULES + PARTS


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _current_api() -> dict[str, list[str]]:
    return {name: sorted(_module(name).__all__) for name in sorted(ALL_MODULES)}


def _pinned() -> dict[str, list[str]]:
    data: dict[str, list[str]] = json.loads(API_FILE.read_text(encoding="utf-8"))
    return data


def test_pin_file_covers_exactly_the_known_modules() -> None:
    assert sorted(_pinned()) == sorted(ALL_MODULES)


def test_every_umbrella_module_is_listed() -> None:
    root = Path(matrx_orm.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(".".join(parts))
    assert sorted(found) == sorted(UMBRELLA_MODULES)


@pytest.mark.parametrize("name", ALL_MODULES)
def test_all_matches_the_pin(name: str) -> None:
    exported = _module(name).__all__
    assert isinstance(exported, list)
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    assert sorted(exported) == _pinned()[name]


@pytest.mark.parametrize("name", ALL_MODULES)
def test_every_exported_name_resolves(name: str) -> None:
    module = _module(name)
    missing = [attr for attr in module.__all__ if not hasattr(module, attr)]
    assert missing == []


@pytest.mark.parametrize("name", UMBRELLA_MODULES)
def test_umbrella_modules_are_static_re_exports(name: str) -> None:
    module = _module(name)
    assert module.__name__ == name
    assert sys.modules[name] is module
    assert "__getattr__" not in vars(module)
    assert module.__file__ is not None
    assert Path(module.__file__).is_relative_to(Path(matrx_orm.__file__).parent)
    for attr in module.__all__:
        obj = getattr(module, attr)
        home = getattr(obj, "__module__", "")
        assert not home.startswith("matrx_orm."), f"{name}.{attr} is defined in the umbrella"


@pytest.mark.parametrize(("name", "issue"), sorted(LATER.items()))
def test_modules_waiting_for_an_issue_name_it(name: str, issue: str) -> None:
    module = _module(name)
    assert module.__doc__ is not None
    assert issue in module.__doc__


def test_umbrella_all_is_the_union_of_the_parts() -> None:
    union = set().union(*(_module(part).__all__ for part in PARTS))
    assert sorted(matrx_orm.__all__) == sorted(union)


def test_umbrella_names_are_the_parts_objects() -> None:
    for attr in matrx_orm.__all__:
        homes = [part for part in PARTS if attr in _module(part).__all__]
        assert homes, attr
        for part in homes:
            assert getattr(matrx_orm, attr) is getattr(_module(part), attr), (attr, part)


# Where the names of an umbrella module that are not at the umbrella's top level come from
# (the first home that has the name wins).
COMPAT_HOMES: dict[str, tuple[str, ...]] = {
    "matrx_orm.core.config": ("matrx_orm_core.config",),
    "matrx_orm.core.fields": ("matrx_orm_core.fields",),
    "matrx_orm.exceptions": ("matrx_orm_core.exceptions",),
    "matrx_orm.core.transaction": ("matrx_orm_core.transaction",),
    "matrx_orm.migrations": (
        "matrx_orm_migrations.integration",
        "matrx_orm_migrations.lint",
        "matrx_orm_migrations.loader",
        "matrx_orm_migrations.state",
    ),
    "matrx_orm.migrations.cli": ("matrx_orm_cli.main", "matrx_orm_migrations.integration"),
    "matrx_orm.migrations.ddl": ("matrx_orm_migrations.ddl",),
    "matrx_orm.migrations.diff": ("matrx_orm_migrations.diff",),
    "matrx_orm.migrations.introspect": ("matrx_orm_migrations.introspect",),
    "matrx_orm.migrations.lint": ("matrx_orm_migrations.lint",),
    "matrx_orm.migrations.loader": ("matrx_orm_migrations.loader",),
    "matrx_orm.migrations.model_state": ("matrx_orm_migrations.model_state",),
    "matrx_orm.migrations.schema": ("matrx_orm_migrations.schema",),
    "matrx_orm.migrations.state": ("matrx_orm_migrations.state",),
    "matrx_orm.sql_executor": ("matrx_orm_core.sql_executor",),
    "matrx_orm.state": (
        "matrx_orm_cache",
        "matrx_orm_cache.model_state",
        "matrx_orm_cache.settings",
        "matrx_orm_cache.state_manager",
    ),
}

# Names an umbrella module deliberately binds to another object than the top-level name: the
# migration schema model's ForeignKey (a frozen dataclass describing a constraint, documented in
# docs/migrations.md) is not the ForeignKey field.
SHADOWS: dict[str, frozenset[str]] = {
    "matrx_orm.migrations.schema": frozenset({"ForeignKey"}),
}


@pytest.mark.parametrize("name", UMBRELLA_MODULES)
def test_compat_names_are_the_same_objects(name: str) -> None:
    module = _module(name)
    homes = [_module(home) for home in COMPAT_HOMES.get(name, ("matrx_orm_core.exceptions",))]
    for attr in module.__all__:
        if attr in matrx_orm.__all__ and attr not in SHADOWS.get(name, ()):
            expected: Any = getattr(matrx_orm, attr)
        else:
            found = [home for home in homes if hasattr(home, attr)]
            assert found, f"{name}.{attr} is in none of {[h.__name__ for h in homes]}"
            expected = getattr(found[0], attr)
        assert getattr(module, attr) is expected, f"{name}.{attr}"


def test_both_spellings_reach_one_object() -> None:
    import matrx_orm.core.base
    import matrx_orm.exceptions
    import matrx_orm.migrations
    import matrx_orm.query.builder
    import matrx_orm.state
    import matrx_orm_cache
    import matrx_orm_migrations
    import matrx_orm_relations

    assert matrx_orm.Model is matrx_orm_core.Model
    assert matrx_orm.core.base.Model is matrx_orm_core.Model
    assert matrx_orm.query.builder.QuerySet is matrx_orm_core.QuerySet
    assert matrx_orm.QuerySet is matrx_orm.QueryBuilder
    assert matrx_orm.state.CachePolicy is matrx_orm_cache.CachePolicy is matrx_orm_core.CachePolicy
    assert matrx_orm.ManyToManyField is matrx_orm_relations.ManyToManyField
    assert matrx_orm.migrations.MigrationDB is matrx_orm_migrations.MigrationDB
    assert matrx_orm.exceptions.ConnectionError is matrx_orm_core.exceptions.ConnectionError


def test_exceptions_are_at_top_level_except_connection_error() -> None:
    import matrx_orm.exceptions

    exported = set(matrx_orm.exceptions.__all__)
    names = {attr for attr in exported if isinstance(getattr(matrx_orm.exceptions, attr), type)}
    # The rest are the redaction helpers, which live only in matrx_orm.exceptions.
    assert exported - names == {
        "REDACTED",
        "get_show_params",
        "redact_dsn",
        "redact_secrets",
        "set_show_params",
    }
    assert "ConnectionError" in names
    assert names - set(matrx_orm.__all__) == {"ConnectionError"}
    assert "ConnectionError" not in matrx_orm_core.__all__
    for attr in names:
        obj = getattr(matrx_orm.exceptions, attr)
        assert issubclass(obj, (matrx_orm_core.ORMException, Warning)), attr
    assert issubclass(matrx_orm.exceptions.ConnectionError, matrx_orm.DatabaseError)


@pytest.mark.parametrize("name", ALL_MODULES)
def test_star_import_works(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(_module(name).__all__)


def test_star_import_of_the_umbrella_keeps_builtin_connection_error() -> None:
    namespace: dict[str, Any] = {}
    exec("from matrx_orm import *\nresult = ConnectionError", namespace)
    assert namespace["result"] is builtins.ConnectionError
    assert "ConnectionError" not in namespace
    assert "Model" in namespace


def _run_python(
    code: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATRX_", "DATABASE_URL"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_import_is_silent_and_loads_no_driver() -> None:
    code = (
        "import sys\n"
        "import matrx_orm\n"
        "loaded = sorted(m for m in ('asyncpg', 'psycopg', 'psycopg2') if m in sys.modules)\n"
        "sys.exit(f'driver imported: {loaded}' if loaded else 0)\n"
    )
    # Hostile settings: importing must not read them (no driver, no database, no default).
    result = _run_python(
        code,
        {
            "MATRX_ORM_DRIVER": "no_such_driver",
            "MATRX_DEFAULT_DATABASE": "no_such_database",
            "DATABASE_URL": "postgresql://nobody:secret@256.0.0.1:1/none",
        },
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def _write() -> None:
    API_FILE.write_text(json.dumps(_current_api(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python integration_tests/test_public_api.py --write")
    _write()
