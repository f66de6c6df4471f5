"""The issue-#4 field types: column types, conversion, and every bad value rejected before SQL.

Each rejection is checked through a model on the recording driver: the ``ValidationError``
names the model, the field and the kind of value, and no statement was sent.
"""

from __future__ import annotations

import ipaddress
import math
import struct
import uuid
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from matrx_orm_core import Model, ValidationError
from matrx_orm_core.drivers import _codecs
from matrx_orm_core.exceptions import FieldError
from matrx_orm_core.fields import (
    ArrayField,
    BigIntegerField,
    BinaryField,
    BooleanArrayField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKey,
    HStoreField,
    IntegerArrayField,
    IntegerField,
    IPAddressField,
    IPNetworkField,
    JSONBArrayField,
    JSONField,
    MacAddressField,
    MoneyField,
    PointField,
    PrimitiveArrayField,
    SmallIntegerField,
    TextArrayField,
    TimeDeltaField,
    TimeField,
    UUIDArrayField,
    UUIDField,
)
from matrx_orm_core.testing import Recorder

pytestmark = pytest.mark.level1

UTC = timezone.utc


class Kit(Model):
    id = IntegerField(primary_key=True)
    tags = TextArrayField()
    nums = IntegerArrayField()
    flags = BooleanArrayField()
    ids = UUIDArrayField()
    docs = JSONBArrayField()
    prims = PrimitiveArrayField("numeric")
    codes = ArrayField(CharField(max_length=3, null=False))
    small = SmallIntegerField()
    big = BigIntegerField()
    real = FloatField(precision="real")
    ip = IPAddressField()
    net = IPNetworkField()
    mac = MacAddressField()
    attrs = HStoreField()
    spot = PointField()
    price = MoneyField()
    cash = MoneyField(db_type="money")
    blob = BinaryField()
    span = TimeDeltaField()
    naive = DateTimeField(timezone=False)

    _database = "recorded"


def test_column_types() -> None:
    types = {name: field.db_type for name, field in Kit._meta.fields.items()}
    assert types == {
        "id": "integer",
        "tags": "text[]",
        "nums": "integer[]",
        "flags": "boolean[]",
        "ids": "uuid[]",
        "docs": "jsonb[]",
        "prims": "numeric[]",
        "codes": "varchar(3)[]",
        "small": "smallint",
        "big": "bigint",
        "real": "real",
        "ip": "inet",
        "net": "cidr",
        "mac": "macaddr",
        "attrs": "hstore",
        "spot": "point",
        "price": "numeric(19,2)",
        "cash": "money",
        "blob": "bytea",
        "span": "interval",
        "naive": "timestamp",
    }
    assert CharField(max_length=None).db_type == "varchar"
    assert TimeField(timezone=True).db_type == "timetz"
    assert JSONField(jsonb=False).db_type == "json"
    assert TextArrayField(db_type="varchar[]").db_type == "varchar[]"
    assert IPAddressField(db_type="text").db_type == "text"


def test_to_dict_describes_arrays_and_money() -> None:
    assert Kit._meta.fields["codes"].to_dict()["item_db_type"] == "varchar(3)"
    assert Kit._meta.fields["codes"].to_dict()["item_type"] == "CharField"
    assert Kit._meta.fields["prims"].to_dict()["element_type"] == "numeric"
    price = Kit._meta.fields["price"].to_dict()
    assert (price["max_digits"], price["decimal_places"], price["db_type"]) == (
        19,
        2,
        "numeric(19,2)",
    )


# --- accepted values ---------------------------------------------------------------------------


ACCEPTED: list[tuple[str, Any, Any]] = [
    ("tags", ("a", None), ["a", None]),
    ("flags", ["on", 0], [True, False]),
    ("ids", [uuid.UUID(int=1)], ["00000000-0000-0000-0000-000000000001"]),
    ("docs", [[1, 2], {"a": None}], [[1, 2], {"a": None}]),
    ("prims", [Decimal("1.5")], [Decimal("1.5")]),
    ("ip", " 10.0.0.1 ", ipaddress.ip_address("10.0.0.1")),
    ("ip", ipaddress.ip_interface("10.0.0.1/32"), ipaddress.ip_address("10.0.0.1")),
    ("ip", ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_interface("10.0.0.0/8")),
    ("net", "10.0.0.1", ipaddress.ip_network("10.0.0.1/32")),
    ("mac", "08002B:010203", "08:00:2b:01:02:03"),
    ("mac", "08002b010203", "08:00:2b:01:02:03"),
    ("attrs", {"k": None}, {"k": None}),
    ("spot", [1, 2], (1.0, 2.0)),
    ("spot", (math.inf, -1.5), (math.inf, -1.5)),
    ("price", 5, Decimal("5.00")),
    ("blob", memoryview(b"ab"), b"ab"),
    ("span", timedelta(hours=-1), timedelta(hours=-1)),
    ("real", float("-inf"), float("-inf")),
    (
        "naive",
        datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=-2))),
        datetime(2024, 1, 1, 14),
    ),
    ("naive", "2024-06-01T00:00:00+02:00", datetime(2024, 5, 31, 22)),
    ("naive", datetime(2024, 1, 1, 12), datetime(2024, 1, 1, 12)),
]


