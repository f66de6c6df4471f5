"""The spec README's "Advanced Querying" expression examples (Q, aggregates, functions,
DISTINCT, subqueries, windows, CTEs) on a real server, with the values they imply."""

from __future__ import annotations

import enum
import os
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from matrx_orm import (
    CTE,
    Avg,
    BooleanField,
    Cast,
    CharField,
    Coalesce,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    DenseRank,
    EnumField,
    Exists,
    Extract,
    F,
    Greatest,
    IntegerField,
    Lag,
    Least,
    Length,
    Lower,
    Max,
    Min,
    Model,
    Now,
    OuterRef,
    Q,
    Rank,
    RowNumber,
    StdDev,
    Subquery,
    Sum,
    TimeField,
    Upper,
    Value,
    Variance,
    Window,
    transaction,
)
from matrx_orm.migrations import MigrationDB

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")
NOW = datetime.now(timezone.utc).replace(microsecond=0)


class EUser(Model):
    id = IntegerField(primary_key=True)
    username = CharField(max_length=50)
    email = CharField(max_length=100, null=True)
    status = CharField(max_length=20)
    role = CharField(max_length=20)
    is_active = BooleanField(default=True)
    banned = BooleanField(default=False)
    suspended = BooleanField(default=False)
    tenant_id = IntegerField()
    created_at = DateTimeField()
    views = IntegerField(default=0)
    _table_name = "ex_user"
    _database = DB


class EOrder(Model):
    id = IntegerField(primary_key=True)
    user_id = IntegerField()
    status = CharField(max_length=20)
    amount = DecimalField(max_digits=10, decimal_places=2)
    created_at = DateTimeField()
    shipped_at = DateTimeField(null=True)
    _table_name = "ex_order"
    _database = DB


class EProduct(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)
    nickname = CharField(max_length=50, null=True)
    is_active = BooleanField(default=True)
    _table_name = "ex_product"
    _database = DB


class ESale(Model):
    id = IntegerField(primary_key=True)
    region = CharField(max_length=10)
    amount = IntegerField()
    _table_name = "ex_sale"
    _database = DB


class EStock(Model):
    id = IntegerField(primary_key=True)
    ticker = CharField(max_length=10)
    date = DateField()
    close_price = DecimalField(max_digits=10, decimal_places=2)
    _table_name = "ex_stock"
    _database = DB


class ECategory(Model):
    id = IntegerField(primary_key=True)
    parent_id = IntegerField(null=True)
    name = CharField(max_length=50)
    _table_name = "ex_category"
    _database = DB


SCHEMA = """
CREATE TABLE "ex_user" ("id" integer PRIMARY KEY, "username" varchar(50) NOT NULL,
  "email" varchar(100), "status" varchar(20) NOT NULL, "role" varchar(20) NOT NULL,
  "is_active" boolean NOT NULL, "banned" boolean NOT NULL, "suspended" boolean NOT NULL,
  "tenant_id" integer NOT NULL, "created_at" timestamptz NOT NULL,
  "views" integer NOT NULL DEFAULT 0);
CREATE TABLE "ex_order" ("id" integer PRIMARY KEY, "user_id" integer NOT NULL,
  "status" varchar(20) NOT NULL, "amount" numeric(10,2) NOT NULL,
  "created_at" timestamptz NOT NULL, "shipped_at" timestamptz);
CREATE TABLE "ex_product" ("id" integer PRIMARY KEY, "name" varchar(50) NOT NULL,
  "nickname" varchar(50), "is_active" boolean NOT NULL);
CREATE TABLE "ex_sale" ("id" integer PRIMARY KEY, "region" varchar(10) NOT NULL,
  "amount" integer NOT NULL);
CREATE TABLE "ex_stock" ("id" integer PRIMARY KEY, "ticker" varchar(10) NOT NULL,
  "date" date NOT NULL, "close_price" numeric(10,2) NOT NULL);
CREATE TABLE "ex_category" ("id" integer PRIMARY KEY, "parent_id" integer,
  "name" varchar(50) NOT NULL);
"""
TABLES = ["ex_user", "ex_order", "ex_product", "ex_sale", "ex_stock", "ex_category"]


