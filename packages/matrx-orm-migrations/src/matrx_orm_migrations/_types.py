"""Column type and default normalisation: one canonical spelling for both sides of a diff.

A model field states its type as PostgreSQL text (``field.db_type``: ``varchar(50)``,
``timestamptz``, ``int[]``); the catalog states it through ``format_type`` (``character
varying(50)``, ``timestamp with time zone``, ``integer[]``). :func:`normalize_type` maps both to
the catalog's spelling, so a column whose type did not change compares equal. User-defined types
(enums, domains, composites) are spelled ``"schema"."name"``. Type text that is not a type name
is rejected with :class:`MigrationError`: type text is written into DDL, so it is checked here
against a strict grammar rather than trusted.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from matrx_orm_core._quoting import quote_ident, quote_literal
from matrx_orm_core.exceptions import FieldError, MigrationError

from ._exprtext import ScanProblem, outside_quotes

__all__ = [
    "KNOWN_TYPES",
    "ORM_TO_PG",
    "PG_TYPE_ALIASES",
    "normalize_default",
    "normalize_type",
    "orm_type_to_pg",
    "same_default",
    "user_type_name",
]

PG_TYPE_ALIASES: dict[str, str] = {
    "int4": "integer",
    "int": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "float4": "real",
    "float8": "double precision",
    "float": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "char": "character",
    "bpchar": "character",
    "decimal": "numeric",
    "varbit": "bit varying",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
}
"""PostgreSQL short names and their ``format_type`` spelling (what the catalog prints)."""

ORM_TO_PG: dict[str, str] = {
    "UUID": "uuid",
    "TEXT": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "FLOAT": "double precision",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp with time zone",
    "TIMESTAMPTZ": "timestamp with time zone",
    "DATE": "date",
    "TIME": "time without time zone",
    "JSONB": "jsonb",
    "JSON": "json",
    "BYTEA": "bytea",
    "INET": "inet",
    "CIDR": "cidr",
    "MACADDR": "macaddr",
    "POINT": "point",
    "INTERVAL": "interval",
    "HSTORE": "hstore",
    "CITEXT": "citext",
    "MONEY": "money",
    "NUMERIC": "numeric",
    "SERIAL": "integer",
    "BIGSERIAL": "bigint",
}
"""Upstream's upper-case ORM type labels (API.md §5.7). ``TIMESTAMP`` means ``timestamptz``
there (API.md §10.34); a field's ``db_type`` is PostgreSQL text, where ``timestamp`` keeps its
PostgreSQL meaning (without time zone)."""

_SERIALS = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}

KNOWN_TYPES = frozenset(
    {
        "bigint", "bit", "bit varying", "boolean", "box", "bytea", "character",
        "character varying", "cidr", "circle", "citext", "date", "daterange",
        "double precision", "geography", "geometry", "halfvec", "hstore", "inet", "int4range",
        "int8range", "integer", "interval", "json", "jsonb", "jsonpath", "line", "lseg",
        "ltree", "macaddr", "macaddr8", "money", "name", "numeric", "numrange", "oid", "path",
        "pg_lsn", "point", "polygon", "real", "regclass", "smallint", "text",
        "time with time zone", "time without time zone", "timestamp with time zone",
        "timestamp without time zone", "tsquery", "tsrange", "tstzrange", "tsvector", "uuid",
        "vector", "xml", '"char"',
    }
)  # fmt: skip
"""Built-in and common extension types (spelled unquoted, never schema-qualified)."""

_IDENT = r'(?:"(?:[^"\x00]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_USER_TYPE = re.compile(rf"({_IDENT})(?:\s*\.\s*({_IDENT}))?")
_ARRAY_SUFFIX = re.compile(r"(?:\s*\[\s*[0-9]*\s*\])+$|\s+array$", re.IGNORECASE)
_BUILTIN = re.compile(
    r"([a-z_][a-z0-9_]*(?: [a-z_][a-z0-9_]*)*?)"
    r"(?:\s*\(\s*([0-9]+)\s*(?:,\s*([0-9]+)\s*)?\))?"
    r"(?:\s+(with|without) time zone)?"
)
_WITH_PRECISION = frozenset({"timestamp", "time", "interval"})


def _type_error(text: object, reason: str, where: str | None) -> MigrationError:
    place = f" ({where})" if where else ""
    return MigrationError(
        message=f"Column type {text!r}{place} is not usable in DDL: {reason}. Give a "
        "PostgreSQL type name such as 'varchar(50)', 'numeric(10,2)', 'text[]' or the name of "
        "an enum type.",
        details={"type": text, "where": where},
    )


def _unquote(part: str) -> str:
    if part.startswith('"'):
        return part[1:-1].replace('""', '"')
    return part.lower()


def user_type_name(schema: str, name: str) -> str:
    """The canonical spelling of a user-defined type: ``"schema"."name"``.

    Raises:
        MigrationError: a part is not a valid identifier (empty, NUL, over 63 bytes).
    """
    try:
        return f"{quote_ident(schema)}.{quote_ident(name)}"
    except FieldError as err:
        raise _type_error(name, str(err.details.get("reason") or err), None) from err


def _builtin(name: str, p: str | None, s: str | None, tz: str | None) -> str | None:
    """Canonical text of a built-in type, or ``None`` when ``name`` is not one."""
    if name in ("timestamptz", "timetz"):
        name, tz = name[:-2], tz or "with"
    if name in ("timestamp", "time"):
        precision = f"({p})" if p is not None else ""
        if s is not None:
            return None
        return f"{name}{precision} {tz or 'without'} time zone"
    if tz is not None:
        return None
    name = PG_TYPE_ALIASES.get(name, name)
    if name == "double" or name == "float":
        name = "double precision"
    if name == "numeric":
        if p is None:
            return None if s is not None else "numeric"
        return f"numeric({p},{s or '0'})"
    if name in ("character", "bit") and p is None:
        p = "1"
    if p is not None:
        sized = ("character varying", "character", "bit", "bit varying", "interval")
        if name not in sized and (name not in ("vector", "halfvec") or s is not None):
            return None
        if s is not None:
            return None
        return f"{name}({p})"
    return name if name in KNOWN_TYPES else None


def normalize_type(text: str, schema: str = "public", *, where: str | None = None) -> str:
    """Return the canonical spelling of a column type.

    Args:
        text: PostgreSQL type text (``varchar(50)``, ``int4``, ``timestamptz``, ``text[]``,
            ``mood``, ``"My Enum"``, ``other.mood``). ``serial`` types normalise to their
            integer type (the sequence is the column's ``serial`` flag, see
            :func:`serial_base`).
        schema: the schema an unqualified user-defined type name belongs to.
        where: ``"Model.field"`` or ``"table.column"``, named in the error message.

    Returns:
        The canonical text: ``format_type`` spelling for built-in types, ``"schema"."name"``
        for other names, with ``[]`` for arrays (PostgreSQL does not keep array dimensions).

    Raises:
        MigrationError: the text is not a type name (punctuation, statements, modifiers a type
            does not take, over-long identifiers).
    """
    if not isinstance(text, str) or not text.strip() or "\x00" in text:
        raise _type_error(text, "it must be non-empty text without NUL", where)
    body = text.strip()
    suffix = ""
    match = _ARRAY_SUFFIX.search(body)
    if match is not None:
        body, suffix = body[: match.start()].rstrip(), "[]"
    if not body:
        raise _type_error(text, "it has no element type", where)
    lowered = " ".join(body.lower().split())
    serial = _SERIALS.get(lowered)
    if serial is not None:
        return serial + suffix
    if lowered == '"char"':
        return '"char"' + suffix
    builtin = _BUILTIN.fullmatch(lowered)
    if builtin is not None:
        canonical = _builtin(*builtin.groups())
        if canonical is not None:
            return canonical + suffix
    user = _USER_TYPE.fullmatch(body)
    if user is None:
        raise _type_error(text, "it is not a type name", where)
    first, second = user.group(1), user.group(2)
    type_schema, name = (
        (schema, _unquote(first))
        if second is None
        else (
            _unquote(first),
            _unquote(second),
        )
    )
    if name in KNOWN_TYPES and second is not None and not first.startswith('"'):
        return name + suffix  # an extension type qualified by its schema (extensions.citext)
    if builtin is not None and " " in lowered:
        raise _type_error(text, "unknown type or modifiers", where)
    return user_type_name(type_schema, name) + suffix


def serial_base(text: str) -> bool:
    """Whether ``text`` names a serial pseudo-type (``serial``, ``bigserial``, ...)."""
    return " ".join(text.strip().lower().split()) in _SERIALS


def orm_type_to_pg(label: str) -> str:
    """Map an upstream ORM type label (``"TIMESTAMP"``, ``"VARCHAR(20)"``) to PostgreSQL text.

    Labels of :data:`ORM_TO_PG` map as listed; ``VARCHAR(n)`` becomes ``character varying(n)``,
    ``NUMERIC(p,s)`` is lower-cased; anything else is lower-cased.
    """
    key = label.strip().upper()
    if key in ORM_TO_PG:
        return ORM_TO_PG[key]
    varchar = re.fullmatch(r"VARCHAR\s*\(\s*(\d+)\s*\)", key)
    if varchar is not None:
        return f"character varying({varchar.group(1)})"
    return label.strip().lower()


# -- defaults ------------------------------------------------------------------------------


def _scan(expr: str) -> list[tuple[int, int]]:
    """(index, depth) of every character outside quoted text (server spelling; see
    :func:`._exprtext.outside_quotes`); ``[]`` for text that does not scan."""
    try:
        return outside_quotes(expr, strict=False)
    except ScanProblem:
        return []


def _strip_cast(expr: str) -> str | None:
    """``expr`` without its outermost trailing ``::type``, or None when it has none."""
    last = None
    for index, depth in _scan(expr):
        if depth == 0 and expr.startswith("::", index) and (last is None or index > last + 1):
            last = index
    if last is None:
        return None
    head, cast = expr[:last].rstrip(), expr[last + 2 :].strip()
    if not re.fullmatch(r'[A-Za-z_"][A-Za-z0-9_ ."$]*(\([0-9, ]*\))?[a-z ]*(\[\])*', cast):
        return None
    return head


def _strip_parens(expr: str) -> str | None:
    if not (expr.startswith("(") and expr.endswith(")")):
        return None
    for index, depth in _scan(expr):
        if depth == 0 and index < len(expr) - 1:
            return None
    return expr[1:-1].strip()


def _decode_string(expr: str) -> str | None:
    match = re.fullmatch(r"([eE]?)'((?:[^']|'')*)'", expr, re.DOTALL)
    if match is None:
        return None
    text = match.group(2).replace("''", "'")
    if match.group(1):
        text = re.sub(r"\\(.)", lambda m: m.group(1), text)
    return text


def _number(text: str) -> str | None:
    if not re.fullmatch(r"\s*[-+]?\s*[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\s*", text):
        return None
    try:
        return "num:" + str(Decimal(text.replace(" ", "")).normalize())
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        return None


_CLOCK = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
_OFFSET = r"(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?"
_TIMESTAMP = re.compile(rf"(\d{{4}})-(\d{{2}})-(\d{{2}})[T ]{_CLOCK}\s*{_OFFSET}")
_TIME = re.compile(rf"{_CLOCK}\s*{_OFFSET}")
_INTERVAL_PART = re.compile(
    r"([+-]?\d+)\s+(days?|seconds?|microseconds?)"
    r"|([+-])?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
)


def _clock(groups: Sequence[str | None]) -> tuple[int, int, int, int]:
    hour, minute, second, fraction = groups
    micro = int((fraction or "").ljust(6, "0") or 0)
    return int(hour or 0), int(minute or 0), int(second or 0), micro


def _offset(groups: Sequence[str | None]) -> _dt.timezone | None:
    zulu, sign, hours, minutes, seconds = groups
    if zulu:
        return _dt.timezone.utc
    if sign is None:
        return None
    delta = _dt.timedelta(
        hours=int(hours or 0), minutes=int(minutes or 0), seconds=int(seconds or 0)
    )
    return _dt.timezone(-delta if sign == "-" else delta)


def _temporal(text: str) -> str | None:
    """A key for timestamp, time and interval text, equal across the server's re-spellings
    (``T`` or space, ``+00`` or ``+00:00``, another session time zone, ``1 day 00:00:05``)."""
    stamp = _TIMESTAMP.fullmatch(text.strip())
    if stamp is not None:
        groups = stamp.groups()
        try:
            value = _dt.datetime(
                int(groups[0]),
                int(groups[1]),
                int(groups[2]),
                *_clock(groups[3:7]),
                tzinfo=_offset(groups[7:]),
            )
        except ValueError:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc)
        return "ts:" + value.isoformat()
    clock = _TIME.fullmatch(text.strip())
    if clock is not None:
        groups = clock.groups()
        try:
            moment = _dt.time(*_clock(groups[:4]), tzinfo=_offset(groups[4:]))
        except ValueError:
            return None
        return "time:" + moment.isoformat()
    return _interval(text)


def _interval(text: str) -> str | None:
    micros = 0
    position = 0
    body = text.strip()
    units = {"day": 86_400_000_000, "second": 1_000_000, "microsecond": 1}
    for match in _INTERVAL_PART.finditer(body):
        if body[position : match.start()].strip():
            return None
        position = match.end()
        if match.group(1) is not None:
            micros += int(match.group(1)) * units[match.group(2).rstrip("s")]
        else:
            sign = -1 if match.group(3) == "-" else 1
            hours, minutes, seconds = int(match.group(4)), int(match.group(5)), int(match.group(6))
            fraction = int((match.group(7) or "").ljust(6, "0") or 0)
            micros += sign * (((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + fraction)
    if position == 0 or body[position:].strip():
        return None
    return f"interval:{micros}"


def normalize_default(expr: str | None) -> str | None:
    """A comparison key for a column default, equal for spellings the server treats as one.

    The server re-spells defaults (``false`` for ``FALSE``, ``'x'::character varying`` for
    ``'x'``, ``'-5'::integer`` for ``(-5)``). The key drops outer casts and parentheses, decodes
    string constants, compares numbers by value and lower-cases everything outside quotes.
    Timestamps compare as instants, times and intervals by value (the server prints them in the
    session's time zone and its own interval style). It is for comparison only: never write it
    into DDL.
    """
    if expr is None:
        return None
    current = expr.strip()
    while True:
        stripped = _strip_cast(current)
        if stripped is None:
            stripped = _strip_parens(current)
        if stripped is None:
            break
        current = stripped
    text = _decode_string(current)
    if text is not None:
        number = _number(text)
        if number is not None:
            return number
        temporal = _temporal(text)
        return temporal if temporal is not None else "str:" + quote_literal(text)
    number = _number(current)
    if number is not None:
        return number
    lowered = current.lower()
    if lowered in ("true", "false", "null"):
        return lowered.upper()
    pieces: list[str] = []
    kept = {index for index, _ in _scan(current)}
    for index, ch in enumerate(current):
        pieces.append(ch.lower() if index in kept else ch)
    return " ".join("".join(pieces).split())


def same_default(left: str | None, right: str | None) -> bool:
    """Whether two default expressions mean the same (see :func:`normalize_default`)."""
    return normalize_default(left) == normalize_default(right)
