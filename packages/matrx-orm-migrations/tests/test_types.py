"""Type and default normalisation: one canonical spelling for models and the catalog."""

from __future__ import annotations

from typing import Any

import pytest

import matrx_orm_core.fields as fields_module
from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations._types import (
    ORM_TO_PG,
    PG_TYPE_ALIASES,
    normalize_default,
    normalize_type,
    orm_type_to_pg,
    same_default,
)
from matrx_orm_migrations.diff import ORM_TO_PG as DIFF_ORM_TO_PG
from matrx_orm_migrations.diff import PG_TYPE_ALIASES as DIFF_ALIASES


def test_alias_tables_are_the_spec_tables() -> None:
    assert DIFF_ALIASES is PG_TYPE_ALIASES
    assert DIFF_ORM_TO_PG is ORM_TO_PG
    for short, full in {
        "int4": "integer",
        "int8": "bigint",
        "int2": "smallint",
        "float4": "real",
        "float8": "double precision",
        "bool": "boolean",
        "varchar": "character varying",
        "timestamptz": "timestamp with time zone",
        "timestamp": "timestamp without time zone",
        "timetz": "time with time zone",
        "time": "time without time zone",
    }.items():
        assert PG_TYPE_ALIASES[short] == full
        assert normalize_type(short) == full
    assert ORM_TO_PG["TIMESTAMP"] == "timestamp with time zone"
    assert ORM_TO_PG["SERIAL"] == "integer"
    assert orm_type_to_pg("VARCHAR(20)") == "character varying(20)"
    assert orm_type_to_pg("NUMERIC(10,2)") == "numeric(10,2)"
    assert orm_type_to_pg("Geometry") == "geometry"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("integer", "integer"),
        ("INT", "integer"),
        ("serial", "integer"),
        ("BIGSERIAL", "bigint"),
        ("float", "double precision"),
        ("double  precision", "double precision"),
        ("real", "real"),
        ("varchar(50)", "character varying(50)"),
        ("character varying ( 50 )", "character varying(50)"),
        ("varchar", "character varying"),
        ("char", "character(1)"),
        ("char(3)", "character(3)"),
        ("bpchar(3)", "character(3)"),
        ("numeric", "numeric"),
        ("decimal(10, 2)", "numeric(10,2)"),
        ("numeric(7)", "numeric(7,0)"),
        ("timestamptz", "timestamp with time zone"),
        ("timestamptz(3)", "timestamp(3) with time zone"),
        ("timestamp(6) without time zone", "timestamp(6) without time zone"),
        ("TIMESTAMP WITH TIME ZONE", "timestamp with time zone"),
        ("time", "time without time zone"),
        ("timetz", "time with time zone"),
        ("interval", "interval"),
        ("bit varying(5)", "bit varying(5)"),
        ("varbit", "bit varying"),
        ("text[]", "text[]"),
        ("int[][]", "integer[]"),
        ("integer[3]", "integer[]"),
        ("text ARRAY", "text[]"),
        ("_dummy_not_array", '"public"."_dummy_not_array"'),
        ("uuid", "uuid"),
        ("jsonb", "jsonb"),
        ("hstore", "hstore"),
        ("extensions.citext", "citext"),
        ("vector(3)", "vector(3)"),
        ('"char"', '"char"'),
        ("mood", '"public"."mood"'),
        ("Mood", '"public"."mood"'),
        ('"Mood"', '"public"."Mood"'),
        ("other.mood[]", '"other"."mood"[]'),
        ('"a""b"."c d"', '"a""b"."c d"'),
        ('"public"."mood"', '"public"."mood"'),
    ],
)
def test_normalize_type(text: str, canonical: str) -> None:
    assert normalize_type(text) == canonical
    assert normalize_type(canonical) == canonical  # canonical text is a fixed point


def test_unqualified_user_types_take_the_schema() -> None:
    assert normalize_type("mood", "app") == '"app"."mood"'
    assert normalize_type("integer", "app") == "integer"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "int; DROP TABLE x",
        "varchar(10); --",
        "text)",
        "integer(5)",
        "numeric(a,b)",
        "boolean with time zone",
        "some unknown words",
        "x" * 64,
        "a\x00b",
        "mood'",
        "[]",
    ],
)
def test_normalize_type_rejects(text: str) -> None:
    with pytest.raises(MigrationError, match="not usable in DDL"):
        normalize_type(text, where="Model.field")


# Every field class the core exports must map to a built-in type the diff knows. A new field
# class is picked up automatically: its column type must normalise (an unknown type raises) and
# must not fall through to the user-type spelling ("schema"."name"), which would hide an
# unhandled built-in type. The classes below pin their exact spelling.
EXPECTED_FIELD_TYPES: dict[str, str] = {
    "ArrayField": "integer[]",
    "BigIntegerField": "bigint",
    "BinaryField": "bytea",
    "BooleanArrayField": "boolean[]",
    "BooleanField": "boolean",
    "CharField": "character varying(255)",
    "DateField": "date",
    "DateTimeField": "timestamp with time zone",
    "DecimalField": "numeric",
    "EnumField": "character varying(255)",
    "FloatField": "double precision",
    "HStoreField": "hstore",
    "IPAddressField": "inet",
    "IPNetworkField": "cidr",
    "IntegerArrayField": "integer[]",
    "IntegerField": "integer",
    "JSONBArrayField": "jsonb[]",
    "JSONBField": "jsonb",
    "JSONField": "jsonb",
    "MacAddressField": "macaddr",
    "MoneyField": "numeric(19,2)",
    "PointField": "point",
    "PrimitiveArrayField": "text[]",
    "SmallIntegerField": "smallint",
    "TextArrayField": "text[]",
    "TextField": "text",
    "TimeDeltaField": "interval",
    "TimeField": "time without time zone",
    "UUIDArrayField": "uuid[]",
    "UUIDField": "uuid",
    "VersionField": "integer",
}
NOT_COLUMNS = {"Field", "ForeignKey", "ManyToManyField"}
BUILDERS: dict[str, Any] = {
    "ArrayField": lambda cls: cls(fields_module.IntegerField()),
    "PrimitiveArrayField": lambda cls: cls("text"),
    "EnumField": lambda cls: cls(choices=["a"]),
}


