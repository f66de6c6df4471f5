"""One adapter module per benchmarked library; ``load_adapters`` builds the requested ones."""

from __future__ import annotations

import importlib

from .base import Adapter

__all__ = ["ALL_LIBS", "PEER_LIBS", "load_adapters"]

# key -> (module, class name). Order is the report's column order.
ALL_LIBS: dict[str, tuple[str, str]] = {
    "raw": ("raw_asyncpg", "RawAsyncpg"),
    "raw_noreset": ("raw_asyncpg", "RawAsyncpgNoReset"),
    "matrx": ("matrx", "MatrxOrm"),
    "sqlalchemy": ("sqlalchemy_orm", "SqlAlchemyOrm"),
    "tortoise": ("tortoise_orm", "TortoiseOrm"),
    "piccolo": ("piccolo_orm", "PiccoloOrm"),
}
PEER_LIBS = ("sqlalchemy", "tortoise", "piccolo")
"""Libraries installed by the ``bench`` dependency group only (absent from the test venv)."""


def load_adapters(
    keys: list[str], *, skip_missing: bool = False
) -> tuple[list[Adapter], list[str]]:
    """Import and build the adapters named by ``keys``.

    Args:
        keys: Keys of ``ALL_LIBS``.
        skip_missing: Leave out a peer library whose package is not installed instead of failing.

    Returns:
        The adapters, and the keys left out because their package is missing.

    Raises:
        ValueError: An unknown key.
        ImportError: A library is not installed and ``skip_missing`` is false (or it is not a
            peer library).
    """
    adapters: list[Adapter] = []
    missing: list[str] = []
    for key in keys:
        if key not in ALL_LIBS:
            raise ValueError(f"unknown library {key!r}; valid: {', '.join(ALL_LIBS)}")
        module_name, class_name = ALL_LIBS[key]
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ImportError:
            if skip_missing and key in PEER_LIBS:
                missing.append(key)
                continue
            raise
        adapters.append(getattr(module, class_name)())
    return adapters, missing
