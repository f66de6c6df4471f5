"""Output fields of expressions: which field loads an annotation's values, the conversion it
applies in ``values()``, ``values_list()``, instances and ``aggregate()``, and the errors for a
bad ``output_field=``."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from matrx_orm_core import (
    Cast,
    Coalesce,
    Concat,
    Count,
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
    NthValue,
    RowNumber,
    Subquery,
    Sum,
    Trim,
    Upper,
    Value,
    Window,
)
from matrx_orm_core.exceptions import ValidationError
from matrx_orm_core.fields import (
    ArrayField,
    CharField,
    DateTimeField,
    EnumField,
    Field,
    IntegerField,
)
from matrx_orm_core.models import Model
from matrx_orm_core.query.expressions import annotation_converters
from matrx_orm_core.testing import Recorder

pytestmark = pytest.mark.level1


class Phase(enum.Enum):
    NEW = "new"
    DONE = "done"


class OTask(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)
    phase = EnumField(enum_class=Phase)
    phases = ArrayField(EnumField(enum_class=Phase, max_length=10))
    due = DateTimeField(timezone=False)
    n = IntegerField()
    _table_name = "otask"
    _database = "recorded"


FIELDS = OTask._meta.fields
EXPLICIT = EnumField(enum_class=Phase)


def output(expression: Any) -> Field[Any] | None:
    """The output field ``annotate()`` records for ``expression``."""
    qb = OTask.filter().annotate(a=expression)
    assert qb._x is not None
    return qb._x.annotations["a"].output_field


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (F("phase"), "phase"),
        (F("due"), "due"),
        (Coalesce("phase", Value("new")), "phase"),
        (Coalesce(F("phases"), "phases"), "phases"),
        (Coalesce("due", Value(None)), "due"),
        (Greatest("phase", "phase"), "phase"),
        (Least(F("phase"), "phase"), "phase"),
        (Min("phase"), "phase"),
        (Max(F("phase")), "phase"),
        (Window(FirstValue("phase"), order_by="id"), "phase"),
        (Window(LastValue("phase"), order_by="id"), "phase"),
        (Window(NthValue("phase", 2), order_by="id"), "phase"),
        (Window(Lag("phase"), order_by="id"), "phase"),
        (Window(Lead("phase", 1, Value("new")), order_by="id"), "phase"),
        (Window(Max("phase"), partition_by="n"), "phase"),
        (Subquery(OTask.filter(n=1).select("phase")), "phase"),
        (Subquery(OTask.filter(n=1).select("id", "name")), "name"),
    ],
)
def test_output_field_follows_the_first_argument(expression: Any, expected: str) -> None:
    assert output(expression) is FIELDS[expected]


@pytest.mark.parametrize(
    "expression",
    [
        Coalesce(Value("new"), "phase"),  # the first argument is a bound value: no field
        Cast("phase", "text"),
        Lower("phase"),
        Upper("phase"),
        Trim("phase"),
        Concat("phase", Value("!")),
        Length("phase"),
        Count("phase"),
        Sum("n"),
        Extract("year", "due"),
        Window(RowNumber(), order_by="id"),
        F("n") + 1,
        Value("new"),
    ],
)
def test_fixed_type_nodes_have_no_output_field(expression: Any) -> None:
    assert output(expression) is None


@pytest.mark.parametrize(
    "expression",
    [
        Lower("name", output_field=EXPLICIT),
        Cast("name", "text", output_field=EXPLICIT),
        Value("new", output_field=EXPLICIT),
        Max("name", output_field=EXPLICIT),
        Coalesce("due", output_field=EXPLICIT),  # overrides the first argument's field
    ],
)
def test_explicit_output_field_wins(expression: Any) -> None:
    assert output(expression) is EXPLICIT


def test_annotation_references_carry_the_output_field() -> None:
    qb = OTask.filter().annotate(p=F("phase")).annotate(q=Coalesce("p", Value("new")), r=F("p"))
    assert qb._x is not None
    annotations = qb._x.annotations
    assert annotations["q"].output_field is FIELDS["phase"]
    assert annotations["r"].output_field is FIELDS["phase"]


def test_only_fields_that_need_load_conversion_get_a_converter() -> None:
    qb = OTask.filter().annotate(
        p=F("phase"), ps=Coalesce("phases"), d=Coalesce("due"), low=Lower("name")
    )
    assert qb._x is not None
    converters = annotation_converters(qb._x.annotations, ("p", "ps", "d", "low", "id"))
    assert sorted(converters) == ["p", "ps"]  # a naive DateTimeField loads as the driver gives
    assert converters["p"]("done") is Phase.DONE
    assert converters["ps"](["new", None]) == [Phase.NEW, None]
    plain = OTask.filter().annotate(low=Lower("name"), d=F("due"))
    assert plain._x is not None
    assert annotation_converters(plain._x.annotations, ("low", "d")) == {}
    assert plain._value_converters(("low", "d")) == {}
    assert OTask.filter()._value_converters(("id",)) is None


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Lower("name", output_field=EnumField), r"instantiate it: output_field=EnumField"),
        (lambda: Value("x", output_field="text"), r"Value\(output_field=\.\.\.\) takes a field"),
        (lambda: Max("n", output_field=int), r"Max\(output_field=\.\.\.\) takes a field"),
        (lambda: Coalesce("n", output_field=3), r"Coalesce\(output_field=\.\.\.\) takes a field"),
        (lambda: Cast("n", "text", output_field=object()), r"Cast\(output_field="),
    ],
)
def test_bad_output_field_is_rejected(build: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        build()
    assert info.value.field == "output_field"


async def test_values_and_values_list_convert_enum_annotations(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"p": "done", "low": "x"}, {"p": None, "low": "y"}])
    recording_db.add_result(rows=[{"p": "new"}])
    recording_db.add_result(rows=[{"p": "new", "phase": "done"}])
    qb = OTask.filter().annotate(p=F("phase"), low=Lower("name"))
    assert await qb.values("p", "low") == [
        {"p": Phase.DONE, "low": "x"},
        {"p": None, "low": "y"},
    ]
    assert await qb.values_list("p", flat=True) == [Phase.NEW]
    assert await qb.values_list("p", "phase") == [(Phase.NEW, Phase.DONE)]
    assert recording_db.statements[0] == (
        'SELECT "phase" AS "p", LOWER("name") AS "low" FROM "otask"',
        (),
    )


async def test_instances_get_converted_annotations(recording_db: Recorder) -> None:
    row = {
        "id": 1,
        "name": "a",
        "phase": "new",
        "phases": ["done"],
        "due": None,
        "n": 1,
        "p": "done",
        "ps": ["new", "done"],
        "low": "a",
    }
    recording_db.add_result(rows=[row])
    qb = OTask.filter().annotate(p=F("phase"), ps=Coalesce("phases"), low=Lower("name"))
    (task,) = await qb.all()
    assert task.phase is Phase.NEW
    assert task.p is Phase.DONE
    assert task.ps == [Phase.NEW, Phase.DONE]
    assert task.low == "a"
    assert task._extra_data == {"p": Phase.DONE, "ps": [Phase.NEW, Phase.DONE], "low": "a"}


async def test_aggregate_converts_through_the_output_field(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"top": "done", "low": None, "n": 2}])
    recording_db.add_result(rows=[{"top": None, "n": 0}])
    result = await OTask.filter().aggregate(top=Max("phase"), low=Min("phase"), n=Count())
    assert result == {"top": Phase.DONE, "low": None, "n": 2}
    assert await OTask.filter().aggregate(top=Max("phase"), n=Count()) == {"top": None, "n": 0}
