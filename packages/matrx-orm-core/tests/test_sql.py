"""Level1 tests for matrx_orm_core.sql: exact SQL text and parameter tuples for every node."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from matrx_orm_core.exceptions import (
    FieldError,
    ORMException,
    ParameterError,
    QueryError,
    ValidationError,
)
from matrx_orm_core.sql import (
    BINARY_OPS,
    COMPARE_OPS,
    MAX_PARAMS,
    And,
    AnyOf,
    Between,
    BinaryOp,
    Column,
    Compare,
    Count,
    Delete,
    Exists,
    ForUpdate,
    Identifier,
    Insert,
    IsNull,
    Like,
    Node,
    Not,
    Or,
    Params,
    Raw,
    Select,
    SelectCount,
    SelectExists,
    SQLNode,
    Table,
    Update,
    Value,
    compile_sql,
    render_order_by,
)

USER = Table("user")
PUBLIC_USER = Table("user", "public")

# The same hostile corpus as test_quoting: as identifiers they are quoted, as values they never
# reach the SQL text.
HOSTILE = [
    'a"b',
    '"; DROP TABLE x; --',
    "$1",
    "/* c */",
    "naïve_ß_名前",
    "with space",
    "back\\slash",
    "'; DROP TABLE x; --",
    "a" * 63,
]
HOSTILE_VALUES = [*HOSTILE, "a\x00b", "a" * 64, "", "\\x00"]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- Params and compile_sql -------------------------------------------------------------------


def test_params_numbers_from_one() -> None:
    params = Params()
    assert params.add("a") == "$1"
    assert params.add(None) == "$2"
    assert params.add(["x"]) == "$3"
    assert params.values == ["a", None, ["x"]]
    assert len(params) == 3
    assert repr(params) == "Params(<3 values>)"


def test_params_values_is_a_copy() -> None:
    params = Params()
    params.add(1)
    params.values.append(2)
    assert params.values == [1]


def test_params_limit() -> None:
    params = Params()
    for i in range(MAX_PARAMS):
        params.add(i)
    assert MAX_PARAMS == 32767
    with pytest.raises(ParameterError, match="at most 32767 bound parameters"):
        params.add("one too many")
    assert len(params) == MAX_PARAMS


def test_compile_sql_returns_tuple_params() -> None:
    sql, params = compile_sql(Compare("id", "=", 5))
    assert sql == '"id" = $1'
    assert params == (5,)
    assert type(params) is tuple


def test_compile_sql_accepts_any_protocol_node() -> None:
    class Custom:
        def as_sql(self, params: Params) -> str:
            return "custom(" + params.add("x") + ")"

    assert isinstance(Custom(), SQLNode)
    assert compile_sql(Custom()) == ("custom($1)", ("x",))
    assert compile_sql(And((Compare("a", "=", 1), Custom()))) == (
        '("a" = $1 AND custom($2))',
        (1, "x"),
    )


# --- the contract's exact shapes --------------------------------------------------------------


def test_contract_select_get_shape() -> None:
    node = Select(PUBLIC_USER, where=Compare("id", "=", 7), limit=2)
    assert compile_sql(node) == ('SELECT * FROM "public"."user" WHERE "id" = $1 LIMIT $2', (7, 2))


def test_contract_select_full_shape() -> None:
    node = Select(
        USER,
        columns=("id", "name"),
        where=And((Compare("a", "=", 1), IsNull("b"))),
        order_by=(("name", False), ("id", True)),
        limit=10,
        offset=20,
    )
    assert compile_sql(node) == (
        'SELECT "id", "name" FROM "user" WHERE ("a" = $1 AND "b" IS NULL) '
        'ORDER BY "name" ASC, "id" DESC LIMIT $2 OFFSET $3',
        (1, 10, 20),
    )


def test_contract_insert_shape() -> None:
    node = Insert(USER, ("id", "name"), ((1, "ann"),), returning=("*",))
    assert compile_sql(node) == (
        'INSERT INTO "user" ("id", "name") VALUES ($1, $2) RETURNING *',
        (1, "ann"),
    )


def test_contract_update_shape() -> None:
    node = Update(USER, (("name", "bob"),), where=Compare("id", "=", 1), returning=("*",))
    assert compile_sql(node) == (
        'UPDATE "user" SET "name" = $1 WHERE "id" = $2 RETURNING *',
        ("bob", 1),
    )


def test_contract_delete_shape() -> None:
    assert compile_sql(Delete(USER, Compare("id", "=", 1))) == (
        'DELETE FROM "user" WHERE "id" = $1',
        (1,),
    )


# --- names and values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (Identifier("user"), '"user"'),
        (Identifier('a"b'), '"a""b"'),
        (Table("user"), '"user"'),
        (Table("user", "public"), '"public"."user"'),
        (Table("t", 's"x'), '"s""x"."t"'),
        (Column("name"), '"name"'),
        (Column("name", "u"), '"u"."name"'),
        (Raw("now()"), "now()"),
    ],
)
def test_name_nodes(node: SQLNode, expected: str) -> None:
    assert compile_sql(node) == (expected, ())


def test_value_node_binds() -> None:
    assert compile_sql(Value("x")) == ("$1", ("x",))
    assert compile_sql(Value(None)) == ("$1", (None,))


def test_raw_requires_text() -> None:
    with pytest.raises(QueryError, match="Raw\\(\\) takes SQL text"):
        Raw(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_quoted_everywhere(name: str) -> None:
    node = Select(
        Table(name, name),
        columns=(name, Column(name, name)),
        where=And((Compare(name, "=", 1), IsNull(name))),
        order_by=((name, True),),
    )
    sql, params = compile_sql(node)
    quoted = q(name)
    assert sql == (
        f"SELECT {quoted}, {quoted}.{quoted} FROM {quoted}.{quoted} "
        f"WHERE ({quoted} = $1 AND {quoted} IS NULL) ORDER BY {quoted} DESC"
    )
    assert params == (1,)


@pytest.mark.parametrize("name", ["", "a\x00b", "a" * 64, "é" * 32])
@pytest.mark.parametrize(
    "build",
    [
        lambda n: Identifier(n),
        lambda n: Table(n),
        lambda n: Table("t", n),
        lambda n: Column(n),
        lambda n: Column("c", n),
        lambda n: Compare(n, "=", 1),
        lambda n: IsNull(n),
        lambda n: Select(USER, columns=(n,)),
        lambda n: Select(USER, order_by=((n, False),)),
        lambda n: Insert(USER, (n,), ((1,),)),
        lambda n: Insert(USER, ("a",), ((1,),), returning=(n,)),
        lambda n: Update(USER, ((n, 1),)),
    ],
)
def test_invalid_names_are_rejected_at_compile(name: str, build: Any) -> None:
    with pytest.raises(FieldError):
        compile_sql(build(name))


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_only_in_params(value: str) -> None:
    assert compile_sql(Compare("col", "=", value)) == ('"col" = $1', (value,))
    assert compile_sql(Value(value)) == ("$1", (value,))
    assert compile_sql(Insert(USER, ("col",), ((value,),))) == (
        'INSERT INTO "user" ("col") VALUES ($1)',
        (value,),
    )
    assert compile_sql(Update(USER, (("col", value),), Compare("id", "!=", value))) == (
        'UPDATE "user" SET "col" = $1 WHERE "id" != $2',
        (value, value),
    )


def test_objects_with_as_sql_that_are_not_nodes_are_bound() -> None:
    class Sneaky:
        def as_sql(self, params: Params) -> str:
            return "1=1"

    sneaky = Sneaky()
    assert compile_sql(Compare("a", "=", sneaky)) == ('"a" = $1', (sneaky,))
    assert compile_sql(Insert(USER, ("a",), ((sneaky,),))) == (
        'INSERT INTO "user" ("a") VALUES ($1)',
        (sneaky,),
    )


# --- conditions -------------------------------------------------------------------------------


@pytest.mark.parametrize("op", sorted(COMPARE_OPS))
def test_compare_ops(op: str) -> None:
    assert compile_sql(Compare("age", op, 30)) == (f'"age" {op} $1', (30,))


def test_compare_ops_allow_list_is_exact() -> None:
    assert frozenset({"=", "!=", "<", "<=", ">", ">="}) == COMPARE_OPS


@pytest.mark.parametrize(
    "op", ["<>", "LIKE", "= 1 OR 1 =", "=;--", "", "IS", "==", " =", "= ", "ILIKE"]
)
def test_compare_rejects_other_ops(op: str) -> None:
    with pytest.raises(FieldError, match="unsupported comparison operator") as info:
        Compare("age", op, 1)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ORMException)


def test_compare_refuses_none() -> None:
    with pytest.raises(ValidationError, match="use IsNull"):
        Compare("a", "=", None)
    with pytest.raises(ValidationError, match="never true"):
        Compare("a", "!=", None)
    assert compile_sql(Compare("a", "=", Value(None))) == ('"a" = $1', (None,))


def test_compare_with_nodes() -> None:
    assert compile_sql(Compare(Column("a", "t"), ">", 1)) == ('"t"."a" > $1', (1,))
    assert compile_sql(Compare("a", "=", Column("b"))) == ('"a" = "b"', ())
    assert compile_sql(Compare("a", "<", Raw("now()"))) == ('"a" < now()', ())


def test_is_null() -> None:
    assert compile_sql(IsNull("a")) == ('"a" IS NULL', ())
    assert compile_sql(IsNull("a", negated=True)) == ('"a" IS NOT NULL', ())
    assert compile_sql(IsNull(Column("a", "t"), True)) == ('"t"."a" IS NOT NULL', ())


def test_and_or_sizes() -> None:
    a, b, c = Compare("a", "=", 1), Compare("b", "=", 2), Compare("c", "=", 3)
    assert compile_sql(And(())) == ("TRUE", ())
    assert compile_sql(Or(())) == ("FALSE", ())
    assert compile_sql(And((a,))) == ('"a" = $1', (1,))
    assert compile_sql(Or((a,))) == ('"a" = $1', (1,))
    assert compile_sql(And((a, b))) == ('("a" = $1 AND "b" = $2)', (1, 2))
    assert compile_sql(Or((a, b, c))) == ('("a" = $1 OR "b" = $2 OR "c" = $3)', (1, 2, 3))


def test_not() -> None:
    a, b = Compare("a", "=", 1), Compare("b", "=", 2)
    assert compile_sql(Not(a)) == ('NOT ("a" = $1)', (1,))
    assert compile_sql(Not(And((a, b)))) == ('NOT ("a" = $1 AND "b" = $2)', (1, 2))
    assert compile_sql(Not(Or((a, b)))) == ('NOT ("a" = $1 OR "b" = $2)', (1, 2))
    assert compile_sql(Not(And((a,)))) == ('NOT ("a" = $1)', (1,))
    assert compile_sql(Not(And(()))) == ("NOT (TRUE)", ())
    assert compile_sql(Not(IsNull("a"))) == ('NOT ("a" IS NULL)', ())
    assert compile_sql(Not(Not(a))) == ('NOT (NOT ("a" = $1))', (1,))


def test_nested_conditions_number_in_text_order() -> None:
    node = And(
        (
            Compare("a", "=", 1),
            Or((Compare("b", ">", 2), Not(Compare("c", "<", 3)), IsNull("d"))),
            Not(And((Compare("e", "<=", 4), Compare("f", ">=", 5)))),
        )
    )
    assert compile_sql(node) == (
        '("a" = $1 AND ("b" > $2 OR NOT ("c" < $3) OR "d" IS NULL) '
        'AND NOT ("e" <= $4 AND "f" >= $5))',
        (1, 2, 3, 4, 5),
    )


def test_and_or_accept_lists() -> None:
    node = And([Compare("a", "=", 1)])  # type: ignore[arg-type]
    assert node.children == (Compare("a", "=", 1),)
    assert Or([]).children == ()  # type: ignore[arg-type]
    assert hash(node) == hash(And((Compare("a", "=", 1),)))


# --- Select -----------------------------------------------------------------------------------


def test_select_minimal() -> None:
    assert compile_sql(Select(USER)) == ('SELECT * FROM "user"', ())


def test_select_clause_combinations() -> None:
    assert compile_sql(Select(USER, ("id",))) == ('SELECT "id" FROM "user"', ())
    assert compile_sql(Select(USER, limit=0)) == ('SELECT * FROM "user" LIMIT $1', (0,))
    assert compile_sql(Select(USER, offset=5)) == ('SELECT * FROM "user" OFFSET $1', (5,))
    assert compile_sql(Select(USER, order_by=(("id", False),))) == (
        'SELECT * FROM "user" ORDER BY "id" ASC',
        (),
    )
    assert compile_sql(Select(USER, where=And(()))) == ('SELECT * FROM "user" WHERE TRUE', ())
    assert compile_sql(
        Select(
            Table("t", "s"),
            columns=(Column("a", "t"), Raw("count(*)")),
            where=Or((Compare("a", "=", "x"), Compare("b", "=", "y"))),
            order_by=((Column("a", "t"), True),),
            offset=3,
        )
    ) == (
        'SELECT "t"."a", count(*) FROM "s"."t" WHERE ("a" = $1 OR "b" = $2) '
        'ORDER BY "t"."a" DESC OFFSET $3',
        ("x", "y", 3),
    )


def test_select_params_follow_text_order() -> None:
    # A node column that binds a value renders before WHERE, so it takes $1.
    node = Select(
        USER,
        columns=(Value("tag"), "id"),
        where=Compare("id", ">", 10),
        order_by=((Value("x"), False),),
        limit=1,
        offset=2,
    )
    assert compile_sql(node) == (
        'SELECT $1, "id" FROM "user" WHERE "id" > $2 ORDER BY $3 ASC LIMIT $4 OFFSET $5',
        ("tag", 10, "x", 1, 2),
    )


def test_select_normalises_sequences() -> None:
    node = Select(USER, ["a"], order_by=[("a", True)])  # type: ignore[arg-type]
    assert node.columns == ("a",)
    assert node.order_by == (("a", True),)
    hash(node)


def test_select_rejects_empty_columns() -> None:
    with pytest.raises(QueryError, match="at least one column"):
        Select(USER, ())


@pytest.mark.parametrize("bad", [-1, True, 1.5, "5"])
@pytest.mark.parametrize("clause", ["limit", "offset"])
def test_select_rejects_bad_limit_offset(clause: str, bad: Any) -> None:
    with pytest.raises(ValidationError, match=f"{clause} must be a non-negative int") as info:
        Select(USER, **{clause: bad})
    assert isinstance(info.value, ValueError)


def test_select_can_be_nested_as_a_subquery() -> None:
    class InSubquery(Node):
        __slots__ = ("column", "query")

        def __init__(self, column: str, query: Select) -> None:
            self.column = column
            self.query = query

        def as_sql(self, params: Params) -> str:
            return (
                Identifier(self.column).as_sql(params) + " IN (" + self.query.as_sql(params) + ")"
            )

    inner = Select(Table("team"), ("id",), Compare("name", "=", "a"), limit=5)
    node = Select(USER, where=And((Compare("age", ">", 1), InSubquery("team_id", inner))), limit=3)
    assert compile_sql(node) == (
        'SELECT * FROM "user" WHERE ("age" > $1 AND "team_id" IN '
        '(SELECT "id" FROM "team" WHERE "name" = $2 LIMIT $3)) LIMIT $4',
        (1, "a", 5, 3),
    )


# --- render_order_by --------------------------------------------------------------------------


def test_render_order_by() -> None:
    params = Params()
    assert render_order_by((), params) == ""
    assert render_order_by([("name", False), ("id", True)], params) == '"name" ASC, "id" DESC'
    assert render_order_by([(Column("a", "t"), False)], params) == '"t"."a" ASC'
    assert params.values == []


@pytest.mark.parametrize(
    "term",
    [("name",), ("name", "desc"), ("name", 1), "name", ("a", False, "x"), ["name", False]],
)
def test_render_order_by_rejects_malformed_terms(term: Any) -> None:
    with pytest.raises(QueryError, match="must be a \\(column, descending: bool\\) pair"):
        render_order_by([term], Params())


# --- Count / Exists ---------------------------------------------------------------------------


def test_count() -> None:
    assert compile_sql(Count(USER)) == ('SELECT count(*) FROM "user"', ())
    assert compile_sql(Count(PUBLIC_USER, Compare("a", ">", 1))) == (
        'SELECT count(*) FROM "public"."user" WHERE "a" > $1',
        (1,),
    )


def test_exists() -> None:
    assert compile_sql(Exists(USER)) == ('SELECT EXISTS(SELECT 1 FROM "user")', ())
    assert compile_sql(Exists(USER, And((Compare("a", "=", 1), IsNull("b", True))))) == (
        'SELECT EXISTS(SELECT 1 FROM "user" WHERE ("a" = $1 AND "b" IS NOT NULL))',
        (1,),
    )


# --- Insert -----------------------------------------------------------------------------------


def test_insert_without_returning() -> None:
    assert compile_sql(Insert(USER, ("id",), ((1,),))) == (
        'INSERT INTO "user" ("id") VALUES ($1)',
        (1,),
    )


def test_insert_multiple_rows() -> None:
    node = Insert(PUBLIC_USER, ("id", "name"), ((1, "a"), (2, "b"), (3, "c")), returning=("id",))
    assert compile_sql(node) == (
        'INSERT INTO "public"."user" ("id", "name") VALUES ($1, $2), ($3, $4), ($5, $6) '
        'RETURNING "id"',
        (1, "a", 2, "b", 3, "c"),
    )


def test_insert_returning_columns() -> None:
    node = Insert(USER, ("a",), ((1,),), returning=("id", 'we"ird'))
    assert compile_sql(node) == (
        'INSERT INTO "user" ("a") VALUES ($1) RETURNING "id", "we""ird"',
        (1,),
    )
    empty = Insert(USER, ("a",), ((1,),), returning=())
    assert compile_sql(empty) == ('INSERT INTO "user" ("a") VALUES ($1)', (1,))


def test_insert_default_values() -> None:
    assert compile_sql(Insert(USER, (), ())) == ('INSERT INTO "user" DEFAULT VALUES', ())
    assert compile_sql(Insert(USER, (), ((),), returning=("*",))) == (
        'INSERT INTO "user" DEFAULT VALUES RETURNING *',
        (),
    )


def test_insert_node_values_render() -> None:
    node = Insert(USER, ("id", "name", "at"), ((Raw("DEFAULT"), "a", Raw("now()")), (5, "b", None)))
    assert compile_sql(node) == (
        'INSERT INTO "user" ("id", "name", "at") VALUES (DEFAULT, $1, now()), ($2, $3, $4)',
        ("a", 5, "b", None),
    )


def test_insert_more_than_nine_params() -> None:
    rows = tuple((i, f"n{i}") for i in range(6))
    sql, params = compile_sql(Insert(USER, ("id", "name"), rows))
    assert sql == (
        'INSERT INTO "user" ("id", "name") VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), '
        "($9, $10), ($11, $12)"
    )
    assert params == (0, "n0", 1, "n1", 2, "n2", 3, "n3", 4, "n4", 5, "n5")


def test_insert_normalises_sequences() -> None:
    node = Insert(USER, ["a"], [[1], [2]], returning=["id"])  # type: ignore[arg-type]
    assert node.columns == ("a",)
    assert node.rows == ((1,), (2,))
    assert node.returning == ("id",)
    hash(node)


def test_insert_errors() -> None:
    with pytest.raises(QueryError, match="needs at least one row"):
        Insert(USER, ("a",), ())
    with pytest.raises(QueryError, match="row 1 has 1 values for 2 columns"):
        Insert(USER, ("a", "b"), ((1, 2), (3,)))
    with pytest.raises(QueryError, match="DEFAULT VALUES"):
        Insert(USER, (), ((), ()))
    with pytest.raises(QueryError, match="DEFAULT VALUES"):
        Insert(USER, (), ((1,),))


def test_insert_too_many_params() -> None:
    rows = tuple((i, i) for i in range(MAX_PARAMS // 2 + 1))
    with pytest.raises(ParameterError, match="smaller batches"):
        compile_sql(Insert(USER, ("a", "b"), rows))


# --- Update / Delete --------------------------------------------------------------------------


def test_update_without_where_or_returning() -> None:
    assert compile_sql(Update(USER, (("a", 1), ("b", 2)))) == (
        'UPDATE "user" SET "a" = $1, "b" = $2',
        (1, 2),
    )


def test_update_where_has_more_params_than_set() -> None:
    # Upstream renumbered by string replace and produced "$3 ... $3" here (API.md §9.1.2).
    node = Update(
        USER,
        (("status", "archived"),),
        And((Compare("status", "=", "draft"), Compare("created_at", "<", "t"))),
    )
    assert compile_sql(node) == (
        'UPDATE "user" SET "status" = $1 WHERE ("status" = $2 AND "created_at" < $3)',
        ("archived", "draft", "t"),
    )


def test_update_with_ten_or_more_params() -> None:
    assignments = tuple((f"c{i}", i) for i in range(6))
    where = And(tuple(Compare(f"w{i}", "=", 100 + i) for i in range(6)))
    sql, params = compile_sql(Update(USER, assignments, where, returning=("id", "c0")))
    assert sql == (
        'UPDATE "user" SET "c0" = $1, "c1" = $2, "c2" = $3, "c3" = $4, "c4" = $5, "c5" = $6 '
        'WHERE ("w0" = $7 AND "w1" = $8 AND "w2" = $9 AND "w3" = $10 AND "w4" = $11 '
        'AND "w5" = $12) RETURNING "id", "c0"'
    )
    assert params == (0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105)


def test_update_node_values_render() -> None:
    node = Update(USER, (("n", Raw('"n" + 1')), ("at", Raw("now()")), ("x", None)))
    assert compile_sql(node) == ('UPDATE "user" SET "n" = "n" + 1, "at" = now(), "x" = $1', (None,))


def test_update_requires_assignments() -> None:
    with pytest.raises(QueryError, match="at least one column to set"):
        Update(USER, ())


def test_delete_variants() -> None:
    assert compile_sql(Delete(USER)) == ('DELETE FROM "user"', ())
    assert compile_sql(Delete(PUBLIC_USER, returning=("*",))) == (
        'DELETE FROM "public"."user" RETURNING *',
        (),
    )
    assert compile_sql(
        Delete(USER, Or((Compare("a", "=", 1), Compare("a", "=", 2))), returning=("id",))
    ) == ('DELETE FROM "user" WHERE ("a" = $1 OR "a" = $2) RETURNING "id"', (1, 2))


# --- node properties --------------------------------------------------------------------------

ALL_NODES: list[Node] = [
    Identifier("a"),
    Table("t", "s"),
    Column("c", "t"),
    Value(1),
    Raw("x"),
    Compare("a", "=", 1),
    IsNull("a"),
    And((IsNull("a"),)),
    Or((IsNull("a"),)),
    Not(IsNull("a")),
    Select(USER),
    Count(USER),
    Exists(USER),
    Insert(USER, ("a",), ((1,),)),
    Update(USER, (("a", 1),)),
    Delete(USER),
]


@pytest.mark.parametrize("node", ALL_NODES, ids=lambda n: type(n).__name__)
def test_nodes_are_frozen_slotted_hashable_protocol_nodes(node: Any) -> None:
    is_protocol_node = isinstance(node, SQLNode)
    assert is_protocol_node
    assert dataclasses.is_dataclass(type(node))
    assert not hasattr(node, "__dict__")
    field = dataclasses.fields(node)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(node, field, None)
    assert hash(node) == hash(dataclasses.replace(node))
    assert node == dataclasses.replace(node)


def test_equal_nodes_compile_identically_and_repeatably() -> None:
    node = Select(USER, ("a",), Compare("a", "=", 1), (("a", True),), 5, 6)
    assert compile_sql(node) == compile_sql(node)
    assert {node: "cached"}[Select(USER, ("a",), Compare("a", "=", 1), (("a", True),), 5, 6)]


# --- nodes added for the Query API (issue #3) ---------------------------------------------------


@pytest.mark.parametrize(
    ("node", "sql", "params"),
    [
        (Like("name", "%a%"), "\"name\" LIKE $1 ESCAPE '\\'", ("%a%",)),
        (Like("name", "a%", case_insensitive=True), "\"name\" ILIKE $1 ESCAPE '\\'", ("a%",)),
        (AnyOf("id", [1, 2]), '"id" = ANY($1)', ([1, 2],)),
        (AnyOf("id", [1], negated=True), '"id" <> ALL($1)', ([1],)),
        (Between("age", 1, 9), '"age" BETWEEN $1 AND $2', (1, 9)),
        (BinaryOp("d", "?", "k"), '"d" ? $1', ("k",)),
        (BinaryOp("d", "?|", ["a"]), '"d" ?| $1', (["a"],)),
        (BinaryOp("d", "?&", ["a"]), '"d" ?& $1', (["a"],)),
        (BinaryOp("d", "@>", {"a": 1}, "jsonb"), '"d" @> $1::jsonb', ({"a": 1},)),
        (BinaryOp("d", "<@", [1], "jsonb"), '"d" <@ $1::jsonb', ([1],)),
        (
            IsNull(BinaryOp("d", "#>", ["a", "b"]), negated=True),
            '"d" #> $1 IS NOT NULL',
            (["a", "b"],),
        ),
        (Compare(BinaryOp("d", "#>>", ["a"]), "=", "x"), '"d" #>> $1 = $2', (["a"], "x")),
        (Compare(BinaryOp("d", "->>", "k"), "=", "x"), '"d" ->> $1 = $2', ("k", "x")),
        (BinaryOp("n", "~*", "^a"), '"n" ~* $1', ("^a",)),
        (ForUpdate(), "FOR UPDATE", ()),
        (ForUpdate(("t", "u")), 'FOR UPDATE OF "t", "u"', ()),
        (ForUpdate(nowait=True, skip_locked=True), "FOR UPDATE NOWAIT", ()),
        (ForUpdate(("t",), skip_locked=True), 'FOR UPDATE OF "t" SKIP LOCKED', ()),
        (Select(Table("t"), ("a",), distinct=True), 'SELECT DISTINCT "a" FROM "t"', ()),
        (
            Select(
                Table("t"), ("a", "b"), distinct_on=("a",), order_by=(("a", True), ("b", False))
            ),
            'SELECT DISTINCT ON ("a") "a", "b" FROM "t" ORDER BY "a" DESC, "b" ASC',
            (),
        ),
        (
            Select(
                Table("t"),
                ("a",),
                Compare("a", "=", 1),
                limit=Value(5),
                offset=2,
                for_update=ForUpdate(("t",), nowait=True),
            ),
            'SELECT "a" FROM "t" WHERE "a" = $1 LIMIT $2 OFFSET $3 FOR UPDATE OF "t" NOWAIT',
            (1, 5, 2),
        ),
        (
            SelectCount(Select(Table("t"), ("a",), Compare("a", ">", 1), distinct=True)),
            'SELECT count(*) FROM (SELECT DISTINCT "a" FROM "t" WHERE "a" > $1) AS "_q"',
            (1,),
        ),
        (
            SelectExists(Select(Table("t"), ("a",), offset=3)),
            'SELECT EXISTS(SELECT "a" FROM "t" OFFSET $1)',
            (3,),
        ),
    ],
)
def test_query_api_nodes(node: Any, sql: str, params: tuple[Any, ...]) -> None:
    assert compile_sql(node) == (sql, params)


def test_binary_op_and_distinct_on_validation() -> None:
    assert "; DROP" not in BINARY_OPS
    with pytest.raises(QueryError, match="unsupported operator"):
        BinaryOp("d", "; DROP", 1)
    with pytest.raises(QueryError, match="unsupported cast"):
        BinaryOp("d", "?", 1, "text; DROP")
    with pytest.raises(QueryError, match="DISTINCT ON"):
        Select(Table("t"), distinct_on=("a",), order_by=(("b", False),))
    with pytest.raises(FieldError):
        compile_sql(ForUpdate(("x" * 64,)))
    with pytest.raises(FieldError):
        compile_sql(Like('a"; --\x00', "x"))
