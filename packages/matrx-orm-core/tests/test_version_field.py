"""Level1 tests for VersionField (the optimistic-locking row version)."""

from __future__ import annotations

from typing import Any

import pytest

from matrx_orm_core.exceptions import FieldError, ValidationError
from matrx_orm_core.fields import IntegerField, VersionField


class Order:
    """Stand-in model class (fields only need a class to name in messages)."""


def attached() -> VersionField:
    field = VersionField()
    field.contribute_to_class(Order, "version")
    return field


def test_version_field_is_a_not_null_integer_starting_at_one() -> None:
    field = attached()
    assert isinstance(field, IntegerField)
    assert field.db_type == "integer"
    assert field.null is False
    assert field.nullable is False
    assert field.primary_key is False
    assert field.default == 1
    assert field.get_default() == 1
    assert field.is_version_field is True
    assert not getattr(IntegerField(), "is_version_field", False)


def test_none_converts_to_the_starting_version() -> None:
    field = attached()
    assert field.to_python(None) == 1
    assert field.clean(None) == 1
    assert field.get_db_prep_value(None) == 1


def test_valid_versions_pass_through() -> None:
    field = attached()
    assert field.to_python(7) == 7
    assert field.clean(7) == 7
    assert field.get_db_prep_value(2**31 - 1) == 2**31 - 1


@pytest.mark.parametrize("value", [0, -1, 2**31])
def test_out_of_range_versions_are_rejected(value: int) -> None:
    field = attached()
    with pytest.raises(ValidationError, match=r"Order\.version: a version must be from 1"):
        field.clean(value)
    with pytest.raises(ValidationError, match="Leave the version to the ORM"):
        field.get_db_prep_value(value)


@pytest.mark.parametrize("value", ["3", 3.0, True])
def test_non_int_versions_are_rejected(value: Any) -> None:
    with pytest.raises(ValidationError, match="expected an int"):
        attached().clean(value)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"null": True}, "null"),
        ({"nullable": True}, "nullable"),
        ({"primary_key": True}, "primary_key"),
        ({"default": 5}, "default"),
        ({"default": lambda: 1}, "default"),
    ],
)
def test_options_that_break_locking_are_rejected(kwargs: dict[str, Any], option: str) -> None:
    with pytest.raises(FieldError, match=rf"VersionField\({option}=.*Remove the {option}"):
        VersionField(**kwargs)


def test_harmless_options_are_accepted() -> None:
    field = VersionField(null=False, default=1, index=True)
    assert field.index is True
    assert field.to_dict()["default"] == 1
    assert field.to_dict()["type"] == "VersionField"


def test_exported_from_core() -> None:
    # Core's tests run with core alone installed (nox -s isolation-matrx-orm-core); that the
    # umbrella's matrx_orm and matrx_orm.core.fields give the same object is pinned by
    # integration_tests/test_public_api.py.
    import matrx_orm_core
    import matrx_orm_core.fields

    assert "VersionField" in matrx_orm_core.__all__
    assert matrx_orm_core.VersionField is VersionField
    assert matrx_orm_core.fields.VersionField is VersionField
