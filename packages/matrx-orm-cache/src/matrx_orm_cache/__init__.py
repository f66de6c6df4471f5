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

# Importable by name (explicit re-exports), outside __all__ below.
from ._hook import StateCache as StateCache
from .model_state import ModelState as ModelState
from .settings import POLICY_TTL as POLICY_TTL
from .settings import CacheSettings as CacheSettings
from .settings import configure as configure
from .settings import get_settings as get_settings
from .state_manager import StateManager

__version__ = importlib.metadata.version("matrx-orm-cache")

# Only the names the umbrella's top level carries (API.md §1): the umbrella's __all__ is the
# union of the parts'. The rest of the cache API is imported from its modules, and
# matrx_orm.state re-exports it for users.
__all__ = ["CachePolicy"]

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
