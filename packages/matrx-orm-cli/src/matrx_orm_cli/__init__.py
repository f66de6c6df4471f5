"""matrx-orm CLI: the ``matrx-orm`` command (issue #8).

The command is the click group ``matrx_orm_cli.main.cli`` (console script ``matrx-orm``, or
``python -m matrx_orm_cli``); ``matrx_orm_cli.main.main(argv)`` runs it and returns the exit
status. The package's top level exports nothing, so the umbrella's top level gains no names.
"""

from __future__ import annotations

import importlib.metadata

__version__ = importlib.metadata.version("matrx-orm-cli")

__all__: list[str] = []
