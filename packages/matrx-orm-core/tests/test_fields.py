"""Level1 tests for the Field base class and the scalar field types."""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from matrx_orm_core.exceptions import FieldError, ValidationError
from matrx_orm_core.fields import (
    NOT_PROVIDED,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    EnumField,
    Field,
    FloatField,
    IntegerField,
    JSONBField,
    JSONField,
    OrderBy,
    SmallIntegerField,
    TextField,
    UUIDField,
)


class User:
    """Stand-in model class (fields only need a class to name in messages)."""


def attach(field: Field[Any], name: str = "value", model: type = User) -> Field[Any]:
    field.contribute_to_class(model, name)
    return field


# -- Field base ------------------------------------------------------------------------------


def test_base_field_attributes_and_defaults() -> None:
    f = Field(db_type="text", unique=True, index=True, comment="hi")
    assert f.db_type == "text"
    assert f.null is True
    assert f.nullable is True
    assert f.unique is True
    assert f.index is True
    assert f.primary_key is False
    assert f.is_native is True
    assert f.extra == {"comment": "hi"}
    assert f.validators == []
    assert f.name is None
    assert f.model is None
    assert f.needs_load_conversion is False


def test_base_field_without_db_type_raises_field_error() -> None:
    with pytest.raises(FieldError, match="needs a db_type"):
        Field()


def test_empty_db_type_raises_field_error() -> None:
    with pytest.raises(FieldError, match="non-empty string"):
        CharField(db_type="  ")


def test_db_type_override_on_typed_field() -> None:
    assert UUIDField(db_type="text").db_type == "text"
    assert CharField(max_length=10, db_type="character varying(10)").db_type == (
        "character varying(10)"
    )


def test_nullable_rules() -> None:
    assert Field(db_type="text", null=False).nullable is False
    assert Field(db_type="text", null=False, nullable=True).nullable is True
    assert Field(db_type="text", nullable=False).nullable is False
    assert Field(db_type="text", primary_key=True, nullable=True).nullable is False


def test_contribute_to_class_sets_name_model_column() -> None:
    f = attach(TextField(), "bio")
    assert (f.name, f.column, f.model) == ("bio", "bio", User)


def test_set_name_names_a_field_declared_on_a_plain_class() -> None:
    class Thing:
        title = CharField()

    assert Thing.title.name == "title"
    assert Thing.title.column == "title"
    assert Thing.title.model is None


def test_descriptor_class_access_returns_field_instance_value_from_dict() -> None:
    class Thing:
        title = CharField()

    thing = Thing()
    thing.__dict__["title"] = "hello"
    assert isinstance(Thing.title, CharField)
    assert thing.title == "hello"


def test_descriptor_missing_instance_value_raises_attribute_error() -> None:
    class Thing:
        title = CharField()

    with pytest.raises(AttributeError, match=r"title has no value on this Thing instance"):
        _ = Thing().title
    assert not hasattr(Thing(), "title")


def test_default_handling() -> None:
    assert Field(db_type="text").has_default() is False
    assert Field(db_type="text").get_default() is None
    f = Field(db_type="integer", default=5)
    assert f.has_default() is True
    assert f.get_default() == 5
    calls: list[int] = []

    def factory() -> int:
        calls.append(1)
        return len(calls)

    g = Field(db_type="integer", default=factory)
    assert (g.get_default(), g.get_default()) == (1, 2)


def test_mutable_default_is_copied_per_call() -> None:
    f = JSONField(default={"a": [1]})
    first = f.get_default()
    first["a"].append(2)
    assert f.get_default() == {"a": [1]}


def test_desc_asc_return_order_by_without_mutating_field() -> None:
    f = attach(CharField(), "name")
    assert f.desc() == OrderBy("name", True)
    assert f.asc() == OrderBy("name", False)
    assert f.desc() is not f


def test_desc_on_unattached_field_raises() -> None:
    with pytest.raises(FieldError, match="not attached to a model"):
        Field(db_type="text").desc()


def test_order_by_parse() -> None:
    assert OrderBy.parse("-created") == OrderBy("created", True)
    assert OrderBy.parse("name") == OrderBy("name", False)
    with pytest.raises(FieldError, match="Invalid order_by term"):
        OrderBy.parse("-")


def test_order_by_is_frozen_and_hashable() -> None:
    order = OrderBy("a")
    assert hash(order) == hash(OrderBy("a", False))
    with pytest.raises(AttributeError):
        order.descending = True  # type: ignore[misc]


