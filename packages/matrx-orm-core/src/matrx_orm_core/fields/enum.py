"""EnumField: a closed set of string values stored as varchar."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, Generic, TypeVar, overload

from .base import Field, field_error
from .text import VARCHAR_MAX_LENGTH

__all__ = ["EnumField"]

E = TypeVar("E")


class EnumField(Field[E], Generic[E]):
    """One value out of a fixed set: PostgreSQL ``varchar(max_length)``.

    Give exactly one of ``enum_class`` (an ``Enum`` whose member values are ``str``) or
    ``choices`` (strings). The database stores the member's value. With ``enum_class`` the
    Python value is the member (input may be the member or its value); with ``choices`` it is
    the ``str``. Any other value raises ``ValidationError`` listing the valid values.

    Args:
        enum_class: An ``Enum`` subclass with ``str`` values.
        choices: The allowed strings.
        max_length: The varchar length (None for unbounded); every value must fit.
        **kwargs: Common ``Field`` options.

    Raises:
        FieldError: Neither or both of ``enum_class``/``choices``; a non-str value; a value
            longer than ``max_length``; no values.
    """

    @overload
    def __init__(
        self: EnumField[E],
        enum_class: type[E],
        choices: None = None,
        max_length: int | None = 255,
        **kwargs: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: EnumField[str],
        enum_class: None = None,
        *,
        choices: Iterable[str],
        max_length: int | None = 255,
        **kwargs: Any,
    ) -> None: ...

    def __init__(
        self,
        enum_class: type[Any] | None = None,
        choices: Iterable[str] | None = None,
        max_length: int | None = 255,
        **kwargs: Any,
    ) -> None:
        if (enum_class is None) == (choices is None):
            raise field_error(
                reason="EnumField needs exactly one of enum_class=<Enum subclass> or "
                "choices=[...strings...].",
            )
        if max_length is not None and (
            type(max_length) is not int or not 1 <= max_length <= VARCHAR_MAX_LENGTH
        ):
            raise field_error(
                reason=f"EnumField(max_length={max_length!r}) is invalid: give an int from 1 "
                f"to {VARCHAR_MAX_LENGTH}, or None.",
            )
        self.enum_class: type[Enum] | None = None
        self.max_length = max_length
        self._by_value: dict[str, Any]
        if enum_class is not None:
            if not (isinstance(enum_class, type) and issubclass(enum_class, Enum)):
                raise field_error(
                    reason=f"EnumField(enum_class={enum_class!r}) must be an Enum subclass.",
                )
            self.enum_class = enum_class
            self._by_value = {member.value: member for member in enum_class}
            self.needs_load_conversion = True
        else:
            if isinstance(choices, str):
                raise field_error(
                    reason="EnumField(choices=...) must be a list of strings, not one string.",
                )
            self._by_value = {choice: choice for choice in choices or ()}
        self.choices: tuple[str, ...] = tuple(self._by_value)
        self._validate_values()
        super().__init__(**kwargs)

    def _validate_values(self) -> None:
        if not self.choices:
            raise field_error(reason="EnumField needs at least one value.")
        for value in self.choices:
            if not isinstance(value, str):
                raise field_error(
                    reason=f"EnumField values must be str (they are stored in a varchar "
                    f"column); got {type(value).__name__} {value!r}. Use string values.",
                )
            if self.max_length is not None and len(value) > self.max_length:
                raise field_error(
                    reason=f"EnumField value {value!r} is longer than max_length="
                    f"{self.max_length}; raise max_length.",
                )

    def _get_default_db_type(self) -> str:
        return "varchar" if self.max_length is None else f"varchar({self.max_length})"

    @property
    def python_type(self) -> type:
        return self.enum_class if self.enum_class is not None else str

    def to_python(self, value: Any) -> E | None:
        if value is None:
            return None
        if isinstance(value, Enum):
            key = value.value
            if self.enum_class is not None and not isinstance(value, self.enum_class):
                raise self._bad_value(value)
        else:
            key = value
        try:
            return self._by_value[key]  # type: ignore[no-any-return]
        except (KeyError, TypeError) as err:
            raise self._bad_value(value) from err

    def from_db_value(self, value: Any) -> E | None:
        if value is None:
            return None
        try:
            return self._by_value[value]  # type: ignore[no-any-return]
        except KeyError as err:
            raise self._bad_value(value) from err

    def _to_db(self, value: Any) -> str:
        return value.value if isinstance(value, Enum) else value  # type: ignore[no-any-return]

    def _bad_value(self, value: Any) -> Exception:
        valid = ", ".join(repr(v) for v in self.choices)
        return self._invalid(
            value,
            f"the value is not one of the allowed values ({valid})",
            "Pass one of the allowed values"
            + (f" or a {self.enum_class.__name__} member." if self.enum_class else "."),
        )

    def _options(self) -> dict[str, Any]:
        return {
            "enum_class": self.enum_class.__name__ if self.enum_class is not None else None,
            "choices": list(self.choices),
            "max_length": self.max_length,
        }
