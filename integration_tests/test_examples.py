"""The README, the docs pages and the quick-start demo run exactly as a reader would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(path: Path) -> list[str]:
    """Every fenced ```python block of a Markdown file, in order."""
    return FENCE.findall(path.read_text(encoding="utf-8"))


def run_python(code: str, env_extra: dict[str, str], cwd: Path = ROOT) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATRX_TEST_DB_")}
    env.pop("DATABASE_URL", None)
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def test_readme_has_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    bash = re.findall(r"^```bash\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    commands = [block.strip() for block in bash]
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -q nox && .venv/bin/nox -s demo" in commands
    )
    assert "python3 -m venv .venv && .venv/bin/pip install -q nox && .venv/bin/nox" in commands


@pytest.mark.parametrize("index", range(len(python_blocks(ROOT / "README.md"))))
def test_readme_python_examples_run(index: int, matrx_test_database: Any) -> None:
    code = python_blocks(ROOT / "README.md")[index]
    run_python(code, {"DATABASE_URL": matrx_test_database.dsn(redacted=False)})


def test_quickstart_demo_runs_against_a_given_database(matrx_test_database: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATRX_TEST_DB_")}
    env["DATABASE_URL"] = matrx_test_database.dsn(redacted=False)
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "examples/quickstart"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "using the database named by DATABASE_URL"
    assert 'created tables "user" and "post"' in lines
    assert "created post 'Hello World' (published: False)" in lines
    assert "read back 'alice'; published posts so far: 0" in lines
    assert "published 1 post(s); published posts now: ['Hello World']" in lines
    assert "deleted 1 post(s); posts left for alice: 0" in lines
    assert lines[-1] == "dropped the demo tables"
    assert "password" not in proc.stdout + proc.stderr
