"""A PostgreSQL lexer for SQL text: statement splitting, ``:name`` placeholders, read-only checks.

This is the one lexer of the project: the named-query registry and ``Model.raw`` (in
``matrx_orm_core.sql_executor``) and ``MigrationDB`` (in ``matrx_orm_migrations``) all use it.
It is a lexer, not a parser. It splits text into statements the way psql does: a ``;`` ends a
statement only outside

* string constants ``'...'`` (``''`` escapes a quote; standard_conforming_strings is assumed on,
  the server default since 9.1, so a backslash is an ordinary character) and escape strings
  ``E'...'`` (a backslash escapes the next character),
* quoted identifiers ``"..."`` (``""`` escapes a quote),
* dollar-quoted strings ``$$...$$`` and ``$tag$...$tag$`` (``$1`` is a parameter, and a ``$``
  inside an identifier such as ``a$b`` does not open a string),
* ``--`` line comments and ``/* ... */`` block comments (which nest),
* parentheses (``CREATE RULE ... DO (stmt; stmt)``), and
* the ``BEGIN ... END`` body of ``CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC``
  (the heuristic psql uses, including ``CASE ... END`` inside such a body).

A piece that holds only whitespace and comments is not a statement.

While splitting, the lexer also finds ``:name`` placeholders (outside quotes and comments; a
``::type`` cast, ``:=`` and a ``:`` not followed by a name are not placeholders), notes ``$n``
placeholders, and records each statement's bare words, from which `Statement.read_only` decides
whether the statement only reads.

Public API:

* `scan` -- the statements of a text as `Statement` objects (``:name`` rewritten to ``$n``);
* `split_statements` / `count_statements` -- the statements' original text, psql-style;
* `is_read_only` -- whether every statement of a text only reads;
* `positional_pieces` -- a text split around its ``$n`` placeholders (for renumbering);
* `Statement` and `ScanError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ScanError",
    "Statement",
    "count_statements",
    "is_read_only",
    "positional_pieces",
    "scan",
    "split_statements",
]

_WORD = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_POSITIONAL = re.compile(r"\$[0-9]+")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.\u0080-\U0010ffff]*")
_WHITESPACE = frozenset(" \t\n\r\f\v")

_READ_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES", "SHOW", "TABLE"})
_WRITE_MARKERS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "TRUNCATE", "COPY"})
_ROUTINES = frozenset({"FUNCTION", "PROCEDURE"})


class ScanError(ValueError):
    """The SQL text cannot be scanned (an unterminated quote, identifier or comment).

    Raised only by ``scan(sql, strict=True)``; the other functions never raise it.
    """


@dataclass(frozen=True)
class Statement:
    """One statement of a SQL text.

    Attributes:
        text: The statement as written, stripped of surrounding whitespace and without its
            terminating ``;`` (comments inside or before it are kept).
        sql: ``text`` with every ``:name`` replaced by ``$n`` (the same object as ``text`` when
            the statement holds no ``:name``).
        names: The parameter names in ``$n`` order (``names[0]`` is ``$1``); a name used twice
            appears once and both places read the same ``$n``.
        keywords: The upper-cased bare words outside quotes and comments, in order (not the
            names of ``:name`` placeholders, nor the type name right after a ``::`` cast).
        positional: Whether the text already holds ``$n`` placeholders.
    """

    text: str
    sql: str
    names: tuple[str, ...]
    keywords: tuple[str, ...]
    positional: bool

    @property
    def read_only(self) -> bool:
        """Whether the statement only reads (SELECT, WITH … SELECT, VALUES, SHOW, TABLE).

        Conservative: a ``SELECT … INTO`` or a ``WITH`` holding a data-modifying word (other
        than the ``UPDATE`` of a ``FOR [NO KEY] UPDATE`` lock) counts as a write, and so does
        every other statement kind.

        Returns:
            ``True`` for a read, ``False`` for anything that may change data or schema.
        """
        keywords = self.keywords
        if not keywords:
            return True
        first = keywords[0]
        if first not in _READ_KEYWORDS:
            return False
        if first in ("SELECT", "WITH"):
            for index, word in enumerate(keywords):
                if word in _WRITE_MARKERS:
                    # a row-locking clause (FOR UPDATE, FOR NO KEY UPDATE) reads
                    if word == "UPDATE" and keywords[index - 1] in ("FOR", "KEY"):
                        continue
                    return False
        return True


def _skip_block_comment(sql: str, i: int, strict: bool) -> int:
    """Index just past the (nestable) block comment opened at ``i``."""
    n = len(sql)
    depth = 1
    j = i + 2
    while j < n:
        open_at = sql.find("/*", j)
        close_at = sql.find("*/", j)
        if close_at < 0:
            break
        if 0 <= open_at < close_at:
            depth += 1
            j = open_at + 2
        else:
            depth -= 1
            j = close_at + 2
            if depth == 0:
                return j
    if strict:
        raise ScanError("unterminated /* comment")
    return n


def _skip_quoted(sql: str, i: int, quote: str, backslash: bool, strict: bool) -> int:
    """Index just past the quoted token whose opening ``quote`` is at ``i``."""
    n = len(sql)
    j = i + 1
    while j < n:
        ch = sql[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    if strict:
        raise ScanError(f"unterminated {quote} quote")
    return n


def _is_routine(keywords: list[str]) -> bool:
    """Whether the words start ``CREATE [OR REPLACE] FUNCTION|PROCEDURE`` (psql's test)."""
    if len(keywords) < 2 or keywords[0] != "CREATE":
        return False
    if keywords[1] in _ROUTINES:
        return True
    return (
        len(keywords) >= 4
        and keywords[1] == "OR"
        and keywords[2] == "REPLACE"
        and keywords[3] in _ROUTINES
    )


def scan(sql: str, *, strict: bool = True) -> list[Statement]:
    """Split ``sql`` into statements (psql's rules) and rewrite ``:name`` placeholders to ``$n``.

    Args:
        sql: Zero or more PostgreSQL statements separated by ``;``.
        strict: Raise `ScanError` on an unterminated quote, identifier, dollar-quoted body or
            block comment. When ``False`` such a token runs to the end of the text, as in psql
            (the server then reports the error).

    Returns:
        The statements, in order; pieces holding only whitespace and comments are dropped.

    Raises:
        ScanError: ``strict`` is true and a token is not terminated.
    """
    statements: list[Statement] = []
    out: list[str] = []  # pieces of the rewritten text of the current statement
    names: dict[str, int] = {}
    keywords: list[str] = []
    positional = False
    has_tokens = False
    paren_depth = 0
    begin_depth = 0
    n = len(sql)
    i = 0
    start = 0  # start of the current statement
    copied = 0  # start of the text not yet copied to ``out``

    def finish(end: int) -> None:
        if not has_tokens:
            return
        text = sql[start:end].strip()
        rewritten = text if not out else ("".join(out) + sql[copied:end]).strip()
        statements.append(Statement(text, rewritten, tuple(names), tuple(keywords), positional))

    while i < n:
        ch = sql[i]
        if ch in _WHITESPACE:
            i += 1
            continue
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if ch == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i, strict)
            continue
        if ch == ";" and paren_depth == 0 and begin_depth == 0:
            finish(i)
            i += 1
            start = copied = i
            out, names, keywords = [], {}, []
            positional = has_tokens = False
            continue
        has_tokens = True
        if ch == "'":
            i = _skip_quoted(sql, i, "'", False, strict)
        elif ch == '"':
            i = _skip_quoted(sql, i, '"', False, strict)
        elif ch == "$":
            tag = _DOLLAR_TAG.match(sql, i)
            if tag is not None:
                delimiter = tag.group()
                close = sql.find(delimiter, tag.end())
                if close < 0:
                    if strict:
                        raise ScanError(f"unterminated dollar-quoted text {delimiter}")
                    i = n
                else:
                    i = close + len(delimiter)
            else:
                number = _POSITIONAL.match(sql, i)
                if number is not None:
                    positional = True
                    i = number.end()
                else:
                    i += 1
        elif ch == ":":
            if sql.startswith("::", i):
                i += 2
                # the type name after a cast is not a placeholder; skip it as a word
                word = _WORD.match(sql, i)
                if word is not None:
                    i = word.end()
            else:
                word = _WORD.match(sql, i + 1)
                if word is None:
                    i += 1
                else:
                    out.append(sql[copied:i])
                    index = names.setdefault(word.group(), len(names) + 1)
                    out.append(f"${index}")
                    i = copied = word.end()
        elif ch == "(":
            paren_depth += 1
            i += 1
        elif ch == ")":
            if paren_depth > 0:
                paren_depth -= 1
            i += 1
        elif "0" <= ch <= "9":
            number = _NUMBER.match(sql, i)
            i = number.end() if number is not None else i + 1
        else:
            word = _WORD.match(sql, i)
            if word is None:
                i += 1
                continue
            text = word.group()
            end = word.end()
            if end < n and sql[end] == "'" and text in ("E", "e"):
                i = _skip_quoted(sql, end, "'", True, strict)
                continue
            upper = text.upper()
            keywords.append(upper)
            i = end
            if paren_depth == 0 and upper in ("BEGIN", "CASE", "END") and _is_routine(keywords):
                if upper == "BEGIN":
                    begin_depth += 1
                elif upper == "CASE":
                    if begin_depth >= 1:
                        begin_depth += 1
                elif begin_depth > 0:
                    begin_depth -= 1
    finish(n)
    return statements


