"""Model state: registered models' _meta → the schema model."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from matrx_orm_core import (
    BooleanField,
    CharField,
    EnumField,
    ForeignKey,
    IntegerField,
    JSONBField,
    ManyToManyField,
    Model,
    TextField,
    UUIDField,
)
from matrx_orm_core.exceptions import MigrationError
from matrx_orm_core.fields import ArrayField
from matrx_orm_core.query.functions import Func, Lower, Now
from matrx_orm_core.registry import model_registry
from matrx_orm_migrations.ddl import ConstraintDef, IndexDef, SQLExpression
from matrx_orm_migrations.model_state import build_model_schema, model_table
from matrx_orm_migrations.schema import (
    CheckConstraint,
    Column,
    EnumType,
    Index,
    PrimaryKey,
    Table,
    UniqueConstraint,
)
from matrx_orm_migrations.schema import (
    ForeignKey as FK,
)

DB = "migdiff_model_state"


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class MsUser(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=50, null=False, unique=True)
    active = BooleanField(default=True, null=False)
    prefs = JSONBField(default={"a": 1})
    tags = ArrayField(TextField(), default=["x"])
    color = EnumField(enum_class=Color, db_type="color", default=Color.RED)
    plain = EnumField(enum_class=Color)
    created_by = CharField(max_length=10, default=lambda: "x")
    _table_name = "ms_user"
    _database = DB


class MsPost(Model):
    id = IntegerField(primary_key=True, db_type="serial")
    title = CharField(max_length=100, null=False, index=True)
    slug = TextField()
    author_id = ForeignKey("MsUser", on_delete="SET NULL", on_update="NO ACTION")
    labels = ManyToManyField("MsLabel")
    _table_name = "ms_post"
    _database = DB
    _unique_together = (("title", "slug"),)
    _indexes = (
        "slug",
        ("title", "slug"),
        {"name": "ms_post_live", "columns": ["slug"], "unique": True, "where": "slug <> ''"},
        IndexDef("ms_post_gin", "ms_post", ["slug"], method="GIN"),
    )
    _constraints = (
        {"name": "ms_post_title_check", "check": "length(title) > 0"},
        ConstraintDef("ms_post_slug_check", "CHECK", "slug <> 'x'"),
    )


class MsLabel(Model):
    id = IntegerField(primary_key=True)
    _table_name = "ms_label"
    _database = DB


class MsHidden(Model):
    id = IntegerField(primary_key=True)
    _database = DB
    _unfetchable = True


class MsElsewhere(Model):
    id = IntegerField(primary_key=True)
    _database = DB
    _db_schema = "other"


def test_model_table_columns_defaults_and_keys() -> None:
    enums: dict[str, EnumType] = {}
    table = model_table(MsUser, "public", enums)
    assert table.columns == (
        Column("id", "uuid", nullable=False),
        Column("name", "character varying(50)", nullable=False),
        Column("active", "boolean", nullable=False, default="TRUE"),
        Column("prefs", "jsonb", default="'{\"a\": 1}'"),
        Column("tags", "text[]"),  # container defaults stay in Python
        Column("color", '"public"."color"', default="'red'"),
        Column("plain", "character varying(255)"),
        Column("created_by", "character varying(10)"),  # callables stay in Python
    )
    assert table.primary_key == PrimaryKey("ms_user_pkey", ("id",))
    assert table.uniques == (UniqueConstraint("ms_user_name_key", ("name",)),)
    assert enums == {"color": EnumType("public", "color", ("red", "green"))}


def test_foreign_keys_indexes_checks() -> None:
    table = model_table(MsPost, "public")
    assert table.columns[0] == Column("id", "integer", nullable=False, serial=True)
    assert table.foreign_keys == (
        FK(
            "fk_ms_post_author_id_ms_user_id",
            ("author_id",),
            "public",
            "ms_user",
            ("id",),
            "SET NULL",
            "NO ACTION",
        ),
    )
    assert table.uniques == (UniqueConstraint("ms_post_title_slug_key", ("title", "slug")),)
    assert table.indexes == (
        Index("idx_ms_post_slug", ("slug",)),
        Index("idx_ms_post_title", ("title",)),
        Index("idx_ms_post_title_slug", ("title", "slug")),
        Index("ms_post_gin", ("slug",), method="gin"),
        Index("ms_post_live", ("slug",), unique=True, where="slug <> ''"),
    )
    assert table.checks == (
        CheckConstraint("ms_post_slug_check", "slug <> 'x'"),
        CheckConstraint("ms_post_title_check", "length(title) > 0"),
    )


def test_build_model_schema_with_junction_table_and_scope() -> None:
    schema = build_model_schema([MsUser, MsPost, MsLabel, MsHidden, MsElsewhere], "public")
    assert [t.name for t in schema.tables] == ["ms_label", "ms_post", "ms_user", "mslabel_mspost"]
    junction = schema.table("mslabel_mspost")
    assert junction == Table(
        "mslabel_mspost",
        "public",
        (
            Column("ms_post_id", "integer", nullable=False),
            Column("ms_label_id", "integer", nullable=False),
        ),
        PrimaryKey("mslabel_mspost_pkey", ("ms_post_id", "ms_label_id")),
        foreign_keys=(
            FK(
                "fk_mslabel_mspost_ms_label_id_ms_label_id",
                ("ms_label_id",),
                "public",
                "ms_label",
                ("id",),
                "CASCADE",
                "CASCADE",
            ),
            FK(
                "fk_mslabel_mspost_ms_post_id_ms_post_id",
                ("ms_post_id",),
                "public",
                "ms_post",
                ("id",),
                "CASCADE",
                "CASCADE",
            ),
        ),
    )
    assert [e.name for e in schema.enums] == ["color"]
    other = build_model_schema([MsElsewhere, MsLabel], "other")
    assert [t.name for t in other.tables] == ["ms_elsewhere", "ms_label"]
    assert other.tables[0].schema == "other"


def _model(name: str, **attrs: Any) -> type:
    attrs.setdefault("id", IntegerField(primary_key=True))
    return type(name, (Model,), {"_database": DB, **attrs})


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"x": TextField(db_type="text; DROP TABLE t")}, "MsBad.x"),
        ({"_indexes": (("nope",),)}, "'nope' is not a field of MsBad"),
        ({"_indexes": ({"columns": ["id"], "where": "1); DROP TABLE t; --"},)}, "refused"),
        ({"_indexes": ({"columns": ["id"], "color": "red"},)}, "unknown index keys"),
        ({"_unique_together": ((1, 2),)}, "list of field names"),
        ({"_constraints": ({"name": "c"},)}, "'check'"),
        ({"_constraints": ({"name": "", "check": "true"},)}, "non-empty name"),
        ({"_constraints": (ConstraintDef("u", "UNIQUE", '"id"'),)}, "only CHECK"),
        (
            {"ref_id": ForeignKey("NoSuchModel")},
            "MsBad.ref_id: cannot tell the column type: Model NoSuchModel not found",
        ),
    ],
)
def test_errors_name_model_and_field(attrs: dict[str, Any], message: str) -> None:
    model = _model("MsBad", **attrs)
    try:
        with pytest.raises(MigrationError, match=message):
            build_model_schema([model])
    finally:
        model_registry.unregister(model)


def test_two_models_one_table() -> None:
    a = _model("MsTwinA", _table_name="ms_twin")
    b = _model("MsTwinB", _table_name="ms_twin")
    with pytest.raises(MigrationError, match="also the table of model MsTwinA"):
        build_model_schema([a, b])


def test_enum_declared_twice_with_different_members() -> None:
    class Other(str, enum.Enum):
        RED = "red"

    a = _model("MsEnumA", c=EnumField(enum_class=Color, db_type="shade"))
    b = _model("MsEnumB", c=EnumField(enum_class=Other, db_type="shade"))
    with pytest.raises(MigrationError, match="declared with different values"):
        build_model_schema([a, b])


def test_db_default_values_functions_and_sql() -> None:
    class GenRandomUUID(Func):
        function = "gen_random_uuid"
        arity = 0

    model = _model(
        "MsDbDefault",
        created=TextField(db_type="timestamptz", db_default=Now()),
        token=UUIDField(db_default=GenRandomUUID()),
        stamp=TextField(db_default=SQLExpression("now()::text")),
        status=CharField(max_length=10, db_default="it's", default="ignored"),
        color=CharField(max_length=10, db_default=Color.RED),
        count_=IntegerField(db_default=7),
        plain=IntegerField(db_default=None, default=3),
    )
    try:
        defaults = {c.name: c.default for c in model_table(model, "public").columns}
    finally:
        model_registry.unregister(model)
    assert defaults == {
        "id": None,
        "created": "now()",
        "token": "gen_random_uuid()",
        "stamp": "now()::text",
        "status": "'it''s'",  # a str is a value, as in Django
        "color": "'red'",
        "count_": "7",
        "plain": None,
    }


@pytest.mark.parametrize(
    ("db_default", "message"),
    [
        (SQLExpression("1); DROP TABLE t; --"), "refused before any SQL"),
        (Lower("name"), "only functions without arguments"),
        (object(), "Cannot write"),
    ],
)
def test_bad_db_default(db_default: object, message: str) -> None:
    bad = _model("MsDbDefaultBad", x=IntegerField(db_default=db_default))
    try:
        with pytest.raises(MigrationError, match=message):
            model_table(bad, "public")
    finally:
        model_registry.unregister(bad)