def _column_field_classes() -> dict[str, type]:
    return {
        name: getattr(fields_module, name)
        for name in fields_module.__all__
        if isinstance(getattr(fields_module, name), type)
        and issubclass(getattr(fields_module, name), fields_module.Field)
        and name not in NOT_COLUMNS
    }


def test_every_core_field_type_is_known() -> None:
    classes = _column_field_classes()
    assert set(EXPECTED_FIELD_TYPES) <= set(classes), "a pinned field class was removed"
    for name, cls in sorted(classes.items()):
        try:
            field = BUILDERS.get(name, lambda c: c())(cls)
        except TypeError as err:  # pragma: no cover - a message for whoever adds the class
            pytest.fail(f"{name}() needs arguments: add a builder for it to BUILDERS ({err})")
        canonical = normalize_type(field.db_type, where=name)
        assert normalize_type(canonical) == canonical, name
        assert not canonical.startswith('"'), f"{name}: {field.db_type!r} is not a known type"
        if name in EXPECTED_FIELD_TYPES:
            assert canonical == EXPECTED_FIELD_TYPES[name], name


@pytest.mark.parametrize(
    ("options", "canonical"),
    [
        ({"max_length": None}, "character varying"),
        ({"max_length": 20}, "character varying(20)"),
    ],
)
def test_field_options_change_the_type(options: dict[str, Any], canonical: str) -> None:
    assert normalize_type(fields_module.CharField(**options).db_type) == canonical


def test_field_type_options() -> None:
    f = fields_module
    assert normalize_type(f.FloatField(precision="real").db_type) == "real"
    assert normalize_type(f.TimeField(timezone=True).db_type) == "time with time zone"
    assert normalize_type(f.DateTimeField(timezone=False).db_type) == "timestamp without time zone"
    assert normalize_type(f.JSONField(jsonb=False).db_type) == "json"
    assert normalize_type(f.DecimalField(max_digits=8, decimal_places=3).db_type) == "numeric(8,3)"
    assert normalize_type(f.TextField(db_type="citext").db_type) == "citext"


@pytest.mark.parametrize(
    ("model_side", "server_side"),
    [
        ("TRUE", "true"),
        ("FALSE", "false"),
        ("'abc'", "'abc'::character varying"),
        ("'it''s'", "'it''s'::text"),
        ("E'a\\\\b'", "'a\\b'::text"),
        ("(-5)", "'-5'::integer"),
        ("(-5)", "(-5)"),
        ("1.50", "1.5"),
        ("0", "0"),
        ("'{\"a\": 1}'", "'{\"a\": 1}'::jsonb"),
        ("now()", "now()"),
        ("NOW()", "now()"),
        ("'{}'", "'{}'::text[]"),
        ("'x'", "('x'::character varying)::text"),
        (
            "'2024-01-02T03:04:05.120000+00:00'",
            "'2024-01-02 04:04:05.12+01'::timestamp with time zone",
        ),
        ("'2024-01-02T03:04:05'", "'2024-01-02 03:04:05'::timestamp without time zone"),
        ("'2024-01-02'", "'2024-01-02'::date"),
        ("'03:04:05.123000'", "'03:04:05.123'::time without time zone"),
        ("'03:04:05+02:00'", "'03:04:05+02'::time with time zone"),
        ("'+1 days +5 seconds +0 microseconds'", "'1 day 00:00:05'::interval"),
        ("'+0 days -5 seconds +0 microseconds'", "'-00:00:05'::interval"),
        ("'-1 days +5 seconds +0 microseconds'", "'-1 days +00:00:05'::interval"),
    ],
)
def test_same_default_across_spellings(model_side: str, server_side: str) -> None:
    assert same_default(model_side, server_side)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("TRUE", "false"),
        ("'a'", "'A'"),
        ("1", "2"),
        ("'1'", "'01x'"),
        ("now()", "clock_timestamp()"),
        ("0", None),
        ("'2024-01-02T03:04:05+00:00'", "'2024-01-02 03:04:05+01'::timestamp with time zone"),
        ("'2024-01-02T03:04:05'", "'2024-01-02 03:04:06'"),
        ("'+1 days +0 seconds +0 microseconds'", "'1 mon'::interval"),
        ("'12:00 meeting'", "'12:00'"),
    ],
)
def test_different_defaults(left: str, right: str | None) -> None:
    assert not same_default(left, right)


def test_normalize_default_none_and_case_inside_quotes() -> None:
    assert normalize_default(None) is None
    assert normalize_default("UPPER('Keep')") == "upper('Keep')"
