"""Split a PostgreSQL script into its statements, the way psql decides where one ends.

The splitter is a small lexer, not a parser. A ``;`` ends a statement only outside:

* string constants: ``'...'`` (``''`` escapes a quote; standard_conforming_strings is assumed
  on, the server default since 9.1, so a backslash is an ordinary character), and escape
  strings ``E'...'`` (a backslash escapes the next character),
* quoted identifiers ``"..."`` (``""`` escapes a quote),
* dollar-quoted strings ``$$...$$`` and ``$tag$...$tag$`` (``$1`` is a parameter, and a ``$``
  inside an identifier such as ``a$b`` does not open a string),
* ``--`` line comments and ``/* ... */`` block comments (which nest),
* parentheses (``CREATE RULE ... DO (stmt; stmt)``), and
* the ``BEGIN ... END`` body of ``CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC``
  (the heuristic psql uses, including ``CASE ... END`` inside such a body).

A piece that holds only whitespace and comments is not a statement. An unterminated string,
identifier or comment runs to the end of the text (the server reports the error).
"""

from __future__ import annotations

import re

__all__ = ["count_statements", "split_statements"]

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_WHITESPACE = frozenset(" \t\n\r\f\v")
_TRACKED_WORDS = frozenset({"create", "function", "procedure", "or", "replace"})


def _is_ident_start(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch == "_" or ord(ch) >= 0x80


def _is_ident_cont(ch: str) -> bool:
    return _is_ident_start(ch) or ("0" <= ch <= "9") or ch == "$"


def _skip_quoted(sql: str, start: int, quote: str, *, backslash: bool) -> int:
    """Return the index just past the quoted token opened at ``start``."""
    n = len(sql)
    j = start + 1
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
    return n


def _skip_block_comment(sql: str, start: int) -> int:
    """Return the index just past the (possibly nested) block comment opened at ``start``."""
    n = len(sql)
    depth = 1
    j = start + 2
    while j < n:
        if sql.startswith("/*", j):
            depth += 1
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return n


class _Statement:
    """Lexer state that psql resets at every statement boundary."""

    __slots__ = ("begin_depth", "has_tokens", "identifier_count", "identifiers", "paren_depth")

    def __init__(self) -> None:
        self.has_tokens = False
        self.paren_depth = 0
        self.begin_depth = 0
        self.identifier_count = 0
        self.identifiers = ["", "", "", ""]

    def is_routine_definition(self) -> bool:
        """True when the statement starts ``CREATE [OR REPLACE] FUNCTION|PROCEDURE``."""
        first, second, third, fourth = self.identifiers
        if first != "c":
            return False
        if second in ("f", "p"):
            return True
        return second == "o" and third == "r" and fourth in ("f", "p")

    def see_identifier(self, word: str) -> None:
        lowered = word.lower()
        if self.identifier_count < len(self.identifiers) and lowered in _TRACKED_WORDS:
            self.identifiers[self.identifier_count] = lowered[0]
        self.identifier_count += 1
        if self.paren_depth != 0 or not self.is_routine_definition():
            return
        if lowered == "begin":
            self.begin_depth += 1
        elif lowered == "case":
            if self.begin_depth >= 1:
                self.begin_depth += 1
        elif lowered == "end" and self.begin_depth > 0:
            self.begin_depth -= 1


def split_statements(sql: str) -> list[str]:
    """Split ``sql`` into statements.

    Args:
        sql: a script of zero or more PostgreSQL statements separated by ``;``.

    Returns:
        Each statement's text, stripped of surrounding whitespace and without its terminating
        ``;``. Comments inside or before a statement are kept; pieces that hold nothing but
        whitespace and comments (``;;``, a trailing comment) are dropped.
    """
    statements: list[str] = []
    n = len(sql)
    i = 0
    start = 0
    state = _Statement()
    while i < n:
        ch = sql[i]
        if ch in _WHITESPACE:
            i += 1
            continue
        if ch == "-" and sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if ch == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
            continue
        if ch == ";" and state.paren_depth == 0 and state.begin_depth == 0:
            if state.has_tokens:
                statements.append(sql[start:i].strip())
            i += 1
            start = i
            state = _Statement()
            continue
        state.has_tokens = True
        if ch == "'":
            i = _skip_quoted(sql, i, "'", backslash=False)
        elif ch == '"':
            i = _skip_quoted(sql, i, '"', backslash=False)
        elif ch == "$":
            match = _DOLLAR_TAG.match(sql, i)
            if match is None:
                i += 1
            else:
                tag = match.group(0)
                end = sql.find(tag, match.end())
                i = n if end < 0 else end + len(tag)
        elif _is_ident_start(ch):
            j = i + 1
            while j < n and _is_ident_cont(sql[j]):
                j += 1
            word = sql[i:j]
            if word in ("e", "E") and j < n and sql[j] == "'":
                i = _skip_quoted(sql, j, "'", backslash=True)
                continue
            state.see_identifier(word)
            i = j
        elif "0" <= ch <= "9":
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] in "_."):
                j += 1
            i = j
        elif ch == "(":
            state.paren_depth += 1
            i += 1
        elif ch == ")":
            if state.paren_depth > 0:
                state.paren_depth -= 1
            i += 1
        else:
            i += 1
    if state.has_tokens:
        statements.append(sql[start:].strip())
    return statements


def count_statements(sql: str) -> int:
    """Return how many statements ``sql`` holds (see :func:`split_statements`)."""
    return len(split_statements(sql))
