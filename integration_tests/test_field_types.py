"""The issue-#4 field types round-trip through the real server: value, Python type and NULL.

Also pins the hstore codec's life cycle (installed only where the extension exists, refreshed
by ``CREATE EXTENSION``), the exact-type options of the first field set, and a Hypothesis
round-trip property (200 examples) for every field type.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import os
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from matrx_orm import (
    ArrayField,
    BinaryField,
    BooleanArrayField,
    CharField,
    DateTimeField,
    EnumField,
    FloatField,
    HStoreField,
    IntegerArrayField,
    IPAddressField,
    IPNetworkField,
    JSONBArrayField,
    JSONField,
    MacAddressField,
    Model,
    MoneyField,
    PointField,
    PrimitiveArrayField,
    TextArrayField,
    TimeDeltaField,
    TimeField,
    UUIDArrayField,
    UUIDField,
    ValidationError,
    VersionField,
)
from matrx_orm.core.async_db_manager import AsyncDatabaseManager
from matrx_orm.migrations import MigrationDB
from matrx_orm_core.testing.strategies import equivalent

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")
UTC = dt.timezone.utc
TABLE = "fields_types_sample"


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class Typed(Model):
    id = UUIDField(primary_key=True, default=uuid4)
    text_arr = TextArrayField()
    int_arr = IntegerArrayField()
    bool_arr = BooleanArrayField()
    uuid_arr = UUIDArrayField()
    jsonb_arr = JSONBArrayField()
    prim_arr = PrimitiveArrayField("numeric")
    char_arr = ArrayField(CharField(max_length=5))
    ts_arr = ArrayField(DateTimeField())
    enum_arr = ArrayField(EnumField(enum_class=Mood, max_length=10))
    inet_v = IPAddressField()
    cidr_v = IPNetworkField()
    mac_v = MacAddressField()
    hstore_v = HStoreField()
    point_v = PointField()
    money_v = MoneyField()
    pgmoney_v = MoneyField(db_type="money")
    bytes_v = BinaryField()
    interval_v = TimeDeltaField()
    varchar_v = CharField(max_length=None)
    real_v = FloatField(precision="real")
    timetz_v = TimeField(timezone=True)
    naive_v = DateTimeField(timezone=False)
    json_v = JSONField(jsonb=False)
    version = VersionField()

    _database = DB
    _table_name = TABLE


COLUMNS = {
    "text_arr": "text[]",
    "int_arr": "integer[]",
    "bool_arr": "boolean[]",
    "uuid_arr": "uuid[]",
    "jsonb_arr": "jsonb[]",
    "prim_arr": "numeric[]",
    "char_arr": "varchar(5)[]",
    "ts_arr": "timestamptz[]",
    "enum_arr": "varchar(10)[]",
    "inet_v": "inet",
    "cidr_v": "cidr",
    "mac_v": "macaddr",
    "hstore_v": "hstore",
    "point_v": "point",
    "money_v": "numeric(19,2)",
    "pgmoney_v": "money",
    "bytes_v": "bytea",
    "interval_v": "interval",
    "varchar_v": "varchar",
    "real_v": "real",
    "timetz_v": "timetz",
    "naive_v": "timestamp",
    "json_v": "json",
}


def test_db_types_are_the_declared_columns() -> None:
    """What DDL and the migration diff read: each field's exact column type."""
    for name, sql_type in COLUMNS.items():
        assert Typed._meta.fields[name].db_type == sql_type, name
    assert Typed._meta.fields["version"].db_type == "integer"


@pytest.fixture(scope="module", autouse=True)
def _stop_sync_loop() -> Iterator[None]:
    """The property tests run through the sync twins: close that loop's pools afterwards, so
    later modules that count pools start from none."""
    yield
    from matrx_orm_core import _loop

    _loop.shutdown()


@pytest.fixture
async def typed(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in COLUMNS.items())
    await db.execute(
        f'CREATE TABLE "{TABLE}" ("id" uuid PRIMARY KEY, {cols}, '
        '"version" integer NOT NULL DEFAULT 1)'
    )
    try:
        yield db
    finally:
        await db.execute(f'DROP TABLE "{TABLE}"')


U1, U2 = "6f1c2a4e-8b7d-4c1a-9e2f-0a1b2c3d4e5f", "00000000-0000-0000-0000-000000000001"
T0 = dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)
PLUS5 = dt.timezone(dt.timedelta(hours=5))
INF = float("inf")

