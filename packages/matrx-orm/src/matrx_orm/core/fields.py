"""Field types (from matrx_orm_core.fields); further field types arrive with later issues."""

from __future__ import annotations

from matrx_orm_core.fields import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    Field,
    FloatField,
    ForeignKey,
    IntegerField,
    JSONBField,
    JSONField,
    ManyToManyField,
    SmallIntegerField,
    TextField,
    TimeField,
    UUIDField,
    VersionField,
)

__all__ = [
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
    "SmallIntegerField",
    "TextField",
    "TimeField",
    "UUIDField",
    "VersionField",
]