def days(n: int) -> datetime:
    return NOW - timedelta(days=n)


USER_KEYS = ("id", "username", "email", "status", "role", "tenant_id")
USERS = [
    dict(zip(USER_KEYS, values, strict=True))
    for values in [
        (1, "Alice", "a@x", "active", "admin", 1),
        (2, "Bob", "b@x", "inactive", "staff", 1),
        (3, "Carol", "a@x", "active", "user", 2),
        (4, "Dave", None, "inactive", "user", 2),
        (5, "Eve", "e@x", "active", "staff", 3),
    ]
]
EXTRA = {
    2: {"suspended": True},
    4: {"banned": True, "is_active": False},
}
ORDER_KEYS = ("id", "user_id", "status", "amount", "created_at")
ORDERS = [
    dict(zip(ORDER_KEYS, values, strict=True))
    for values in [
        (1, 1, "paid", Decimal("10.00"), days(1)),
        (2, 1, "paid", Decimal("20.00"), days(2)),
        (3, 3, "paid", Decimal("30.50"), days(3)),
        (4, 3, "active", Decimal("5.00"), days(10)),
        (5, 5, "refunded", Decimal("7.00"), days(20)),
    ]
]


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    drop = "".join(f'DROP TABLE IF EXISTS "{name}";' for name in TABLES)
    await db.execute(drop)
    await db.execute(SCHEMA)
    try:
        for index, row in enumerate(USERS):
            await EUser.create(**row, **EXTRA.get(row["id"], {}), created_at=days(index))
        await EOrder.bulk_create(ORDERS)
        await EProduct.bulk_create(
            [
                {"id": 1, "name": "Widget", "nickname": "wid"},
                {"id": 2, "name": "Gadget", "nickname": None},
                {"id": 3, "name": "Old", "nickname": None, "is_active": False},
            ]
        )
        await ESale.bulk_create(
            [
                {"id": 1, "region": "eu", "amount": 50},
                {"id": 2, "region": "eu", "amount": 80},
                {"id": 3, "region": "us", "amount": 70},
                {"id": 4, "region": "eu", "amount": 60},
            ]
        )
        await EStock.bulk_create(
            [
                {"id": i, "ticker": "AAPL", "date": date(2024, 1, i), "close_price": Decimal(p)}
                for i, p in [(1, "100.00"), (2, "101.50"), (3, "99.25")]
            ]
        )
        await ECategory.bulk_create(
            [
                {"id": 1, "parent_id": None, "name": "root"},
                {"id": 2, "parent_id": 1, "name": "child"},
                {"id": 3, "parent_id": 2, "name": "grandchild"},
            ]
        )
        yield db
    finally:
        await db.execute(drop)


def ids(rows: list[Any]) -> list[int]:
    return sorted(row.id for row in rows)


async def test_readme_q_objects(tables: MigrationDB) -> None:
    assert ids(await EUser.filter(Q(status="active") | Q(role="admin")).all()) == [1, 3, 5]
    assert ids(await EUser.filter(Q(is_active=True), tenant_id=1).all()) == [1, 2]
    assert ids(await EUser.filter(~Q(banned=True)).all()) == [1, 2, 3, 5]
    nested = (Q(role="admin") | Q(role="staff")) & ~Q(suspended=True)
    assert ids(await EUser.filter(nested).all()) == [1, 5]
    assert await EUser.count(Q(role="user") | Q(role="staff")) == 4
    assert await EUser.filter(nested).exclude(Q(tenant_id=3)).count() == 1
    assert await EUser.exists(Q(role="nobody") | Q(tenant_id=9)) is False