def test_not_provided_sentinel() -> None:
    assert repr(NOT_PROVIDED) == "NOT_PROVIDED"
    assert not NOT_PROVIDED
    assert type(NOT_PROVIDED)() is NOT_PROVIDED


def test_to_dict() -> None:
    def check(value: Any) -> None:
        return None

    f = attach(CharField(max_length=20, default=str, validators=[check], help="x"), "name")
    assert f.to_dict() == {
        "type": "CharField",
        "name": "name",
        "model": "User",
        "column": "name",
        "is_native": True,
        "null": True,
        "nullable": True,
        "unique": False,
        "primary_key": False,
        "index": False,
        "default": "str",
        "validators": ["check"],
        "db_type": "varchar(20)",
        "max_length": 20,
        "help": "x",
    }


def test_repr() -> None:
    assert repr(attach(TextField(), "bio")) == "<TextField: User.bio>"
    assert repr(TextField()) == "<TextField: <unnamed TextField>>"


def test_none_for_non_nullable_field_names_model_and_field() -> None:
    f = attach(CharField(null=False), "username")
    with pytest.raises(ValidationError) as info:
        f.get_db_prep_value(None)
    err = info.value
    assert err.model == "User"
    assert err.field == "username"
    assert err.message == (
        "User.username: None is not allowed (the column is NOT NULL). Give a value, set a "
        "default, or declare the field with null=True."
    )
    with pytest.raises(ValidationError, match="NOT NULL"):
        f.clean(None)


def test_none_for_nullable_field_passes() -> None:
    f = attach(CharField(), "nick")
    assert f.get_db_prep_value(None) is None
    assert f.clean(None) is None
    assert f.to_python(None) is None


def test_validation_error_is_value_error_and_keeps_value_out_of_message() -> None:
    f = attach(CharField(max_length=3), "code")
    with pytest.raises(ValueError, match="more than max_length=3") as info:
        f.clean("secret-value")
    assert "secret-value" not in str(info.value)
    assert info.value.details["value"] == "secret-value"


def test_sync_validators_run_in_clean() -> None:
    def no_admin(value: str) -> None:
        if value == "admin":
            raise ValueError("reserved name")

    f = attach(CharField(validators=[no_admin]), "username")
    assert f.clean("bob") == "bob"
    with pytest.raises(ValidationError) as info:
        f.clean("admin")
    assert info.value.message == (
        "User.username: validator no_admin rejected the value: reserved name."
    )
    assert isinstance(info.value.__cause__, ValueError)


def test_validator_raising_validation_error_propagates_unchanged() -> None:
    original = ValidationError("custom")

    def strict(value: str) -> None:
        raise original

    f = attach(CharField(validators=[strict]), "username")
    with pytest.raises(ValidationError) as info:
        f.clean("x")
    assert info.value is original


async def test_async_validators_run_in_validate_only() -> None:
    seen: list[str] = []

    async def remote_check(value: str) -> None:
        seen.append(value)
        if value == "taken":
            raise ValueError("already taken")

    f = attach(CharField(validators=[remote_check]), "username")
    assert f.has_async_validators is True
    assert f.clean("taken") == "taken"
    assert seen == []
    assert await f.validate("free") == "free"
    with pytest.raises(ValidationError, match="validator remote_check rejected the value"):
        await f.validate("taken")
    assert seen == ["free", "taken"]


async def test_validate_checks_null_and_types() -> None:
    f = attach(IntegerField(null=False), "age")
    with pytest.raises(ValidationError, match="NOT NULL"):
        await f.validate(None)
    with pytest.raises(ValidationError, match="expected an int"):
        await f.validate("3")


def test_sync_validator_returning_awaitable_is_a_field_error() -> None:
    async def inner(value: Any) -> None:
        return None

    def sneaky(value: Any) -> Any:
        return inner(value)

    f = attach(CharField(validators=[sneaky]), "username")
    assert f.has_async_validators is False
    with pytest.raises(FieldError, match="declare it with 'async def'"):
        f.clean("x")


# -- text --------------------------------------------------------------------------------------


def test_char_field_types_and_length() -> None:
    f = attach(CharField(max_length=5), "code")
    assert f.db_type == "varchar(5)"
    assert f.python_type is str
    assert f.get_db_prep_value("abcde") == "abcde"
    assert f.clean("héllo") == "héllo"  # characters, not bytes
    with pytest.raises(ValidationError, match="6 characters, more than max_length=5"):
        f.get_db_prep_value("abcdef")


