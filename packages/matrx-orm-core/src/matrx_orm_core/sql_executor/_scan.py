"""A PostgreSQL lexer for raw SQL: statement splitting, ``:name`` rewriting, write detection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["ScanError", "ScannedStatement", "is_read_only", "scan"]

_WORD_START = re.compile(r"[A-Za-z_\u0080-\U0010ffff]")
_WORD = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_POSITIONAL = re.compile(r"\$[0-9]+")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\u0080-\U0010ffff]")

_READ_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES", "SHOW", "TABLE"})
_WRITE_MARKERS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "TRUNCATE", "COPY"})


class ScanError(Exception):
    """The SQL text cannot be scanned (an unterminated quote, identifier or comment)."""


@dataclass(frozen=True)
class ScannedStatement:
    """One statement of a SQL text.

    Attributes:
        sql: The statement text with every ``:name`` replaced by ``$n`` (no trailing ``;``).
        names: The parameter names in ``$n`` order (``names[0]`` is ``$1``); a name used twice
            appears once and both places read the same ``$n``.
        keywords: The upper-cased bare words outside quotes and comments, in order.
        positional: Whether the text already holds ``$n`` placeholders.
    """

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
        """
        if not self.keywords:
            return True
        first = self.keywords[0]
        if first not in _READ_KEYWORDS:
            return False
        if first in ("SELECT", "WITH"):
            keywords = self.keywords
            for index, word in enumerate(keywords):
                if word in _WRITE_MARKERS:
                    # a row-locking clause (FOR UPDATE, FOR NO KEY UPDATE) reads
                    if word == "UPDATE" and keywords[index - 1] in ("FOR", "KEY"):
                        continue
                    return False
        return True


def _skip_block_comment(sql: str, i: int) -> int:
    """Index just past the (nestable) block comment starting at ``i``."""
    depth = 0
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise ScanError("unterminated /* comment")


def _skip_quoted(sql: str, i: int, quote: str, backslash: bool) -> int:
    """Index just past the quoted text whose opening ``quote`` is at ``i``."""
    n = len(sql)
    i += 1
    while i < n:
        ch = sql[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    raise ScanError(f"unterminated {quote} quote")


def scan(sql: str) -> list[ScannedStatement]:
    """Split ``sql`` into statements and rewrite ``:name`` placeholders to ``$n``.

    Quoted strings (``'…'``, ``E'…'``), quoted identifiers, dollar-quoted bodies and comments are
    copied untouched; ``::type`` casts, ``:=`` and a ``:`` not followed by a name are not
    placeholders. Statements that hold only whitespace and comments are dropped.

    Returns:
        The statements, in order.

    Raises:
        ScanError: A quote, identifier, dollar-quoted body or comment is not terminated.
    """
    statements: list[ScannedStatement] = []
    out: list[str] = []
    names: dict[str, int] = {}
    keywords: list[str] = []
    positional = False
    n = len(sql)
    i = 0
    start = 0  # start of the text not yet copied to ``out``

    def finish(end: int) -> None:
        nonlocal out, names, keywords, positional, start
        out.append(sql[start:end])
        text = "".join(out).strip()
        if keywords or (text and not _only_comments(text)):
            statements.append(ScannedStatement(text, tuple(names), tuple(keywords), positional))
        out, names, keywords, positional = [], {}, [], False

    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif ch == "'":
            i = _skip_quoted(sql, i, "'", backslash=False)
        elif ch == '"':
            i = _skip_quoted(sql, i, '"', backslash=False)
        elif ch == "$":
            prev_is_ident = i > 0 and _IDENT_CHAR.match(sql[i - 1]) is not None
            tag = None if prev_is_ident else _DOLLAR_TAG.match(sql, i)
            if tag is not None:
                close = sql.find(tag.group(), tag.end())
                if close < 0:
                    raise ScanError(f"unterminated dollar-quoted text {tag.group()}")
                i = close + len(tag.group())
            else:
                number = _POSITIONAL.match(sql, i)
                if number is not None and not prev_is_ident:
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
            elif _WORD_START.match(sql, i + 1) is not None:
                word = _WORD.match(sql, i + 1)
                assert word is not None  # _WORD_START matched
                name = word.group()
                out.append(sql[start:i])
                index = names.setdefault(name, len(names) + 1)
                out.append(f"${index}")
                i = start = word.end()
            else:
                i += 1
        elif ch == ";":
            finish(i)
            i += 1
            start = i
        else:
            word = _WORD.match(sql, i)
            if word is None:
                i += 1
                continue
            text = word.group()
            end = word.end()
            if end < n and sql[end] == "'" and text in ("E", "e"):
                i = _skip_quoted(sql, end, "'", backslash=True)
                continue
            keywords.append(text.upper())
            i = end
    finish(n)
    return statements


def _only_comments(text: str) -> bool:
    """Whether ``text`` (already scanned) holds nothing but comments and whitespace."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            i = _skip_block_comment(text, i)
        else:
            return False
    return True


@lru_cache(maxsize=1024)
def is_read_only(sql: str) -> bool:
    """Whether every statement of ``sql`` only reads (see :attr:`ScannedStatement.read_only`).

    Text that cannot be scanned counts as a write (the server will reject it anyway).

    Returns:
        ``True`` for reads, ``False`` for anything that may change data or schema.
    """
    try:
        return all(statement.read_only for statement in scan(sql))
    except ScanError:
        return False
