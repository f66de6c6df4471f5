"""JSON fields: JSONField and JSONBField (jsonb by default; JSONField(jsonb=False) is json)."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

from .base import Field, inherits_conversion

__all__ = ["JSONBField", "JSONField", "RawJSON"]

_SCALARS = (str, int, float, bool)

_STRICT = json.JSONEncoder(allow_nan=False)
"""``json.dumps(value, allow_nan=False)`` without building an encoder per call."""


def _not_serialisable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_FAST = (
    None
    if _C_ENCODER is None
    else _C_ENCODER(
        None,
        _not_serialisable,
        json.encoder.encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        False,
    )
)
"""The C encoder ``_STRICT`` uses, made once (no circular-reference bookkeeping: a cycle ends
in ``RecursionError``, and ``_dumps`` then asks ``_STRICT`` for the standard error)."""


def _dumps(value: Any) -> str:
    """``json.dumps(value, allow_nan=False)``: the same text, or the same error."""
    if _FAST is not None:
        try:
            return "".join(_FAST(value, 0))
        except (TypeError, ValueError, RecursionError):
            pass
    return _STRICT.encode(value)


class RawJSON:
    """JSON text to store as the value it encodes (API.md §10.32's explicit wrapper).

    A plain ``str`` given to a JSON field is stored as a JSON string. Wrap text that already
    is JSON, e.g. read from a file or an API, to store the object it describes instead:
    ``Doc.create(data=RawJSON('{"a": 1}'))`` stores ``{"a": 1}``. The text is parsed with
    ``json.loads`` when the value is cleaned, so malformed JSON raises ``ValidationError``
    before any SQL is sent, and the instance then holds the decoded value.

    Args:
        text: The JSON text (``str``, or UTF-8 ``bytes``).
    """

    __slots__ = ("text",)

    def __init__(self, text: str | bytes) -> None:
        if not isinstance(text, (str, bytes)):
            raise TypeError(f"RawJSON takes JSON text (str or bytes), not {type(text).__name__}")
        self.text = text

    def __repr__(self) -> str:
        return f"RawJSON({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawJSON) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("RawJSON", self.text))


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_contains_nul(v) for v in value)
    return False


class JSONField(Field[Any]):
    """Any JSON value: PostgreSQL ``jsonb`` (``json`` with ``jsonb=False``).

    The Python value is the decoded JSON value (dict, list, str, int, float, bool or None).
    A Python ``str`` is stored as a JSON string, never parsed as JSON text; wrap JSON text in
    :class:`RawJSON` to store the value it encodes. Values are checked
    with ``json.dumps`` before any SQL is sent, so an unserialisable object, NaN/Infinity
    (not valid JSON) or a NUL character (rejected by PostgreSQL) raises ``ValidationError``.
    The driver's json/jsonb codecs encode and decode, so rows need no per-field conversion.

    Args:
        jsonb: ``True`` (default) for ``jsonb``, ``False`` for ``json``.
        **kwargs: Common ``Field`` options. A dict/list ``default`` is copied per instance.
    """

    _python_type = object

    _exact_prep: ClassVar[bool] = True
    """Whether the ``get_db_prep_value`` fast path applies (no conversion step overridden)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._exact_prep = inherits_conversion(cls, JSONField)

    def __init__(self, jsonb: bool = True, **kwargs: Any) -> None:
        self.jsonb = jsonb
        super().__init__(**kwargs)

    def _get_default_db_type(self) -> str:
        return "jsonb" if self.jsonb else "json"

    def to_python(self, value: Any) -> Any:
        if type(value) is RawJSON:
            try:
                return json.loads(value.text)
            except ValueError as err:
                raise self._invalid(
                    value,
                    f"the RawJSON text is not valid JSON ({err})",
                    "Fix the text, or pass the Python value itself.",
                ) from err
        return value

    def _check(self, value: Any) -> None:
        if type(value) in _SCALARS:
            if type(value) is float and not math.isfinite(value):
                raise self._not_json(value, ValueError("NaN and Infinity are not JSON"))
            if type(value) is str and "\x00" in value:
                raise self._nul(value)
            return
        try:
            text = _dumps(value)
        except (TypeError, ValueError, RecursionError) as err:
            raise self._not_json(value, err) from err
        if "\\u0000" in text and _contains_nul(value):
            raise self._nul(value)

    def get_db_text(self, value: Any) -> str | None:
        """Prepare ``value`` as ``get_db_prep_value`` does and return its JSON text.

        Set-based statements send JSON values as text (``unnest`` of a ``text[]``, cast back
        after); this checks and encodes a value once, giving the text the driver's codec would
        send.

        Returns:
            The JSON text (``json.dumps``), or ``None`` for ``None``.

        Raises:
            ValidationError: As ``get_db_prep_value``.
        """
        if (type(value) is dict or type(value) is list) and self._exact_prep:
            try:
                text = _dumps(value)
            except (TypeError, ValueError, RecursionError) as err:
                raise self._not_json(value, err) from err
            if "\\u0000" in text and _contains_nul(value):
                raise self._nul(value)
            return text
        prepared = self.get_db_prep_value(value)
        return None if prepared is None else json.dumps(prepared)

    def _not_json(self, value: Any, err: Exception) -> Exception:
        return self._invalid(
            value,
            f"the value is not JSON-serialisable ({type(err).__name__}: {err})",
            "Convert it to dicts, lists, str, int, float, bool and None first "
            "(NaN and Infinity are not valid JSON).",
        )

    def _nul(self, value: Any) -> Exception:
        return self._invalid(
            value,
            "a string in the value contains a NUL character (\\u0000), which PostgreSQL "
            "JSON cannot store",
            "Remove the NUL characters.",
        )

    def _options(self) -> dict[str, Any]:
        return {"jsonb": self.jsonb}


class JSONBField(JSONField):
    """Any JSON value stored as PostgreSQL ``jsonb``; the same as ``JSONField()``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(jsonb=True, **kwargs)

    def _options(self) -> dict[str, Any]:
        return {}