def test_char_field_default_and_unbounded() -> None:
    assert CharField().db_type == "varchar(255)"
    assert CharField(max_length=None).db_type == "varchar"
    assert CharField(max_length=None).clean("x" * 100_000) == "x" * 100_000


@pytest.mark.parametrize("bad", [0, -1, 10_485_761, 2.5, "10", True])
def test_char_field_invalid_max_length(bad: Any) -> None:
    with pytest.raises(FieldError, match="max_length"):
        CharField(max_length=bad)


@pytest.mark.parametrize("bad", [42, 1.5, b"bytes", ["a"], uuid.UUID(int=0)])
def test_text_fields_reject_non_str(bad: Any) -> None:
    for field in (attach(CharField(), "a"), attach(TextField(), "b")):
        with pytest.raises(ValidationError, match="expected a str"):
            field.get_db_prep_value(bad)
        with pytest.raises(ValidationError, match="expected a str"):
            field.to_python(bad)


def test_text_field_rejects_nul_and_accepts_str_subclass() -> None:
    class Name(str):
        pass

    f = attach(TextField(), "bio")
    assert f.db_type == "text"
    converted = f.to_python(Name("x"))
    assert converted == "x"
    assert type(converted) is str
    with pytest.raises(ValidationError, match="NUL character"):
        f.get_db_prep_value("a\x00b")


def test_uuid_field_accepts_str_and_uuid() -> None:
    f = attach(UUIDField(primary_key=True), "id")
    value = uuid.uuid4()
    assert f.db_type == "uuid"
    assert f.python_type is str
    assert f.nullable is False
    assert f.to_python(value) == str(value)
    assert f.get_db_prep_value(str(value).upper()) == str(value)
    assert f.get_db_prep_value("{" + str(value) + "}") == str(value)
    assert f.needs_load_conversion is False


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "1234"])
def test_uuid_field_rejects_invalid_text(bad: str) -> None:
    f = attach(UUIDField(), "id")
    with pytest.raises(ValidationError, match="not a valid UUID"):
        f.get_db_prep_value(bad)


def test_uuid_field_rejects_other_types() -> None:
    with pytest.raises(ValidationError, match=r"expected a UUID str or a uuid\.UUID"):
        attach(UUIDField(), "id").to_python(12)


def test_uuid_field_callable_default_called_per_instance_and_normalised() -> None:
    f = UUIDField(default=uuid.uuid4)
    first, second = f.get_default(), f.get_default()
    assert isinstance(first, str)
    assert first != second
    assert str(uuid.UUID(first)) == first


def test_uuid_field_gen_random_uuid_default_is_client_side_uuid4() -> None:
    f = UUIDField(default="gen_random_uuid()")
    assert f.has_default() is True
    value = f.get_default()
    assert value is not None
    assert uuid.UUID(value).version == 4
    assert value != f.get_default()


def test_uuid_field_plain_default_normalised() -> None:
    fixed = "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"
    assert UUIDField(default=fixed).get_default() == fixed.lower()
    assert UUIDField().get_default() is None
    assert UUIDField().has_default() is False


# -- numeric -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "db_type", "low", "high"),
    [
        (IntegerField, "integer", -(2**31), 2**31 - 1),
        (BigIntegerField, "bigint", -(2**63), 2**63 - 1),
        (SmallIntegerField, "smallint", -(2**15), 2**15 - 1),
    ],
)
def test_integer_fields_range(cls: type[IntegerField], db_type: str, low: int, high: int) -> None:
    f = attach(cls(), "n")
    assert f.db_type == db_type
    assert f.python_type is int
    assert f.get_db_prep_value(low) == low
    assert f.get_db_prep_value(high) == high
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError, match=rf"outside the {db_type} range"):
            f.get_db_prep_value(bad)
        with pytest.raises(ValidationError, match="outside"):
            f.clean(bad)
    assert f.to_python(high + 1) == high + 1  # conversion only; checks run in clean/prep


@pytest.mark.parametrize("bad", [True, False, "42", 4.0, Decimal(4), [1]])
def test_integer_field_accepts_int_only(bad: Any) -> None:
    with pytest.raises(ValidationError, match="expected an int"):
        attach(IntegerField(), "n").clean(bad)


def test_integer_field_int_subclass_becomes_int() -> None:
    class Code(int):
        pass

    value = attach(IntegerField(), "n").clean(Code(7))
    assert value == 7
    assert type(value) is int


