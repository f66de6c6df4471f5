"""Marks every test level1 or level2 by where it lives (CONVENTIONS §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
PACKAGES = ROOT / "packages"
INTEGRATION = ROOT / "integration_tests"


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


# tryfirst: the markers must be in place before pytest's own `-m` deselection runs.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the level marker each test's folder implies; reject tests that contradict it.

    Under packages/: level1 (a package's own tests never need a database). Under
    integration_tests/: level2, unless the module sets `pytestmark = pytest.mark.level1`.
    Elsewhere a test must carry one of the two markers itself, or `pytest -m level1` and
    `pytest -m level2` would both skip it without a word.

    Raises:
        pytest.UsageError: a test under packages/ marked level2, or a test with no level.
    """
    problems: list[str] = []
    for item in items:
        path = Path(str(item.path))
        has_level1 = item.get_closest_marker("level1") is not None
        has_level2 = item.get_closest_marker("level2") is not None
        if _is_under(path, PACKAGES):
            if has_level2:
                problems.append(
                    f"{item.nodeid}: tests under packages/ are level1 (no database); "
                    "move tests that need a server to integration_tests/"
                )
            elif not has_level1:
                item.add_marker(pytest.mark.level1)
        elif _is_under(path, INTEGRATION):
            if not has_level1 and not has_level2:
                item.add_marker(pytest.mark.level2)
        elif not has_level1 and not has_level2:
            problems.append(
                f"{item.nodeid}: outside packages/ and integration_tests/, a test must be "
                "marked level1 or level2"
            )
    if problems:
        raise pytest.UsageError("wrong test level:\n  " + "\n  ".join(problems))
