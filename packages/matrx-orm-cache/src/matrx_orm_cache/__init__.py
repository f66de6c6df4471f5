"""matrx-orm cache: the state cache that installs itself into core's model-cache hook.

Importing this package runs :func:`_install` once, which registers :class:`StateCache` (the
``ModelCache`` implementation behind :class:`StateManager`) with
``matrx_orm_core.hooks.set_model_cache``. ``CachePolicy`` is defined in core and re-exported.
"""

from __future__ import annotations

import importlib.metadata
import warnings

import matrx_orm_core
from matrx_orm_core import CachePolicy
from matrx_orm_core import hooks as _hooks

from ._hook import StateCache
from .model_state import ModelState
from .settings import POLICY_TTL, CacheSettings, configure, get_settings
from .state_manager import StateManager

__version__ = importlib.metadata.version("matrx-orm-cache")

__all__ = [
    "POLICY_TTL",
    "CachePolicy",
    "CacheSettings",
    "ModelState",
    "StateCache",
    "StateManager",
    "configure",
    "get_settings",
]

_installed = False


def _install() -> None:
    """Install the cache into core's hooks; safe to call any number of times.

    Warns with ``RuntimeWarning`` when this package's version differs from
    ``matrx_orm_core.__version__`` (the distributions are released in lockstep).
    """
    global _installed
    if _installed:
        return
    _installed = True
    if __version__ != matrx_orm_core.__version__:
        warnings.warn(
            f"matrx-orm-cache {__version__} is installed with matrx-orm-core "
            f"{matrx_orm_core.__version__}; the packages are released together and must have "
            f"the same version. Install matching versions, for example "
            f"pip install 'matrx-orm-cache=={matrx_orm_core.__version__}'.",
            RuntimeWarning,
            stacklevel=2,
        )
    _hooks.set_model_cache(StateManager.cache_hook())


_install()
