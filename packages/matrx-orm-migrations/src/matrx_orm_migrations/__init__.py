"""matrx-orm migrations: ``MigrationDB`` now; introspection, diff, DDL and files with issue #8."""

from __future__ import annotations

import importlib.metadata

from .db import MigrationDB

__version__ = importlib.metadata.version("matrx-orm-migrations")

__all__ = ["MigrationDB"]
