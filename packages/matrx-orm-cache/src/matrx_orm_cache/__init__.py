"""matrx-orm cache: the state cache that installs itself into core's model-cache hook.

Importing this package runs :func:`_install` once. The cache behaviour (``StateManager`` and the
``ModelCache`` implementation registered through ``matrx_orm_core.hooks.set_model_cache``)
arrives with issue #7; for now the package re-exports :class:`CachePolicy` (defined in core) and
checks that its version matches ``matrx_orm_core``.
"""

from __future__ import annotations

import importlib.metadata
import warnings

import matrx_orm_core
from matrx_orm_core import CachePolicy

__version__ = importlib.metadata.version("matrx-orm-cache")

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
    # TODO(#7): register the ModelCache implementation with matrx_orm_core.hooks.set_model_cache.


_install()