def positional_pieces(sql: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Split ``sql`` around its ``$n`` placeholders (outside strings, quoted identifiers,
    dollar-quoted bodies and comments), so the text can be renumbered without editing it.

    Returns:
        ``(pieces, numbers)``: ``len(pieces) == len(numbers) + 1``; the text is
        ``pieces[0] + "$" + numbers[0] + pieces[1] + ...``.

    Raises:
        ScanError: An unterminated quote, identifier, dollar-quoted body or comment.
    """
    pieces: list[str] = []
    numbers: list[int] = []
    n = len(sql)
    i = copied = 0
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i, True)
        elif ch == "'" or ch == '"':
            i = _skip_quoted(sql, i, ch, False, True)
        elif ch == "$":
            tag = _DOLLAR_TAG.match(sql, i)
            number = None if tag is not None else _POSITIONAL.match(sql, i)
            if tag is not None:
                close = sql.find(tag.group(), tag.end())
                if close < 0:
                    raise ScanError(f"unterminated dollar-quoted text {tag.group()}")
                i = close + len(tag.group())
            elif number is not None:
                pieces.append(sql[copied:i])
                numbers.append(int(number.group()[1:]))
                i = copied = number.end()
            else:
                i += 1
        else:
            word = _WORD.match(sql, i)
            if word is None:
                i += 1
            elif word.group() in ("E", "e") and word.end() < n and sql[word.end()] == "'":
                i = _skip_quoted(sql, word.end(), "'", True, True)
            else:
                i = word.end()
    pieces.append(sql[copied:])
    return tuple(pieces), tuple(numbers)


def split_statements(sql: str) -> list[str]:
    """Split ``sql`` into statements the way psql does (see the module docstring).

    Never raises on malformed text: an unterminated string, identifier, dollar-quoted body or
    comment runs to the end of the text. ``:name`` text is left as written.

    Args:
        sql: A script of zero or more PostgreSQL statements separated by ``;``.

    Returns:
        Each statement's text, stripped of surrounding whitespace and without its terminating
        ``;``. Comments inside or before a statement are kept; pieces that hold nothing but
        whitespace and comments (``;;``, a trailing comment) are dropped.
    """
    return [statement.text for statement in scan(sql, strict=False)]


def count_statements(sql: str) -> int:
    """Count the statements of ``sql`` (see `split_statements`).

    Returns:
        How many statements the text holds (``0`` for blank or comment-only text).
    """
    return len(scan(sql, strict=False))


@lru_cache(maxsize=1024)
def is_read_only(sql: str) -> bool:
    """Whether every statement of ``sql`` only reads (see `Statement.read_only`).

    Text that cannot be scanned (an unterminated token) counts as a write; the server rejects
    it anyway.

    Returns:
        ``True`` for reads, ``False`` for anything that may change data or schema.
    """
    try:
        return all(statement.read_only for statement in scan(sql))
    except ScanError:
        return False