def test_float_field() -> None:
    f = attach(FloatField(), "score")
    assert f.db_type == "double precision"
    assert f.python_type is float
    assert f.get_db_prep_value(3) == 3.0
    assert type(f.get_db_prep_value(3)) is float
    assert f.clean(2.5) == 2.5
    assert f.clean(float("inf")) == float("inf")
    for bad in (True, "1.5", Decimal("1.5")):
        with pytest.raises(ValidationError, match="expected an int or a float"):
            f.clean(bad)
    with pytest.raises(ValidationError, match="too large for a float"):
        f.clean(10**400)


def test_float_field_real_precision() -> None:
    f = attach(FloatField(precision="real"), "score")
    assert f.db_type == "real"
    assert f.clean(3.0e38) == 3.0e38
    with pytest.raises(ValidationError, match="outside the range of PostgreSQL real"):
        f.clean(1e39)
    assert f.to_dict()["precision"] == "real"
    with pytest.raises(FieldError, match="precision"):
        FloatField(precision="single")


def test_decimal_field_db_types() -> None:
    assert DecimalField().db_type == "numeric"
    assert DecimalField(max_digits=10).db_type == "numeric(10,2)"
    assert DecimalField(max_digits=5, decimal_places=0).db_type == "numeric(5,0)"
    assert DecimalField().python_type is Decimal


def test_decimal_field_accepts_and_quantizes() -> None:
    f = attach(DecimalField(max_digits=5, decimal_places=2), "price")
    assert repr(f.clean("1.5")) == "Decimal('1.50')"
    assert repr(f.clean(7)) == "Decimal('7.00')"
    assert repr(f.clean(Decimal("999.99"))) == "Decimal('999.99')"
    assert repr(f.clean(Decimal("-999.99"))) == "Decimal('-999.99')"
    assert repr(f.clean(Decimal("1.500"))) == "Decimal('1.50')"
    assert f.get_db_prep_value(" 2.25 ") == Decimal("2.25")


def test_decimal_field_rejects_too_many_places_and_digits() -> None:
    f = attach(DecimalField(max_digits=5, decimal_places=2), "price")
    with pytest.raises(ValidationError, match="more than decimal_places=2 decimal places"):
        f.clean("1.555")
    with pytest.raises(ValidationError, match=r"more than 3 digits before the decimal point"):
        f.clean("1000")
    with pytest.raises(ValidationError, match=r"more than 3 digits"):
        f.clean(Decimal("1E+30"))


def test_decimal_field_large_precision() -> None:
    f = attach(DecimalField(max_digits=60, decimal_places=10), "big")
    value = Decimal("1" * 50 + ".1234567891")
    assert f.clean(value) == value


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (1.5, "float values are not accepted"),
        ("abc", "not a decimal number"),
        (True, "expected a Decimal, an int or a numeric str"),
        (Decimal("NaN"), "NaN and infinite values"),
        ("Infinity", "NaN and infinite values"),
    ],
)
def test_decimal_field_rejects(bad: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        attach(DecimalField(max_digits=5), "price").clean(bad)


def test_decimal_field_unconstrained_does_not_round() -> None:
    f = attach(DecimalField(), "amount")
    assert repr(f.clean("1.23456")) == "Decimal('1.23456')"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_digits": 0},
        {"max_digits": 1001},
        {"max_digits": 3, "decimal_places": 4},
        {"decimal_places": -1},
    ],
)
def test_decimal_field_invalid_declaration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(FieldError):
        DecimalField(**kwargs)


# -- boolean -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("FALSE", False),
        (" Yes ", True),
        ("no", False),
        ("on", True),
        ("off", False),
        ("t", True),
        ("F", False),
        ("1", True),
        ("0", False),
        ("y", True),
        ("n", False),
    ],
)
def test_boolean_to_python(raw: Any, expected: bool) -> None:
    f = attach(BooleanField(), "active")
    assert f.to_python(raw) is expected
    assert f.clean(raw) is expected


@pytest.mark.parametrize("bad", ["maybe", "", 2, -1, 1.0, [], "nope"])
def test_boolean_to_python_rejects_unknown(bad: Any) -> None:
    with pytest.raises(ValidationError):
        attach(BooleanField(), "active").to_python(bad)


def test_boolean_db_prep_accepts_bool_only() -> None:
    f = attach(BooleanField(), "active")
    assert f.db_type == "boolean"
    assert f.get_db_prep_value(True) is True
    assert f.get_db_prep_value(False) is False
    for bad in ("true", 1, 0):
        with pytest.raises(ValidationError, match="expected a bool"):
            f.get_db_prep_value(bad)


