"""Raw SQL execution and the named-query registry.

Its content arrives with issue #3; until then this module exports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
