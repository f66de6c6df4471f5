"""Hypothesis strategies that yield valid values for each field type (test-only module)."""

from __future__ import annotations

from datetime import datetime, time, timezone
from decimal import Context, Decimal
from typing import Any

from hypothesis import strategies as st

from matrx_orm_core.fields import (
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
    JSONField,
    TextField,
    TimeField,
    UUIDField,
)
from matrx_orm_core.fields.numeric import FLOAT4_MAX

__all__ = [
    "booleans",
    "dates",
    "datetimes",
    "decimals",
    "enum_values",
    "floats",
    "integers",
    "json_values",
    "texts",
    "times",
    "uuids",
    "values_for",
]

UTC = timezone.utc
_EXACT = Context(prec=2000)

# PostgreSQL text is UTF-8 and cannot hold NUL; lone surrogates cannot be encoded.
_TEXT_CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")


def texts(max_length: int | None = None, *, min_size: int = 0) -> st.SearchStrategy[str]:
    """Strings PostgreSQL text/varchar can store, at most ``max_length`` characters."""
    return st.text(_TEXT_CHARACTERS, min_size=min_size, max_size=max_length)


def uuids() -> st.SearchStrategy[str]:
    """UUIDs in canonical ``str`` form (what UUIDField values are)."""
    return st.uuids().map(str)


def integers(min_value: int, max_value: int) -> st.SearchStrategy[int]:
    """Ints in ``[min_value, max_value]`` (use a field's ``min_value``/``max_value``)."""
    return st.integers(min_value=min_value, max_value=max_value)


def floats(precision: str = "double", *, allow_special: bool = False) -> st.SearchStrategy[float]:
    """Floats a ``double precision`` (or ``real``) column stores exactly.

    NaN and infinities are left out unless ``allow_special`` (NaN never equals itself).
    """
    if precision == "real":
        return st.floats(
            width=32,
            allow_nan=allow_special,
            allow_infinity=allow_special,
            min_value=None if allow_special else -FLOAT4_MAX,
            max_value=None if allow_special else FLOAT4_MAX,
        )
    return st.floats(allow_nan=allow_special, allow_infinity=allow_special)


def decimals(max_digits: int | None, decimal_places: int) -> st.SearchStrategy[Decimal]:
    """Decimals that fit ``numeric(max_digits, decimal_places)``, with exactly that scale.

    With ``max_digits=None`` (unconstrained numeric): finite decimals of moderate size.
    """
    if max_digits is None:
        return st.builds(
            lambda digits, exponent: Decimal(digits).scaleb(exponent),
            st.integers(min_value=-(10**30), max_value=10**30),
            st.integers(min_value=-30, max_value=30),
        )
    limit = 10**max_digits - 1
    return st.integers(min_value=-limit, max_value=limit).map(
        lambda units: Decimal(units).scaleb(-decimal_places, context=_EXACT)
    )


def booleans() -> st.SearchStrategy[bool]:
    """True or False."""
    return st.booleans()


def datetimes(timezone_aware: bool = True) -> st.SearchStrategy[datetime]:
    """Datetimes with microsecond precision in years 1-9999 (inside PostgreSQL's range).

    Aware values are in UTC (what a ``timestamptz`` column gives back); otherwise naive.
    """
    plain = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
    if timezone_aware:
        return plain.map(lambda value: value.replace(tzinfo=UTC))
    return plain


def dates() -> st.SearchStrategy[Any]:
    """Dates in years 1-9999."""
    return st.dates()


def times(timezone_aware: bool = False) -> st.SearchStrategy[time]:
    """Times of day with microseconds; aware ones are in UTC (for ``timetz``)."""
    if timezone_aware:
        return st.times(timezones=st.just(UTC))
    return st.times()


_JSON_FLOATS = st.floats(
    min_value=-(10.0**15), max_value=10.0**15, allow_nan=False, allow_infinity=False
)


def json_values(*, max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """JSON values that survive a jsonb round trip unchanged.

    Floats stay below 1e15 in magnitude: jsonb keeps numbers as numeric and prints large
    ones without an exponent, which ``json.loads`` would read back as an ``int``.
    """
    scalars = st.none() | st.booleans() | st.integers() | _JSON_FLOATS | texts(50)
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(texts(20), children, max_size=5)
        ),
        max_leaves=max_leaves,
    )


def enum_values(field: EnumField[Any]) -> st.SearchStrategy[Any]:
    """The field's Python values: enum members (``enum_class``) or the choice strings."""
    if field.enum_class is not None:
        return st.sampled_from(list(field.enum_class))
    return st.sampled_from(field.choices)


def values_for(field: Field[Any], *, allow_none: bool = False) -> st.SearchStrategy[Any]:
    """Valid Python values for ``field`` (None too when ``allow_none`` and the field is nullable).

    Raises:
        TypeError: No strategy for this field type.
    """
    strategy = _values_for(field)
    if allow_none and field.nullable:
        return st.none() | strategy
    return strategy


def _values_for(field: Field[Any]) -> st.SearchStrategy[Any]:
    if isinstance(field, ForeignKey):
        return _values_for(field.target_field)
    if isinstance(field, CharField):
        return texts(field.max_length)
    if isinstance(field, (TextField,)):
        return texts()
    if isinstance(field, UUIDField):
        return uuids()
    if isinstance(field, IntegerField):
        return integers(field.min_value, field.max_value)
    if isinstance(field, FloatField):
        return floats(field.precision)
    if isinstance(field, DecimalField):
        return decimals(field.max_digits, field.decimal_places)
    if isinstance(field, BooleanField):
        return booleans()
    if isinstance(field, DateTimeField):
        return datetimes(field.timezone)
    if isinstance(field, DateField):
        return dates()
    if isinstance(field, TimeField):
        return times(field.timezone)
    if isinstance(field, JSONField):
        return json_values()
    if isinstance(field, EnumField):
        return enum_values(field)
    raise TypeError(f"No Hypothesis strategy for {type(field).__name__}; build one by hand.")
