"""Numeric fields: Integer/BigInteger/SmallInteger, FloatField, DecimalField and MoneyField."""

from __future__ import annotations

import math
from decimal import Context, Decimal, InvalidOperation
from typing import Any, ClassVar

from .base import Field, field_error, inherits_conversion

__all__ = [
    "BigIntegerField",
    "DecimalField",
    "FloatField",
    "IntegerField",
    "MoneyField",
    "SmallIntegerField",
]

FLOAT4_MAX = 3.4028234663852886e38
NUMERIC_MAX_PRECISION = 1000
_QUANTIZE_CONTEXT = Context(prec=NUMERIC_MAX_PRECISION + 24)


class IntegerField(Field[int]):
    """A 32-bit integer: PostgreSQL ``integer``, Python ``int``.

    Accepts ``int`` only (``bool`` and numeric strings are rejected, so a ``True`` or ``"42"``
    never lands in a number column by accident). Values outside the column's range raise
    ``ValidationError`` before any SQL is sent.
    """

    _python_type = int
    _default_db_type: ClassVar[str | None] = "integer"
    min_value: ClassVar[int] = -(2**31)
    max_value: ClassVar[int] = 2**31 - 1

    _exact_prep: ClassVar[bool] = True
    """Whether the ``get_db_prep_value`` fast path applies (no conversion step overridden)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._exact_prep = inherits_conversion(cls, IntegerField)

    def to_python(self, value: Any) -> int | None:
        if value is None or type(value) is int:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        raise self._type_error(value, "an int")

    def get_db_prep_value(self, value: Any) -> Any:
        if type(value) is int and self._exact_prep and self.min_value <= value <= self.max_value:
            return value  # fast path: an in-range int is already the driver value
        return super().get_db_prep_value(value)

    def _check(self, value: int) -> None:
        if not self.min_value <= value <= self.max_value:
            raise self._invalid(
                value,
                f"the value is outside the {self.db_type} range "
                f"[{self.min_value}, {self.max_value}]",
                "Use a value in range, or a wider field (BigIntegerField).",
            )


class BigIntegerField(IntegerField):
    """A 64-bit integer: PostgreSQL ``bigint``, Python ``int`` (range-checked, int only)."""

    _default_db_type = "bigint"
    min_value = -(2**63)
    max_value = 2**63 - 1


class SmallIntegerField(IntegerField):
    """A 16-bit integer: PostgreSQL ``smallint``, Python ``int`` (range-checked, int only)."""

    _default_db_type = "smallint"
    min_value = -(2**15)
    max_value = 2**15 - 1


class FloatField(Field[float]):
    """A floating point number: PostgreSQL ``double precision`` (or ``real``), Python ``float``.

    Accepts ``int`` and ``float`` (not ``bool``, not strings). NaN and infinities are allowed,
    as PostgreSQL stores them. With ``precision="real"`` finite values beyond the 4-byte range
    raise ``ValidationError``.

    Args:
        precision: ``"double"`` (default) or ``"real"``.
        **kwargs: Common ``Field`` options.

    Raises:
        FieldError: ``precision`` is not ``"double"`` or ``"real"``.
    """

    _python_type = float

    def __init__(self, precision: str = "double", **kwargs: Any) -> None:
        if precision not in ("double", "real"):
            raise field_error(
                reason=f"FloatField(precision={precision!r}) is invalid: use 'double' or 'real'.",
            )
        self.precision = precision
        super().__init__(**kwargs)

    def _get_default_db_type(self) -> str:
        return "double precision" if self.precision == "double" else "real"

    def to_python(self, value: Any) -> float | None:
        if value is None or type(value) is float:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._type_error(value, "an int or a float")
        try:
            return float(value)
        except OverflowError as err:
            raise self._invalid(
                value,
                "the int is too large for a float",
                "Use a DecimalField or a smaller value.",
            ) from err

    def _check(self, value: float) -> None:
        if self.precision == "real" and math.isfinite(value) and abs(value) > FLOAT4_MAX:
            raise self._invalid(
                value,
                "the value is outside the range of PostgreSQL real (about 3.4e38)",
                "Use FloatField() (double precision) or a smaller value.",
            )

    def _options(self) -> dict[str, Any]:
        return {"precision": self.precision}


class DecimalField(Field[Decimal]):
    """An exact decimal: PostgreSQL ``numeric(max_digits, decimal_places)``, Python ``Decimal``.

    Accepts ``Decimal``, ``int`` and numeric ``str``. ``float`` is rejected because it is not
    exact (pass ``Decimal(str(x))``). With ``max_digits`` set, a value with more decimal places
    than ``decimal_places`` or more integer digits than ``max_digits - decimal_places`` raises
    ``ValidationError`` (no silent rounding); accepted values are returned with exactly
    ``decimal_places`` places, as PostgreSQL returns them. With ``max_digits=None`` the column
    is an unconstrained ``numeric`` and ``decimal_places`` is not enforced. NaN and infinities
    are rejected.

    Args:
        max_digits: Total significant digits (1 to 1000), or None for unconstrained numeric.
        decimal_places: Digits after the decimal point (0 to max_digits).
        **kwargs: Common ``Field`` options.

    Raises:
        FieldError: The precision or scale is invalid.
    """

    _python_type = Decimal

    _exact_prep: ClassVar[bool] = True
    """Whether the ``get_db_prep_value`` fast path applies (no conversion step overridden)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._exact_prep = inherits_conversion(cls, DecimalField)

    def __init__(
        self, max_digits: int | None = None, decimal_places: int = 2, **kwargs: Any
    ) -> None:
        if max_digits is not None and (
            type(max_digits) is not int or not 1 <= max_digits <= NUMERIC_MAX_PRECISION
        ):
            raise field_error(
                reason=f"DecimalField(max_digits={max_digits!r}) is invalid: give an int from "
                f"1 to {NUMERIC_MAX_PRECISION}, or None for unconstrained numeric.",
            )
        if (
            type(decimal_places) is not int
            or decimal_places < 0
            or (max_digits is not None and decimal_places > max_digits)
        ):
            raise field_error(
                reason=f"DecimalField(decimal_places={decimal_places!r}) is invalid: give an "
                "int from 0 to max_digits.",
            )
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self._quantum = Decimal(1).scaleb(-decimal_places)
        super().__init__(**kwargs)

    def _get_default_db_type(self) -> str:
        if self.max_digits is None:
            return "numeric"
        return f"numeric({self.max_digits},{self.decimal_places})"

    def to_python(self, value: Any) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int) and not isinstance(value, bool):
            result = Decimal(value)
        elif isinstance(value, str):
            try:
                result = Decimal(value.strip())
            except InvalidOperation as err:
                raise self._invalid(
                    value, "the text is not a decimal number", "Pass e.g. '12.50'."
                ) from err
        elif isinstance(value, float):
            raise self._invalid(
                value,
                "float values are not accepted because they are not exact",
                "Pass Decimal(str(value)), a str, or an int.",
            )
        else:
            raise self._type_error(value, "a Decimal, an int or a numeric str")
        if not result.is_finite():
            raise self._invalid(
                value,
                "NaN and infinite values are not accepted",
                "Pass a finite number.",
            )
        if self.max_digits is not None:
            return self._quantize(result, value)
        return result

    def get_db_prep_value(self, value: Any) -> Any:
        if (
            type(value) is Decimal
            and self._exact_prep
            and self.max_digits is not None
            and value.is_finite()
        ):
            # Fast path for an exact Decimal that fits: the same value the full chain returns.
            # (``adjusted() < max_digits - decimal_places`` is ``_check``'s digit limit.)
            try:
                quantized = value.quantize(self._quantum, context=_QUANTIZE_CONTEXT)
            except InvalidOperation:
                quantized = None
            if (
                quantized is not None
                and quantized == value
                and quantized.adjusted() < self.max_digits - self.decimal_places
            ):
                return quantized
        return super().get_db_prep_value(value)

    def _quantize(self, result: Decimal, original: Any) -> Decimal:
        try:
            quantized = result.quantize(self._quantum, context=_QUANTIZE_CONTEXT)
        except InvalidOperation as err:
            raise self._too_many_digits(original) from err
        if quantized != result:
            raise self._invalid(
                original,
                f"the value has more than decimal_places={self.decimal_places} decimal places",
                "Round it first (values are never rounded silently) or raise decimal_places.",
            )
        return quantized

    def _check(self, value: Decimal) -> None:
        if self.max_digits is None:
            return
        integer_digits = max(value.adjusted() + 1, 0) if value else 0
        if integer_digits > self.max_digits - self.decimal_places:
            raise self._too_many_digits(value)

    def _too_many_digits(self, value: Any) -> Exception:
        max_digits = self.max_digits or 0
        return self._invalid(
            value,
            f"the value needs more than {max_digits - self.decimal_places} digits before "
            f"the decimal point (numeric({max_digits},{self.decimal_places}))",
            "Use a smaller value or raise max_digits.",
        )

    def _options(self) -> dict[str, Any]:
        return {"max_digits": self.max_digits, "decimal_places": self.decimal_places}