async def test_readme_aggregates(tables: MigrationDB) -> None:
    result = await EOrder.filter(status="paid").aggregate(
        total=Sum("amount"), avg_amount=Avg("amount"), order_count=Count("id")
    )
    assert result == {
        "total": Decimal("60.50"),
        "avg_amount": Decimal("20.1666666666666667"),
        "order_count": 3,
    }
    assert isinstance(result["order_count"], int)
    empty = await EOrder.filter(status="nope").aggregate(total=Sum("amount"), n=Count("id"))
    assert empty == {"total": None, "n": 0}
    spread = await EOrder.filter().aggregate(
        lo=Min("amount"),
        hi=Max("amount"),
        users=Count("user_id", distinct=True),
        sd=StdDev("amount"),
        var=Variance("amount"),
    )
    assert (spread["lo"], spread["hi"], spread["users"]) == (Decimal("5.00"), Decimal("30.50"), 3)
    assert isinstance(spread["sd"], Decimal)
    assert spread["var"] > 0


async def test_readme_group_by_and_having(tables: MigrationDB) -> None:
    rows = (
        await EOrder.filter(status="paid")
        .group_by("user_id")
        .annotate(total=Sum("amount"))
        .order_by("user_id")
        .values("user_id", "total")
    )
    assert rows == [
        {"user_id": 1, "total": Decimal("30.00")},
        {"user_id": 3, "total": Decimal("30.50")},
    ]
    busy = (
        await EOrder.filter()
        .group_by("user_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("-n", "user_id")
        .values("user_id", "n")
    )
    assert busy == [{"user_id": 1, "n": 2}, {"user_id": 3, "n": 2}]
    per_user = await EUser.filter().annotate(orders=Count("id")).filter(orders__gte=1).count()
    assert per_user == 5


async def test_readme_functions(tables: MigrationDB) -> None:
    rows = (
        await EUser.filter(is_active=True)
        .annotate(name_lower=Lower("username"))
        .order_by("id")
        .values("id", "name_lower")
    )
    assert rows[:2] == [{"id": 1, "name_lower": "alice"}, {"id": 2, "name_lower": "bob"}]
    out = await EOrder.update_where({"shipped_at__isnull": True}, shipped_at=Now())
    assert out["rows_affected"] == 5
    assert all(row["shipped_at"] is not None for row in out["updated_rows"])
    assert await EOrder.filter(shipped_at__isnull=True).count() == 0
    names = (
        await EProduct.filter(is_active=True)
        .annotate(display_name=Coalesce("nickname", "name"))
        .order_by("id")
        .values("id", "display_name")
    )
    assert names == [{"id": 1, "display_name": "wid"}, {"id": 2, "display_name": "Gadget"}]
    literal = await EProduct.filter(id=2).annotate(d=Coalesce("nickname", Value("n/a"))).values("d")
    assert literal == [{"d": "n/a"}]
    (user,) = (
        await EUser.filter(id=1)
        .annotate(
            up=Upper("username"),
            n=Length("username"),
            year=Extract("year", "created_at"),
            text_id=Cast("id", "text"),
        )
        .all()
    )
    assert (user.up, user.n, user.text_id) == ("ALICE", 5, "1")
    assert int(user.year) == NOW.year
    assert user._extra_data["up"] == "ALICE"
    by_name = await EUser.filter(role="user").order_by(Lower("username").desc()).all()
    assert [u.username for u in by_name] == ["Dave", "Carol"]


async def test_f_expressions_update_and_filter(tables: MigrationDB) -> None:
    assert await EUser.filter(role="staff").update(views=F("views") + 5) == 2
    assert await EUser.filter(id=2).update(views=F("views") * 3 - 1) == 1
    assert [u.views for u in await EUser.filter().order_by("id").all()] == [0, 14, 0, 0, 5]
    out = await EUser.update_where({"id": 5}, views=100 - F("views"))
    assert out["updated_rows"][0]["views"] == 95
    assert ids(await EUser.filter(views__gt=F("id") * 10).all()) == [5]
    assert (
        ids(await EOrder.filter(shipped_at__isnull=True, created_at__lt=F("created_at")).all())
        == []
    )
    assert await EUser.delete_where(Q(banned=True) | Q(views__gt=F("id") * 10)) == 2
    assert ids(await EUser.filter().all()) == [1, 2, 3]


async def test_readme_distinct(tables: MigrationDB) -> None:
    emails = await EUser.filter(is_active=True).distinct().order_by("email").values("email")
    assert emails == [{"email": "a@x"}, {"email": "b@x"}, {"email": "e@x"}]
    newest = (
        await EUser.filter(is_active=True)
        .distinct("tenant_id")
        .order_by("tenant_id", "-created_at")
        .all()
    )
    # per tenant, the latest created active user: Alice (now) beats Bob (a day ago)
    assert [u.username for u in newest] == ["Alice", "Carol", "Eve"]


async def test_readme_subqueries(tables: MigrationDB) -> None:
    active_orders = EOrder.filter(user_id=OuterRef("id"), status="active")
    assert ids(await EUser.filter(Exists(active_orders)).all()) == [3]
    assert ids(await EUser.filter(~Exists(EOrder.filter(user_id=OuterRef("id")))).all()) == [2, 4]
    latest_order = (
        EOrder.filter(user_id=OuterRef("id")).order_by("-created_at").limit(1).select("amount")
    )
    users = (
        await EUser.filter(is_active=True)
        .annotate(last_total=Subquery(latest_order))
        .order_by("id")
        .values("id", "last_total")
    )
    assert users == [
        {"id": 1, "last_total": Decimal("10.00")},
        {"id": 2, "last_total": None},
        {"id": 3, "last_total": Decimal("30.50")},
        {"id": 5, "last_total": Decimal("7.00")},
    ]
    buyers = Subquery(EOrder.filter(status="paid").select("user_id"))
    assert ids(await EUser.filter(id__in=buyers).all()) == [1, 3]


async def test_readme_window_functions(tables: MigrationDB) -> None:
    rows = (
        await ESale.filter()
        .annotate(row_num=Window(RowNumber(), partition_by="region", order_by="-amount"))
        .order_by("id")
        .all()
    )
    assert [(r.id, r.row_num) for r in rows] == [(1, 3), (2, 1), (3, 1), (4, 2)]
    ranked = await ESale.filter().annotate(rank=Window(Rank(), order_by=["-amount", "id"])).all()
    assert sorted((r.amount, r.rank) for r in ranked) == [(50, 4), (60, 3), (70, 2), (80, 1)]
    dense = (
        await ESale.filter()
        .annotate(r=Window(DenseRank(), partition_by="region", order_by="-amount"))
        .values("id", "r")
    )
    assert sorted((d["id"], d["r"]) for d in dense) == [(1, 3), (2, 1), (3, 1), (4, 2)]
    running = (
        await EOrder.filter()
        .annotate(
            running_total=Window(Sum("amount"), partition_by="user_id", order_by="created_at")
        )
        .order_by("user_id", "created_at")
        .values("id", "running_total")
    )
    assert [r["running_total"] for r in running] == [
        Decimal("20.00"),
        Decimal("30.00"),
        Decimal("5.00"),
        Decimal("35.50"),
        Decimal("7.00"),
    ]
    prices = (
        await EStock.filter(ticker="AAPL")
        .annotate(prev_close=Window(Lag("close_price"), order_by="date"))
        .order_by("date")
        .all()
    )
    assert [p.prev_close for p in prices] == [None, Decimal("100.00"), Decimal("101.50")]


async def test_readme_ctes(tables: MigrationDB) -> None:
    recent = CTE(
        "recent_orders",
        "SELECT * FROM ex_order WHERE created_at > NOW() - interval '7 days'",
    )
    results = await EOrder.filter(status="paid").with_cte(recent).all()
    assert ids(results) == [1, 2, 3]
    active_cte = CTE("active_users", EUser.filter(is_active=True).only("id", "email"))
    assert len(await EOrder.filter().with_cte(active_cte).all()) == 5
    tree_sql = """
        SELECT id, parent_id, name, 0 AS depth FROM ex_category WHERE parent_id IS NULL
        UNION ALL
        SELECT c.id, c.parent_id, c.name, t.depth + 1
        FROM ex_category c JOIN category_tree t ON c.parent_id = t.id
    """
    tree_cte = CTE("category_tree", tree_sql, recursive=True)
    assert ids(await ECategory.filter().with_cte(tree_cte).all()) == [1, 2, 3]
    assert len(await EOrder.filter().with_cte(recent, active_cte).all()) == 5
    # a CTE body with its own parameters, renumbered into the statement
    big = CTE(
        "big", "SELECT id FROM ex_order WHERE amount > $1 AND status = $2", params=(8, "paid")
    )
    qb = EOrder.filter(user_id=1).with_cte(big)
    assert ids(await qb.all()) == [1, 2]
    assert await qb.count() == 2


# --- output fields: annotations load through the field that produces them ---------------------


class Phase(enum.Enum):
    OPEN = "open"
    SHUT = "shut"


class ETicket(Model):
    id = IntegerField(primary_key=True)
    phase = EnumField(enum_class=Phase)
    opened = DateTimeField(timezone=False)
    due = DateTimeField(timezone=False, null=True)
    _table_name = "ex_ticket"
    _database = DB


OPENED = datetime(2024, 5, 1, 9, 30)


@pytest.fixture
async def tickets(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    drop = 'DROP TABLE IF EXISTS "ex_ticket"'
    await db.execute(drop)
    await db.execute(
        'CREATE TABLE "ex_ticket" ("id" integer PRIMARY KEY, "phase" varchar(10) NOT NULL, '
        '"opened" timestamp NOT NULL, "due" timestamp)'
    )
    try:
        await ETicket.bulk_create(
            [
                {"id": 1, "phase": Phase.OPEN, "opened": OPENED, "due": None},
                {"id": 2, "phase": Phase.SHUT, "opened": OPENED, "due": OPENED + timedelta(1)},
            ]
        )
        yield db
    finally:
        await db.execute(drop)


async def test_enum_f_annotation_loads_members(tickets: MigrationDB) -> None:
    qb = ETicket.filter().annotate(p=F("phase"), low=Lower("phase")).order_by("id")
    assert await qb.values("p", "phase", "low") == [
        {"p": Phase.OPEN, "phase": Phase.OPEN, "low": "open"},
        {"p": Phase.SHUT, "phase": Phase.SHUT, "low": "shut"},
    ]
    assert await qb.values_list("p", flat=True) == [Phase.OPEN, Phase.SHUT]
    first, second = await qb.all()
    assert (first.p, second.p) == (Phase.OPEN, Phase.SHUT)
    assert second._extra_data == {"p": Phase.SHUT, "low": "shut"}
    assert [ticket.p async for ticket in qb] == [Phase.OPEN, Phase.SHUT]  # pages
    async with transaction(DB):  # a server-side cursor
        assert [ticket.p async for ticket in qb] == [Phase.OPEN, Phase.SHUT]
    fallback = ETicket.filter().annotate(p=Coalesce("phase", Value("open"))).order_by("id")
    assert await fallback.values_list("p", flat=True) == [Phase.OPEN, Phase.SHUT]


async def test_max_of_an_enum_is_a_member(tickets: MigrationDB) -> None:
    assert await ETicket.filter().aggregate(top=Max("phase"), low=Min("phase")) == {
        "top": Phase.SHUT,
        "low": Phase.OPEN,
    }
    assert await ETicket.filter(id=0).aggregate(top=Max("phase")) == {"top": None}
    rows = await ETicket.filter().group_by("opened").annotate(top=Max("phase")).values()
    assert rows == [{"opened": OPENED, "top": Phase.SHUT}]


async def test_coalesce_of_a_naive_datetime_stays_naive(tickets: MigrationDB) -> None:
    qb = ETicket.filter().annotate(when=Coalesce("due", "opened")).order_by("id")
    whens = await qb.values_list("when", flat=True)
    assert whens == [OPENED, OPENED + timedelta(1)]
    assert all(when.tzinfo is None for when in whens)
    assert [ticket.when for ticket in await qb.all()] == whens


# --- bound values take the time zone variant of the column they are combined with -------------


class EVType(Model):
    id = IntegerField(primary_key=True)
    naive = DateTimeField(timezone=False, null=True)
    aware = DateTimeField(null=True)
    at = TimeField(null=True)
    _table_name = "ex_vtype"
    _database = DB


NAIVE = datetime(2024, 5, 1, 12, 30)
AWARE = NAIVE.replace(tzinfo=timezone.utc)
PLUS2 = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))  # 12:30 UTC


