"""Every Python example in docs/ runs as written, without a database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.level1

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def collect() -> list[tuple[str, int, str]]:
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for index, code in enumerate(FENCE.findall(page.read_text(encoding="utf-8"))):
            found.append((page.name, index, code))
    return found


EXAMPLES = collect()


def test_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize(
    ("page", "index", "code"), EXAMPLES, ids=[f"{p}#{i}" for p, i, _ in EXAMPLES]
)
def test_docs_example_runs(page: str, index: int, code: str) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MATRX_TEST_DB_") and k != "DATABASE_URL"
    }
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"{page} example {index} failed:\n{proc.stderr}"