@pytest.mark.parametrize(("name", "given", "expected"), ACCEPTED)
def test_accepted_values(name: str, given: Any, expected: Any) -> None:
    field = Kit._meta.fields[name]
    cleaned = field.clean(given)
    assert cleaned == expected
    assert type(cleaned) is type(expected)


def test_jsonb_array_list_elements_are_sent_as_one_element_each() -> None:
    prepared = Kit._meta.fields["docs"].get_db_prep_value([[1, [2]], {"a": 1}, "s"])
    assert prepared == [(1, [2]), {"a": 1}, "s"]


def test_naive_timestamp_now_is_naive_utc() -> None:
    field = Kit._meta.fields["naive"]
    now = field.now()
    assert now.tzinfo is None
    assert abs(now - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=5)


# --- rejected values ---------------------------------------------------------------------------


REJECTED: list[tuple[str, Any, str]] = [
    ("tags", "abc", "expected a list or a tuple, got str"),
    ("tags", [1], "element 0: expected a str, got int"),
    ("tags", ["a", "b\x00"], "element 1: the text contains a NUL"),
    ("nums", [1, "2"], "element 1: expected an int, got str"),
    ("nums", [1, 2**31], "element 1: the value is outside the integer range"),
    ("nums", [[1, 2], [3, 4]], "element 0: is a list: multi-dimensional arrays"),
    ("nums", [True], "element 0: expected an int, got bool"),
    ("flags", ["maybe"], "element 0: the text is not a boolean"),
    ("ids", ["nope"], "element 0: the text is not a valid UUID"),
    ("docs", [float("nan")], "element 0: the value is not JSON-serialisable"),
    ("docs", [{1, 2}], "element 0: the value is not JSON-serialisable"),
    ("prims", [[1]], "element 0: is a list: multi-dimensional arrays"),
    ("codes", ["abcd"], "element 0: the value has 4 characters"),
    ("codes", ["ab", None], "element 1: None is not allowed"),
    ("small", 2**15, "outside the smallint range"),
    ("small", -(2**15) - 1, "outside the smallint range"),
    ("big", 2**63, "outside the bigint range"),
    ("real", 1e39, "outside the range of PostgreSQL real"),
    ("real", "1.5", "expected an int or a float, got str"),
    ("ip", "999.1.1.1", "not an IPv4 or IPv6 address"),
    ("ip", "fe80::1%eth0", "zone id"),
    ("ip", 167772161, "expected an IP address str or an ipaddress object, got int"),
    ("net", "10.0.0.5/24", "host bits set"),
    ("net", "10.0.0.0/33", "not an IPv4 or IPv6 network"),
    ("net", b"\n\x00\x00\x00", "expected a network str or an ipaddress network, got bytes"),
    ("mac", "08:00:2b:01:02", "not a MAC address"),
    ("mac", "08:00-2b:01:02:03", "not a MAC address"),
    ("mac", 123, "expected a MAC address str, got int"),
    ("attrs", {"a": 1}, "the value for key 'a' has type int"),
    ("attrs", {1: "a"}, "a key has type int"),
    ("attrs", {"a": "b\x00"}, "NUL character"),
    ("attrs", [("a", "b")], "expected a dict of str keys to str or None values, got list"),
    ("spot", (1, 2, 3), "a point has 2 coordinates, got 3"),
    ("spot", (1,), "a point has 2 coordinates, got 1"),
    ("spot", ("1", 2), "the x coordinate has type str"),
    ("spot", (1, True), "the y coordinate has type bool"),
    ("spot", 5, "expected a tuple (x, y) of two numbers, got int"),
    ("price", Decimal("1.001"), "more than decimal_places=2"),
    ("price", Decimal("123456789012345678"), "more than 17 digits"),
    ("price", 1.5, "float values are not accepted"),
    ("price", Decimal("NaN"), "NaN and infinite values are not accepted"),
    ("price", "Infinity", "NaN and infinite values are not accepted"),
    ("small", float("inf"), "expected an int, got float"),
    ("cash", Decimal("92233720368547758.08"), "outside the range of PostgreSQL money"),
    ("blob", "text", "expected bytes, got str"),
    ("blob", [1, 2], "expected bytes, a bytearray or a memoryview, got list"),
    ("span", 60, "expected a timedelta, got int"),
    ("span", "1 day", "expected a timedelta, got str"),
    ("naive", "yesterday", "not an ISO 8601 date-time"),
]


