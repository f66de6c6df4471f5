"""``python -m matrx_orm_cli``: the same as the ``matrx-orm`` command."""

from __future__ import annotations

from .main import cli

cli(prog_name="matrx-orm")
