"""Array fields: ArrayField(item_type) and the typed arrays built on it.

An array field holds a one-dimensional PostgreSQL array (``item[]``) as a Python ``list``. Each
element is converted and checked by the item field, so an ``IntegerArrayField`` rejects a
``"3"`` or an out-of-range int exactly as an ``IntegerField`` would, naming the element's index.
Multi-dimensional arrays are not supported: a nested list is rejected before any SQL is sent
(except in a ``JSONBArrayField``, whose elements may be any JSON value, lists included).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from matrx_orm_core.exceptions import ValidationError

from .base import Field, field_error
from .boolean import BooleanField
from .json import JSONField
from .network import IPNetworkField, IPv6Field
from .numeric import BigIntegerField, DecimalField, FloatField, IntegerField, SmallIntegerField
from .relations import ForeignKey
from .structured import HStoreField
from .temporal import DateField, TimeField
from .text import TextField, UUIDField

__all__ = [
    "ArrayField",
    "BigIntegerArrayField",
    "BooleanArrayField",
    "DateArrayField",
    "DecimalArrayField",
    "FloatArrayField",
    "HStoreArrayField",
    "IPNetworkArrayField",
    "IPv6ArrayField",
    "IntegerArrayField",
    "JSONBArrayField",
    "NumericArrayField",
    "PrimitiveArrayField",
    "SmallIntegerArrayField",
    "TextArrayField",
    "TimeArrayField",
    "UUIDArrayField",
]

_ELEMENT_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?[A-Za-z ]*")
"""A plain PostgreSQL type name (``text``, ``varchar(20)``, ``double precision``), no ``[]``."""


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple))


class ArrayField(Field[list[Any]]):
    """A one-dimensional PostgreSQL array of ``item_type``: ``<item db_type>[]``, Python ``list``.

    Accepts a ``list`` or ``tuple``; the value is always a ``list``. Each element goes through
    ``item_type`` (conversion, range and length checks), and a bad element raises a
    ``ValidationError`` naming the element's index. ``None`` elements are allowed unless the
    item field is declared ``null=False``. Nested lists raise: PostgreSQL arrays of more than
    one dimension must be rectangular and cannot be told apart from a list element, so they are
    not supported (use a ``JSONBField`` for nested data).

    Args:
        item_type: A field instance describing one element, e.g. ``IntegerField()``.
        **kwargs: Common ``Field`` options.

    Raises:
        FieldError: ``item_type`` is not a column field, or is itself an array.
    """

    _python_type = list

    def __init__(self, item_type: Field[Any], **kwargs: Any) -> None:
        if not isinstance(item_type, Field) or not item_type.is_native:
            raise field_error(
                field=type(self).__name__,
                reason=f"{type(self).__name__}(item_type={item_type!r}) needs a column field "
                "instance describing one element, e.g. ArrayField(IntegerField()).",
            )
        if isinstance(item_type, ArrayField):
            raise field_error(
                field=type(self).__name__,
                reason=f"{type(self).__name__}: an array of arrays (a multi-dimensional array) "
                "is not supported; use a one-dimensional ArrayField, or a JSONBField for "
                "nested lists.",
            )
        if isinstance(item_type, ForeignKey):
            raise field_error(
                field=type(self).__name__,
                reason=f"{type(self).__name__}: a ForeignKey cannot be an array element; use "
                "the target key's field type (e.g. UUIDArrayField) or a ManyToManyField.",
            )
        self.item_type = item_type
        self._nested_ok = isinstance(item_type, JSONField)
        super().__init__(**kwargs)
        # Rows need element conversion only where the item's own column would (EnumField).
        self.needs_load_conversion = item_type.needs_load_conversion

    def contribute_to_class(self, model: type, name: str) -> None:
        super().contribute_to_class(model, name)
        # Element errors then read "Model.tags[]: ...".
        self.item_type.name = f"{name}[]"
        self.item_type.column = None
        self.item_type.model = model

    def _get_default_db_type(self) -> str:
        return f"{self.item_type.db_type}[]"

    # -- conversion ----------------------------------------------------------------------

    def to_python(self, value: Any) -> list[Any] | None:
        if value is None:
            return None
        return self._elements(value, self.item_type.to_python)

    def from_db_value(self, value: Any) -> list[Any] | None:
        """Convert a row's list element by element with the item field's ``from_db_value``."""
        if value is None:
            return None
        convert = self.item_type.from_db_value
        return [None if element is None else convert(element) for element in value]

    def _prep_input(self, value: Any) -> Any:
        return self._elements(value, self.item_type._prep_input)

    def _check(self, value: list[Any]) -> None:
        item = self.item_type
        for index, element in enumerate(value):
            if element is None:
                if not item.nullable:
                    raise self._element_error(value, index, "None is not allowed", "")
                continue
            try:
                item._check(element)
            except ValidationError as err:
                raise self._wrap(value, index, err) from err

    def _to_db(self, value: list[Any]) -> Any:
        to_db = self.item_type._to_db
        return [None if element is None else to_db(element) for element in value]

    def clean(self, value: Any) -> list[Any] | None:
        cleaned = super().clean(value)
        item = self.item_type
        if cleaned is not None and item.validators:
            for index, element in enumerate(cleaned):
                if element is None:
                    continue
                try:
                    item.clean(element)
                except ValidationError as err:
                    raise self._wrap(cleaned, index, err) from err
        return cleaned

    def _elements(self, value: Any, convert: Callable[[Any], Any]) -> list[Any]:
        if not _is_sequence(value):
            raise self._type_error(value, "a list or a tuple")
        result: list[Any] = []
        nested_ok = self._nested_ok
        for index, element in enumerate(value):
            if element is None:
                result.append(None)
                continue
            if not nested_ok and _is_sequence(element):
                raise self._element_error(
                    value,
                    index,
                    f"is a {type(element).__name__}: multi-dimensional arrays are not supported",
                    "Pass a flat list, or store nested lists in a JSONBField.",
                )
            try:
                result.append(convert(element))
            except ValidationError as err:
                raise self._wrap(value, index, err) from err
        return result

    def _wrap(self, value: Any, index: int, err: ValidationError) -> ValidationError:
        reason = err.details.get("reason") or err.message
        message = err.message
        label = f"{self.item_type._label()}: {reason}."
        fix = message[len(label) :].strip() if message.startswith(label) else ""
        return self._element_error(value, index, str(reason), fix)

    def _element_error(self, value: Any, index: int, problem: str, fix: str) -> ValidationError:
        error = self._invalid(value, f"element {index}: {problem}", fix)
        error.details["index"] = index
        return error

    def _options(self) -> dict[str, Any]:
        item = self.item_type
        return {"item_type": type(item).__name__, "item_db_type": item.db_type}


class TextArrayField(ArrayField):
    """A ``text[]`` column: a list of ``str`` (no NUL characters)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(TextField(), **kwargs)


