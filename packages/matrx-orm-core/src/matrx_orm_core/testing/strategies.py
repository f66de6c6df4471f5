"""Hypothesis strategies that yield valid values for each field type (test-only module)."""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, time, timedelta, timezone
from decimal import Context, Decimal
from typing import Any

from hypothesis import strategies as st

from matrx_orm_core.fields import (
    ArrayField,
    BinaryField,
    BooleanField,
    CharField,
    CITextField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    EnumField,
    Field,
    FloatField,
    ForeignKey,
    HStoreField,
    IntegerField,
    IPAddressField,
    IPNetworkField,
    IPv4Field,
    JSONField,
    MacAddressField,
    MoneyField,
    PointField,
    SlugField,
    TextField,
    TimeDeltaField,
    TimeField,
    UUIDField,
)
from matrx_orm_core.fields.array import PrimitiveArrayField
from matrx_orm_core.fields.numeric import FLOAT4_MAX, MONEY_MAX_CENTS

__all__ = [
    "arrays",
    "binaries",
    "booleans",
    "check_round_trips",
    "dates",
    "datetimes",
    "equivalent",
    "decimals",
    "emails",
    "enum_values",
    "floats",
    "hstores",
    "integers",
    "ip_addresses",
    "ip_networks",
    "json_values",
    "mac_addresses",
    "money",
    "points",
    "slugs",
    "texts",
    "timedeltas",
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

    With ``max_digits=None`` (unconstrained numeric): finite decimals of up to 61 digits,
    scaled by up to 10**±60.
    """
    if max_digits is None:
        return st.builds(
            lambda digits, exponent: Decimal(digits).scaleb(exponent),
            st.integers(min_value=-(10**60), max_value=10**60),
            st.integers(min_value=-60, max_value=60),
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


def arrays(
    elements: st.SearchStrategy[Any], *, allow_none_elements: bool = True, max_size: int = 8
) -> st.SearchStrategy[list[Any]]:
    """One-dimensional lists of ``elements`` (empty lists included; ``None`` elements too
    unless ``allow_none_elements`` is False)."""
    item = st.none() | elements if allow_none_elements else elements
    return st.lists(item, max_size=max_size)


def ip_addresses(version: int | None = None) -> st.SearchStrategy[Any]:
    """``inet`` values as the database gives them back: IPv4/IPv6 addresses, and interfaces
    (an address with a prefix shorter than the full length); one version only if given."""
    v4: st.SearchStrategy[Any] = st.ip_addresses(v=4)
    v6: st.SearchStrategy[Any] = st.ip_addresses(v=6).filter(_unscoped)
    v4_iface = st.builds(lambda a, p: ipaddress.ip_interface(f"{a}/{p}"), v4, st.integers(0, 31))
    v6_iface = st.builds(lambda a, p: ipaddress.ip_interface(f"{a}/{p}"), v6, st.integers(0, 127))
    if version == 4:
        return v4 | v4_iface
    if version == 6:
        return v6 | v6_iface
    return v4 | v6 | v4_iface | v6_iface


def ip_networks() -> st.SearchStrategy[Any]:
    """``cidr`` values: IPv4 and IPv6 networks (host bits clear)."""
    v4: st.SearchStrategy[Any] = st.ip_addresses(v=4)
    v6: st.SearchStrategy[Any] = st.ip_addresses(v=6).filter(_unscoped)
    return st.builds(_network, v4, st.integers(0, 32)) | st.builds(
        _network, v6, st.integers(0, 128)
    )


def _unscoped(address: Any) -> bool:
    return getattr(address, "scope_id", None) is None


def _network(address: Any, prefix: int) -> Any:
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False)


_EMAIL_LOCAL = st.from_regex(r"[a-z0-9._+-]{1,40}", fullmatch=True)
_EMAIL_DOMAIN = st.from_regex(r"[a-z0-9-]{1,40}\.[a-z]{2,8}", fullmatch=True)


def emails() -> st.SearchStrategy[str]:
    """Addresses EmailField accepts: ``local@domain.tld`` (at most 90 characters)."""
    return st.builds(lambda local, domain: f"{local}@{domain}", _EMAIL_LOCAL, _EMAIL_DOMAIN)


def slugs(max_length: int | None = 200) -> st.SearchStrategy[str]:
    """Slugs SlugField accepts: ASCII letters, digits, ``-`` and ``_``."""
    return st.text(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
        min_size=1,
        max_size=max_length,
    )


def mac_addresses() -> st.SearchStrategy[str]:
    """MAC addresses in lower-case colon form (what MacAddressField values are)."""
    return st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))


def hstores() -> st.SearchStrategy[dict[str, str | None]]:
    """``hstore`` values: unicode keys to unicode values or ``None`` (empty dicts included)."""
    return st.dictionaries(texts(20), st.none() | texts(40), max_size=6)


def points(*, allow_special: bool = True) -> st.SearchStrategy[tuple[float, float]]:
    """``(x, y)`` float pairs; NaN and infinities included unless ``allow_special`` is False."""
    coord = st.floats(allow_nan=allow_special, allow_infinity=allow_special)
    return st.tuples(coord, coord)


def money(
    max_digits: int | None = 19, decimal_places: int = 2, *, db_type: str = ""
) -> st.SearchStrategy[Decimal]:
    """MoneyField values: ``decimals`` of the field's precision (the 64-bit cent range for a
    ``money`` column)."""
    if db_type == "money":
        return st.integers(-MONEY_MAX_CENTS, MONEY_MAX_CENTS).map(
            lambda cents: Decimal(cents).scaleb(-2, context=_EXACT)
        )
    return decimals(max_digits, decimal_places)


def binaries(max_size: int = 64) -> st.SearchStrategy[bytes]:
    """``bytes`` of any content, NUL bytes included (empty included)."""
    return st.binary(max_size=max_size)


_INTERVAL_DAYS = 100_000_000
"""Well inside both PostgreSQL's interval range and ``timedelta``'s."""


def timedeltas() -> st.SearchStrategy[timedelta]:
    """Durations with microsecond precision, negative ones included."""
    return st.timedeltas(
        min_value=timedelta(days=-_INTERVAL_DAYS), max_value=timedelta(days=_INTERVAL_DAYS)
    )


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
    if isinstance(field, ArrayField):
        if isinstance(field, PrimitiveArrayField):
            raise TypeError(
                "No Hypothesis strategy for PrimitiveArrayField: its elements are not "
                "described; use arrays(<element strategy>)."
            )
        return arrays(_values_for(field.item_type), allow_none_elements=field.item_type.nullable)
    if isinstance(field, MoneyField):
        return money(field.max_digits, field.decimal_places, db_type=field.db_type)
    if isinstance(field, EmailField):
        return emails()
    if isinstance(field, SlugField):
        return slugs(field.max_length)
    if isinstance(field, CharField):
        return texts(field.max_length)
    if isinstance(field, (TextField, CITextField)):
        return texts()
    if isinstance(field, UUIDField):
        return uuids()
    if isinstance(field, IntegerField):
        return integers(field.min_value, field.max_value)
    if isinstance(field, FloatField):
        return floats(field.precision, allow_special=True)
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
    if isinstance(field, IPv4Field):
        return ip_addresses(field.version)
    if isinstance(field, IPAddressField):
        return ip_addresses()
    if isinstance(field, IPNetworkField):
        return ip_networks()
    if isinstance(field, MacAddressField):
        return mac_addresses()
    if isinstance(field, HStoreField):
        return hstores()
    if isinstance(field, PointField):
        return points()
    if isinstance(field, BinaryField):
        return binaries()
    if isinstance(field, TimeDeltaField):
        return timedeltas()
    raise TypeError(f"No Hypothesis strategy for {type(field).__name__}; build one by hand.")


def equivalent(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` are equal values of exactly the same type, NaN equal to NaN.

    Compares lists, tuples and dicts element by element (so ``[nan]`` matches ``[nan]`` and
    ``(1.0, 2.0)`` does not match ``[1.0, 2.0]``): the check a round-trip test needs.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equivalent(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equivalent(a[k], b[k]) for k in a)
    if isinstance(a, (datetime, time)):
        return bool(a == b and a.utcoffset() == b.utcoffset())
    return bool(a == b)


def check_round_trips(
    model: Any,
    field: str,
    strategy: st.SearchStrategy[Any] | None = None,
    *,
    examples: int = 200,
) -> list[Any]:
    """Run a Hypothesis round-trip property for one field of ``model`` against its database.

    Each example is a real ``model.create_sync(field=value)`` followed by ``get_sync`` on the
    new primary key (cache bypassed); the loaded value must be :func:`equivalent` to
    ``field.clean(value)``. Call it from a plain (not async) test whose table exists.

    Args:
        model: The model class (single-column primary key with a default).
        field: The field name.
        strategy: The values to try; default ``values_for(field, allow_none=True)``.
        examples: ``max_examples`` for Hypothesis.

    Returns:
        Every value tried, so the caller can check how many examples ran.

    Raises:
        AssertionError: A value did not come back unchanged (Hypothesis shows the smallest).
    """
    from hypothesis import HealthCheck, given, settings

    column = model._meta.fields[field]
    pk = model._meta.pk_names[0]
    runs: list[Any] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(value=values_for(column, allow_none=True) if strategy is None else strategy)
    def check(value: Any) -> None:
        runs.append(value)
        expected = column.clean(value)
        made = model.create_sync(**{field: value})
        loaded = model.get_sync(**{pk: getattr(made, pk)}, use_cache=False)
        got = getattr(loaded, field)
        assert equivalent(got, expected), (got, expected)

    check()
    return runs
