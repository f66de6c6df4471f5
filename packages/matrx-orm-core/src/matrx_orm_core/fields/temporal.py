"""Date and time fields: DateTimeField (timestamptz or timestamp), DateField, TimeField and
TimeDeltaField (interval)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, ClassVar

from .base import Field, inherits_conversion

__all__ = ["DateField", "DateTimeField", "TimeDeltaField", "TimeField"]

UTC = timezone.utc


def _iso_text(value: str) -> str:
    """Normalise ISO text for ``fromisoformat`` on Python 3.10 (no 'Z' suffix support)."""
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        return text[:-1] + "+00:00"
    return text


class DateTimeField(Field[datetime]):
    """A point in time: PostgreSQL ``timestamptz`` (default) or ``timestamp``.

    With ``timezone=True`` (default) values are aware ``datetime`` objects in UTC: naive input
    is taken as UTC and aware input is converted to UTC. With ``timezone=False`` the column is
    ``timestamp`` and values are naive: aware input is converted to UTC, then made naive.
    Accepts ``datetime`` and ISO 8601 text (a trailing ``Z`` works on every Python version).
    A ``date`` that is not a ``datetime`` is rejected (use ``datetime.combine``).

    ``auto_now`` (set on every save) and ``auto_now_add`` (set on create) are stored here and
    applied by the model layer when it writes the row.

    Args:
        auto_now: Set to the current time on every save.
        auto_now_add: Set to the current time when the row is created.
        timezone: ``True`` for ``timestamptz``, ``False`` for ``timestamp``.
        **kwargs: Common ``Field`` options.
    """

    _python_type = datetime

    _exact_prep: ClassVar[bool] = True
    """Whether the ``get_db_prep_value`` fast path applies (no conversion step overridden)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._exact_prep = inherits_conversion(cls, DateTimeField)

    def __init__(
        self,
        auto_now: bool = False,
        auto_now_add: bool = False,
        timezone: bool = True,
        **kwargs: Any,
    ) -> None:
        self.auto_now = auto_now
        self.auto_now_add = auto_now_add
        self.timezone = timezone
        super().__init__(**kwargs)

    def _get_default_db_type(self) -> str:
        return "timestamptz" if self.timezone else "timestamp"

    def now(self) -> datetime:
        """Return the current time in this field's form (aware UTC, or naive UTC)."""
        current = datetime.now(UTC)
        return current if self.timezone else current.replace(tzinfo=None)

    def get_db_prep_value(self, value: Any) -> Any:
        if (
            type(value) is datetime
            and value.tzinfo is (UTC if self.timezone else None)
            and self._exact_prep
        ):
            return value  # fast path: already in this field's form (aware UTC, or naive)
        return super().get_db_prep_value(value)

    def to_python(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            result = value
        elif isinstance(value, str):
            try:
                result = datetime.fromisoformat(_iso_text(value))
            except ValueError as err:
                raise self._invalid(
                    value,
                    "the text is not an ISO 8601 date-time",
                    "Pass a datetime or text such as '2024-05-01T12:30:00Z'.",
                ) from err
        elif isinstance(value, date):
            raise self._invalid(
                value,
                "got a date without a time",
                "Pass datetime.combine(d, time(), tzinfo=timezone.utc) or a datetime.",
            )
        else:
            raise self._type_error(value, "a datetime or an ISO 8601 str")
        offset = result.utcoffset()
        try:
            if self.timezone:
                if offset is None:
                    return result.replace(tzinfo=UTC)
                if result.tzinfo is UTC:
                    return result
                return result.astimezone(UTC)
            if offset is None:
                return result
            return result.astimezone(UTC).replace(tzinfo=None)
        except OverflowError as err:
            raise self._invalid(
                value,
                "the value is outside the supported range once converted to UTC",
                "Use a date-time between years 1 and 9999 in UTC.",
            ) from err

    def _options(self) -> dict[str, Any]:
        return {
            "auto_now": self.auto_now,
            "auto_now_add": self.auto_now_add,
            "timezone": self.timezone,
        }


class DateField(Field[date]):
    """A calendar date: PostgreSQL ``date``, Python ``date``.

    Accepts ``date`` and ISO text (``'2024-05-01'``). A ``datetime`` is rejected rather than
    silently losing its time (pass ``value.date()``).
    """

    _python_type = date
    _default_db_type = "date"

    def to_python(self, value: Any) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            raise self._invalid(
                value,
                "got a datetime; its time part would be lost",
                "Pass value.date() or a date.",
            )
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError as err:
                raise self._invalid(
                    value, "the text is not an ISO 8601 date", "Pass text such as '2024-05-01'."
                ) from err
        raise self._type_error(value, "a date or an ISO 8601 str")


class TimeField(Field[time]):
    """A time of day: PostgreSQL ``time`` (default) or ``timetz``, Python ``time``.

    Accepts ``time`` and ISO text (``'13:45:00'``). With ``timezone=False`` an aware time is
    rejected (a time zone cannot be applied without a date). With ``timezone=True`` a naive
    time is taken as UTC.

    Args:
        timezone: ``False`` for ``time``, ``True`` for ``timetz``.
        **kwargs: Common ``Field`` options.
    """

    _python_type = time

    def __init__(self, timezone: bool = False, **kwargs: Any) -> None:
        self.timezone = timezone
        super().__init__(**kwargs)

    def _get_default_db_type(self) -> str:
        return "timetz" if self.timezone else "time"

    def to_python(self, value: Any) -> time | None:
        if value is None:
            return None
        if isinstance(value, time):
            result = value
        elif isinstance(value, str):
            try:
                result = time.fromisoformat(_iso_text(value))
            except ValueError as err:
                raise self._invalid(
                    value, "the text is not an ISO 8601 time", "Pass text such as '13:45:00'."
                ) from err
        else:
            raise self._type_error(value, "a time or an ISO 8601 str")
        aware = result.utcoffset() is not None
        if self.timezone:
            return result if aware else result.replace(tzinfo=UTC)
        if aware:
            raise self._invalid(
                value,
                "got a time with a time zone for a time column without one",
                "Pass a naive time, or declare TimeField(timezone=True) for timetz.",
            )
        return result

    def _options(self) -> dict[str, Any]:
        return {"timezone": self.timezone}


class TimeDeltaField(Field[timedelta]):
    """A duration: PostgreSQL ``interval``, Python ``timedelta``.

    Accepts ``timedelta`` only: a bare number is ambiguous (seconds? milliseconds?), so pass
    ``timedelta(seconds=n)``. A ``timedelta`` is stored as days plus microseconds and comes back
    exactly. An interval written by SQL with months or years (``interval '1 month'``) has no
    exact ``timedelta``: it reads as 30 days per month and 365 days per year (the driver's
    rule), so compare such values with care.
    """

    _python_type = timedelta
    _default_db_type = "interval"

    def to_python(self, value: Any) -> timedelta | None:
        if value is None or type(value) is timedelta:
            return value
        if isinstance(value, timedelta):
            return timedelta(value.days, value.seconds, value.microseconds)
        raise self._type_error(value, "a timedelta")
