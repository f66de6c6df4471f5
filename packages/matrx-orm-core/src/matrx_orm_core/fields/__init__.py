"""Field types: each owns its PostgreSQL type, its Python type, conversion and validation."""

from __future__ import annotations

from .array import (
    ArrayField,
    BooleanArrayField,
    IntegerArrayField,
    JSONBArrayField,
    PrimitiveArrayField,
    TextArrayField,
    UUIDArrayField,
)
from .base import NOT_PROVIDED, Field, OrderBy, Validator
from .binary import BinaryField
from .boolean import BooleanField
from .enum import EnumField
from .json import JSONBField, JSONField
from .network import IPAddressField, IPNetworkField, MacAddressField
from .numeric import (
    BigIntegerField,
    DecimalField,
    FloatField,
    IntegerField,
    MoneyField,
    SmallIntegerField,
)
from .relations import ForeignKey, ManyToManyField
from .structured import HStoreField, PointField
from .temporal import DateField, DateTimeField, TimeDeltaField, TimeField
from .text import CharField, TextField, UUIDField
from .version import VersionField

__all__ = [
    "ArrayField",
    "BinaryField",
    "BooleanArrayField",
    "HStoreField",
    "IntegerArrayField",
    "IPAddressField",
    "IPNetworkField",
    "JSONBArrayField",
    "MacAddressField",
    "MoneyField",
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
    "PointField",
    "PrimitiveArrayField",
    "SmallIntegerField",
    "TextArrayField",
    "TextField",
    "TimeDeltaField",
    "TimeField",
    "UUIDArrayField",
    "UUIDField",
    "Validator",
    "VersionField",
]
