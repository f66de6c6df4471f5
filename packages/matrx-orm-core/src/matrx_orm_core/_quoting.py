"""Identifier quoting for all SQL and the one audited literal-quoting function for DDL."""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import math
import re
import uuid
from collections.abc import Sequence

from .exceptions import FieldError, ValidationError

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "copy_statement",
    "quote_ident",
    "quote_literal",
    "quote_qualified",
]

MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL keeps NAMEDATALEN - 1 = 63 bytes of an identifier and silently truncates the rest."""

# Defence in depth: every bare (unquoted) numeric literal must match this before it is emitted.
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _describe(name: str) -> str:
    """Return a short, printable description of ``name`` for error messages."""
    shown = name if len(name) <= 80 else name[:77] + "..."
    return repr(shown)


@functools.lru_cache(maxsize=4096)
def _quote_ident_checked(name: str) -> str:
    if not name:
        raise FieldError(
            field=name,
            reason="empty identifier: a table, schema or column name must not be empty",
        )
    if "\x00" in name:
        raise FieldError(
            field=name,
            reason=(
                f"identifier {_describe(name)} contains a NUL character, which PostgreSQL "
                "does not allow in names; remove it"
            ),
        )
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as err:
        raise FieldError(
            field=name,
            reason=(
                f"identifier {_describe(name)} is not valid UTF-8 text (lone surrogate); "
                "use a name made of real characters"
            ),
        ) from err
    if size > MAX_IDENTIFIER_BYTES:
        raise FieldError(
            field=name,
            reason=(
                f"identifier {_describe(name)} is {size} bytes long in UTF-8; PostgreSQL keeps "
                f"only {MAX_IDENTIFIER_BYTES} bytes and would silently truncate it. "
                "Use a shorter name"
            ),
        )
    return '"' + name.replace('"', '""') + '"'


def quote_ident(name: str) -> str:
    """Quote one identifier (table, schema, column, alias, constraint or index name).

    The name is wrapped in double quotes and embedded double quotes are doubled, so PostgreSQL
    reads it back as exactly one identifier with exactly this spelling (no case folding).

    Args:
        name: The identifier. A ``str`` subclass (a string enum member) is used by its text.

    Returns:
        The quoted identifier, e.g. ``"user"`` or ``"a""b"``.

    Raises:
        FieldError: ``name`` is not a string, is empty, contains NUL, is not encodable as UTF-8,
            or is longer than 63 UTF-8 bytes (PostgreSQL would truncate it silently).
    """
    if type(name) is not str:
        if not isinstance(name, str):
            raise FieldError(
                field=repr(name),
                reason=(
                    f"identifier must be a str, got {type(name).__name__}; pass the table or "
                    "column name as text"
                ),
            )
        name = str.__str__(name)
    return _quote_ident_checked(name)


def quote_qualified(*parts: str | None) -> str:
    """Quote a dotted name such as ``"schema"."table"``, skipping ``None`` parts.

    Args:
        *parts: Name parts from outermost to innermost; ``None`` parts (a missing schema or
            table alias) are left out.

    Returns:
        The quoted parts joined with ``.``.

    Raises:
        FieldError: no part is given, or a part is not a valid identifier (see `quote_ident`).
    """
    quoted = [quote_ident(part) for part in parts if part is not None]
    if not quoted:
        raise FieldError(
            reason="a qualified name needs at least one part that is not None",
        )
    return ".".join(quoted)


def copy_statement(table: str, columns: Sequence[str], schema: str | None = None) -> str:
    """The text of the binary COPY a driver runs to load ``columns`` of ``table``.

    The driver's COPY protocol call takes the names, not SQL; this is how that statement is
    shown wherever SQL text is expected: in error messages, by the recording test driver and by
    ``assert_num_queries``.

    Returns:
        ``COPY "schema"."table" ("a", "b") FROM STDIN (FORMAT binary)`` (no schema part when
        ``schema`` is ``None``).

    Raises:
        FieldError: a name is not a valid identifier (see `quote_ident`).
    """
    cols = ", ".join([quote_ident(name) for name in columns])
    return f"COPY {quote_qualified(schema, table)} ({cols}) FROM STDIN (FORMAT binary)"


def _quote_text(text: str) -> str:
    """Quote text as a PostgreSQL string constant (the only code path that emits quotes)."""
    if "\x00" in text:
        raise ValidationError(
            reason=(
                "string literal contains a NUL character (\\x00), which PostgreSQL text cannot "
                "hold; remove it or store the data as bytes"
            ),
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValidationError(
            reason="string literal is not valid UTF-8 text (lone surrogate); fix the text",
        ) from err
    if "\\" in text:
        # E'' makes the meaning independent of standard_conforming_strings.
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + text.replace("'", "''") + "'"


def _number(text: str) -> str:
    """Emit a finite numeric constant; negative values are parenthesised.

    PostgreSQL reads ``-5`` as unary minus applied to ``5``: parentheses keep a following
    ``::type`` cast from binding to the digits only, and stop ``x -`` + ``-5`` from becoming the
    comment ``x --5``.
    """
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if _NUMBER_RE.fullmatch(digits) is None:
        raise ValidationError(reason=f"cannot render {text!r} as a PostgreSQL numeric constant")
    return f"({text})" if negative else text


def _float_literal(value: float) -> str:
    if math.isnan(value):
        return "'NaN'"
    if math.isinf(value):
        return "'Infinity'" if value > 0 else "'-Infinity'"
    if value == 0.0 and math.copysign(1.0, value) < 0:
        # A bare -0.0 is numeric (no negative zero) and would come back as 0.
        return "'-0'"
    # float.__repr__ is the shortest text that round-trips, and ignores subclass __repr__.
    return _number(float.__repr__(value))


def _decimal_literal(value: decimal.Decimal) -> str:
    if value.is_snan():
        raise ValidationError(
            reason="signalling NaN Decimal cannot be written as a literal; use Decimal('NaN')",
        )
    if value.is_nan():
        return "'NaN'"
    if value.is_infinite():
        return "'Infinity'" if value > 0 else "'-Infinity'"
    return _number(decimal.Decimal.__str__(value))


def _interval_literal(value: _dt.timedelta) -> str:
    # Same fields asyncpg sends (days, then the rest as time); every field carries an explicit
    # sign so IntervalStyle=sql_standard cannot spread a leading minus over the others.
    return f"'{value.days:+d} days {value.seconds:+d} seconds {value.microseconds:+d} microseconds'"


def quote_literal(value: object) -> str:
    """Render a Python value as a PostgreSQL constant, for DDL only.

    DML values are always bound parameters. PostgreSQL takes no parameters in DDL, so column
    defaults, CHECK expressions, partial-index predicates and enum labels are written with this
    function, the single audited place that turns values into SQL text.

    Accepted values and their output:

    * ``None`` → ``NULL``.
    * ``bool`` → ``TRUE`` / ``FALSE``.
    * ``int`` (including ``IntEnum``) → decimal digits; negative values parenthesised: ``(-5)``.
    * ``float`` → ``repr`` text (``1.5``, ``1e+300``, negative ``(-0.5)``); NaN, infinities
      and negative zero → ``'NaN'``, ``'Infinity'``, ``'-Infinity'``, ``'-0'`` (quoted, typed
      by context).
    * ``decimal.Decimal`` → its canonical ``str`` (``1.50``, ``1E+2``; negative parenthesised);
      NaN/Infinity quoted as for floats; signalling NaN rejected.
    * ``str`` (including ``str`` enums, by their text) → ``'...'`` with ``'`` doubled, or
      ``E'...'`` with ``\\`` and ``'`` doubled when the text contains a backslash, so the
      result means the same whatever ``standard_conforming_strings`` is. Text containing NUL or
      a lone surrogate is rejected.
    * ``bytes`` / ``bytearray`` / ``memoryview`` → ``E'\\\\x<hex>'::bytea``.
    * ``datetime.datetime`` / ``date`` / ``time`` → quoted ISO 8601 text (offset kept when
      aware), e.g. ``'2024-01-02T03:04:05+00:00'``; the type comes from context.
    * ``datetime.timedelta`` → ``'+D days +S seconds +U microseconds'`` (interval input).
    * ``uuid.UUID`` → quoted canonical text ``'xxxxxxxx-xxxx-...'``.

    Everything else (lists, dicts, sets, plain enums, arbitrary objects) is rejected: pass JSON
    as text (``json.dumps(value)``) and add the cast in the DDL yourself.

    Args:
        value: The value to render.

    Returns:
        SQL text for one constant expression.

    Raises:
        ValidationError: the value's type is not listed above, or the value cannot be
            represented (NUL in text, lone surrogate, signalling NaN, an int too large to print).
    """
    if value is None:
        return "NULL"
    if value is True:
        return "TRUE"
    if value is False:
        return "FALSE"
    if isinstance(value, str):
        return _quote_text(str.__str__(value))
    if isinstance(value, int):
        try:
            text = int.__repr__(value)
        except ValueError as err:  # beyond sys.get_int_max_str_digits()
            raise ValidationError(
                reason="integer too large to write as a literal; pass it as Decimal or text",
            ) from err
        return _number(text)
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, decimal.Decimal):
        return _decimal_literal(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "E'\\\\x" + bytes(value).hex() + "'::bytea"
    # datetime is a date subclass: test it first.
    if isinstance(value, _dt.datetime):
        return _quote_text(_dt.datetime.isoformat(value))
    if isinstance(value, _dt.date):
        return _quote_text(_dt.date.isoformat(value))
    if isinstance(value, _dt.time):
        return _quote_text(_dt.time.isoformat(value))
    if isinstance(value, _dt.timedelta):
        return _interval_literal(value)
    if isinstance(value, uuid.UUID):
        return _quote_text(uuid.UUID.__str__(value))
    hint = (
        "; pass JSON as text (json.dumps(value))"
        if isinstance(value, (list, tuple, dict, set, frozenset))
        else ""
    )
    raise ValidationError(
        value=value,
        reason=(
            f"quote_literal() does not accept {type(value).__name__} values{hint}. Accepted: "
            "None, bool, int, float, Decimal, str, bytes, date, time, datetime, timedelta, UUID"
        ),
    )
