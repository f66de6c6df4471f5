"""Field types: each owns its PostgreSQL type, its Python type, conversion and validation."""

from __future__ import annotations

from .array import (
    ArrayField,
    BigIntegerArrayField,
    BooleanArrayField,
    DateArrayField,
    DecimalArrayField,
    FloatArrayField,
    HStoreArrayField,
    IntegerArrayField,
    IPNetworkArrayField,
    IPv6ArrayField,
    JSONBArrayField,
    NumericArrayField,
    PrimitiveArrayField,
    SmallIntegerArrayField,
    TextArrayField,
    TimeArrayField,
    UUIDArrayField,
)
from .base import NOT_PROVIDED, Field, OrderBy, Validator
from .binary import BinaryField
from .boolean import BooleanField
from .enum import EnumField
from .json import JSONBField, JSONField, RawJSON
from .network import IPAddressField, IPNetworkField, IPv4Field, IPv6Field, MacAddressField
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
from .text import (
    CharField,
    CITextField,
    EmailField,
    SlugField,
    TextField,
    UUIDField,
    UUIDFieldREAL,
)
from .version import VersionField

__all__ = [
    "BigIntegerArrayField",
    "CITextField",
    "DateArrayField",
    "DecimalArrayField",
    "EmailField",
    "FloatArrayField",
    "HStoreArrayField",
    "IPNetworkArrayField",
    "IPv4Field",
    "IPv6ArrayField",
    "IPv6Field",
    "NumericArrayField",
    "SlugField",
    "SmallIntegerArrayField",
    "TimeArrayField",
    "UUIDFieldREAL",
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
    "RawJSON",
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
