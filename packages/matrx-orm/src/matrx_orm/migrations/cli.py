"""Programmatic migration commands and the command-line entry point.

``makemigrations``, ``migrate``, ``rollback``, ``status`` and ``create_empty`` are the async
functions of matrx_orm_migrations; ``main(argv)`` runs the ``matrx-orm`` command (from
matrx_orm_cli) and returns its exit status.
"""

from __future__ import annotations

from matrx_orm_cli.main import main
from matrx_orm_migrations import create_empty, makemigrations, migrate, rollback
from matrx_orm_migrations.integration import status

__all__ = ["create_empty", "main", "makemigrations", "migrate", "rollback", "status"]
