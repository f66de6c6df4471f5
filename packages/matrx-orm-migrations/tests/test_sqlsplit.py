"""Tests for matrx_orm_migrations._sqlsplit: where a PostgreSQL script's statements end."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matrx_orm_migrations._sqlsplit import count_statements, split_statements

pytestmark = pytest.mark.level1

FUNCTION_SCRIPT = """\
CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL DEFAULT 'a; b');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.body := NEW.body || ';';
    RETURN NEW;
END;
$$;
-- trailing comment; with a semicolon
"""

CORPUS: list[tuple[str, str, list[str]]] = [
    ("empty", "", []),
    ("whitespace", " \n\t ", []),
    ("only semicolons", ";;\n;", []),
    ("only a line comment", "-- nothing here; really", []),
    ("only a block comment", "/* nothing; here */", []),
    ("single without semicolon", "SELECT 1", ["SELECT 1"]),
    ("single with semicolon", "SELECT 1;", ["SELECT 1"]),
    ("single surrounded by blanks", "\n  SELECT 1 ;  \n", ["SELECT 1"]),
    ("two statements", "SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
    ("empty statements skipped", "SELECT 1;;; SELECT 2;;", ["SELECT 1", "SELECT 2"]),
    ("semicolon in string", "SELECT 'a;b'", ["SELECT 'a;b'"]),
    (
        "doubled quote in string",
        "SELECT 'it''s; fine'; SELECT 2",
        ["SELECT 'it''s; fine'", "SELECT 2"],
    ),
    (
        "backslash is literal in a standard string",
        "SELECT 'C:\\'; SELECT 2",
        ["SELECT 'C:\\'", "SELECT 2"],
    ),
    (
        "escape string backslash-quote",
        "SELECT E'it\\'s; here'; SELECT 2",
        ["SELECT E'it\\'s; here'", "SELECT 2"],
    ),
    ("lower-case escape string", "SELECT e'\\';'; SELECT 2", ["SELECT e'\\';'", "SELECT 2"]),
    ("escape string doubled quote", "SELECT E'a'';b'; SELECT 2", ["SELECT E'a'';b'", "SELECT 2"]),
    (
        "escaped backslash ends before the quote",
        "SELECT E'\\\\'; SELECT 2",
        ["SELECT E'\\\\'", "SELECT 2"],
    ),
    (
        "identifier ending in e is not an escape string prefix",
        "SELECT 'x' AS some'; SELECT 2",
        ["SELECT 'x' AS some'; SELECT 2"],
    ),
    ("national string", "SELECT N'a;b'; SELECT 2", ["SELECT N'a;b'", "SELECT 2"]),
    ("bit string", "SELECT B'01'; SELECT X'1F'", ["SELECT B'01'", "SELECT X'1F'"]),
    ("unicode string", "SELECT U&'d\\0061t;a'; SELECT 2", ["SELECT U&'d\\0061t;a'", "SELECT 2"]),
    ("quoted identifier", 'SELECT 1 AS "a;b"; SELECT 2', ['SELECT 1 AS "a;b"', "SELECT 2"]),
    (
        "doubled quote in identifier",
        'SELECT 1 AS "a"";b"; SELECT 2',
        ['SELECT 1 AS "a"";b"', "SELECT 2"],
    ),
    (
        "quote inside identifier",
        'SELECT 1 AS "it\'s;"; SELECT 2',
        ['SELECT 1 AS "it\'s;"', "SELECT 2"],
    ),
    ("dollar quote", "SELECT $$a;b$$; SELECT 2", ["SELECT $$a;b$$", "SELECT 2"]),
    (
        "tagged dollar quote",
        "SELECT $fn$a;$$;b$fn$; SELECT 2",
        ["SELECT $fn$a;$$;b$fn$", "SELECT 2"],
    ),
    (
        "nested different tags",
        "SELECT $a$ $b$ ; $b$ ; $a$; SELECT 2",
        ["SELECT $a$ $b$ ; $b$ ; $a$", "SELECT 2"],
    ),
    (
        "quotes inside a dollar quote are plain text",
        "SELECT $$ it's \"; $$; SELECT 2",
        ["SELECT $$ it's \"; $$", "SELECT 2"],
    ),
    (
        "dollar tag with underscore and digits",
        "SELECT $_x1$;$_x1$; SELECT 2",
        ["SELECT $_x1$;$_x1$", "SELECT 2"],
    ),
    ("positional parameters", "SELECT $1; SELECT $2::text", ["SELECT $1", "SELECT $2::text"]),
    ("parameter followed by dollar-dollar", "SELECT $1, $$;$$", ["SELECT $1, $$;$$"]),
    ("dollar inside identifiers", "SELECT a$b$; SELECT c$$", ["SELECT a$b$", "SELECT c$$"]),
    (
        "line comment hides a semicolon",
        "SELECT 1 -- no; split\n, 2; SELECT 3",
        ["SELECT 1 -- no; split\n, 2", "SELECT 3"],
    ),
    ("line comment at end of text", "SELECT 1 -- c;", ["SELECT 1 -- c;"]),
    ("line comment with CRLF", "SELECT 1 -- c;\r\n; SELECT 2", ["SELECT 1 -- c;", "SELECT 2"]),
    (
        "block comment hides a semicolon",
        "SELECT /* ; */ 1; SELECT 2",
        ["SELECT /* ; */ 1", "SELECT 2"],
    ),
    (
        "nested block comments",
        "SELECT /* a /* b; */ still; comment */ 1; SELECT 2",
        ["SELECT /* a /* b; */ still; comment */ 1", "SELECT 2"],
    ),
    (
        "quotes inside comments are ignored",
        "SELECT 1 /* ' */; -- \"\nSELECT 2",
        ["SELECT 1 /* ' */", '-- "\nSELECT 2'],
    ),
    ("leading comment kept with its statement", "-- first\nSELECT 1", ["-- first\nSELECT 1"]),
    ("comment-only piece dropped", "SELECT 1; /* c */ ; -- d\n", ["SELECT 1"]),
    ("division is not a comment", "SELECT 4/2; SELECT 1-1", ["SELECT 4/2", "SELECT 1-1"]),
    ("numbers", "SELECT 1.5e3, .5; SELECT 0x1F", ["SELECT 1.5e3, .5", "SELECT 0x1F"]),
    (
        "parentheses hold semicolons (CREATE RULE)",
        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b "
        "VALUES (2)); SELECT 1",
        [
            "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b "
            "VALUES (2))",
            "SELECT 1",
        ],
    ),
    ("unbalanced close paren", "SELECT 1); SELECT 2", ["SELECT 1)", "SELECT 2"]),
    (
        "sql-standard function body",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; "
        "SELECT f()",
        [
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
            "SELECT f()",
        ],
    ),
    (
        "or replace procedure with case inside the body",
        "create or replace procedure p() language sql begin atomic "
        "select case when true then 1 else 2 end; insert into t values (1); end; select 3",
        [
            "create or replace procedure p() language sql begin atomic "
            "select case when true then 1 else 2 end; insert into t values (1); end",
            "select 3",
        ],
    ),
    (
        "BEGIN outside a routine is a statement",
        "BEGIN; CREATE TABLE t (a int); COMMIT;",
        ["BEGIN", "CREATE TABLE t (a int)", "COMMIT"],
    ),
    (
        "case outside a routine body does not count",
        "SELECT CASE WHEN true THEN 1 END; SELECT 2",
        ["SELECT CASE WHEN true THEN 1 END", "SELECT 2"],
    ),
    (
        "create table with begin column name",
        'CREATE TABLE t ("begin" int); SELECT 1',
        ['CREATE TABLE t ("begin" int)', "SELECT 1"],
    ),
    (
        "routine with a dollar-quoted body",
        "CREATE OR REPLACE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; END $body$ "
        "LANGUAGE plpgsql; SELECT 1",
        [
            "CREATE OR REPLACE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; END $body$ "
            "LANGUAGE plpgsql",
            "SELECT 1",
        ],
    ),
    (
        "function script",
        FUNCTION_SCRIPT,
        [
            "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL DEFAULT 'a; b')",
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            "    NEW.body := NEW.body || ';';\n    RETURN NEW;\nEND;\n$$",
        ],
    ),
    ("non-ascii identifiers", "SELECT 1 AS café; SELECT 'é;'", ["SELECT 1 AS café", "SELECT 'é;'"]),
    ("non-ascii dollar tag", "SELECT $é$;$é$; SELECT 2", ["SELECT $é$;$é$", "SELECT 2"]),
    ("unterminated string runs to the end", "SELECT 'abc; SELECT 2", ["SELECT 'abc; SELECT 2"]),
    ("unterminated escape string", "SELECT E'\\", ["SELECT E'\\"]),
    ("unterminated identifier", 'SELECT "abc; SELECT 2', ['SELECT "abc; SELECT 2']),
    ("unterminated dollar quote", "SELECT $$abc; SELECT 2", ["SELECT $$abc; SELECT 2"]),
    ("unterminated block comment", "SELECT 1 /* abc; SELECT 2", ["SELECT 1 /* abc; SELECT 2"]),
    ("lone dollar", "SELECT $; SELECT 2", ["SELECT $", "SELECT 2"]),
    ("tabs and form feeds", "SELECT\t1;\fSELECT\v2", ["SELECT\t1", "SELECT\v2"]),
]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [pytest.param(sql, expected, id=name) for name, sql, expected in CORPUS],
)
def test_split_statements(sql: str, expected: list[str]) -> None:
    assert split_statements(sql) == expected
    assert count_statements(sql) == len(expected)


def test_corpus_names_are_unique() -> None:
    names = [name for name, _, _ in CORPUS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        ("CREATE TABLE a (id int)", 1),
        ("CREATE TABLE a (id int); CREATE TABLE b (id int)", 2),
        ("INSERT INTO a VALUES ($1)", 1),
        ("SELECT 1; -- done", 1),
        ("SELECT 1; /* done */", 1),
    ],
)
def test_count_statements(sql: str, count: int) -> None:
    assert count_statements(sql) == count


def test_rejoined_statements_split_the_same() -> None:
    statements = split_statements(FUNCTION_SCRIPT)
    assert split_statements(";\n".join(statements)) == statements


def test_long_script_is_linear_enough() -> None:
    script = "INSERT INTO t VALUES ('x;y', $$a;b$$, E'\\';'); -- c;\n" * 5000
    statements = split_statements(script)
    assert len(statements) == 5000
    assert statements[0] == "INSERT INTO t VALUES ('x;y', $$a;b$$, E'\\';')"
    assert statements[1].startswith("-- c;\nINSERT")


_ATOMS = [
    "1",
    "'a;b'",
    "'it''s;'",
    "E'\\';'",
    "e'\\\\'",
    '"x;y"',
    '"q"";"',
    "$$;$$",
    "$t$ $$; $t$",
    "/* ; /* ; */ ; */",
    "-- ;\n",
    "(1; 2)",
    "$1",
    "a$b",
    "U&'x;'",
    "café",
]


@given(
    st.lists(
        st.lists(st.sampled_from(_ATOMS), min_size=0, max_size=6).map(
            lambda atoms: " ".join(["SELECT", *atoms, "x"])
        ),
        min_size=0,
        max_size=6,
    )
)
def test_joined_statements_split_back(statements: list[str]) -> None:
    script = ";\n".join(statements)
    assert split_statements(script) == statements
    assert split_statements(script + ";") == statements