@pytest.mark.parametrize(
    ("name", "value", "needle"), REJECTED, ids=[f"{r[0]}-{i}" for i, r in enumerate(REJECTED)]
)
async def test_bad_values_rejected_before_sql(
    recording_db: Recorder, name: str, value: Any, needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await Kit.create(id=1, **{name: value})
    message = str(info.value)
    assert f"Kit.{name}" in message
    assert needle in message
    assert info.value.details["field"] == name
    assert recording_db.statements == []


@pytest.mark.parametrize(("name", "value", "needle"), REJECTED[:12])
async def test_bad_filter_values_rejected_before_sql(
    recording_db: Recorder, name: str, value: Any, needle: str
) -> None:
    with pytest.raises(ValidationError, match="Kit"):
        await Kit.filter(**{name: value}).all()
    assert recording_db.statements == []


def test_element_error_records_the_index() -> None:
    with pytest.raises(ValidationError) as info:
        Kit._meta.fields["nums"].clean([1, 2, "x"])
    assert info.value.details["index"] == 2
    assert info.value.details["value"] == [1, 2, "x"]


def test_element_validators_run_per_element() -> None:
    def positive(value: int) -> None:
        if value <= 0:
            raise ValueError("must be positive")

    field = ArrayField(IntegerField(validators=[positive]))
    assert field.clean([1, 2]) == [1, 2]
    with pytest.raises(ValidationError, match="element 1: validator positive rejected"):
        field.clean([1, 0])


# --- declaration errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda: ArrayField("integer"), "needs a column field instance"),
        (lambda: ArrayField(IntegerArrayField()), "multi-dimensional array"),
        (lambda: ArrayField(ForeignKey("Kit")), "ForeignKey cannot be an array element"),
        (lambda: PrimitiveArrayField("integer[]"), "plain PostgreSQL type name"),
        (lambda: PrimitiveArrayField("int; DROP TABLE x"), "plain PostgreSQL type name"),
        (lambda: MoneyField(db_type="money", decimal_places=3), "needs decimal_places=2"),
    ],
)
def test_declaration_errors(build: Any, needle: str) -> None:
    with pytest.raises(FieldError, match=needle):
        build()


# --- codecs ------------------------------------------------------------------------------------


def test_point_codec_round_trip() -> None:
    data = _codecs.encode_point((1.5, -2))
    assert data == struct.pack("!dd", 1.5, -2.0)
    assert _codecs.decode_point(data) == (1.5, -2.0)
    assert type(_codecs.decode_point(data)) is tuple
    with pytest.raises(TypeError, match="point column takes an"):
        _codecs.encode_point((1, 2, 3))


def test_money_codec_round_trip() -> None:
    for amount in (Decimal("0.00"), Decimal("-12.34"), Decimal("92233720368547758.07")):
        assert _codecs.decode_money(_codecs.encode_money(amount)) == amount
    assert _codecs.decode_money(_codecs.encode_money(3)) == Decimal("3.00")
    assert str(_codecs.decode_money(struct.pack("!q", 0))) == "0.00"
    with pytest.raises(ValueError, match="whole cents"):
        _codecs.encode_money(Decimal("0.001"))
    with pytest.raises(ValueError, match="outside the range"):
        _codecs.encode_money(Decimal("92233720368547758.08"))
    with pytest.raises(TypeError, match="money column takes a Decimal"):
        _codecs.encode_money(1.5)


@pytest.mark.parametrize(
    ("sql", "creates"),
    [
        ("CREATE EXTENSION hstore", True),
        ("create  extension IF NOT EXISTS hstore", True),
        ("CREATE SCHEMA ext;\nCREATE\nEXTENSION hstore SCHEMA ext", True),
        ("SELECT 1", False),
        ("DROP EXTENSION hstore", False),
        ("SELECT 'created extensions'", False),
    ],
)
def test_creates_extension(sql: str, creates: bool) -> None:
    assert _codecs.creates_extension(sql) is creates