class IntegerArrayField(ArrayField):
    """An ``integer[]`` column: a list of ``int``, each range-checked like ``IntegerField``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(IntegerField(), **kwargs)


class BooleanArrayField(ArrayField):
    """A ``boolean[]`` column: a list of ``bool``.

    As with ``BooleanField``, ``create``/``save`` also accept the strings and 1/0 that
    ``BooleanField.to_python`` knows; filter values must be real ``bool`` elements.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(BooleanField(), **kwargs)


class UUIDArrayField(ArrayField):
    """A ``uuid[]`` column: a list of canonical UUID ``str`` (input: ``str`` or ``uuid.UUID``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(UUIDField(), **kwargs)


class JSONBArrayField(ArrayField):
    """A ``jsonb[]`` column: a list whose elements are any JSON values.

    An element may itself be a list or a dict: it is one ``jsonb`` element, never another
    array dimension. Elements are checked as ``JSONField`` values (no NaN, no NUL).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(JSONField(), **kwargs)

    def _to_db(self, value: list[Any]) -> Any:
        # The driver reads a list inside an array parameter as another dimension; a tuple is
        # one element, and the jsonb codec encodes it as a JSON array.
        return [tuple(element) if type(element) is list else element for element in value]


class PrimitiveArrayField(ArrayField):
    """An array of any PostgreSQL type, ``<element_type>[]``, with no element conversion.

    Elements are passed to the driver as they are (the driver encodes them for
    ``element_type``); only the shape is checked here: a list or tuple, one dimension.

    Args:
        element_type: The element's PostgreSQL type name, e.g. ``"numeric"`` or ``"date"``.
        **kwargs: Common ``Field`` options.

    Raises:
        FieldError: ``element_type`` is not a plain type name.
    """

    def __init__(self, element_type: str, **kwargs: Any) -> None:
        if not isinstance(element_type, str) or not _ELEMENT_TYPE.fullmatch(element_type.strip()):
            raise field_error(
                field="PrimitiveArrayField",
                reason=f"PrimitiveArrayField(element_type={element_type!r}) needs a plain "
                "PostgreSQL type name without [] such as 'numeric' or 'varchar(20)'.",
            )
        self.element_type = element_type.strip()
        super().__init__(_Primitive(db_type=self.element_type), **kwargs)

    def _options(self) -> dict[str, Any]:
        return {"element_type": self.element_type}


class _Primitive(Field[Any]):
    """The element of a ``PrimitiveArrayField``: any value, passed through unchanged."""


# --- further typed arrays (upstream's matrx_orm.core.fields; not exported at top level) -------


class FloatArrayField(ArrayField):
    """A ``double precision[]`` column: a list of ``float`` (NaN and infinities allowed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(FloatField(), **kwargs)


class BigIntegerArrayField(ArrayField):
    """A ``bigint[]`` column: a list of range-checked ``int``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(BigIntegerField(), **kwargs)


class SmallIntegerArrayField(ArrayField):
    """A ``smallint[]`` column: a list of range-checked ``int``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(SmallIntegerField(), **kwargs)


class DecimalArrayField(ArrayField):
    """A ``numeric(p,s)[]`` column: a list of ``Decimal``, each checked like ``DecimalField``.

    Args:
        max_digits: Total digits of each element, or None for unconstrained ``numeric``.
        decimal_places: Digits after the point of each element.
        **kwargs: Common ``Field`` options.
    """

    def __init__(
        self, max_digits: int | None = None, decimal_places: int = 2, **kwargs: Any
    ) -> None:
        super().__init__(DecimalField(max_digits, decimal_places), **kwargs)


class NumericArrayField(ArrayField):
    """An unconstrained ``numeric[]`` column: a list of ``Decimal`` (any scale)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DecimalField(None), **kwargs)


class DateArrayField(ArrayField):
    """A ``date[]`` column: a list of ``date``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DateField(), **kwargs)


class TimeArrayField(ArrayField):
    """A ``time[]`` column: a list of naive ``time``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(TimeField(), **kwargs)


class IPv6ArrayField(ArrayField):
    """An ``inet[]`` column of IPv6 addresses (each element checked like ``IPv6Field``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(IPv6Field(), **kwargs)


class IPNetworkArrayField(ArrayField):
    """A ``cidr[]`` column: a list of ``IPv4Network``/``IPv6Network``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(IPNetworkField(), **kwargs)


class HStoreArrayField(ArrayField):
    """An ``hstore[]`` column: a list of ``dict[str, str | None]`` (needs the extension)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(HStoreField(), **kwargs)
