"""The ``matrx_orm.core`` package: compatibility paths for the upstream ``core`` modules.

Import from the submodules (``matrx_orm.core.config``, ``matrx_orm.core.fields``, ...) or from
``matrx_orm`` itself; this package exports nothing of its own.
"""

from __future__ import annotations

__all__: list[str] = []
