"""The Field[T] descriptor base class, OrderBy, and the shared validation helpers."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, overload

from typing_extensions import Self

from matrx_orm_core.exceptions import FieldError, ValidationError

__all__ = ["NOT_PROVIDED", "Field", "OrderBy", "Validator"]

T = TypeVar("T")

Validator = Callable[[Any], "Awaitable[None] | None"]
"""A validator: called with the cleaned value; raises ``ValueError`` (or returns an awaitable
that does) when the value is not acceptable. Async validators run only in ``Field.validate``."""


_CONVERSION = ("to_python", "_prep_input", "_check", "_to_db")


def inherits_conversion(cls: type, base: type) -> bool:
    """True when ``cls`` converts and checks values exactly as ``base`` does.

    A field class's ``get_db_prep_value`` fast path (a value already in its final form skips the
    generic chain) is exact only for classes that do not override a conversion step; subclasses
    that do take the full chain.

    Returns:
        Whether ``to_python``, ``_prep_input``, ``_check`` and ``_to_db`` are ``base``'s.
    """
    return all(getattr(cls, name) is getattr(base, name) for name in _CONVERSION)


class _NotProvided:
    """Marker for "no value given" where ``None`` is a meaningful value."""

    _instance: ClassVar[_NotProvided | None] = None

    def __new__(cls) -> _NotProvided:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_PROVIDED"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _NotProvided:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _NotProvided:
        return self


NOT_PROVIDED = _NotProvided()
"""Sentinel for an argument that was not passed (``None`` can be a real value)."""


def field_error(reason: str, *, model: str | None = None, field: str | None = None) -> FieldError:
    """Build a FieldError whose message is ``reason`` (declaration and usage mistakes)."""
    return FieldError(model=model, field=field, reason=reason, message=reason)


@dataclass(frozen=True)
class OrderBy:
    """One ORDER BY term: a field name and a direction.

    ``Field.desc()`` / ``Field.asc()`` return one; they never change the field itself.
    """

    field_name: str
    descending: bool = False

    @classmethod
    def parse(cls, spec: str) -> OrderBy:
        """Build an ``OrderBy`` from ``"name"`` (ascending) or ``"-name"`` (descending).

        Raises:
            FieldError: ``spec`` is empty or only ``"-"``.
        """
        descending = spec.startswith("-")
        name = spec[1:] if descending else spec
        if not name:
            raise field_error(
                field=spec,
                reason=f"Invalid order_by term {spec!r}: give a field name, optionally "
                "prefixed by '-' for descending order.",
            )
        return cls(name, descending)


class Field(Generic[T]):
    """A model column: its PostgreSQL type, its Python type, conversion and validation.

    A ``Field`` is a non-data descriptor: class access (``User.name``) returns the field,
    instance values live in the instance ``__dict__`` (so reading ``user.name`` is a plain
    attribute lookup). Fields are nullable by default (``null=True``); a primary key is never
    nullable.

    Args:
        db_type: The PostgreSQL column type to use instead of the field's default (for DDL and
            introspection round trips).
        is_native: ``False`` for declarations that are not a column (``ManyToManyField``).
        null: Whether ``None`` is allowed (default ``True``).
        nullable: Overrides ``null`` when given. Always ``False`` for a primary key.
        unique: Adds a unique constraint (DDL).
        primary_key: Marks the primary key column.
        default: A value, or a callable called once per new instance.
        index: Adds an index (DDL).
        validators: Callables run by ``clean`` (sync ones) and ``validate`` (all).
        **kwargs: Extra options, kept in ``.extra``.
    """

    _python_type: ClassVar[type] = object
    _default_db_type: ClassVar[str | None] = None

    needs_load_conversion: bool = False
    """True only where the driver codec does not already give the final Python value."""

    def __init__(
        self,
        db_type: str | None = None,
        is_native: bool = True,
        null: bool = True,
        nullable: bool | None = None,
        unique: bool = False,
        primary_key: bool = False,
        default: Any = None,
        index: bool = False,
        validators: Iterable[Validator] | None = None,
        **kwargs: Any,
    ) -> None:
        if db_type is not None and (not isinstance(db_type, str) or not db_type.strip()):
            raise field_error(
                field=type(self).__name__,
                reason=f"{type(self).__name__}(db_type=...) must be a non-empty string "
                "naming a PostgreSQL type, e.g. db_type='text'.",
            )
        if (
            db_type is None
            and is_native
            and self._default_db_type is None
            and type(self)._get_default_db_type is Field._get_default_db_type
        ):
            raise field_error(
                field=type(self).__name__,
                reason=f"{type(self).__name__} needs a db_type: pass db_type='<PostgreSQL "
                "type>' or use a typed field such as CharField or IntegerField.",
            )
        self._db_type = db_type
        self.is_native = is_native
        self.null = null
        self.primary_key = primary_key
        self.nullable: bool = False if primary_key else (null if nullable is None else nullable)
        self.unique = unique
        self.index = index
        self.default = default
        self.validators: list[Validator] = list(validators or ())
        self.has_async_validators = any(inspect.iscoroutinefunction(v) for v in self.validators)
        self.extra: dict[str, Any] = dict(kwargs)
        self.name: str | None = None
        self.column: str | None = None
        self.model: type | None = None

    # -- descriptor protocol -------------------------------------------------------------

    def __set_name__(self, owner: type, name: str) -> None:
        if self.name is None:
            self.name = name
            self.column = name

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type[Any] | None = None) -> Self | T:
        if instance is None:
            return self
        # Only reached when the instance __dict__ holds no value (non-data descriptor).
        raise AttributeError(
            f"{self._label()} has no value on this {type(instance).__name__} instance; "
            "values are set by the model constructor or when a row is loaded."
        )

    def contribute_to_class(self, model: type, name: str) -> None:
        """Attach the field to ``model`` under ``name`` (called by the model metaclass)."""
        self.name = name
        self.column = name
        self.model = model

    # -- description ---------------------------------------------------------------------

    @property
    def db_type(self) -> str:
        """The PostgreSQL column type used in DDL (``varchar(255)``, ``timestamptz``, ...)."""
        if self._db_type is not None:
            return self._db_type
        return self._get_default_db_type()

    def _get_default_db_type(self) -> str:
        if self._default_db_type is None:
            raise field_error(
                model=self._model_name(),
                field=self.name,
                reason=f"{self._label()} has no column type; pass db_type='...'.",
            )
        return self._default_db_type

    @property
    def python_type(self) -> type:
        """The Python type of this field's values."""
        return self._python_type

    def has_default(self) -> bool:
        """Return True when the field has a default value or factory."""
        return self.default is not None

    def get_default(self) -> Any:
        """Return the default for a new instance.

        A callable default is called on every call. A mutable default (dict, list, set) is
        copied, so instances never share one object.
        """
        default = self.default
        if callable(default):
            return default()
        if isinstance(default, (dict, list, set)):
            return copy.deepcopy(default)
        return default

    def get_prepared_defaults(self, count: int) -> list[Any] | None:
        """``count`` new defaults already in driver form, when the field can make them so.

        Set-based inserts use this for a column no row supplies: the values need no
        ``get_db_prep_value`` because they are valid by construction.

        Returns:
            The values, or ``None`` when each default must go through ``get_default`` and
            ``get_db_prep_value`` (the base class: always).
        """
        return None

    def desc(self) -> OrderBy:
        """Return a descending ``OrderBy`` for this field (the field is not changed)."""
        return OrderBy(self._require_name(), True)

    def asc(self) -> OrderBy:
        """Return an ascending ``OrderBy`` for this field (the field is not changed)."""
        return OrderBy(self._require_name(), False)

    def _describe_db_type(self) -> str | None:
        """The db_type for ``to_dict`` (None where there is no column or it is unknown yet)."""
        return self.db_type if self.is_native else None

    def _options(self) -> dict[str, Any]:
        """Field-specific constructor options for ``to_dict`` (subclasses extend)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Describe the field configuration as a plain dictionary.

        Callable defaults and validators are shown by name.
        """
        default = self.default
        result: dict[str, Any] = {
            "type": type(self).__name__,
            "name": self.name,
            "model": self.model.__name__ if self.model is not None else None,
            "column": self.column,
            "is_native": self.is_native,
            "null": self.null,
            "nullable": self.nullable,
            "unique": self.unique,
            "primary_key": self.primary_key,
            "index": self.index,
            "default": getattr(default, "__name__", repr(default))
            if callable(default)
            else default,
            "validators": [getattr(v, "__name__", repr(v)) for v in self.validators],
        }
        db_type = self._describe_db_type()
        if db_type is not None:
            result["db_type"] = db_type
        result.update(self._options())
        result.update(self.extra)
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._label()}>"

    # -- conversion ----------------------------------------------------------------------

    def to_python(self, value: Any) -> T | None:
        """Convert a user or database value to this field's Python value.

        ``None`` passes through (nullability is checked by ``get_db_prep_value``/``clean``).

        Raises:
            ValidationError: The value cannot be converted.
        """
        return value  # type: ignore[no-any-return]

    def from_db_value(self, value: Any) -> T | None:
        """Convert a row value (used only when ``needs_load_conversion`` is True)."""
        return self.to_python(value)

    def get_db_prep_value(self, value: Any) -> Any:
        """Validate ``value`` and return what the driver should receive.

        Raises:
            ValidationError: ``None`` for a non-nullable field, or a wrong type or range.
        """
        if value is None:
            self._check_null()
            return None
        python_value = self._prep_input(value)
        self._check(python_value)
        return self._to_db(python_value)

    def _prep_input(self, value: Any) -> Any:
        """Convert a non-None value at the driver boundary (default: ``to_python``)."""
        return self.to_python(value)

    def _check(self, value: Any) -> None:
        """Check a converted, non-None value (length, range, digits); raise ValidationError."""

    def _to_db(self, value: Any) -> Any:
        """Turn a checked Python value into the driver value (default: unchanged)."""
        return value

    def clean(self, value: Any) -> T | None:
        """Convert and check ``value`` and run the synchronous validators.

        This is what ``create``/``save`` call. Async validators run in ``validate``.

        Returns:
            The Python value to store on the instance.

        Raises:
            ValidationError: The value is not acceptable.
        """
        cleaned = None if value is None else self.to_python(value)
        if cleaned is None:
            self._check_null()
            return None
        self._check(cleaned)
        for validator in self.validators:
            if not inspect.iscoroutinefunction(validator):
                self._run_validator(validator, cleaned)
        return cleaned

    async def validate(self, value: Any) -> T | None:
        """Run ``clean`` and then every async validator.

        Returns:
            The cleaned Python value.

        Raises:
            ValidationError: The value or a validator rejected it.
        """
        cleaned = self.clean(value)
        if self.has_async_validators and cleaned is not None:
            for validator in self.validators:
                if inspect.iscoroutinefunction(validator):
                    try:
                        await validator(cleaned)
                    except ValidationError:
                        raise
                    except (ValueError, TypeError) as err:
                        raise self._validator_error(validator, cleaned, err) from err
        return cleaned

    def _run_validator(self, validator: Validator, value: Any) -> None:
        try:
            result = validator(value)
        except ValidationError:
            raise
        except (ValueError, TypeError) as err:
            raise self._validator_error(validator, value, err) from err
        if inspect.isawaitable(result):
            # A sync callable returned an awaitable: run it in validate() instead.
            if inspect.iscoroutine(result):
                result.close()
            raise field_error(
                model=self._model_name(),
                field=self.name,
                reason=f"{self._label()}: validator "
                f"{getattr(validator, '__name__', repr(validator))} returned an awaitable; "
                "declare it with 'async def' so Field.validate() awaits it.",
            )

    def _validator_error(self, validator: Validator, value: Any, err: Exception) -> ValidationError:
        name = getattr(validator, "__name__", repr(validator))
        return self._invalid(value, f"validator {name} rejected the value: {err}", "")

    # -- helpers -------------------------------------------------------------------------

    def _model_name(self) -> str | None:
        return self.model.__name__ if self.model is not None else None

    def _label(self) -> str:
        field = self.name or f"<unnamed {type(self).__name__}>"
        model = self._model_name()
        return f"{model}.{field}" if model else field

    def _require_name(self) -> str:
        if self.name is None:
            raise field_error(
                field=type(self).__name__,
                reason=f"This {type(self).__name__} is not attached to a model yet; declare "
                "it on a Model class before ordering by it.",
            )
        return self.name

    def _check_null(self) -> None:
        if not self.nullable:
            raise self._invalid(
                None,
                "None is not allowed (the column is NOT NULL)",
                "Give a value, set a default, or declare the field with null=True.",
            )

    def _invalid(self, value: Any, problem: str, fix: str) -> ValidationError:
        """Build a ValidationError naming model and field. Never puts ``value`` in the text."""
        message = f"{self._label()}: {problem}."
        if fix:
            message = f"{message} {fix}"
        return ValidationError(
            message=message,
            model=self._model_name(),
            field=self.name,
            value=value,
            reason=problem,
        )

    def _type_error(self, value: Any, expected: str) -> ValidationError:
        return self._invalid(
            value,
            f"expected {expected}, got {type(value).__name__}",
            f"Pass {expected}.",
        )
