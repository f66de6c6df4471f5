"""Property tests: every valid value survives to_python(get_db_prep_value(v)) unchanged."""

from __future__ import annotations

import enum
from datetime import timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from matrx_orm_core.fields import (
    ArrayField,
    BigIntegerArrayField,
    BigIntegerField,
    BinaryField,
    BooleanArrayField,
    BooleanField,
    CharField,
    CITextField,
    DateArrayField,
    DateField,
    DateTimeField,
    DecimalArrayField,
    DecimalField,
    EmailField,
    EnumField,
    Field,
    FloatArrayField,
    FloatField,
    HStoreArrayField,
    HStoreField,
    IntegerArrayField,
    IntegerField,
    IPAddressField,
    IPNetworkArrayField,
    IPNetworkField,
    IPv4Field,
    IPv6ArrayField,
    IPv6Field,
    JSONBArrayField,
    JSONBField,
    JSONField,
    MacAddressField,
    MoneyField,
    NumericArrayField,
    PointField,
    SlugField,
    SmallIntegerArrayField,
    SmallIntegerField,
    TextArrayField,
    TextField,
    TimeArrayField,
    TimeDeltaField,
    TimeField,
    UUIDArrayField,
    UUIDField,
    UUIDFieldREAL,
)
from matrx_orm_core.testing import strategies
from matrx_orm_core.testing.strategies import equivalent


class Sample:
    """Stand-in model class."""


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


FIELDS: list[Field[Any]] = [
    CharField(max_length=1),
    CharField(max_length=40),
    CharField(max_length=None),
    TextField(),
    UUIDField(),
    IntegerField(),
    BigIntegerField(),
    SmallIntegerField(),
    FloatField(),
    FloatField(precision="real"),
    DecimalField(),
    DecimalField(max_digits=5, decimal_places=2),
    DecimalField(max_digits=3, decimal_places=3),
    DecimalField(max_digits=40, decimal_places=0),
    BooleanField(),
    DateTimeField(),
    DateTimeField(timezone=False),
    DateField(),
    TimeField(),
    TimeField(timezone=True),
    JSONField(),
    JSONBField(),
    EnumField(Mood),
    EnumField(choices=["a", "bb", "ccc"], max_length=3),
    TextArrayField(),
    IntegerArrayField(),
    BooleanArrayField(),
    UUIDArrayField(),
    JSONBArrayField(),
    ArrayField(CharField(max_length=3, null=False)),
    ArrayField(DecimalField(max_digits=6, decimal_places=3)),
    IPAddressField(),
    IPNetworkField(),
    MacAddressField(),
    HStoreField(),
    PointField(),
    MoneyField(),
    MoneyField(db_type="money"),
    BinaryField(),
    TimeDeltaField(),
    FloatArrayField(),
    BigIntegerArrayField(),
    SmallIntegerArrayField(),
    DecimalArrayField(5, 2),
    NumericArrayField(),
    DateArrayField(),
    TimeArrayField(),
    IPv6ArrayField(),
    IPNetworkArrayField(),
    HStoreArrayField(),
    CITextField(),
    EmailField(),
    SlugField(max_length=10),
    UUIDFieldREAL(),
    IPv4Field(),
    IPv6Field(),
]
for _index, _field in enumerate(FIELDS):
    _field.contribute_to_class(Sample, f"f{_index}")


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f"{type(f).__name__}:{f.db_type}")
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip(field: Field[Any], data: st.DataObject) -> None:
    value = data.draw(strategies.values_for(field))
    prepared = field.get_db_prep_value(value)
    if not isinstance(field, JSONBArrayField):  # its list elements travel as tuples
        assert equivalent(field.to_python(prepared), value)
    assert equivalent(field.clean(value), value)
    if field.needs_load_conversion:
        assert equivalent(field.from_db_value(prepared), value)


@pytest.mark.parametrize("field", FIELDS[:3], ids=lambda f: f.db_type)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_text_strategies_respect_max_length(field: CharField, data: st.DataObject) -> None:
    value = data.draw(strategies.values_for(field))
    assert field.max_length is None or len(value) <= field.max_length
    assert "\x00" not in value


@settings(max_examples=60, deadline=None)
@given(strategies.datetimes())
def test_datetime_strategy_is_aware_utc(value: Any) -> None:
    assert value.tzinfo is timezone.utc
    assert 1 <= value.year <= 9999


@settings(max_examples=60, deadline=None)
@given(strategies.decimals(5, 2))
def test_decimal_strategy_fits_numeric_5_2(value: Decimal) -> None:
    assert value.as_tuple().exponent == -2
    assert abs(value) <= Decimal("999.99")


def test_values_for_nullable_can_yield_none() -> None:
    assert find(strategies.values_for(CharField(), allow_none=True), lambda v: v is None) is None


@settings(max_examples=80, deadline=None)
@given(strategies.values_for(CharField(null=False), allow_none=True))
def test_non_nullable_never_yields_none(value: Any) -> None:
    assert value is not None


def test_values_for_unknown_field_type() -> None:
    with pytest.raises(TypeError, match="No Hypothesis strategy for Field"):
        strategies.values_for(Field(db_type="point"))
