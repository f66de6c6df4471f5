"""Text-like fields: CharField (varchar), TextField (text) and UUIDField (uuid as str)."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any, ClassVar

from .base import Field, field_error, inherits_conversion

__all__ = [
    "CITextField",
    "CharField",
    "EmailField",
    "SlugField",
    "TextField",
    "UUIDField",
    "UUIDFieldREAL",
]

VARCHAR_MAX_LENGTH = 10_485_760
"""PostgreSQL's upper bound for the ``n`` in ``varchar(n)``."""

GEN_RANDOM_UUID = "gen_random_uuid()"

# Fast path for the common case (canonical text); other spellings go through uuid.UUID.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_UUID4 = uuid.uuid4
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""The RFC 4122 variant digit (``10xx``) for each random hex digit."""


def _random_uuid_texts(count: int) -> list[str]:
    """``count`` times ``str(uuid.uuid4())`` without building ``uuid.UUID`` objects: 16 random
    bytes each (``os.urandom``, as ``uuid4``), version 4 and the RFC 4122 variant set, in
    canonical lower-case hyphenated form."""
    h = os.urandom(16 * count).hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


class _StringField(Field[str]):
    """Shared str handling: ``str`` only, and no NUL (PostgreSQL text cannot hold it)."""

    _python_type = str

    def to_python(self, value: Any) -> str | None:
        if value is None or type(value) is str:
            return value
        if isinstance(value, str):
            return str(value)
        # Never str() other types: an int or a model instance in a text column is a bug.
        raise self._type_error(value, "a str")

    def get_db_prep_value(self, value: Any) -> Any:
        if type(value) is str:  # fast path: skips the generic conversion chain
            self._check(value)
            return value
        return super().get_db_prep_value(value)

    def _check(self, value: str) -> None:
        if "\x00" in value:
            raise self._nul(value)

    def _nul(self, value: str) -> Exception:
        return self._invalid(
            value,
            "the text contains a NUL character (\\x00), which PostgreSQL text cannot store",
            "Remove the NUL characters or use a BinaryField for binary data.",
        )


class TextField(_StringField):
    """Unlimited text: PostgreSQL ``text``, Python ``str``.

    Only ``str`` is accepted; other types raise ``ValidationError`` (no implicit ``str()``).
    """

    _default_db_type = "text"


class CharField(_StringField):
    """Text with a maximum length: PostgreSQL ``varchar(max_length)``, Python ``str``.

    A value longer than ``max_length`` characters raises ``ValidationError``; it is never
    truncated. ``max_length=None`` gives an unbounded ``varchar``. Only ``str`` is accepted.

    Args:
        max_length: Maximum number of characters (1 to 10485760), or None for no limit.
        **kwargs: Common ``Field`` options.

    Raises:
        FieldError: ``max_length`` is not a positive int within PostgreSQL's limit.
    """

    def __init__(self, max_length: int | None = 255, **kwargs: Any) -> None:
        if max_length is not None and (
            type(max_length) is not int or not 1 <= max_length <= VARCHAR_MAX_LENGTH
        ):
            raise field_error(
                reason=f"CharField(max_length={max_length!r}) is invalid: give an int from 1 "
                f"to {VARCHAR_MAX_LENGTH}, or None for an unbounded varchar.",
            )
        self.max_length = max_length
        super().__init__(**kwargs)

    def _get_default_db_type(self) -> str:
        return "varchar" if self.max_length is None else f"varchar({self.max_length})"

    def _check(self, value: str) -> None:
        if self.max_length is not None and len(value) > self.max_length:
            raise self._invalid(
                value,
                f"the value has {len(value)} characters, more than max_length={self.max_length}",
                "Shorten the value or raise max_length (values are never truncated).",
            )
        if "\x00" in value:
            raise self._nul(value)

    def _options(self) -> dict[str, Any]:
        return {"max_length": self.max_length}


class UUIDField(Field[str]):
    """A UUID: PostgreSQL ``uuid``, Python ``str`` (canonical lower-case hyphenated form).

    Accepts a ``str`` holding a UUID or a ``uuid.UUID``. A callable default (``uuid.uuid4``)
    is called per instance and its result turned into a ``str``; the string default
    ``"gen_random_uuid()"`` means a new client-side uuid4 per instance. Works on existing
    ``text`` columns too (pass ``db_type="text"``).
    """

    _python_type = str
    _default_db_type = "uuid"

    _exact_prep: ClassVar[bool] = True
    """Whether the ``get_db_prep_value`` fast path applies (no conversion step overridden)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._exact_prep = inherits_conversion(cls, UUIDField)

    def to_python(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, str):
            if _CANONICAL_UUID.fullmatch(value):
                return str(value)
            try:
                return str(uuid.UUID(value))
            except ValueError as err:
                raise self._invalid(
                    value,
                    "the text is not a valid UUID",
                    "Pass a UUID such as str(uuid.uuid4()) or a uuid.UUID.",
                ) from err
        raise self._type_error(value, "a UUID str or a uuid.UUID")

    def get_db_prep_value(self, value: Any) -> Any:
        if type(value) is str and self._exact_prep and _CANONICAL_UUID.fullmatch(value):
            return value  # fast path: canonical text is already the driver value
        return super().get_db_prep_value(value)

    def has_default(self) -> bool:
        return self.default is not None

    def get_default(self) -> str | None:
        """Return a new default: calls a callable default, normalises the result to ``str``.

        Raises:
            ValidationError: The default does not produce a UUID.
        """
        default = self.default
        if default is None:
            return None
        if (default is _UUID4 or default == GEN_RANDOM_UUID) and self._exact_prep:
            return _random_uuid_texts(1)[0]
        if default == GEN_RANDOM_UUID:
            return str(uuid.uuid4())
        if callable(default):
            default = default()
        return self.to_python(default)

    def get_prepared_defaults(self, count: int) -> list[Any] | None:
        """``count`` new canonical uuid4 strings for a ``uuid.uuid4`` or ``"gen_random_uuid()"``
        default (valid by construction); ``None`` for any other default.

        Returns:
            The values, or ``None``.
        """
        if (self.default is _UUID4 or self.default == GEN_RANDOM_UUID) and self._exact_prep:
            return _random_uuid_texts(count)
        return None

    def _options(self) -> dict[str, Any]:
        return {}


