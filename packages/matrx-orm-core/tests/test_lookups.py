"""Tests for the lookup operators: exact SQL and parameters of each, value preparation, errors."""

from __future__ import annotations

from typing import Any

import pytest

from matrx_orm_core.exceptions import FieldError, ValidationError
from matrx_orm_core.fields import CharField, IntegerField, JSONBField
from matrx_orm_core.models import Model
from matrx_orm_core.query.lookups import LOOKUPS, like_escape, prepare_condition
from matrx_orm_core.testing import Recorder

COLS = '"id", "name", "age", "data"'


class LItem(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)
    age = IntegerField()
    data = JSONBField()
    _table_name = "litem"
    _database = "recorded"


def where_of(**lookups: Any) -> tuple[str, tuple[Any, ...]]:
    sql, params = LItem.filter(**lookups).sql()
    head = f'SELECT {COLS} FROM "litem"'
    assert sql.startswith(head)
    return sql[len(head) :].removeprefix(" WHERE "), params


@pytest.mark.parametrize(
    ("lookups", "where", "params"),
    [
        ({"age": 3}, '"age" = $1', (3,)),
        ({"age__exact": 3}, '"age" = $1', (3,)),
        ({"age__eq": 3}, '"age" = $1', (3,)),
        ({"age": None}, '"age" IS NULL', ()),
        ({"age__ne": 3}, '"age" != $1', (3,)),
        ({"age__exclude": 3}, '"age" != $1', (3,)),
        ({"age__ne": None}, '"age" IS NOT NULL', ()),
        ({"age__gt": 3}, '"age" > $1', (3,)),
        ({"age__gte": 3}, '"age" >= $1', (3,)),
        ({"age__lt": 3}, '"age" < $1', (3,)),
        ({"age__lte": 3}, '"age" <= $1', (3,)),
        ({"age__in": [1, 2]}, '"age" = ANY($1)', ([1, 2],)),
        ({"age__in": (1, 2)}, '"age" = ANY($1)', ([1, 2],)),
        ({"age__in": []}, "FALSE", ()),
        ({"age__not_in": {5}}, '"age" <> ALL($1)', ([5],)),
        ({"age__not_in": []}, "TRUE", ()),
        ({"age__isnull": True}, '"age" IS NULL', ()),
        ({"age__isnull": False}, '"age" IS NOT NULL', ()),
        ({"name__contains": "a%b"}, "\"name\" LIKE $1 ESCAPE '\\'", ("%a\\%b%",)),
        ({"name__icontains": "x_y"}, "\"name\" ILIKE $1 ESCAPE '\\'", ("%x\\_y%",)),
        ({"name__startswith": "a\\"}, "\"name\" LIKE $1 ESCAPE '\\'", ("a\\\\%",)),
        ({"name__istartswith": "A"}, "\"name\" ILIKE $1 ESCAPE '\\'", ("A%",)),
        ({"name__endswith": "z"}, "\"name\" LIKE $1 ESCAPE '\\'", ("%z",)),
        ({"name__iendswith": "Z"}, "\"name\" ILIKE $1 ESCAPE '\\'", ("%Z",)),
        ({"name__iexact": "Ann_"}, "\"name\" ILIKE $1 ESCAPE '\\'", ("Ann\\_",)),
        ({"age__range": (1, 9)}, '"age" BETWEEN $1 AND $2', (1, 9)),
        ({"name__regex": "^a"}, '"name" ~ $1', ("^a",)),
        ({"name__iregex": "^a"}, '"name" ~* $1', ("^a",)),
        ({"data__json_has_key": "k"}, '"data" ? $1', ("k",)),
        ({"data__json_has_any": ["a", "b"]}, '"data" ?| $1', (["a", "b"],)),
        ({"data__json_has_all": ("a",)}, '"data" ?& $1', (["a"],)),
        ({"data__json_contains": {"a": 1}}, '"data" @> $1::jsonb', ({"a": 1},)),
        ({"data__json_contains": '{"a": 1}'}, '"data" @> $1::jsonb', ({"a": 1},)),
        ({"data__json_contained_by": [1, 2]}, '"data" <@ $1::jsonb', ([1, 2],)),
        ({"data__json_key": "k"}, '"data" ->> $1 IS NOT NULL', ("k",)),
        ({"data__json_key": ("k", "v")}, '"data" ->> $1 = $2', ("k", "v")),
        ({"data__json_key": ("k", 5)}, '"data" ->> $1 = $2', ("k", "5")),
        (
            {"data__json_path": ("settings", "theme")},
            '"data" #> $1 IS NOT NULL',
            (["settings", "theme"],),
        ),
        ({"data__json_path": "settings"}, '"data" #> $1 IS NOT NULL', (["settings"],)),
        (
            {"data__json_path": (("settings", "theme"), "dark")},
            '"data" #>> $1 = $2',
            (["settings", "theme"], "dark"),
        ),
        (
            {"data__json_path": (("flags", 0), True)},
            '"data" #>> $1 = $2',
            (["flags", "0"], "true"),
        ),
        (
            {"age__gt": 1, "name": "a", "age__lt": 9},
            '("age" > $1 AND "name" = $2 AND "age" < $3)',
            (1, "a", 9),
        ),
    ],
)
def test_lookup_sql(lookups: dict[str, Any], where: str, params: tuple[Any, ...]) -> None:
    assert where_of(**lookups) == (where, params)


