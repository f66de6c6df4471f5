"""Field types: each owns its PostgreSQL type, its Python type, conversion and validation."""

from __future__ import annotations

from .base import NOT_PROVIDED, Field, OrderBy, Validator
from .boolean import BooleanField
from .enum import EnumField
from .json import JSONBField, JSONField
from .numeric import BigIntegerField, DecimalField, FloatField, IntegerField, SmallIntegerField
from .relations import ForeignKey, ManyToManyField
from .temporal import DateField, DateTimeField, TimeField
from .text import CharField, TextField, UUIDField
from .version import VersionField

__all__ = [
    "NOT_PROVIDED",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "EnumField",
    "Field",
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "JSONBField",
    "JSONField",
    "ManyToManyField",
    "OrderBy",
    "SmallIntegerField",
    "TextField",
    "TimeField",
    "UUIDField",
    "Validator",
    "VersionField",
]
