"""Models: the metaclass, ``_meta`` options, relation references, the Model class and CRUD."""

from __future__ import annotations

from .base import Model, RuntimeContainer
from .meta import ModelMeta
from .options import CachePolicy, ModelOptions
from .references import ForeignKeyReference, InverseForeignKeyReference, ManyToManyReference

__all__ = [
    "CachePolicy",
    "ForeignKeyReference",
    "InverseForeignKeyReference",
    "ManyToManyReference",
    "Model",
    "ModelMeta",
    "ModelOptions",
    "RuntimeContainer",
]
