"""Level1 tests for matrx_orm_core._quoting: identifier quoting and the DDL literal function."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matrx_orm_core._quoting import (
    MAX_IDENTIFIER_BYTES,
    quote_ident,
    quote_literal,
    quote_qualified,
)
from matrx_orm_core.exceptions import FieldError, ORMException, ValidationError

# Names PostgreSQL accepts as identifiers; each must come back as exactly one identifier.
ACCEPTED_NAMES = [
    "user",
    "order",
    "UPPER",
    'a"b',
    '"',
    '""',
    '"; DROP TABLE x; --',
    "$1",
    "/* c */",
    "--",
    "naïve_ß_名前",
    "with space",
    " ",
    "back\\slash",
    "'single'",
    "e'x'",
    "a.b",
    "*",
    "line\nbreak",
    "tab\there",
    "a" * 63,
    "名" * 21,  # 63 UTF-8 bytes
    "é" * 31 + "a",  # 63 UTF-8 bytes
]
REJECTED_NAMES = [
    "",
    "\x00",
    "a\x00b",
    "a" * 64,
    "é" * 32,  # 64 UTF-8 bytes
    "名" * 21 + "a",  # 64 UTF-8 bytes
    "\ud800",  # lone surrogate: not encodable
]


def parse_quoted_ident(text: str) -> str:
    """Reference parser: one PostgreSQL quoted identifier, nothing before or after it."""
    assert text.startswith('"'), text
    out: list[str] = []
    i = 1
    while True:
        assert i < len(text), f"unterminated identifier {text!r}"
        char = text[i]
        if char == '"':
            if i + 1 < len(text) and text[i + 1] == '"':
                out.append('"')
                i += 2
                continue
            i += 1
            break
        out.append(char)
        i += 1
    assert i == len(text), f"text after the identifier in {text!r}"
    return "".join(out)


_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


def parse_pg_string(text: str) -> str:
    """Reference parser: one PostgreSQL string constant (``'...'`` or ``E'...'``), whole text.

    Standard strings: ``''`` is a quote, everything else literal (standard_conforming_strings=on).
    Escape strings: also ``\\b \\f \\n \\r \\t``, octal ``\\o[o[o]]``, ``\\xh[h]``, ``\\uXXXX``,
    ``\\UXXXXXXXX``, and backslash + any other character is that character.
    """
    if text[:2] in ("E'", "e'"):
        escapes, i = True, 2
    else:
        assert text.startswith("'"), f"not a string constant: {text!r}"
        escapes, i = False, 1
    out: list[str] = []
    n = len(text)
    while True:
        assert i < n, f"unterminated string constant {text!r}"
        char = text[i]
        if char == "'":
            if i + 1 < n and text[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            i += 1
            break
        if escapes and char == "\\":
            i += 1
            assert i < n, f"dangling backslash in {text!r}"
            esc = text[i]
            if esc in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[esc])
                i += 1
            elif esc in _OCTAL:
                j = i
                while j < n and j < i + 3 and text[j] in _OCTAL:
                    j += 1
                out.append(chr(int(text[i:j], 8)))
                i = j
            elif esc == "x" and i + 1 < n and text[i + 1] in _HEX:
                j = i + 1
                while j < n and j < i + 3 and text[j] in _HEX:
                    j += 1
                out.append(chr(int(text[i + 1 : j], 16)))
                i = j
            elif esc in "uU":
                width = 4 if esc == "u" else 8
                out.append(chr(int(text[i + 1 : i + 1 + width], 16)))
                i += 1 + width
            else:
                out.append(esc)
                i += 1
            continue
        out.append(char)
        i += 1
    assert i == n, f"text after the string constant in {text!r}"
    return "".join(out)


# --- quote_ident ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("user", '"user"'),
        ("UPPER", '"UPPER"'),
        ('a"b', '"a""b"'),
        ('"; DROP TABLE x; --', '"""; DROP TABLE x; --"'),
        ("$1", '"$1"'),
        ("/* c */", '"/* c */"'),
        ("naïve_ß_名前", '"naïve_ß_名前"'),
        ("with space", '"with space"'),
        ("back\\slash", '"back\\slash"'),
        ('""', '""""""'),
    ],
)
def test_quote_ident_exact(name: str, expected: str) -> None:
    assert quote_ident(name) == expected


@pytest.mark.parametrize("name", ACCEPTED_NAMES)
def test_quote_ident_round_trips_hostile_names(name: str) -> None:
    quoted = quote_ident(name)
    assert quoted == '"' + name.replace('"', '""') + '"'
    assert parse_quoted_ident(quoted) == name


@pytest.mark.parametrize("name", REJECTED_NAMES)
def test_quote_ident_rejects_invalid_names(name: str) -> None:
    with pytest.raises(FieldError) as info:
        quote_ident(name)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ORMException)


