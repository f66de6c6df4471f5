"""How bound values inside expressions are typed: a ``datetime``/``time`` takes the time zone
variant of the field it is combined with (Coalesce/Greatest/Least, arithmetic, comparisons,
update assignments), else naive binds as ``timestamp``/``time`` and aware as
``timestamptz``/``timetz``; ``Value(x, output_field=f)`` casts to ``f``'s column type. The
cast type is part of the cached SQL shape (issue #5 follow-up)."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from matrx_orm_core import Coalesce, Concat, F, Greatest, Least, Value
from matrx_orm_core.exceptions import ValidationError
from matrx_orm_core.fields import (
    CharField,
    DateField,
    DateTimeField,
    EnumField,
    Field,
    IntegerField,
    TimeField,
)
from matrx_orm_core.models import Model
from matrx_orm_core.testing import Recorder

pytestmark = pytest.mark.level1

COLS = '"id", "naive", "aware", "day", "at", "at_tz", "name"'
NAIVE = datetime(2024, 5, 1, 12, 30)
AWARE = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
PLUS2 = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))


class Kind(enum.Enum):
    A = "a"


class VTEvent(Model):
    id = IntegerField(primary_key=True)
    naive = DateTimeField(timezone=False, null=True)
    aware = DateTimeField(null=True)
    day = DateField(null=True)
    at = TimeField(null=True)
    at_tz = TimeField(timezone=True, null=True)
    name = CharField(max_length=20, null=True)
    _table_name = "vt_event"
    _database = "recorded"


def select(expr: str) -> str:
    return f'SELECT {COLS}, {expr} AS "x" FROM "vt_event"'


def where(cond: str) -> str:
    return f'SELECT {COLS} FROM "vt_event" WHERE {cond}'


def test_coalesce_value_takes_the_naive_column_type() -> None:
    sql, params = VTEvent.filter().annotate(x=Coalesce("naive", Value(NAIVE))).sql()
    assert sql == select('COALESCE("naive", CAST($1 AS timestamp))')
    assert params == (NAIVE,)


def test_coalesce_bare_value_and_aware_value_next_to_a_naive_column_are_made_naive_utc() -> None:
    sql, params = VTEvent.filter().annotate(x=Coalesce(F("naive"), PLUS2)).sql()
    assert sql == select('COALESCE("naive", CAST($1 AS timestamp))')
    assert params == (NAIVE,)  # 14:30+02:00 is 12:30 UTC, made naive as the column stores it


def test_coalesce_naive_value_next_to_an_aware_column_is_taken_as_utc() -> None:
    sql, params = VTEvent.filter().annotate(x=Coalesce("aware", Value(NAIVE))).sql()
    assert sql == select('COALESCE("aware", CAST($1 AS timestamptz))')
    assert params == (AWARE,)


def test_sibling_is_found_after_a_leading_value_and_through_expressions() -> None:
    sql, params = VTEvent.filter().annotate(x=Greatest(Value(NAIVE), Coalesce("naive"))).sql()
    assert sql == select('GREATEST(CAST($1 AS timestamp), COALESCE("naive"))')
    assert params == (NAIVE,)
    sql, _ = VTEvent.filter().annotate(x=Least(Value(AWARE), "naive", Value(NAIVE))).sql()
    assert sql == select('LEAST(CAST($1 AS timestamp), "naive", CAST($2 AS timestamp))')


def test_without_a_temporal_sibling_the_value_kind_decides() -> None:
    sql, params = VTEvent.filter().annotate(x=Greatest(Value(NAIVE), Value(AWARE))).sql()
    assert sql == select("GREATEST(CAST($1 AS timestamp), CAST($2 AS timestamptz))")
    assert params == (NAIVE, AWARE)
    sql, _ = VTEvent.filter().annotate(x=Coalesce("name", Value(NAIVE))).sql()
    assert sql == select('COALESCE("name", CAST($1 AS timestamp))')
    sql, _ = VTEvent.filter().annotate(x=Coalesce("naive", Value(date(2024, 5, 1)))).sql()
    assert sql == select('COALESCE("naive", CAST($1 AS date))')
    # Concat is not a same-type function: its arguments are typed on their own
    sql, _ = VTEvent.filter().annotate(x=Concat("aware", Value(NAIVE))).sql()
    assert sql == select('CONCAT("aware", CAST($1 AS timestamp))')


def test_time_values_take_the_time_or_timetz_variant() -> None:
    noon = time(12, 0)
    noon_tz = time(12, 0, tzinfo=UTC)
    assert VTEvent.filter().annotate(x=Coalesce("at", noon)).sql() == (
        select('COALESCE("at", CAST($1 AS time))'),
        (noon,),
    )
    assert VTEvent.filter().annotate(x=Coalesce("at_tz", noon)).sql() == (
        select('COALESCE("at_tz", CAST($1 AS timetz))'),
        (noon_tz,),
    )
    assert VTEvent.filter().annotate(x=Greatest(Value(noon), Value(noon_tz))).sql() == (
        select("GREATEST(CAST($1 AS time), CAST($2 AS timetz))"),
        (noon, noon_tz),
    )
    with pytest.raises(ValidationError, match="at"):  # an aware time cannot become naive
        VTEvent.filter().annotate(x=Coalesce("at", noon_tz)).sql()


def test_arithmetic_and_comparisons_type_a_value_next_to_the_other_side() -> None:
    sql, params = VTEvent.filter().annotate(x=F("naive") - Value(PLUS2)).sql()
    assert sql == select('("naive" - CAST($1 AS timestamp))')
    assert params == (NAIVE,)
    sql, params = VTEvent.filter().annotate(x=F("aware") + Value(timedelta(days=1))).sql()
    assert sql == select('("aware" + CAST($1 AS interval))')
    assert VTEvent.filter(naive__lt=Value(AWARE)).sql() == (
        where('"naive" < CAST($1 AS timestamp)'),
        (NAIVE,),
    )
    assert VTEvent.filter(naive__lt=Coalesce("naive", Value(NAIVE))).sql() == (
        where('"naive" < COALESCE("naive", CAST($1 AS timestamp))'),
        (NAIVE,),
    )
    qb = VTEvent.filter().annotate(n=F("naive")).filter(n__gte=Value(NAIVE))
    assert qb.sql()[0].endswith('WHERE "naive" >= CAST($1 AS timestamp)')


def test_plain_kwargs_and_bare_operands_are_unchanged() -> None:
    assert VTEvent.filter(naive__lt=NAIVE).sql() == (where('"naive" < $1'), (NAIVE,))
    assert VTEvent.filter(naive__lt=F("naive") + timedelta(hours=1)).sql() == (
        where('"naive" < ("naive" + $1)'),
        (timedelta(hours=1),),
    )


def test_value_output_field_casts_to_its_column_type_through_the_field() -> None:
    enum_field = EnumField(Kind, max_length=5)
    sql, params = VTEvent.filter().annotate(x=Value(Kind.A, output_field=enum_field)).sql()
    assert sql == select("CAST($1 AS varchar(5))")
    assert params == ("a",)
    naive_field = DateTimeField(timezone=False)
    sql, params = VTEvent.filter().annotate(x=Value(PLUS2, output_field=naive_field)).sql()
    assert sql == select("CAST($1 AS timestamp)")
    assert params == (NAIVE,)
    assert VTEvent.filter().annotate(x=Value(None, output_field=naive_field)).sql() == (
        select("NULL"),
        (),
    )
    with pytest.raises(ValidationError, match="more than max_length=2"):
        VTEvent.filter().annotate(x=Value("x" * 9, output_field=CharField(max_length=2))).sql()
    odd = Field(db_type="varchar(5); DROP TABLE t")
    with pytest.raises(ValidationError, match="cannot be used in a type cast"):
        VTEvent.filter().annotate(x=Value("a", output_field=odd)).sql()


async def test_update_assigns_a_value_typed_as_the_column(recording_db: Recorder) -> None:
    recording_db.add_result(tag="UPDATE 1")
    await VTEvent.filter(id=1).update(naive=Coalesce("naive", Value(PLUS2)))
    recording_db.add_result(tag="UPDATE 1")
    await VTEvent.filter(id=1).update(naive=Value(PLUS2))
    assert [params for _, params in recording_db.statements] == [(NAIVE, 1), (NAIVE, 1)]
    texts = [sql for sql, _ in recording_db.statements]
    assert 'SET "naive" = COALESCE("naive", CAST($1 AS timestamp))' in texts[0]
    assert 'SET "naive" = CAST($1 AS timestamp)' in texts[1]


def test_cache_key_carries_the_cast_type_not_the_value() -> None:
    meta = VTEvent._meta
    meta.sql_cache.clear()
    naive_sql = VTEvent.filter().annotate(x=Greatest(Value(NAIVE), Value(NAIVE))).sql()[0]
    later = NAIVE + timedelta(days=3)
    again_sql, params = VTEvent.filter().annotate(x=Greatest(Value(later), Value(later))).sql()
    assert again_sql == naive_sql
    assert params == (later, later)
    assert len(meta.sql_cache) == 1
    aware_sql = VTEvent.filter().annotate(x=Greatest(Value(AWARE), Value(AWARE))).sql()[0]
    assert aware_sql == select("GREATEST(CAST($1 AS timestamptz), CAST($2 AS timestamptz))")
    assert len(meta.sql_cache) == 2
