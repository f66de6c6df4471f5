"""matrx-orm CLI: the ``matrx-orm`` command (``python -m matrx_orm_cli`` works too).

``cli`` is the click group the console script runs; ``main(argv)`` runs it and returns the exit
status instead of exiting.
"""

from __future__ import annotations

import importlib.metadata

from .main import cli, main

__version__ = importlib.metadata.version("matrx-orm-cli")

__all__ = ["cli", "main"]
