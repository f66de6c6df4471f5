"""matrx-orm relations: relation I/O that installs itself into core's relation-loader hook.

Importing this package runs :func:`_install` once: it registers :class:`RelationLoader` through
``matrx_orm_core.hooks.set_relation_loader`` (so ``Model.fetch_fk()``, ``fetch_m2m()``,
``QuerySet.prefetch_related()`` ... work) and checks that its version matches
``matrx_orm_core``. The relation declarations and references are defined in core and
re-exported here.
"""

from __future__ import annotations

import importlib.metadata
import warnings

import matrx_orm_core
from matrx_orm_core import (
    ForeignKeyReference,
    InverseForeignKeyReference,
    ManyToManyField,
    ManyToManyReference,
)
from matrx_orm_core.hooks import set_relation_loader

from ._dto import BaseDTO
from ._errors import AppError, handle_errors
from ._loader import RelationLoader
from ._m2m import ensure_m2m_tables
from ._manager import BaseManager
from ._prefetch import prefetch_related_objects

__version__ = importlib.metadata.version("matrx-orm-relations")

__all__ = [
    "AppError",
    "BaseDTO",
    "BaseManager",
    "ForeignKeyReference",
    "InverseForeignKeyReference",
    "ManyToManyField",
    "ManyToManyReference",
    "RelationLoader",
    "ensure_m2m_tables",
    "handle_errors",
    "prefetch_related_objects",
]

_installed = False


def _install() -> None:
    """Install the relation loader into core's hooks; safe to call any number of times.

    Warns with ``RuntimeWarning`` when this package's version differs from
    ``matrx_orm_core.__version__`` (the distributions are released in lockstep).
    """
    global _installed
    if _installed:
        return
    _installed = True
    if __version__ != matrx_orm_core.__version__:
        warnings.warn(
            f"matrx-orm-relations {__version__} is installed with matrx-orm-core "
            f"{matrx_orm_core.__version__}; the packages are released together and must have "
            f"the same version. Install matching versions, for example "
            f"pip install 'matrx-orm-relations=={matrx_orm_core.__version__}'.",
            RuntimeWarning,
            stacklevel=2,
        )
    set_relation_loader(RelationLoader())


_install()