def test_quote_ident_length_limit_is_bytes() -> None:
    assert MAX_IDENTIFIER_BYTES == 63
    assert quote_ident("x" * 63) == '"' + "x" * 63 + '"'
    with pytest.raises(FieldError, match="64 bytes long"):
        quote_ident("x" * 64)
    with pytest.raises(FieldError, match="64 bytes long"):
        quote_ident("é" * 32)


def test_quote_ident_error_messages_say_what_is_wrong() -> None:
    with pytest.raises(FieldError, match="empty identifier"):
        quote_ident("")
    with pytest.raises(FieldError, match="NUL"):
        quote_ident("a\x00b")
    with pytest.raises(FieldError, match="surrogate"):
        quote_ident("\udc80")


@pytest.mark.parametrize("bad", [1, None, b"name", 1.5, ["a"]])
def test_quote_ident_rejects_non_strings(bad: object) -> None:
    with pytest.raises(FieldError, match="identifier must be a str"):
        quote_ident(bad)  # type: ignore[arg-type]


def test_quote_ident_uses_text_of_str_subclasses() -> None:
    class Name(str, enum.Enum):
        USER = "user"

    class Loud(str):
        def __str__(self) -> str:
            return "ignored"

    assert quote_ident(Name.USER) == '"user"'
    assert quote_ident(Loud('a"b')) == '"a""b"'
    assert type(quote_ident(Loud("x"))) is str


def test_quote_ident_error_is_not_cached() -> None:
    for _ in range(2):
        with pytest.raises(FieldError):
            quote_ident("")


@settings(max_examples=300)
@given(
    st.text(
        st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
        min_size=1,
        max_size=63,
    )
)
@example('"')
@example('a""b')
def test_quote_ident_property(name: str) -> None:
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        with pytest.raises(FieldError):
            quote_ident(name)
    else:
        assert parse_quoted_ident(quote_ident(name)) == name


# --- quote_qualified --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("public", "user"), '"public"."user"'),
        ((None, "user"), '"user"'),
        (("user",), '"user"'),
        (("db", None, "t"), '"db"."t"'),
        (("s", "t", "c"), '"s"."t"."c"'),
        (('a"b', "c.d"), '"a""b"."c.d"'),
    ],
)
def test_quote_qualified(parts: tuple[str | None, ...], expected: str) -> None:
    assert quote_qualified(*parts) == expected


@pytest.mark.parametrize("parts", [(), (None,), (None, None)])
def test_quote_qualified_needs_a_part(parts: tuple[None, ...]) -> None:
    with pytest.raises(FieldError, match="at least one part"):
        quote_qualified(*parts)


@pytest.mark.parametrize("parts", [("", "t"), ("s", "a\x00"), ("s", "x" * 64)])
def test_quote_qualified_rejects_bad_parts(parts: tuple[str, ...]) -> None:
    with pytest.raises(FieldError):
        quote_qualified(*parts)


# --- quote_literal ----------------------------------------------------------------------------


class Colour(str, enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Plain(enum.Enum):
    A = "a"


class ReprFloat(float):
    def __repr__(self) -> str:
        return "1); DROP TABLE x; --"


class ReprInt(int):
    def __repr__(self) -> str:
        return "1); DROP TABLE x; --"

    __str__ = __repr__


UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (False, "FALSE"),
        (0, "0"),
        (42, "42"),
        (-5, "(-5)"),
        (10**30, "1" + "0" * 30),
        (Level.HIGH, "3"),
        (ReprInt(7), "7"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (-0.5, "(-0.5)"),
        (-0.0, "'-0'"),
        (0.0, "0.0"),
        (1e300, "1e+300"),
        (5e-324, "5e-324"),
        (ReprFloat(2.5), "2.5"),
        (float("nan"), "'NaN'"),
        (float("inf"), "'Infinity'"),
        (float("-inf"), "'-Infinity'"),
        (decimal.Decimal("1.50"), "1.50"),
        (decimal.Decimal("-1.50"), "(-1.50)"),
        (decimal.Decimal("1E+2"), "1E+2"),
        (decimal.Decimal("0E-7"), "0E-7"),
        (decimal.Decimal("NaN"), "'NaN'"),
        (decimal.Decimal("Infinity"), "'Infinity'"),
        (decimal.Decimal("-Infinity"), "'-Infinity'"),
        ("", "''"),
        ("plain", "'plain'"),
        ("O'Reilly", "'O''Reilly'"),
        ("a\\b", "E'a\\\\b'"),
        ("it's a\\b", "E'it''s a\\\\b'"),
        ("\\", "E'\\\\'"),
        ("'", "''''"),
        ("naïve_ß_名前", "'naïve_ß_名前'"),
        ("line\nbreak\ttab", "'line\nbreak\ttab'"),
        ("'; DROP TABLE x; --", "'''; DROP TABLE x; --'"),
        ("$1", "'$1'"),
        (Colour.RED, "'red'"),
        (b"", "E'\\\\x'::bytea"),
        (b"\x00\x01\xff'", "E'\\\\x0001ff27'::bytea"),
        (bytearray(b"ab"), "E'\\\\x6162'::bytea"),
        (memoryview(b"ab"), "E'\\\\x6162'::bytea"),
        (dt.date(2024, 1, 2), "'2024-01-02'"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "'2024-01-02T03:04:05'"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "'2024-01-02T03:04:05.000006+00:00'"),
        (dt.time(3, 4, 5), "'03:04:05'"),
        (dt.time(3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-2))), "'03:04:05-02:00'"),
        (dt.timedelta(days=1, seconds=2, microseconds=3), "'+1 days +2 seconds +3 microseconds'"),
        (dt.timedelta(seconds=-1), "'-1 days +86399 seconds +0 microseconds'"),
        (
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "'12345678-1234-5678-1234-567812345678'",
        ),
    ],
)
def test_quote_literal_exact(value: object, expected: str) -> None:
    assert quote_literal(value) == expected


