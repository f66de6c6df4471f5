"""Query expressions (`F`, `Q`, functions, aggregates, window functions, `CTE`).

Its content arrives with issue #5; until then this module exports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
