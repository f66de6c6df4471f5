"""matrx-orm schema builder: code generation from a live database.

The public API (``SchemaManager``, ``run_generate_models``, ``migrate_and_rebuild``,
``rebuild_schema``, ``migrate_rebuild``) arrives with issue #8; nothing is exported yet.
"""

from __future__ import annotations

import importlib.metadata

__version__ = importlib.metadata.version("matrx-orm-schema-builder")

__all__: list[str] = []