# -- json --------------------------------------------------------------------------------------


def test_json_fields_db_types() -> None:
    assert JSONField().db_type == "jsonb"
    assert JSONField(jsonb=False).db_type == "json"
    assert JSONBField().db_type == "jsonb"
    assert JSONField().needs_load_conversion is False


@pytest.mark.parametrize(
    "value", [{"a": [1, 2.5, None, True]}, [1, "x"], "just a string", 3, 2.5, True, (1, 2)]
)
def test_json_field_accepts_serialisable_values_unchanged(value: Any) -> None:
    f = attach(JSONField(), "data")
    assert f.get_db_prep_value(value) is value
    assert f.clean(value) is value


def test_json_field_str_is_a_json_string_not_parsed() -> None:
    f = attach(JSONField(), "data")
    assert f.to_python('{"a": 1}') == '{"a": 1}'


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"a": object()}, "not JSON-serialisable"),
        ({1, 2}, "not JSON-serialisable"),
        (float("nan"), "not JSON-serialisable"),
        ({"a": float("inf")}, "not JSON-serialisable"),
        ("a\x00b", "NUL character"),
        ({"k": ["a\x00"]}, "NUL character"),
        ({"k\x00": 1}, "NUL character"),
    ],
)
def test_json_field_rejects(bad: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        attach(JSONField(), "data").get_db_prep_value(bad)


def test_json_field_escaped_backslash_u0000_text_is_fine() -> None:
    value = {"text": "\\u0000 is how JSON spells NUL"}
    assert attach(JSONField(), "data").clean(value) is value


# -- enum --------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


def test_enum_field_with_enum_class() -> None:
    f = attach(EnumField(Color), "color")
    assert f.db_type == "varchar(255)"
    assert f.python_type is Color
    assert f.needs_load_conversion is True
    assert f.to_python("red") is Color.RED
    assert f.to_python(Color.GREEN) is Color.GREEN
    assert f.from_db_value("green") is Color.GREEN
    assert f.get_db_prep_value(Color.RED) == "red"
    assert f.get_db_prep_value("green") == "green"
    assert f.choices == ("red", "green")


def test_enum_field_invalid_value_lists_valid_values() -> None:
    f = attach(EnumField(Color), "color")
    with pytest.raises(ValidationError) as info:
        f.clean("blue")
    assert info.value.message == (
        "User.color: the value is not one of the allowed values ('red', 'green'). Pass one of "
        "the allowed values or a Color member."
    )


def test_enum_field_rejects_member_of_other_enum() -> None:
    class Other(enum.Enum):
        RED = "red"

    with pytest.raises(ValidationError, match="not one of the allowed values"):
        attach(EnumField(Color), "color").clean(Other.RED)


def test_enum_field_with_choices() -> None:
    f = attach(EnumField(choices=["a", "b"], max_length=10), "kind")
    assert f.db_type == "varchar(10)"
    assert f.python_type is str
    assert f.needs_load_conversion is False
    assert f.clean("a") == "a"
    assert f.get_db_prep_value("b") == "b"
    with pytest.raises(ValidationError, match=r"allowed values \('a', 'b'\)\. Pass one of the "):
        f.get_db_prep_value("c")
    with pytest.raises(ValidationError):
        f.get_db_prep_value(["a"])
    assert f.to_dict()["choices"] == ["a", "b"]


def test_enum_field_choices_accept_enum_member_value() -> None:
    f = attach(EnumField(choices=["red", "green"]), "c")
    assert f.clean(Color.RED) == "red"


def test_enum_field_unbounded() -> None:
    assert EnumField(choices=["a"], max_length=None).db_type == "varchar"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of"),
        ({"enum_class": Color, "choices": ["a"]}, "exactly one of"),
        ({"choices": "abc"}, "not one string"),
        ({"choices": []}, "at least one value"),
        ({"choices": [1, 2]}, "must be str"),
        ({"choices": ["toolong"], "max_length": 3}, "longer than max_length=3"),
        ({"enum_class": int}, "must be an Enum subclass"),
        ({"choices": ["a"], "max_length": 0}, "max_length"),
    ],
)
def test_enum_field_invalid_declarations(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(FieldError, match=message):
        EnumField(**kwargs)


def test_enum_field_non_str_enum_values_rejected() -> None:
    class Level(enum.Enum):
        LOW = 1

    with pytest.raises(FieldError, match="must be str"):
        EnumField(Level)


# -- fast paths ----------------------------------------------------------------------------------


def test_get_db_text_checks_like_get_db_prep_value_and_encodes_once() -> None:
    field = JSONField()
    attach(field, "data")
    for value in ({"a": [1, 2.5, None, True]}, [1, "é"], "s", 3, None):
        expected = None if value is None else json.dumps(value)
        assert field.get_db_text(value) == expected
    cycle: list[Any] = []
    cycle.append(cycle)
    for bad in ({"a": object()}, {"a": float("nan")}, {"k": ["a\x00"]}, cycle, "a\x00"):
        with pytest.raises(ValidationError) as text_error:
            field.get_db_text(bad)
        with pytest.raises(ValidationError) as prep_error:
            field.get_db_prep_value(bad)
        assert text_error.value.message == prep_error.value.message
    not_null = JSONField(null=False)
    attach(not_null, "data")
    with pytest.raises(ValidationError, match="None is not allowed"):
        not_null.get_db_text(None)


def test_uuid_prepared_defaults_are_canonical_uuid4_text() -> None:
    for default in (uuid.uuid4, "gen_random_uuid()"):
        values = UUIDField(default=default).get_prepared_defaults(50)
        assert values is not None
        assert len(set(values)) == 50
        for value in values:
            parsed = uuid.UUID(value)
            assert str(parsed) == value
            assert parsed.version == 4
            assert parsed.variant == uuid.RFC_4122
    assert UUIDField(default=lambda: uuid.UUID(int=1)).get_prepared_defaults(2) is None
    assert CharField(default="x").get_prepared_defaults(2) is None


def test_fast_paths_give_the_full_chain_result() -> None:
    utc = dt.timezone.utc
    cases: list[tuple[Field[Any], list[Any]]] = [
        (
            DecimalField(max_digits=5, decimal_places=2),
            [Decimal("1.5"), Decimal("-0"), Decimal("999.99"), Decimal("1E+2"), 7, "2.5"],
        ),
        (DecimalField(max_digits=None), [Decimal("1.500"), Decimal("1E+2")]),
        (IntegerField(), [0, -(2**31), 2**31 - 1]),
        (SmallIntegerField(), [2**15 - 1]),
        (UUIDField(), [str(uuid.UUID(int=1)), uuid.UUID(int=2), uuid.UUID(int=3).hex.upper()]),
        (
            DateTimeField(),
            [dt.datetime(2024, 1, 1, tzinfo=utc), dt.datetime(2024, 1, 1), "2024-01-01T00:00Z"],
        ),
        (
            DateTimeField(timezone=False),
            [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=utc)],
        ),
    ]
    for field, values in cases:
        attach(field, "v")
        for value in values:
            fast = field.get_db_prep_value(value)
            full = Field.get_db_prep_value(field, value)
            assert (fast, str(fast), type(fast)) == (full, str(full), type(full)), (field, value)
    rejected: list[tuple[Field[Any], Any]] = [
        (DecimalField(max_digits=5, decimal_places=2), Decimal("1.505")),
        (DecimalField(max_digits=5, decimal_places=2), Decimal("1000.00")),
        (DecimalField(max_digits=5, decimal_places=2), Decimal("NaN")),
        (DecimalField(max_digits=5, decimal_places=2), Decimal("1E+5")),
        (IntegerField(), 2**31),
        (UUIDField(), "not-a-uuid"),
    ]
    for field, value in rejected:
        attach(field, "v")
        with pytest.raises(ValidationError) as fast_error:
            field.get_db_prep_value(value)
        with pytest.raises(ValidationError) as full_error:
            Field.get_db_prep_value(field, value)
        assert fast_error.value.message == full_error.value.message


def test_fast_paths_defer_to_subclasses_that_change_a_conversion_step() -> None:
    class EvenField(IntegerField):
        def _check(self, value: int) -> None:
            super()._check(value)
            if value % 2:
                raise self._invalid(value, "odd", "")

    class UpperUUIDField(UUIDField):
        def to_python(self, value: Any) -> str | None:
            text = super().to_python(value)
            return None if text is None else text.upper()

    with pytest.raises(ValidationError, match="odd"):
        attach(EvenField(), "n").get_db_prep_value(3)
    upper = attach(UpperUUIDField(default=uuid.uuid4), "id")
    assert upper.get_prepared_defaults(1) is None
    default = upper.get_default()
    assert default is not None
    assert default == default.upper()
    assert upper.get_db_prep_value(str(uuid.UUID(int=1))) == str(uuid.UUID(int=1)).upper()