# --- upstream's further text fields (matrx_orm.core.fields; not exported at top level) ------

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


class CITextField(_StringField):
    """Case-insensitive text: PostgreSQL ``citext`` (needs ``CREATE EXTENSION citext``), ``str``."""

    _default_db_type = "citext"


class EmailField(CharField):
    """An e-mail address: ``varchar(254)``, ``str``; must have text on both sides of one ``@``
    and no spaces (a shape check, not a deliverability check)."""

    def __init__(self, max_length: int | None = 254, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def _check(self, value: str) -> None:
        super()._check(value)
        local, at, domain = value.rpartition("@")
        if "@" in local or not at or not local or not domain or any(c.isspace() for c in value):
            raise self._invalid(
                value,
                "the text is not an e-mail address",
                "Pass an address such as 'ada@example.com'.",
            )


class SlugField(CharField):
    """A URL slug: ``varchar(200)``, ``str`` of ASCII letters, digits, ``-`` and ``_``."""

    def __init__(self, max_length: int | None = 200, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def _check(self, value: str) -> None:
        super()._check(value)
        if not _SLUG.fullmatch(value):
            raise self._invalid(
                value,
                "a slug may only hold ASCII letters, digits, '-' and '_'",
                "Pass e.g. 'my-first-post'.",
            )


class UUIDFieldREAL(UUIDField):
    """Upstream's name for a native ``uuid`` column; the same as ``UUIDField``."""