MONEY_MAX_CENTS = 2**63 - 1
"""PostgreSQL ``money`` is a 64-bit count of cents."""


class MoneyField(DecimalField):
    """An amount of money: PostgreSQL ``numeric(19,2)``, Python ``Decimal``.

    A ``DecimalField`` with ``max_digits=19, decimal_places=2`` by default: exact, checked for
    scale and size, never rounded silently. PostgreSQL's own ``money`` type is not the default
    because its text form and its number of decimal places follow the server's
    ``lc_monetary`` setting. For an existing ``money`` column pass ``db_type="money"``: values
    travel in the binary format as a count of cents (so the column must use 2 decimal places,
    as with the C and most other locales), and must fit its 64-bit range.

    Args:
        max_digits: Total digits (default 19).
        decimal_places: Digits after the point (default 2).
        **kwargs: Common ``Field`` options.
    """

    def __init__(self, max_digits: int | None = 19, decimal_places: int = 2, **kwargs: Any) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        if self.db_type == "money" and decimal_places != 2:
            raise field_error(
                reason="MoneyField(db_type='money') needs decimal_places=2: a money column "
                "stores whole cents.",
            )

    def _check(self, value: Decimal) -> None:
        super()._check(value)
        if self.db_type == "money" and abs(value.scaleb(2)) > MONEY_MAX_CENTS:
            raise self._invalid(
                value,
                "the value is outside the range of PostgreSQL money "
                "(about +/-92233720368547758.07)",
                "Use a smaller amount, or a numeric column (the MoneyField default).",
            )