CASES: list[tuple[str, Any, Any]] = [
    (
        "text_arr",
        ["a", "é ✓", "", "NULL", '"q"', "{x,y}"],
        ["a", "é ✓", "", "NULL", '"q"', "{x,y}"],
    ),
    ("text_arr", [], []),
    ("text_arr", ("t", None), ["t", None]),
    ("int_arr", [-(2**31), 0, 2**31 - 1, None], [-(2**31), 0, 2**31 - 1, None]),
    ("bool_arr", [True, False, None], [True, False, None]),
    ("bool_arr", ["yes", 0], [True, False]),
    ("uuid_arr", [U1, UUID(U2)], [U1, U2]),
    ("jsonb_arr", [{"a": [1, 2]}, [1, [2, 3]], "s", 1.5, None, True], None),
    ("jsonb_arr", [[]], [[]]),
    ("prim_arr", [Decimal("1.5"), Decimal("-2"), None], [Decimal("1.5"), Decimal("-2"), None]),
    ("char_arr", ["abcde", ""], ["abcde", ""]),
    (
        "ts_arr",
        [T0, dt.datetime(2024, 1, 1, 12, tzinfo=PLUS5)],
        [T0, dt.datetime(2024, 1, 1, 7, tzinfo=UTC)],
    ),
    ("enum_arr", [Mood.SAD, "happy", None], [Mood.SAD, Mood.HAPPY, None]),
    ("inet_v", "192.0.2.1", ipaddress.ip_address("192.0.2.1")),
    ("inet_v", "10.0.0.5/24", ipaddress.ip_interface("10.0.0.5/24")),
    ("inet_v", "10.0.0.5/32", ipaddress.ip_address("10.0.0.5")),
    ("inet_v", ipaddress.ip_address("2001:db8::1"), ipaddress.ip_address("2001:db8::1")),
    ("inet_v", "2001:db8::1/64", ipaddress.ip_interface("2001:db8::1/64")),
    ("cidr_v", "10.0.0.0/8", ipaddress.ip_network("10.0.0.0/8")),
    ("cidr_v", "2001:db8::/32", ipaddress.ip_network("2001:db8::/32")),
    ("cidr_v", ipaddress.ip_address("192.0.2.7"), ipaddress.ip_network("192.0.2.7/32")),
    ("mac_v", "08:00:2B:01:02:03", "08:00:2b:01:02:03"),
    ("mac_v", "0800.2b01.0203", "08:00:2b:01:02:03"),
    ("hstore_v", {"a": "1", "é": "✓", "n": None, "": "empty key"}, None),
    ("hstore_v", {}, {}),
    ("point_v", (1.5, -2), (1.5, -2.0)),
    ("point_v", [INF, -INF], (INF, -INF)),
    ("money_v", Decimal("12345678901234567.89"), Decimal("12345678901234567.89")),
    ("money_v", "-0.5", Decimal("-0.50")),
    ("pgmoney_v", Decimal("92233720368547758.07"), Decimal("92233720368547758.07")),
    ("pgmoney_v", 3, Decimal("3.00")),
    ("bytes_v", b"\x00\xffbinary\x00", b"\x00\xffbinary\x00"),
    ("bytes_v", bytearray(b"ab"), b"ab"),
    ("bytes_v", b"", b""),
    ("interval_v", dt.timedelta(days=-3, microseconds=1), dt.timedelta(days=-3, microseconds=1)),
    ("interval_v", dt.timedelta(days=999999), dt.timedelta(days=999999)),
    ("varchar_v", "x" * 20_000, "x" * 20_000),
    ("real_v", 1.5, 1.5),
    ("real_v", INF, INF),
    ("timetz_v", dt.time(23, 59, 59, 999999, tzinfo=UTC), dt.time(23, 59, 59, 999999, tzinfo=UTC)),
    ("timetz_v", dt.time(8, 30), dt.time(8, 30, tzinfo=UTC)),
    ("naive_v", dt.datetime(2024, 1, 1, 12, tzinfo=PLUS5), dt.datetime(2024, 1, 1, 7)),
    ("naive_v", "2024-01-01T12:00:00Z", dt.datetime(2024, 1, 1, 12)),
    ("naive_v", dt.datetime(1, 1, 1), dt.datetime(1, 1, 1)),
    ("json_v", {"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}),
    ("version", 7, 7),
    ("version", 2**31 - 1, 2**31 - 1),
]


@pytest.mark.parametrize(
    ("field", "given", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
async def test_round_trip(typed: MigrationDB, field: str, given: Any, expected: Any) -> None:
    expected = given if expected is None else expected
    made = await Typed.create(**{field: given})
    assert equivalent(getattr(made, field), expected)
    loaded = await Typed.get(id=made.id, use_cache=False)
    assert equivalent(getattr(loaded, field), expected), getattr(loaded, field)


async def test_version_starts_at_one(typed: MigrationDB) -> None:
    made = await Typed.create()
    loaded = await Typed.get(id=made.id, use_cache=False)
    assert (made.version, loaded.version, type(loaded.version)) == (1, 1, int)


@pytest.mark.parametrize("field", list(COLUMNS))
async def test_null_round_trip(typed: MigrationDB, field: str) -> None:
    made = await Typed.create(**{field: None})
    loaded = await Typed.get(id=made.id, use_cache=False)
    assert getattr(loaded, field) is None
    raw = await typed.fetch_val(f'SELECT "{field}" IS NULL FROM "{TABLE}" WHERE id = $1', made.id)
    assert raw is True


async def test_jsonb_array_elements_stay_one_dimension(typed: MigrationDB) -> None:
    made = await Typed.create(jsonb_arr=[[1, 2], {"k": [3]}, []])
    row = await typed.fetch_one(
        f'SELECT array_ndims("jsonb_arr") AS d, cardinality("jsonb_arr") AS n, '
        f'jsonb_typeof("jsonb_arr"[1]) AS t FROM "{TABLE}" WHERE id = $1',
        made.id,
    )
    assert (row["d"], row["n"], row["t"]) == (1, 3, "array")


async def test_interval_months_read_as_30_days(typed: MigrationDB) -> None:
    made = await Typed.create()
    await typed.execute(
        f"UPDATE \"{TABLE}\" SET interval_v = interval '1 year 2 months 3 days' WHERE id = $1",
        made.id,
    )
    loaded = await Typed.get(id=made.id, use_cache=False)
    assert loaded.interval_v == dt.timedelta(days=365 + 60 + 3)


async def test_multidimensional_array_written_by_sql_reads_as_nested_lists(
    typed: MigrationDB,
) -> None:
    """Never garbled: a 2-D value stored outside the ORM reads back with its shape."""
    made = await Typed.create()
    await typed.execute(
        f"UPDATE \"{TABLE}\" SET int_arr = '{{{{1,2}},{{3,4}}}}' WHERE id = $1", made.id
    )
    loaded = await Typed.get(id=made.id, use_cache=False)
    assert loaded.int_arr == [[1, 2], [3, 4]]


async def test_bad_values_are_rejected_before_sql(typed: MigrationDB) -> None:
    bad = {
        "int_arr": [[1, 2]],
        "inet_v": "999.1.1.1",
        "cidr_v": "10.0.0.5/24",
        "hstore_v": {"a": 1},
        "point_v": (1, 2, 3),
        "pgmoney_v": Decimal("92233720368547758.08"),
        "bytes_v": "text",
        "interval_v": 60,
    }
    for name, value in bad.items():
        with pytest.raises(ValidationError) as info:
            await Typed.create(**{name: value})
        assert f"Typed.{name}" in str(info.value)
    assert await typed.fetch_val(f'SELECT count(*) FROM "{TABLE}"') == 0


async def test_filter_on_new_types(typed: MigrationDB) -> None:
    made = await Typed.create(
        inet_v="10.0.0.5/24", mac_v="08-00-2b-01-02-03", text_arr=["a", "b"], bytes_v=b"\x01"
    )
    assert (await Typed.get(inet_v="10.0.0.5/24", use_cache=False)).id == made.id
    assert (await Typed.get(mac_v="08002b010203", use_cache=False)).id == made.id
    assert (await Typed.get(text_arr=["a", "b"], use_cache=False)).id == made.id
    assert (await Typed.get(bytes_v=b"\x01", use_cache=False)).id == made.id


async def test_bulk_create_round_trips_the_new_types(typed: MigrationDB) -> None:
    rows = [
        {
            "text_arr": ["x", None],
            "jsonb_arr": [[1], {"a": 2}],
            "inet_v": "2001:db8::1/64",
            "cidr_v": "10.1.0.0/16",
            "mac_v": "08:00:2b:01:02:03",
            "hstore_v": {"k": "v", "z": None},
            "point_v": (0.5, 2.0),
            "pgmoney_v": Decimal("-1.25"),
            "money_v": Decimal("7.10"),
            "bytes_v": b"\x00",
            "interval_v": dt.timedelta(seconds=1.5),
        }
    ] * 3
    made = await Typed.bulk_create(rows)
    assert len(made) == 3
    for instance in made:
        loaded = await Typed.get(id=instance.id, use_cache=False)
        for name, value in rows[0].items():
            expected = Typed._meta.fields[name].clean(value)
            assert equivalent(getattr(loaded, name), expected), name


# --- hstore codec life cycle -------------------------------------------------------------------


def test_hstore_codec_follows_create_extension(matrx_test_server: Any) -> None:
    """A database without hstore works (no codec, no error); CREATE EXTENSION through the ORM
    makes hstore decode as dict on the running connection and on the pool's other ones."""
    import asyncio

    from matrx_orm_core.testing._server import scratch_database

    async def scenario() -> None:
        db = MigrationDB("fields_hstore")
        await db.execute('CREATE TABLE "h" ("id" integer PRIMARY KEY, "v" text)')
        assert await db.fetch_val("SELECT count(*) FROM pg_type WHERE typname = 'hstore'") == 0
        await db.execute("CREATE SCHEMA ext; CREATE EXTENSION hstore SCHEMA ext")
        await db.execute('ALTER TABLE "h" ALTER COLUMN "v" TYPE ext.hstore USING NULL')
        await db.execute("INSERT INTO \"h\" VALUES (1, 'a=>1, b=>NULL'::ext.hstore)")
        pool = await AsyncDatabaseManager.get_pool("fields_hstore")
        values = await asyncio.gather(
            *[db.fetch_val('SELECT "v" FROM "h" WHERE id = 1') for _ in range(4)]
        )
        assert pool.get_size() >= 1
        for value in values:
            assert value == {"a": "1", "b": None}
        await db.execute('INSERT INTO "h" VALUES (2, $1)', {"c": "3"})
        assert await db.fetch_val('SELECT ext.fetchval("v", \'c\') FROM "h" WHERE id = 2') == "3"

    async def run() -> None:
        try:
            await scenario()
        finally:
            await AsyncDatabaseManager.close_pool("fields_hstore")

    with scratch_database(matrx_test_server, alias="fields_hstore", min_size=3):
        asyncio.run(run())


# --- Hypothesis: every type, 200 examples each -------------------------------------------------

PROPERTY_FIELDS = [*COLUMNS, "version"]


@pytest.mark.parametrize("field", PROPERTY_FIELDS)
def test_property_round_trip(typed: MigrationDB, field: str) -> None:
    """Any valid value of each type comes back equal and of the same type (NULL included).

    Each example is a real INSERT and SELECT through the sync twins, on one table.
    """
    from matrx_orm_core.testing.strategies import arrays, check_round_trips, decimals

    strategy = arrays(decimals(None, 0)) if field == "prim_arr" else None  # elements undescribed
    assert len(check_round_trips(Typed, field, strategy)) >= 200


# --- upstream's further fields (matrx_orm.core.fields) ------------------------------------------

from matrx_orm.core import fields as more  # noqa: E402

FURTHER_TABLE = "fields_further_sample"


class Further(Model):
    id = UUIDField(primary_key=True, default=uuid4)
    floats = more.FloatArrayField()
    bigints = more.BigIntegerArrayField()
    smallints = more.SmallIntegerArrayField()
    decimals = more.DecimalArrayField(8, 3)
    numerics = more.NumericArrayField()
    dates = more.DateArrayField()
    times = more.TimeArrayField()
    v6s = more.IPv6ArrayField()
    nets = more.IPNetworkArrayField()
    stores = more.HStoreArrayField()
    ci = more.CITextField()
    email = more.EmailField()
    slug = more.SlugField()
    real_uuid = more.UUIDFieldREAL()
    v4 = more.IPv4Field()
    v6 = more.IPv6Field()

    _database = DB
    _table_name = FURTHER_TABLE


@pytest.fixture
async def further(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    await db.execute("CREATE EXTENSION IF NOT EXISTS citext")
    cols = ", ".join(
        f'"{name}" {field.db_type}' for name, field in Further._meta.fields.items() if name != "id"
    )
    await db.execute(f'CREATE TABLE "{FURTHER_TABLE}" ("id" uuid PRIMARY KEY, {cols})')
    try:
        yield db
    finally:
        await db.execute(f'DROP TABLE "{FURTHER_TABLE}"')


async def test_further_citext_compares_case_insensitively(further: MigrationDB) -> None:
    made = await Further.create(ci="Hello World", email="Ada@Example.com")
    assert (await Further.get(ci="hello WORLD", use_cache=False)).id == made.id
    loaded = await Further.get(id=made.id, use_cache=False)
    assert (loaded.ci, loaded.email) == ("Hello World", "Ada@Example.com")


@pytest.mark.parametrize("field", [name for name in Further._meta.fields if name != "id"])
def test_further_property_round_trip(further: MigrationDB, field: str) -> None:
    """200 Hypothesis examples per further field type, NULL included, through the server."""
    from matrx_orm_core.testing.strategies import check_round_trips

    assert len(check_round_trips(Further, field)) >= 200
