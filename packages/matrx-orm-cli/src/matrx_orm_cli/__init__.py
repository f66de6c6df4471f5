"""matrx-orm CLI: the ``matrx-orm`` command.

The command itself (``matrx_orm_cli.main``) arrives with issue #8; nothing is exported yet.
"""

from __future__ import annotations

import importlib.metadata

__version__ = importlib.metadata.version("matrx-orm-cli")

__all__: list[str] = []
