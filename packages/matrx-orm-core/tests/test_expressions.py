"""Expressions in the query layer: exact SQL and parameters for Q, F, functions, aggregates,
windows, subqueries and CTEs; errors before SQL; cache reuse across values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from matrx_orm_core import (
    CTE,
    Abs,
    Avg,
    Cast,
    Coalesce,
    Concat,
    Count,
    CumeDist,
    DateTrunc,
    DenseRank,
    Exists,
    Extract,
    F,
    FirstValue,
    Greatest,
    Lag,
    LastValue,
    Lead,
    Least,
    Length,
    Lower,
    Max,
    Min,
    Now,
    NthValue,
    Ntile,
    OuterRef,
    PercentRank,
    Q,
    Rank,
    Round,
    RowNumber,
    StdDev,
    Subquery,
    Sum,
    Trim,
    Upper,
    Value,
    Variance,
    Window,
)
from matrx_orm_core.exceptions import FieldError, QueryError, QueryUsageError, ValidationError
from matrx_orm_core.fields import CharField, DateTimeField, DecimalField, IntegerField
from matrx_orm_core.models import Model
from matrx_orm_core.testing import Recorder

pytestmark = pytest.mark.level1

UCOLS = '"id", "name", "role", "views", "created", "updated"'


class XUser(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)
    role = CharField(max_length=20)
    views = IntegerField()
    created = DateTimeField()
    updated = DateTimeField()
    _table_name = "xu"
    _database = "recorded"


class XOrder(Model):
    id = IntegerField(primary_key=True)
    user_id = IntegerField()
    total = DecimalField(max_digits=10, decimal_places=2)
    status = CharField(max_length=20)
    _table_name = "xo"
    _database = "recorded"


def sel(where: str = "", tail: str = "") -> str:
    return f'SELECT {UCOLS} FROM "xu"' + (f" WHERE {where}" if where else "") + tail


# --- Q ------------------------------------------------------------------------------------------


def test_q_or_and_not_nesting_and_kwargs() -> None:
    assert XUser.filter(Q(role="a") | Q(role="b")).sql() == (
        sel('("role" = $1 OR "role" = $2)'),
        ("a", "b"),
    )
    assert XUser.filter(Q(views=1), role="x").sql() == (
        sel('("views" = $1 AND "role" = $2)'),
        (1, "x"),
    )
    assert XUser.filter(~Q(name="x")).sql() == (sel('NOT ("name" = $1)'), ("x",))
    nested = XUser.filter((Q(role="admin") | Q(role="staff")) & ~Q(views__gt=5))
    assert nested.sql() == (
        sel('(("role" = $1 OR "role" = $2) AND NOT ("views" > $3))'),
        ("admin", "staff", 5),
    )


def test_q_children_and_kwargs_are_anded() -> None:
    # upstream dropped the kwargs when children were given (API.md §2.9)
    assert XUser.filter(Q(Q(role="a") | Q(role="b"), views=2)).sql() == (
        sel('(("role" = $1 OR "role" = $2) AND "views" = $3)'),
        ("a", "b", 2),
    )


def test_q_attributes() -> None:
    q = Q(role="a") | Q(views=1)
    assert q.connector == "OR"
    assert not q.negated
    assert len(q.children) == 2
    assert (~q).negated
    assert Q(role="a").is_leaf
    assert Q(role="a").kwargs == {"role": "a"}
    assert not q.is_leaf


def test_q_mixed_with_previous_filters_numbers_in_text_order() -> None:
    qb = XUser.filter(views=3).filter(Q(name="x") | Q(name__startswith="y")).exclude(role="z")
    assert qb.sql() == (
        sel(
            '("views" = $1 AND ("name" = $2 OR "name" LIKE $3 ESCAPE \'\\\') AND NOT ("role" = $4))'
        ),
        (3, "x", "y%", "z"),
    )


def test_exclude_takes_q() -> None:
    assert XUser.filter().exclude(Q(role="a") | Q(role="b")).sql() == (
        sel('NOT (("role" = $1 OR "role" = $2))'),
        ("a", "b"),
    )


def test_filter_rejects_non_q_positionals_and_bad_q_children() -> None:
    with pytest.raises(QueryUsageError, match="positional arguments must be Q"):
        XUser.filter({"role": "a"})
    with pytest.raises(TypeError):
        Q("role")
    with pytest.raises(TypeError):
        Q(role="a") | {"x": 1}  # type: ignore[operator]
    with pytest.raises(FieldError, match="'nope' is not a field"):
        XUser.filter(Q(nope=1))


def test_q_clone_semantics() -> None:
    base = XUser.filter(Q(role="a"))
    narrowed = base.filter(Q(views=1) | Q(views=2))
    assert base.sql() == (sel('"role" = $1'), ("a",))
    assert narrowed.sql()[1] == ("a", 1, 2)


async def test_model_shortcuts_take_q(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"count": 4}])
    recording_db.add_result(rows=[{"exists": True}])
    recording_db.add_result(rows=[{"id": 1}, {"id": 2}])
    assert await XUser.count(Q(role="a") | Q(role="b"), views=1) == 4
    assert await XUser.exists(~Q(role="a")) is True
    assert await XUser.delete_where(Q(views__lt=1) | Q(role="old")) == 2
    assert recording_db.statements == [
        (
            'SELECT count(*) FROM "xu" WHERE (("role" = $1 OR "role" = $2) AND "views" = $3)',
            ("a", "b", 1),
        ),
        ('SELECT EXISTS(SELECT 1 FROM "xu" WHERE NOT ("role" = $1))', ("a",)),
        ('DELETE FROM "xu" WHERE ("views" < $1 OR "role" = $2) RETURNING "id"', (1, "old")),
    ]


# --- F --------------------------------------------------------------------------------------


def test_f_in_filters_and_arithmetic() -> None:
    assert XUser.filter(updated__gt=F("created")).sql() == (sel('"updated" > "created"'), ())
    assert XUser.filter(views__gte=F("id") * 2 + 1).sql() == (
        sel('"views" >= (("id" * $1) + $2)'),
        (2, 1),
    )
    assert XUser.filter(views=10 - F("id")).sql() == (sel('"views" = ($1 - "id")'), (10,))
    assert XUser.filter(views__lt=100 / F("id") % 7).sql() == (
        sel('"views" < (($1 / "id") % $2)'),
        (100, 7),
    )
    assert XUser.filter(views=-F("id")).sql() == (sel('"views" = (-"id")'), ())
    assert XUser.filter(views=3 * F("id")).sql() == (sel('"views" = ($1 * "id")'), (3,))


def test_f_rejects_unknown_names_and_lookups() -> None:
    with pytest.raises(FieldError, match="'nope' is not a field or annotation"):
        XUser.filter(views=F("nope"))
    with pytest.raises(ValidationError, match="does not take an expression"):
        XUser.filter(name__contains=F("role"))
    with pytest.raises(FieldError):
        XUser.filter(nope__gt=F("views"))
    with pytest.raises(TypeError, match="arithmetic operand"):
        XUser.filter(views=F("views") + "x")


async def test_queryset_update_with_f_and_functions(recording_db: Recorder) -> None:
    recording_db.add_result(tag="UPDATE 2")
    recording_db.add_result(tag="UPDATE 1")
    assert await XUser.filter(role="a").update(views=F("views") + 1, name="n") == 2
    assert await XUser.filter(id=1).update(updated=Now(), name=Upper("name")) == 1
    assert recording_db.statements == [
        (
            'UPDATE "xu" SET "name" = $1, "views" = ("views" + $2) WHERE "role" = $3',
            ("n", 1, "a"),
        ),
        ('UPDATE "xu" SET "name" = UPPER("name"), "updated" = NOW() WHERE "id" = $1', (1,)),
    ]


async def test_update_where_with_f_now_and_q(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1}])
    recording_db.add_result(rows=[])
    out = await XUser.update_where({"role": "a"}, views=F("views") + 1)
    assert out == {"rows_affected": 1, "updated_rows": [{"id": 1}]}
    await XUser.update_where(Q(role="a") | Q(updated__isnull=True), updated=Now())
    returning = f" RETURNING {UCOLS}"
    assert recording_db.statements == [
        ('UPDATE "xu" SET "views" = ("views" + $1) WHERE "role" = $2' + returning, (1, "a")),
        (
            'UPDATE "xu" SET "updated" = NOW() WHERE ("role" = $1 OR "updated" IS NULL)'
            + returning,
            ("a",),
        ),
    ]


async def test_update_rejects_bad_expressions_before_sql(recording_db: Recorder) -> None:
    with pytest.raises(FieldError):
        await XUser.filter(id=1).update(views=F("nope") + 1)
    with pytest.raises(QueryError, match="aggregate or window cannot be assigned"):
        await XUser.filter(id=1).update(views=Sum("views"))
    with pytest.raises(QueryError, match="cannot use annotate"):
        await XUser.filter().annotate(n=Lower("name")).update(views=1)
    with pytest.raises(FieldError):
        await XUser.update_where({"id": 1}, nope=F("views"))
    assert recording_db.statements == []


# --- functions ----------------------------------------------------------------------------


def test_functions_render_with_bound_literals() -> None:
    qb = XUser.filter().annotate(
        a=Coalesce("name", Value("anon")),
        b=Concat("name", Value("-"), "role"),
        c=Greatest("views", 3),
        d=Least("views", F("id")),
        e=Abs(F("views") - 10),
        f=Length(Trim("name")),
        g=Round("views", 2),
        h=Round("views"),
        i=Cast("views", "NUMERIC(10,2)"),
        j=Extract("year", "created"),
        k=DateTrunc("month", "created"),
        m=Lower(Upper("name")),
    )
    sql, params = qb.sql()
    assert sql == (
        f'SELECT {UCOLS}, COALESCE("name", CAST($1 AS text)) AS "a", '
        'CONCAT("name", CAST($2 AS text), "role") AS "b", '
        'GREATEST("views", CAST($3 AS bigint)) AS "c", LEAST("views", "id") AS "d", '
        'ABS(("views" - $4)) AS "e", LENGTH(TRIM("name")) AS "f", '
        'ROUND(CAST("views" AS numeric), CAST($5 AS integer)) AS "g", ROUND("views") AS "h", '
        'CAST("views" AS numeric(10, 2)) AS "i", EXTRACT(YEAR FROM "created") AS "j", '
        'DATE_TRUNC(CAST($6 AS text), "created") AS "k", LOWER(UPPER("name")) AS "m" FROM "xu"'
    )
    assert params == ("anon", "-", 3, 10, 2, "month")


def test_functions_in_filter_and_order_by() -> None:
    assert XUser.filter(name=Lower("role")).order_by(Lower("name").desc(), "id").sql() == (
        sel('"name" = LOWER("role")', ' ORDER BY LOWER("name") DESC, "id" ASC'),
        (),
    )
    assert XUser.filter(views=1).order_by(F("views") * 2).sql() == (
        sel('"views" = $1', ' ORDER BY ("views" * $2) ASC'),
        (1, 2),
    )


@pytest.mark.parametrize(
    "as_type",
    ["integer; DROP TABLE x", "text) --", "nope", "int[]]", "", 'text"', "numeric(1,2,3)"],
)
def test_cast_types_are_allow_listed(as_type: str) -> None:
    with pytest.raises(ValidationError, match="unsupported type"):
        Cast("views", as_type)


@pytest.mark.parametrize("part", ["year FROM x); --", "YEARS", "", "epoch'"])
def test_extract_parts_and_trunc_precisions_are_allow_listed(part: str) -> None:
    with pytest.raises(ValidationError):
        Extract(part, "created")
    with pytest.raises(ValidationError):
        DateTrunc(part, "created")


def test_function_arity_and_custom_function_names() -> None:
    with pytest.raises(QueryUsageError, match="takes 1 argument"):
        Lower("a", "b")
    with pytest.raises(QueryUsageError, match="at least one"):
        Coalesce()

    class Evil(Lower):
        function = "lower); DROP TABLE x; --"

    with pytest.raises(QueryUsageError, match="not a plain SQL function name"):
        XUser.filter().annotate(x=Evil("name"))


# --- aggregates, group_by, having -----------------------------------------------------------


async def test_aggregate_selects_only_the_aggregates(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"total": Decimal("10.5"), "avg": Decimal("3.5"), "n": 3}])
    result = await XOrder.filter(status="paid").aggregate(
        total=Sum("total"), avg=Avg("total"), n=Count("id")
    )
    assert result == {"total": Decimal("10.5"), "avg": Decimal("3.5"), "n": 3}
    assert recording_db.statements == [
        (
            'SELECT SUM("total") AS "total", AVG("total") AS "avg", COUNT("id") AS "n" '
            'FROM "xo" WHERE "status" = $1',
            ("paid",),
        )
    ]


async def test_aggregate_every_kind_and_distinct(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}])
    await XOrder.filter().aggregate(
        a=Min("total"),
        b=Max("total"),
        c=StdDev("total"),
        d=Variance("total"),
        e=Count("user_id", distinct=True),
        f=Count(),
    )
    assert recording_db.statements[0][0] == (
        'SELECT MIN("total") AS "a", MAX("total") AS "b", STDDEV("total") AS "c", '
        'VARIANCE("total") AS "d", COUNT(DISTINCT "user_id") AS "e", COUNT(*) AS "f" FROM "xo"'
    )


async def test_aggregate_errors_before_sql(recording_db: Recorder) -> None:
    with pytest.raises(ValidationError, match="at least one"):
        await XOrder.filter().aggregate()
    with pytest.raises(ValidationError, match="not an aggregate"):
        await XOrder.filter().aggregate(x=Lower("status"))
    with pytest.raises(QueryError, match="sliced or DISTINCT"):
        await XOrder.filter()[:3].aggregate(n=Count())
    with pytest.raises(FieldError):
        await XOrder.filter().aggregate(n=Sum("nope"))
    assert recording_db.statements == []


async def test_group_by_annotate_values(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"user_id": 1, "amount": Decimal("3")}])
    rows = (
        await XOrder.filter(status="paid")
        .group_by("user_id")
        .annotate(amount=Sum("total"))
        .values("user_id", "amount")
    )
    assert rows == [{"user_id": 1, "amount": Decimal("3")}]
    assert recording_db.statements == [
        (
            'SELECT "user_id", SUM("total") AS "amount" FROM "xo" WHERE "status" = $1 '
            'GROUP BY "user_id"',
            ("paid",),
        )
    ]


async def test_group_by_values_without_names_and_order_by_alias(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[])
    await XOrder.filter().group_by("status").annotate(n=Count("id")).order_by("-n").values()
    assert recording_db.statements == [
        (
            'SELECT "status", COUNT("id") AS "n" FROM "xo" GROUP BY "status" '
            'ORDER BY COUNT("id") DESC',
            (),
        )
    ]


def test_filter_on_an_aggregate_goes_to_having() -> None:
    qb = XOrder.filter(status="paid").annotate(n=Count("id")).filter(n__gt=5, status__ne="x")
    assert qb.sql() == (
        'SELECT "id", "user_id", "total", "status", COUNT("id") AS "n" FROM "xo" '
        'WHERE ("status" = $1 AND "status" != $2) '
        'GROUP BY "id", "user_id", "total", "status" HAVING COUNT("id") > $3',
        ("paid", "x", 5),
    )
    explicit = XOrder.filter().group_by("user_id").annotate(s=Sum("total")).having(s__gte=10)
    assert explicit._compiled("select", ("user_id", "s")) == (
        'SELECT "user_id", SUM("total") AS "s" FROM "xo" GROUP BY "user_id" '
        'HAVING SUM("total") >= $1',
        (10,),
    )


def test_group_by_errors() -> None:
    with pytest.raises(FieldError, match="'nope' is not a field"):
        XOrder.filter().group_by("nope")
    with pytest.raises(FieldError, match="is an aggregate"):
        XOrder.filter().annotate(n=Count()).group_by("n")
    with pytest.raises(QueryError, match="selects groups, not rows"):
        XOrder.filter().group_by("status").annotate(n=Count()).sql()
    with pytest.raises(QueryError, match="cannot mix conditions on aggregates"):
        XOrder.filter().annotate(n=Count()).exclude(n=1, status="a")


# --- annotate -------------------------------------------------------------------------------


async def test_annotations_land_on_instances_and_in_values(recording_db: Recorder) -> None:
    row = {"id": 1, "user_id": 2, "total": Decimal("1"), "status": "s", "low": "s"}
    recording_db.add_result(rows=[row])
    recording_db.add_result(rows=[{"id": 1, "low": "s"}])
    qb = XOrder.filter(status="S").annotate(low=Lower("status"))
    (order,) = await qb.all()
    assert order.low == "s"
    assert order._extra_data == {"low": "s"}
    assert await qb.values("id", "low") == [{"id": 1, "low": "s"}]
    assert recording_db.statements[1] == (
        'SELECT "id", LOWER("status") AS "low" FROM "xo" WHERE "status" = $1',
        ("S",),
    )


def test_annotation_alias_rules() -> None:
    with pytest.raises(FieldError, match="already a field"):
        XOrder.filter().annotate(status=Lower("status"))
    with pytest.raises(FieldError, match="already an annotation"):
        XOrder.filter().annotate(a=Lower("status")).annotate(a=Upper("status"))
    with pytest.raises(QueryUsageError, match="is not an expression"):
        XOrder.filter().annotate(a="status")
    with pytest.raises(FieldError):
        XOrder.filter().annotate(a=Lower("status"))._value_names(("b",), "values")
    with pytest.raises(FieldError, match="Valid names: id, user_id, total, status, a"):
        XOrder.filter().annotate(a=Lower("status"))._value_names(("id", "b"), "values")


def test_annotation_references_and_filters() -> None:
    qb = XUser.filter().annotate(low=Lower("name"), doubled=F("views") * 2)
    qb = qb.filter(low__contains="a", doubled__gt=F("id"))
    sql, params = qb.sql()
    assert sql == (
        f'SELECT {UCOLS}, LOWER("name") AS "low", ("views" * $1) AS "doubled" FROM "xu" '
        'WHERE (LOWER("name") LIKE $2 ESCAPE \'\\\' AND ("views" * $3) > "id")'
    )
    # placeholders are numbered in text order: the annotations' values come first
    assert params == (2, "%a%", 2)


# --- windows --------------------------------------------------------------------------------


def test_window_functions() -> None:
    qb = XUser.filter().annotate(
        rn=Window(RowNumber(), partition_by="role", order_by="-views"),
        rk=Window(Rank(), order_by=["-views", "id"]),
        dr=Window(DenseRank(), partition_by=["role", "name"], order_by=F("views").desc()),
        rt=Window(
            Sum("views"),
            partition_by="role",
            order_by="created",
            frame="rows  between unbounded preceding and current row",
        ),
        lg=Window(Lag("views"), order_by="created"),
        ld=Window(Lead("views", 2, 0), order_by="created"),
        fv=Window(FirstValue("name"), order_by="id"),
        lv=Window(LastValue("name"), order_by="id", frame="RANGE UNBOUNDED PRECEDING"),
        nv=Window(NthValue("name", 2), order_by="id"),
        nt=Window(Ntile(4), order_by="views"),
        cd=Window(CumeDist(), order_by="views"),
        pr=Window(PercentRank(), order_by="views"),
    )
    sql, params = qb.sql()
    assert sql == (
        f"SELECT {UCOLS}, "
        'ROW_NUMBER() OVER (PARTITION BY "role" ORDER BY "views" DESC) AS "rn", '
        'RANK() OVER (ORDER BY "views" DESC, "id" ASC) AS "rk", '
        'DENSE_RANK() OVER (PARTITION BY "role", "name" ORDER BY "views" DESC) AS "dr", '
        'SUM("views") OVER (PARTITION BY "role" ORDER BY "created" ASC '
        'ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "rt", '
        'LAG("views", CAST($1 AS integer)) OVER (ORDER BY "created" ASC) AS "lg", '
        'LEAD("views", CAST($2 AS integer), $3) OVER (ORDER BY "created" ASC) AS "ld", '
        'FIRST_VALUE("name") OVER (ORDER BY "id" ASC) AS "fv", '
        'LAST_VALUE("name") OVER (ORDER BY "id" ASC RANGE UNBOUNDED PRECEDING) AS "lv", '
        'NTH_VALUE("name", CAST($4 AS integer)) OVER (ORDER BY "id" ASC) AS "nv", '
        'NTILE(CAST($5 AS integer)) OVER (ORDER BY "views" ASC) AS "nt", '
        'CUME_DIST() OVER (ORDER BY "views" ASC) AS "cd", '
        'PERCENT_RANK() OVER (ORDER BY "views" ASC) AS "pr" FROM "xu"'
    )
    assert params == (1, 2, 0, 2, 4)


@pytest.mark.parametrize(
    "frame",
    [
        "ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING; DROP TABLE x",
        "ROWS UNBOUNDED",
        "rows between $1 preceding and current row",
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW --",
        "",
    ],
)
def test_window_frames_are_parsed(frame: str) -> None:
    with pytest.raises(ValidationError, match="not a frame clause"):
        Window(RowNumber(), frame=frame)


def test_window_errors() -> None:
    with pytest.raises(QueryUsageError, match="takes a window function"):
        Window(Lower("name"))
    with pytest.raises(QueryUsageError, match="is a window function; wrap it"):
        XUser.filter().annotate(r=RowNumber())
    with pytest.raises(FieldError):
        XUser.filter().annotate(r=Window(RowNumber(), partition_by='role"; --'))
    with pytest.raises(FieldError):
        XUser.filter().annotate(r=Window(RowNumber(), order_by="-nope"))
    with pytest.raises(QueryError, match="window function cannot be filtered"):
        XUser.filter().annotate(r=Window(RowNumber(), order_by="id")).filter(r=1)
    with pytest.raises(ValidationError):
        Ntile(0)


# --- subqueries -----------------------------------------------------------------------------


def test_exists_and_not_exists_are_correlated() -> None:
    active = XOrder.filter(user_id=OuterRef("id"), status="active")
    assert XUser.filter(Exists(active), views=1).sql() == (
        sel(
            '(EXISTS (SELECT 1 FROM "xo" AS "_sq1" WHERE ("user_id" = "xu"."id" AND '
            '"status" = $1)) AND "views" = $2)'
        ),
        ("active", 1),
    )
    assert XUser.filter(~Exists(active)).sql() == (
        sel(
            'NOT EXISTS (SELECT 1 FROM "xo" AS "_sq1" WHERE ("user_id" = "xu"."id" AND '
            '"status" = $1))'
        ),
        ("active",),
    )
    assert XUser.filter(Q(Exists(active)) | Q(role="x")).sql()[1] == ("active", "x")


def test_scalar_subquery_annotation_numbering() -> None:
    latest = XOrder.filter(user_id=OuterRef("id")).order_by("-id").limit(1).select("total")
    qb = XUser.filter(views=5).annotate(last_total=Subquery(latest))
    assert qb._compiled("select", ("id", "last_total")) == (
        'SELECT "id", (SELECT "total" FROM "xo" AS "_sq1" WHERE "user_id" = "xu"."id" '
        'ORDER BY "id" DESC LIMIT $1) AS "last_total" FROM "xu" WHERE "views" = $2',
        (1, 5),
    )


def test_subquery_in_filters_and_nested_scopes() -> None:
    inner = XOrder.filter(status="x", user_id=OuterRef("id")).select("user_id")
    assert XUser.filter(id__in=Subquery(XOrder.filter(status="x").select("user_id"))).sql() == (
        sel('"id" IN (SELECT "user_id" FROM "xo" AS "_sq1" WHERE "status" = $1)'),
        ("x",),
    )
    # a subquery of a subquery: OuterRef binds to the query right outside it
    middle = XUser.filter(Exists(inner), role="r").select("id")
    assert XOrder.filter(user_id__in=Subquery(middle), total__gt=1).sql() == (
        'SELECT "id", "user_id", "total", "status" FROM "xo" WHERE ("user_id" IN (SELECT "id" '
        'FROM "xu" AS "_sq1" WHERE (EXISTS (SELECT 1 FROM "xo" AS "_sq2" WHERE ("status" = $1 '
        'AND "user_id" = "_sq1"."id")) AND "role" = $2)) AND "total" > $3)',
        ("x", "r", 1),
    )


def test_subquery_errors() -> None:
    with pytest.raises(QueryError, match="exactly one column"):
        XUser.filter().annotate(x=Subquery(XOrder.filter())).sql()
    with pytest.raises(FieldError, match="not a field of the enclosing model"):
        XUser.filter(Exists(XOrder.filter(user_id=OuterRef("nope"))))
    with pytest.raises(QueryError, match="only valid inside Subquery"):
        XOrder.filter(user_id=OuterRef("id")).sql()
    with pytest.raises(TypeError):
        XUser.filter().annotate(x=Subquery([1, 2]))  # type: ignore[arg-type]


# --- CTEs -----------------------------------------------------------------------------------


def test_ctes_raw_and_queryset_renumbered() -> None:
    raw = CTE("recent", "SELECT * FROM xo WHERE total > $1 AND status <> '$2' -- $3", params=[5])
    qs = CTE("active", XUser.filter(role="z").only("id", "name"))
    assert XUser.filter(views=2).with_cte(raw, qs).sql() == (
        "WITH \"recent\" AS (SELECT * FROM xo WHERE total > $1 AND status <> '$2' -- $3), "
        '"active" AS (SELECT "id", "name" FROM "xu" WHERE "role" = $2) ' + sel('"views" = $3'),
        (5, "z", 2),
    )


def test_recursive_cte_and_count_wrapping() -> None:
    tree = CTE(
        "tree", "SELECT 1 AS id UNION ALL SELECT id + 1 FROM tree WHERE id < $1", True, params=(3,)
    )
    qb = XUser.filter().with_cte(tree)
    assert qb.sql()[0].startswith('WITH RECURSIVE "tree" AS (SELECT 1 AS id UNION ALL')
    assert qb._compiled("count") == (
        'SELECT count(*) FROM (WITH RECURSIVE "tree" AS (SELECT 1 AS id UNION ALL SELECT id + 1 '
        f'FROM tree WHERE id < $1) SELECT {UCOLS} FROM "xu") AS "_q"',
        (3,),
    )


@pytest.mark.parametrize(
    ("sql", "params", "match"),
    [
        ("SELECT $2", (1, 2), "uses only"),
        ("SELECT $1, $2", (1,), "gives 1 value"),
        ("SELECT 1; SELECT 2", (), "exactly one statement"),
        ("SELECT 'open", (), "cannot be read"),
    ],
)
def test_raw_cte_parameter_errors(sql: str, params: tuple[Any, ...], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        XUser.filter().with_cte(CTE("c", sql, params=params))


def test_cte_usage_errors() -> None:
    with pytest.raises(QueryUsageError):
        CTE("c", 42)  # type: ignore[arg-type]
    with pytest.raises(QueryUsageError, match="params= is for raw SQL"):
        CTE("c", XUser.filter(), params=(1,))
    with pytest.raises(FieldError, match="used twice"):
        XUser.filter().with_cte(CTE("c", "SELECT 1"), CTE("c", "SELECT 2"))
    with pytest.raises(QueryUsageError):
        XUser.filter().with_cte("SELECT 1")  # type: ignore[arg-type]


# --- distinct -------------------------------------------------------------------------------


def test_distinct_on_must_lead_the_ordering() -> None:
    ok = XUser.filter().distinct("role").order_by("role", "-views")
    assert ok.sql()[0] == (
        f'SELECT DISTINCT ON ("role") {UCOLS} FROM "xu" ORDER BY "role" ASC, "views" DESC'
    )
    with pytest.raises(QueryError, match="needs an ORDER BY that starts with"):
        XUser.filter().distinct("role").order_by("-views").sql()


# --- hostile names and caching --------------------------------------------------------------

HOSTILE_NAMES = [
    'name"; DROP TABLE "user"; --',
    "name; SELECT 1",
    "name -- comment",
    "name /* c */",
    "$1",
    "naïve_ünïcode",
    "x" * 64,
    "é" * 40,
    "",
    "id OR 1=1",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_names_are_rejected_before_sql(recording_db: Recorder, name: str) -> None:
    attempts = [
        lambda: XUser.filter().annotate(**{name: Lower("name")}),
        lambda: XUser.filter().with_cte(CTE(name, "SELECT 1")),
        lambda: XUser.filter().annotate(w=Window(RowNumber(), partition_by=name)),
        lambda: XUser.filter().annotate(w=Window(RowNumber(), order_by=name)),
        lambda: XUser.filter().annotate(w=Window(RowNumber(), order_by="-" + name)),
        lambda: XUser.filter(views=F(name)),
        lambda: XUser.filter().group_by(name),
        lambda: XUser.filter().annotate(x=Lower(name)),
        lambda: XUser.filter().order_by(F(name)),
        lambda: XUser.filter(Exists(XOrder.filter(user_id=OuterRef(name)))),
        lambda: XUser.filter()._value_names((name,), "values"),
    ]
    for attempt in attempts:
        with pytest.raises((FieldError, ValidationError)):
            attempt()
    with pytest.raises(ValidationError):
        Extract(name, "created")
    with pytest.raises(ValidationError):
        Cast("views", name)
    assert recording_db.statements == []


def test_expression_queries_reuse_the_compiled_sql() -> None:
    meta = XUser._meta
    meta.sql_cache.clear()
    first = XUser.filter(Q(role="a") | Q(views__gt=F("id") + 1)).annotate(low=Lower("name"))
    second = XUser.filter(Q(role="b") | Q(views__gt=F("id") + 7)).annotate(low=Lower("name"))
    assert first.sql()[0] == second.sql()[0]
    assert first.sql()[1] == ("a", 1)
    assert second.sql()[1] == ("b", 7)
    assert len(meta.sql_cache) == 1
    XUser.filter(Q(role="b") | Q(views__gt=F("id") - 7)).sql()
    assert len(meta.sql_cache) == 2


def test_plain_queries_keep_their_cache_key() -> None:
    meta = XUser._meta
    meta.sql_cache.clear()
    XUser.filter(role="a").sql()
    assert next(iter(meta.sql_cache))[0] == "qb"
    assert XUser.filter(role="a")._x is None


async def test_model_get_takes_expression_lookups(recording_db: Recorder) -> None:
    row = {"id": 1, "name": "a", "role": "r", "views": 9, "created": None, "updated": None}
    recording_db.add_result(rows=[row])
    user = await XUser.get(views__gt=F("id") + 1)
    assert user.views == 9
    assert recording_db.statements == [(sel('"views" > ("id" + $1)', " LIMIT $2"), (1, 2))]


async def test_q_filtered_update_and_delete(recording_db: Recorder) -> None:
    recording_db.add_result(tag="UPDATE 2")
    recording_db.add_result(tag="DELETE 1")
    qb = XUser.filter(Q(role="a") | Q(views__lt=F("id")))
    assert await qb.update(name="z") == 2
    assert await qb.exclude(name="z").delete() == 1
    assert recording_db.statements == [
        ('UPDATE "xu" SET "name" = $1 WHERE ("role" = $2 OR "views" < "id")', ("z", "a")),
        (
            'DELETE FROM "xu" WHERE (("role" = $1 OR "views" < "id") AND NOT ("name" = $2))',
            ("a", "z"),
        ),
    ]


def test_scalar_subquery_on_the_right_of_a_lookup() -> None:
    top = XOrder.filter(user_id=OuterRef("id")).order_by("-total").limit(1).select("total")
    assert XUser.filter(views__gte=Subquery(top)).sql() == (
        sel(
            '"views" >= (SELECT "total" FROM "xo" AS "_sq1" WHERE "user_id" = "xu"."id" '
            'ORDER BY "total" DESC LIMIT $1)'
        ),
        (1,),
    )


async def test_values_list_and_iteration_with_annotations(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"id": 1, "low": "a"}])
    row = {"id": 1, "name": "A", "role": "r", "views": 0, "created": None, "updated": None}
    recording_db.add_result(rows=[{**row, "low": "a"}])
    qb = XUser.filter().annotate(low=Lower("name"))
    assert await qb.values_list("id", "low") == [(1, "a")]
    seen = [user.low async for user in qb]
    assert seen == ["a"]
    assert recording_db.statements[0] == ('SELECT "id", LOWER("name") AS "low" FROM "xu"', ())
    assert recording_db.statements[1] == (
        f'SELECT {UCOLS}, LOWER("name") AS "low" FROM "xu" ORDER BY "id" ASC LIMIT $1 OFFSET $2',
        (500, 0),
    )


def test_q_values_stay_out_of_filter_keys() -> None:
    qb = XUser.filter(Q(name="secret") | Q(role="x"), views=1).exclude(~Q(name="hidden"))
    keys = list(qb.filters)
    assert keys == ["Q#1", "views", "NOT Q#3"]
    assert not any("secret" in key or "hidden" in key for key in keys)


async def test_does_not_exist_with_q_redacts_its_values(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[])
    with pytest.raises(XUser.DoesNotExist) as info:
        await XUser.filter(Q(name="secret") | Q(role="x")).get()
    assert "secret" not in str(info.value)
    assert "Q#1" in str(info.value)


def test_expression_nodes_refuse_raw_operators_and_function_names() -> None:
    from matrx_orm_core.query._sqlnodes import Arith, Call

    with pytest.raises(QueryError):
        Arith("a", "+ 1; DROP TABLE x; --", "b")
    with pytest.raises(QueryError):
        Call("lower(x); --")
    with pytest.raises(TypeError):
        F("views") ** 2  # type: ignore[operator]


async def test_model_get_and_get_or_none_take_q(recording_db: Recorder) -> None:
    row = {"id": 1, "name": "a", "role": "r", "views": 9, "created": None, "updated": None}
    recording_db.add_result(rows=[row])
    recording_db.add_result(rows=[])
    recording_db.add_result(rows=[row])
    assert (await XUser.get(Q(role="r") | Q(views=9))).id == 1
    assert await XUser.get_or_none(Q(role="zz"), views=1) is None
    assert (await XUser.get(False, Q(role="r"))).id == 1
    q_where = '("role" = $1 OR "views" = $2)'
    assert recording_db.statements == [
        (sel(q_where, " LIMIT $3"), ("r", 9, 2)),
        (sel('("role" = $1 AND "views" = $2)', " LIMIT $3"), ("zz", 1, 2)),
        (sel('"role" = $1', " LIMIT $2"), ("r", 2)),
    ]
    with pytest.raises(QueryUsageError, match="positional arguments must be Q"):
        await XUser.get("nope")
