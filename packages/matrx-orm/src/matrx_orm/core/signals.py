"""Model signals (`Signal`, `pre_save`, `post_save`, ...).

Its content arrives with issue #3; until then this module exports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