@pytest.fixture
async def vtypes(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    drop = 'DROP TABLE IF EXISTS "ex_vtype"'
    await db.execute(drop)
    await db.execute(
        'CREATE TABLE "ex_vtype" ("id" integer PRIMARY KEY, "naive" timestamp, '
        '"aware" timestamptz, "at" time)'
    )
    try:
        await EVType.bulk_create(
            [
                {"id": 1, "naive": None, "aware": None, "at": None},
                {"id": 2, "naive": NAIVE - timedelta(1), "aware": AWARE - timedelta(1)},
            ]
        )
        yield db
    finally:
        await db.execute(drop)


async def test_coalesce_naive_column_with_a_naive_value_stays_naive(vtypes: MigrationDB) -> None:
    qb = EVType.filter().annotate(x=Coalesce("naive", Value(NAIVE))).order_by("id")
    got = await qb.values_list("x", flat=True)
    assert got == [NAIVE, NAIVE - timedelta(1)]
    assert all(value.tzinfo is None for value in got)
    # an aware value next to the naive column is converted to naive UTC, as the column stores it
    other = EVType.filter().annotate(x=Coalesce(F("naive"), PLUS2)).order_by("id")
    assert await other.values_list("x", flat=True) == [NAIVE, NAIVE - timedelta(1)]


async def test_coalesce_aware_column_with_an_aware_value_stays_aware(vtypes: MigrationDB) -> None:
    qb = EVType.filter().annotate(x=Coalesce("aware", Value(PLUS2))).order_by("id")
    got = await qb.values_list("x", flat=True)
    assert got == [AWARE, AWARE - timedelta(1)]
    assert all(value.utcoffset() == timedelta(0) for value in got)
    naive_in = EVType.filter().annotate(x=Coalesce("aware", Value(NAIVE))).order_by("id")
    assert await naive_in.values_list("x", flat=True) == [AWARE, AWARE - timedelta(1)]


async def test_greatest_over_mixed_values_follows_the_column(vtypes: MigrationDB) -> None:
    qb = EVType.filter(id=2).annotate(
        n=Greatest("naive", Value(PLUS2)), a=Greatest("aware", Value(NAIVE)), b=Least(PLUS2)
    )
    row = (await qb.values("n", "a", "b"))[0]
    assert row["n"] == NAIVE
    assert row["n"].tzinfo is None
    assert row["a"] == AWARE
    assert row["a"].utcoffset() == timedelta(0)
    assert row["b"] == AWARE  # no column: an aware value is timestamptz


async def test_comparisons_and_updates_with_values_next_to_a_naive_column(
    vtypes: MigrationDB,
) -> None:
    assert await EVType.filter(naive__lt=Value(PLUS2)).values_list("id", flat=True) == [2]
    late = EVType.filter(naive__lt=Coalesce("naive", Value(NAIVE + timedelta(1))))
    assert await late.values_list("id", flat=True) == []
    early = EVType.filter(naive__lt=Greatest("naive", Value(NAIVE)))
    assert await early.values_list("id", flat=True) == [2]
    assert await EVType.filter(id=1).update(naive=Value(PLUS2), at=Coalesce("at", time(9))) == 1
    row = (await EVType.filter(id=1).values("naive", "at"))[0]
    assert row == {"naive": NAIVE, "at": time(9)}
    shifted = EVType.filter(id=2).annotate(d=F("naive") - Value(PLUS2))
    assert await shifted.values_list("d", flat=True) == [timedelta(days=-1)]