class _FakeConnection:
    def __init__(self, schema: str | None) -> None:
        self.schema = schema
        self.calls: list[tuple[str, Any]] = []

    async def fetchval(self, sql: str) -> str | None:
        self.calls.append(("fetchval", sql))
        return self.schema

    async def set_builtin_type_codec(self, name: str, **kwargs: Any) -> None:
        self.calls.append(("builtin", (name, kwargs)))

    async def set_type_codec(self, name: str, **kwargs: Any) -> None:
        self.calls.append(("codec", (name, kwargs["format"])))


class _FakePool:
    def __init__(self) -> None:
        self.expired = 0

    async def expire_connections(self) -> None:
        self.expired += 1


async def test_hstore_codec_only_where_the_type_exists() -> None:
    missing = _FakeConnection(None)
    await _codecs.install_codecs(missing)
    assert missing.calls == [
        ("codec", ("point", "binary")),
        ("codec", ("money", "binary")),
        ("fetchval", _codecs.HSTORE_SCHEMA_SQL),
    ]
    present = _FakeConnection("extensions")
    assert await _codecs.install_hstore_codec(present) is True
    assert present.calls[-1] == (
        "builtin",
        ("hstore", {"schema": "extensions", "codec_name": "pg_contrib.hstore"}),
    )


async def test_refresh_after_extension_expires_the_pool() -> None:
    connection, pool = _FakeConnection("public"), _FakePool()
    await _codecs.refresh_after_extension(connection, pool)
    assert pool.expired == 1
    assert connection.calls[-1][0] == "builtin"
    await _codecs.refresh_after_extension(_FakeConnection(None), None)  # no pool: no error


def test_time_types_stay_exact() -> None:
    assert TimeField(timezone=True).clean(time(1, 2)) == time(1, 2, tzinfo=UTC)
    assert UUIDField().clean(uuid.UUID(int=5)) == "00000000-0000-0000-0000-000000000005"


def test_array_of_enum_converts_loaded_rows() -> None:
    import enum

    from matrx_orm_core.fields import EnumField

    class Size(enum.Enum):
        S = "s"
        M = "m"

    field = ArrayField(EnumField(enum_class=Size, max_length=1))
    assert field.needs_load_conversion is True
    assert field.from_db_value(["m", None, "s"]) == [Size.M, None, Size.S]
    assert field.from_db_value(None) is None
    assert field.get_db_prep_value([Size.S, "m"]) == ["s", "m"]
    assert TextArrayField().needs_load_conversion is False


@pytest.mark.parametrize(
    ("name", "value"),
    [("nums", [1, "2"]), ("attrs", {"a": 1}), ("spot", (1,)), ("net", "10.0.0.5/24")],
)
async def test_bad_values_rejected_by_every_write_path(
    recording_db: Recorder, name: str, value: Any
) -> None:
    writes = [
        lambda: Kit.bulk_create([{"id": 1}, {"id": 2, name: value}]),
        lambda: Kit.update_where({"id": 1}, **{name: value}),
        lambda: Kit.upsert({"id": 1, name: value}, conflict_fields=["id"]),
        lambda: Kit.filter(id=1).update(**{name: value}),
    ]
    for write in writes:
        with pytest.raises(ValidationError) as info:
            await write()
        assert f"Kit.{name}" in str(info.value)
    assert recording_db.statements == []


# --- upstream's further fields (matrx_orm.core.fields only) -----------------------------------


def test_further_fields_column_types() -> None:
    from matrx_orm_core import fields as f

    assert {
        name: getattr(f, name)().db_type
        for name in (
            "FloatArrayField",
            "BigIntegerArrayField",
            "SmallIntegerArrayField",
            "NumericArrayField",
            "DateArrayField",
            "TimeArrayField",
            "IPv6ArrayField",
            "IPNetworkArrayField",
            "HStoreArrayField",
            "CITextField",
            "EmailField",
            "SlugField",
            "UUIDFieldREAL",
            "IPv4Field",
            "IPv6Field",
        )
    } == {
        "FloatArrayField": "double precision[]",
        "BigIntegerArrayField": "bigint[]",
        "SmallIntegerArrayField": "smallint[]",
        "NumericArrayField": "numeric[]",
        "DateArrayField": "date[]",
        "TimeArrayField": "time[]",
        "IPv6ArrayField": "inet[]",
        "IPNetworkArrayField": "cidr[]",
        "HStoreArrayField": "hstore[]",
        "CITextField": "citext",
        "EmailField": "varchar(254)",
        "SlugField": "varchar(200)",
        "UUIDFieldREAL": "uuid",
        "IPv4Field": "inet",
        "IPv6Field": "inet",
    }
    assert f.DecimalArrayField(5, 2).db_type == "numeric(5,2)[]"