def test_every_lookup_is_covered_above() -> None:
    assert set(LOOKUPS) == {
        "exact", "eq", "ne", "exclude", "gt", "gte", "lt", "lte", "in", "not_in", "isnull",
        "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact",
        "range", "regex", "iregex", "json_has_key", "json_has_any", "json_has_all",
        "json_contains", "json_contained_by", "json_key", "json_path",
    }  # fmt: skip


def test_like_escape() -> None:
    assert like_escape("50%_\\x") == "50\\%\\_\\\\x"


@pytest.mark.parametrize(
    ("lookups", "match"),
    [
        ({"age__near": 1}, "unknown lookup 'near' in 'age__near'. Valid lookups: exact"),
        ({"ages__gt": 1}, "'ages' \\(in 'ages__gt'\\) is not a field of LItem"),
        ({"ages": 1}, "'ages' is not a field of LItem. Valid fields: id, name, age, data"),
        ({"a__b__c": 1}, "'a__b__c' is not a field of LItem"),
        ({"name__json_has_key": "k"}, "needs a JSON field; LItem.name is a CharField"),
    ],
)
def test_unknown_names_raise_field_error(
    recording_db: Recorder, lookups: dict[str, Any], match: str
) -> None:
    with pytest.raises(FieldError, match=match):
        LItem.filter(**lookups)
    with pytest.raises(FieldError, match=match):
        LItem.exclude(**lookups)
    assert recording_db.statements == []


@pytest.mark.parametrize(
    ("lookups", "match"),
    [
        ({"age__in": "12"}, "__in takes a list"),
        ({"age__in": [1, None]}, "cannot hold None"),
        ({"age__in": ["x"]}, "LItem.age"),
        ({"age__gt": None}, "never matches"),
        ({"age__isnull": "yes"}, "__isnull takes True or False"),
        ({"name__contains": 5}, "__contains takes a str"),
        ({"age__range": (1,)}, "__range takes a \\(low, high\\) pair"),
        ({"age__range": (1, None)}, "__range takes a \\(low, high\\) pair"),
        ({"data__json_has_any": "a"}, "takes a list of str"),
        ({"data__json_has_all": [1]}, "takes a list of str"),
        ({"data__json_contains": "{nope"}, "not JSON text"),
        ({"data__json_path": ()}, "non-empty path"),
        ({"data__json_key": 5}, "takes a str"),
    ],
)
def test_bad_values_raise_the_model_validation_error(
    recording_db: Recorder, lookups: dict[str, Any], match: str
) -> None:
    with pytest.raises(LItem.ValidationError, match=match):
        LItem.filter(**lookups)
    assert recording_db.statements == []


def test_condition_shape_and_values() -> None:
    cond = prepare_condition(LItem, "age__in", [3, 4], "filter")
    assert cond.shape == ("age", "in", 1)
    assert cond.values == ([3, 4],)
    assert prepare_condition(LItem, "age__in", [], "filter").shape == ("age", "in_empty", 0)
    assert issubclass(LItem.ValidationError, ValidationError)
