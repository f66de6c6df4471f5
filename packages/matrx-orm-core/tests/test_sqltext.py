"""Tests for matrx_orm_core.sqltext, the one PostgreSQL lexer: psql-compatible statement
splitting, ``:name`` rewriting, strict and lenient handling of unterminated tokens, and read-only
classification."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matrx_orm_core.sqltext import (
    ScanError,
    Statement,
    count_statements,
    is_read_only,
    scan,
    split_statements,
)

# --- splitting: where a statement ends (psql's rules) -----------------------------------------

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


def test_scan_splits_like_split_statements() -> None:
    """The strict scan finds the same statements as the psql splitter on well-formed text."""
    for _, sql, expected in CORPUS:
        try:
            statements = scan(sql)
        except ScanError:
            continue
        assert [statement.text for statement in statements] == expected, sql


# --- :name rewriting ----------------------------------------------------------------------------

REWRITES = [
    ("SELECT :a", "SELECT $1", ("a",)),
    ("SELECT :a, :b, :a", "SELECT $1, $2, $1", ("a", "b")),
    ("SELECT :a::int", "SELECT $1::int", ("a",)),
    ("SELECT x::text FROM t WHERE y = :y", "SELECT x::text FROM t WHERE y = $1", ("y",)),
    ("SELECT '::a :b' || :c", "SELECT '::a :b' || $1", ("c",)),
    ("SELECT 'it''s :no' , :yes", "SELECT 'it''s :no' , $1", ("yes",)),
    ("SELECT E'\\' :no' , :yes", "SELECT E'\\' :no' , $1", ("yes",)),
    ('SELECT ":no" FROM t WHERE a = :yes', 'SELECT ":no" FROM t WHERE a = $1', ("yes",)),
    ("SELECT $$ :no $$, :yes", "SELECT $$ :no $$, $1", ("yes",)),
    ("SELECT $fn$ :no $x$ $fn$, :yes", "SELECT $fn$ :no $x$ $fn$, $1", ("yes",)),
    ("SELECT 1 -- :no\n, :yes", "SELECT 1 -- :no\n, $1", ("yes",)),
    ("SELECT /* :no /* :no */ :no */ :yes", "SELECT /* :no /* :no */ :no */ $1", ("yes",)),
    ("SELECT f(a := :v)", "SELECT f(a := $1)", ("v",)),
    ("SELECT arr[1:2], :v", "SELECT arr[1:2], $1", ("v",)),
    ("SELECT :_x1, :été", "SELECT $1, $2", ("_x1", "été")),
    ("SELECT a$b, :v", "SELECT a$b, $1", ("v",)),
    ("SELECT :v::timestamptz::date", "SELECT $1::timestamptz::date", ("v",)),
    ("SELECT arr[lo:hi]", "SELECT arr[lo$1]", ("hi",)),
    ("  SELECT :a  ", "SELECT $1", ("a",)),
    ("SELECT 1.5e3 + :v", "SELECT 1.5e3 + $1", ("v",)),
]


@pytest.mark.parametrize(("sql", "expected", "names"), REWRITES)
def test_rewrite(sql: str, expected: str, names: tuple[str, ...]) -> None:
    (statement,) = scan(sql)
    assert statement.sql == expected
    assert statement.names == names
    assert statement.text == sql.strip()
    assert statement.positional is False


def test_scan_splits_statements_with_their_own_numbering() -> None:
    statements = scan(
        "INSERT INTO a VALUES (:x); ; -- only a comment\n; UPDATE b SET c = :y, d = :x;"
    )
    assert [(s.sql, s.names) for s in statements] == [
        ("INSERT INTO a VALUES ($1)", ("x",)),
        ("UPDATE b SET c = $1, d = $2", ("y", "x")),
    ]
    assert scan("SELECT ';' ; SELECT 2")[0].sql == "SELECT ';'"


def test_scan_keeps_parentheses_and_atomic_bodies_whole() -> None:
    rule = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (:x); DELETE FROM b)"
    body = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT :y; SELECT 2; END"
    statements = scan(f"{rule}; {body}; SELECT :x")
    assert [(s.sql, s.names) for s in statements] == [
        (rule.replace(":x", "$1"), ("x",)),
        (body.replace(":y", "$1"), ("y",)),
        ("SELECT $1", ("x",)),
    ]


def test_statement_fields() -> None:
    (statement,) = scan("-- lead\nSELECT a::int, 'x' FROM t WHERE b = $1 AND c = :c;")
    assert statement == Statement(
        text="-- lead\nSELECT a::int, 'x' FROM t WHERE b = $1 AND c = :c",
        # ``:name`` numbering ignores ``$n`` text; the registry rejects such a mix (positional)
        sql="-- lead\nSELECT a::int, 'x' FROM t WHERE b = $1 AND c = $1",
        names=("c",),
        keywords=("SELECT", "A", "FROM", "T", "WHERE", "B", "AND", "C"),
        positional=True,
    )
    (plain,) = scan("SELECT 1")
    assert plain.sql is plain.text


def test_keywords_skip_numbers_strings_and_placeholders() -> None:
    (statement,) = scan("SELECT 0x1F, 1.5e3, E'x', \"Q\", $$d$$, :p, y::text FROM t")
    assert statement.keywords == ("SELECT", "Y", "FROM", "T")


# --- unterminated tokens: strict scan raises, splitting runs to the end -----------------------

UNTERMINATED = [
    ("SELECT 'abc; SELECT 2", "unterminated ' quote"),
    ("SELECT E'\\", "unterminated ' quote"),
    ('SELECT "abc; SELECT 2', 'unterminated " quote'),
    ("SELECT $$abc; SELECT 2", r"unterminated dollar-quoted text \$\$"),
    ("SELECT $fn$ x $f$", r"unterminated dollar-quoted text \$fn\$"),
    ("SELECT 1 /* abc; SELECT 2", "unterminated /\\* comment"),
    ("SELECT 1 /* a /* b */ c; SELECT 2", "unterminated /\\* comment"),
]


@pytest.mark.parametrize(("sql", "message"), UNTERMINATED)
def test_strict_scan_rejects_unterminated_tokens(sql: str, message: str) -> None:
    with pytest.raises(ScanError, match=message):
        scan(sql)
    assert [statement.text for statement in scan(sql, strict=False)] == [sql]
    assert split_statements(sql) == [sql]
    assert count_statements(sql) == 1


def test_scan_error_is_a_value_error() -> None:
    assert issubclass(ScanError, ValueError)


def test_split_leaves_placeholders_as_written() -> None:
    assert split_statements("SELECT :a; SELECT $1") == ["SELECT :a", "SELECT $1"]


# --- read-only classification -------------------------------------------------------------------

READS = [
    "SELECT 1",
    "  select * from t",
    "-- comment\nSELECT 1",
    "/* a /* nested */ b */ SELECT 1",
    "(SELECT 1) UNION (SELECT 2)",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "VALUES (1), (2)",
    "SHOW search_path",
    "TABLE users",
    "SELECT 'DELETE FROM t' AS s",
    'SELECT "update" FROM t',
    "SELECT $$ INSERT INTO t $$",
    "SELECT 1 -- DROP TABLE t",
    "SELECT 1; SELECT 2",
    "SELECT * FROM t FOR SHARE",
    "SELECT * FROM t FOR UPDATE SKIP LOCKED",
    "SELECT * FROM t FOR NO KEY UPDATE OF t NOWAIT",
    "WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x",
    "",
    "-- only a comment",
]
WRITES = [
    "INSERT INTO t VALUES (1)",
    "update t set a = 1",
    "DELETE FROM t",
    "/* SELECT */ DELETE FROM t",
    "-- SELECT\nTRUNCATE t",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
    "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
    "SELECT * INTO t2 FROM t",
    "SELECT 1; DELETE FROM t",
    "CREATE TABLE t (a int)",
    "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
    "COPY t FROM STDIN",
    "EXPLAIN ANALYZE DELETE FROM t",
    "CALL proc()",
    "DO $$ BEGIN END $$",
    "SELECT 'unterminated",
    "SELECT * FROM t WHERE a = 1; UPDATE t SET a = 2",
    "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u FOR UPDATE",
    "SELECT 1 /* unterminated",
]


@pytest.mark.parametrize("sql", READS)
def test_reads_are_read_only(sql: str) -> None:
    assert is_read_only(sql) is True


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_not_read_only(sql: str) -> None:
    assert is_read_only(sql) is False


def test_statement_read_only_matches_is_read_only() -> None:
    for sql in READS + WRITES:
        try:
            statements = scan(sql)
        except ScanError:
            continue
        assert all(s.read_only for s in statements) is is_read_only(sql), sql