def test_further_fields_are_not_top_level_names() -> None:
    import matrx_orm_core

    assert not hasattr(matrx_orm_core, "EmailField")
    assert "EmailField" not in matrx_orm_core.__all__


@pytest.mark.parametrize(
    ("build", "value", "needle"),
    [
        ("EmailField", "no-at-sign", "not an e-mail address"),
        ("EmailField", "a@b@c.com", "not an e-mail address"),
        ("EmailField", "a b@c.com", "not an e-mail address"),
        ("EmailField", "@c.com", "not an e-mail address"),
        ("SlugField", "héllo", "a slug may only hold"),
        ("SlugField", "a b", "a slug may only hold"),
        ("IPv4Field", "2001:db8::1", "expected an IPv4 address, got IPv6"),
        ("IPv6Field", "10.0.0.1/8", "expected an IPv6 address, got IPv4"),
        ("IPv6ArrayField", ["::1", "10.0.0.1"], "element 1: expected an IPv6 address"),
        ("DateArrayField", ["2024-02-30"], "element 0: the text is not an ISO 8601 date"),
        ("HStoreArrayField", [{"a": 1}], "element 0: the value for key 'a' has type int"),
        ("SmallIntegerArrayField", [2**15], "element 0: the value is outside the smallint"),
    ],
)
def test_further_fields_reject(build: str, value: Any, needle: str) -> None:
    from matrx_orm_core import fields as f

    with pytest.raises(ValidationError, match=needle):
        getattr(f, build)().clean(value)


def test_further_fields_accept() -> None:
    from matrx_orm_core import fields as f

    assert f.EmailField().clean("ada+x@example.com") == "ada+x@example.com"
    assert f.SlugField().clean("my-first_post-2") == "my-first_post-2"
    assert f.IPv6Field().clean("2001:db8::1/64") == ipaddress.ip_interface("2001:db8::1/64")
    assert f.DecimalArrayField(5, 2).clean(["1.5", 2]) == [Decimal("1.50"), Decimal("2.00")]
    assert f.TimeArrayField().clean(["08:30"]) == [time(8, 30)]
    assert f.UUIDFieldREAL().clean(uuid.UUID(int=0)) == "00000000-0000-0000-0000-000000000000"


def test_raw_json_is_stored_as_the_value_it_encodes() -> None:
    from matrx_orm_core.fields import JSONBArrayField, JSONField, RawJSON

    field = JSONField()
    assert field.clean(RawJSON('{"a": [1, null]}')) == {"a": [1, None]}
    assert field.clean(RawJSON(b"3.5")) == 3.5
    assert field.clean('{"a": 1}') == '{"a": 1}'  # a plain str stays a JSON string
    assert field.get_db_text(RawJSON("[1, 2]")) == "[1, 2]"
    assert JSONBArrayField().clean([RawJSON("{}"), "{}"]) == [{}, "{}"]
    with pytest.raises(ValidationError, match="the RawJSON text is not valid JSON"):
        field.clean(RawJSON("{nope"))
    with pytest.raises(ValidationError, match="not JSON-serialisable"):
        field.clean(RawJSON("NaN"))  # json.loads reads it; PostgreSQL JSON cannot hold it
    with pytest.raises(TypeError, match="RawJSON takes JSON text"):
        RawJSON({"a": 1})  # type: ignore[arg-type]
    assert RawJSON("1") == RawJSON("1")
    assert repr(RawJSON("1")) == "RawJSON('1')"


@pytest.mark.parametrize(
    "lookup", ["tags__in", "tags__not_in", "tags__contains", "nums__icontains"]
)
async def test_array_lookups_that_cannot_apply_are_rejected_before_sql(
    recording_db: Recorder, lookup: str
) -> None:
    value: Any = [["a"]] if lookup.endswith("in") else "a"
    with pytest.raises(FieldError, match="does not apply to the array field"):
        await Kit.filter(**{lookup: value}).all()
    assert recording_db.statements == []


async def test_whole_array_comparison_is_one_bound_parameter(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[])
    await Kit.filter(tags=("a", "b")).all()
    (statement,) = recording_db.statements
    assert statement.params == (["a", "b"],)
