"""SQL expression text: one scanner for quotes and parentheses, the expression check, SQLExpression.

Expressions written by a model's author (a CHECK, an index predicate, a ``db_default``) go into
DDL, which takes no parameters. :func:`check_expression` accepts only one self-contained
expression; :func:`outside_quotes` is the single scanner it and the default comparison
(:mod:`._types`) use to tell quoted text from SQL.
"""

from __future__ import annotations

from matrx_orm_core.exceptions import MigrationError

__all__ = ["ScanProblem", "SQLExpression", "check_expression", "outside_quotes"]


class ScanProblem(ValueError):
    """Text that cannot be split into quoted and unquoted parts without ambiguity."""


class SQLExpression(str):
    """SQL text meant as an expression, not a value: ``db_default=SQLExpression("now()")``.

    A plain ``str`` given as a field's ``db_default`` is a text value (written as a quoted
    literal); wrap SQL in this class to have it written as is. It is still checked by
    :func:`check_expression` before it reaches DDL.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"SQLExpression({str.__repr__(self)})"


def _is_escape_string(text: str, i: int) -> bool:
    """Whether the quote at ``i`` opens an ``E'...'`` constant (``E`` not part of a word)."""
    if i == 0 or text[i - 1] not in "eE":
        return False
    return i < 2 or not (text[i - 2].isalnum() or text[i - 2] in "_$")


def outside_quotes(text: str, *, strict: bool = True) -> list[tuple[int, int]]:
    """``(index, depth)`` of every character outside string constants and quoted identifiers.

    ``depth`` is the parenthesis depth after the character. ``'...'`` and ``"..."`` end at an
    undoubled quote; ``E'...'`` also honours backslash escapes.

    Args:
        text: the SQL text.
        strict: refuse what PostgreSQL could read two ways: a backslash inside a plain
            ``'...'`` constant (its meaning depends on ``standard_conforming_strings``). Off
            for server-printed text, which is always unambiguous.

    Raises:
        ScanProblem: an unterminated quote, or (strict) a backslash in a plain constant.
    """
    out: list[tuple[int, int]] = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            escapes = ch == "'" and _is_escape_string(text, i)
            j = i + 1
            while True:
                if j >= n:
                    raise ScanProblem("the expression has an unterminated quote")
                if text[j] == "\\" and ch == "'":
                    if escapes:
                        j += 2
                        continue
                    if strict:
                        raise ScanProblem(
                            "the expression has a backslash in a '...' constant; write it as "
                            "E'...' with the backslash doubled"
                        )
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        out.append((i, depth))
        i += 1
    return out


def check_expression(expr: str, what: str, *, allow_list: bool = False) -> str:
    """Check that ``expr`` is one self-contained SQL expression and return it stripped.

    Args:
        expr: expression text (a CHECK condition, an index predicate, a default expression).
        what: what it is, for the message (``"CHECK of post.ck_price"``).
        allow_list: accept top-level commas (a column list such as ``"a", "b"``).

    Raises:
        MigrationError: empty text, NUL, ``;``, a comment, a ``$`` (parameters and dollar
            quoting are not allowed in DDL expressions), a comma or parenthesis that would
            leave the expression, an unterminated quote, or a backslash in a ``'...'``
            constant.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise MigrationError(message=f"{what}: the SQL expression must be non-empty text.")
    text = expr.strip()
    problem = _problem(text, allow_list)
    if problem is not None:
        raise MigrationError(
            message=f"{what}: {problem}; refused before any SQL was sent. Write one SQL "
            "expression (string constants in single quotes) without ';', comments or '$'.",
            details={"expression": expr},
        )
    return text


def _problem(text: str, allow_list: bool) -> str | None:
    if "\x00" in text:
        return "the expression contains a NUL character"
    try:
        positions = outside_quotes(text)
    except ScanProblem as err:
        return str(err)
    for index, depth in positions:
        ch = text[index]
        if ch == ";":
            return "the expression contains ';'"
        if ch == "$":
            return "the expression contains '$'"
        if text.startswith("--", index) or text.startswith("/*", index):
            return "the expression contains a comment"
        if depth < 0:
            return "the expression closes a parenthesis it did not open"
        if ch == "," and depth == 0 and not allow_list:
            return "the expression contains a top-level ','"
    if positions and positions[-1][1] != 0:
        return "the expression leaves a parenthesis open"
    return None
