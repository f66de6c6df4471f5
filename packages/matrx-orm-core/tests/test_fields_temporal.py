"""Level1 tests for DateTimeField, DateField and TimeField."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from matrx_orm_core.exceptions import ValidationError
from matrx_orm_core.fields import DateField, DateTimeField, Field, TimeField

UTC = timezone.utc
PLUS2 = timezone(timedelta(hours=2))


class Event:
    """Stand-in model class."""


def attach(field: Field[Any], name: str = "at") -> Field[Any]:
    field.contribute_to_class(Event, name)
    return field


def test_datetime_field_defaults() -> None:
    f = DateTimeField()
    assert f.db_type == "timestamptz"
    assert f.python_type is datetime
    assert f.needs_load_conversion is False
    assert (f.auto_now, f.auto_now_add, f.timezone) == (False, False, True)


def test_datetime_field_auto_flags_are_stored() -> None:
    f = DateTimeField(auto_now=True, auto_now_add=True)
    assert f.auto_now is True
    assert f.auto_now_add is True
    assert f.to_dict()["auto_now"] is True
    assert f.to_dict()["auto_now_add"] is True


def test_naive_datetime_is_taken_as_utc() -> None:
    f = attach(DateTimeField())
    result = f.to_python(datetime(2024, 5, 1, 12, 30, 0, 123456))
    assert result == datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_aware_datetime_is_converted_to_utc() -> None:
    f = attach(DateTimeField())
    result = f.get_db_prep_value(datetime(2024, 5, 1, 14, 0, tzinfo=PLUS2))
    assert result == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_utc_datetime_passes_through_unchanged() -> None:
    value = datetime(2024, 5, 1, tzinfo=UTC)
    assert attach(DateTimeField()).get_db_prep_value(value) is value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T14:30:00+02:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01 12:30:00.000001", datetime(2024, 5, 1, 12, 30, 0, 1, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        (" 2024-05-01T00:00:00+00:00 ", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_iso_strings_are_parsed(text: str, expected: datetime) -> None:
    f = attach(DateTimeField())
    assert f.to_python(text) == expected
    assert f.to_python(text).tzinfo is UTC
    assert f.get_db_prep_value(text) == expected


@pytest.mark.parametrize("bad", ["yesterday", "", "2024-13-01T00:00:00"])
def test_invalid_iso_text(bad: str) -> None:
    with pytest.raises(ValidationError, match="not an ISO 8601 date-time"):
        attach(DateTimeField()).clean(bad)


def test_date_object_is_rejected_by_datetime_field() -> None:
    with pytest.raises(ValidationError, match="got a date without a time"):
        attach(DateTimeField()).clean(date(2024, 5, 1))


@pytest.mark.parametrize("bad", [1714567890, 1.5, True])
def test_datetime_field_rejects_other_types(bad: Any) -> None:
    with pytest.raises(ValidationError, match="expected a datetime or an ISO 8601 str"):
        attach(DateTimeField()).clean(bad)


def test_conversion_overflow_is_a_validation_error() -> None:
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    with pytest.raises(ValidationError, match="outside the supported range"):
        attach(DateTimeField()).clean(late)


def test_timestamp_without_time_zone() -> None:
    f = attach(DateTimeField(timezone=False))
    assert f.db_type == "timestamp"
    naive = datetime(2024, 5, 1, 12, 0)
    assert f.to_python(naive) is naive
    converted = f.to_python(datetime(2024, 5, 1, 14, 0, tzinfo=PLUS2))
    assert converted == datetime(2024, 5, 1, 12, 0)
    assert converted.tzinfo is None
    assert f.to_python("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, 0)


def test_now_helper() -> None:
    before = datetime.now(UTC)
    aware = DateTimeField().now()
    naive = DateTimeField(timezone=False).now()
    assert aware.tzinfo is UTC
    assert aware >= before
    assert naive.tzinfo is None
    assert abs(naive - aware.replace(tzinfo=None)) < timedelta(seconds=5)


def test_date_field() -> None:
    f = attach(DateField(), "day")
    assert f.db_type == "date"
    assert f.python_type is date
    assert f.to_python(date(2024, 5, 1)) == date(2024, 5, 1)
    assert f.get_db_prep_value("2024-05-01") == date(2024, 5, 1)
    with pytest.raises(ValidationError, match="got a datetime"):
        f.clean(datetime(2024, 5, 1, 10, 0))
    with pytest.raises(ValidationError, match="not an ISO 8601 date"):
        f.clean("05/01/2024")
    with pytest.raises(ValidationError, match="expected a date or an ISO 8601 str"):
        f.clean(20240501)


def test_time_field() -> None:
    f = attach(TimeField(), "start")
    assert f.db_type == "time"
    assert f.python_type is time
    assert f.to_python("13:45:00.5") == time(13, 45, 0, 500000)
    assert f.get_db_prep_value(time(8, 0)) == time(8, 0)
    with pytest.raises(ValidationError, match="time with a time zone"):
        f.clean(time(8, 0, tzinfo=UTC))
    with pytest.raises(ValidationError, match="time with a time zone"):
        f.clean("08:00:00Z")
    with pytest.raises(ValidationError, match="not an ISO 8601 time"):
        f.clean("8 o'clock")
    with pytest.raises(ValidationError, match="expected a time or an ISO 8601 str"):
        f.clean(800)


def test_timetz_field() -> None:
    f = attach(TimeField(timezone=True), "start")
    assert f.db_type == "timetz"
    assert f.to_python(time(8, 0)) == time(8, 0, tzinfo=UTC)
    aware = time(8, 0, tzinfo=PLUS2)
    assert f.to_python(aware) is aware
    assert f.to_python("08:00:00Z") == time(8, 0, tzinfo=UTC)
    assert f.to_dict()["timezone"] is True