@pytest.mark.parametrize(
    "value",
    ["O'Reilly", "a\\b", "naïve_ß_名前", "'; DROP TABLE x; --", "\\'", "''\\\\", "E'x'", "$$"],
)
def test_quote_literal_string_corpus_round_trips(value: str) -> None:
    assert parse_pg_string(quote_literal(value)) == value


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "a\\\x00"])
def test_quote_literal_rejects_nul(value: str) -> None:
    with pytest.raises(ValidationError, match="NUL") as info:
        quote_literal(value)
    assert isinstance(info.value, ValueError)


def test_quote_literal_rejects_lone_surrogate() -> None:
    with pytest.raises(ValidationError, match="surrogate"):
        quote_literal("a\ud800")


def test_quote_literal_rejects_signalling_nan() -> None:
    with pytest.raises(ValidationError, match="signalling NaN"):
        quote_literal(decimal.Decimal("sNaN"))


def test_quote_literal_rejects_unprintable_int() -> None:
    with pytest.raises(ValidationError, match="integer too large"):
        quote_literal(10**5000)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ([1, 2], "list"),
        ((1, 2), "tuple"),
        ({"a": 1}, "dict"),
        ({1}, "set"),
        (Plain.A, "Plain"),
        (object(), "object"),
        (1 + 2j, "complex"),
    ],
)
def test_quote_literal_rejects_other_types(value: object, type_name: str) -> None:
    with pytest.raises(ValidationError, match=f"does not accept {type_name} values") as info:
        quote_literal(value)
    assert isinstance(info.value, ValueError)


def test_quote_literal_container_error_names_json() -> None:
    with pytest.raises(ValidationError, match=r"json\.dumps"):
        quote_literal({"a": 1})


_TEXT = st.text(
    st.one_of(
        st.sampled_from(["'", "\\", '"', "E", "$", ";", "-", "\n", "x", "0"]),
        st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
    )
)


@settings(max_examples=500)
@given(_TEXT)
@example("\\x41")
@example("\\'")
@example("'\\")
def test_quote_literal_text_round_trips(value: str) -> None:
    literal = quote_literal(value)
    assert parse_pg_string(literal) == value
    if literal.startswith("'"):
        # Standard form only when there is no backslash: same meaning with
        # standard_conforming_strings on or off.
        assert "\\" not in literal
    else:
        assert literal.startswith("E'")


@given(st.text(), st.text())
def test_quote_literal_any_text_with_nul_is_rejected(before: str, after: str) -> None:
    with pytest.raises(ValidationError):
        quote_literal(before + "\x00" + after)


def _strip_parens(text: str) -> str:
    if text.startswith("("):
        assert text.endswith(")")
        assert text[1] == "-"
        return text[1:-1]
    assert not text.startswith("-")
    return text


@given(st.integers())
def test_quote_literal_int_round_trips(value: int) -> None:
    assert int(_strip_parens(quote_literal(value))) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_quote_literal_float_round_trips(value: float) -> None:
    literal = quote_literal(value)
    parsed = float(literal.strip("'") if literal == "'-0'" else _strip_parens(literal))
    assert parsed == value
    assert math.copysign(1.0, parsed) == math.copysign(1.0, value)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_quote_literal_decimal_round_trips(value: decimal.Decimal) -> None:
    parsed = decimal.Decimal(_strip_parens(quote_literal(value)))
    assert parsed.as_tuple() == value.as_tuple()


@pytest.mark.parametrize("text", ["1); DROP TABLE x; --", "1e", ".5", "0x10", "--1", "", "inf"])
def test_bare_numbers_are_checked_before_emitting(text: str) -> None:
    # Defence in depth behind the int/float/Decimal paths: only plain numeric text goes out.
    from matrx_orm_core._quoting import _number

    with pytest.raises(ValidationError, match="numeric constant"):
        _number(text)
