"""Level1 tests for ForeignKey and ManyToManyField (targets resolved through the registry)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from matrx_orm_core.exceptions import ConfigurationError, FieldError, ValidationError
from matrx_orm_core.fields import (
    CharField,
    EnumField,
    Field,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    UUIDField,
)
from matrx_orm_core.registry import ModelRegistry


@pytest.fixture(autouse=True)
def _isolated_registry() -> Iterator[None]:
    saved = ModelRegistry.all_entries()
    ModelRegistry.clear()
    yield
    ModelRegistry.clear()
    ModelRegistry.register_all(saved.values())


def make_model(name: str, database: str = "main", **fields: Field[Any]) -> type:
    """A stand-in for a model class: fields attached via contribute_to_class, then registered."""
    cls = type(name, (), {"_database": database})
    for field_name, field in fields.items():
        setattr(cls, field_name, field)
        field.contribute_to_class(cls, field_name)
    ModelRegistry.register(cls)
    return cls


def test_fk_follows_uuid_target() -> None:
    make_model("Author", id=UUIDField(primary_key=True))
    fk = ForeignKey("Author")
    post = make_model("Post", id=UUIDField(primary_key=True), author_id=fk)
    assert fk.model is post
    assert fk.db_type == "uuid"
    assert fk.python_type is str
    assert fk.related_column == "id"
    assert fk.to_model_name == "Author"
    assert fk.needs_load_conversion is False
    value = uuid.uuid4()
    assert fk.get_db_prep_value(value) == str(value)
    assert fk.to_python(str(value).upper()) == str(value)


def test_fk_follows_integer_and_text_targets() -> None:
    make_model("Counter", id=IntegerField(primary_key=True))
    make_model("Legacy", id=UUIDField(primary_key=True, db_type="text"))
    to_int = ForeignKey("Counter")
    to_text = ForeignKey("Legacy")
    make_model("Ref", id=IntegerField(primary_key=True), counter_id=to_int, legacy_id=to_text)
    assert to_int.db_type == "integer"
    assert to_int.python_type is int
    assert to_text.db_type == "text"
    with pytest.raises(ValidationError) as info:
        to_int.get_db_prep_value(2**40)
    assert info.value.field == "counter_id"
    assert info.value.model == "Ref"
    assert "invalid key for Counter.id" in info.value.message


def test_fk_serial_target_maps_to_integer_types() -> None:
    make_model("S", id=IntegerField(primary_key=True, db_type="bigserial"))
    fk = ForeignKey("S")
    make_model("T", id=IntegerField(primary_key=True), s_id=fk)
    assert fk.db_type == "bigint"


def test_fk_accepts_target_instance() -> None:
    author_cls = make_model("Author", id=UUIDField(primary_key=True))
    fk = ForeignKey(author_cls)
    make_model("Post", id=UUIDField(primary_key=True), author_id=fk)
    author = author_cls()
    key = str(uuid.uuid4())
    author.__dict__["id"] = key
    assert fk.get_db_prep_value(author) == key
    assert fk.clean(author) == key


def test_fk_unsaved_target_instance_is_rejected() -> None:
    author_cls = make_model("Author", id=UUIDField(primary_key=True))
    fk = ForeignKey(author_cls)
    make_model("Post", id=UUIDField(primary_key=True), author_id=fk)
    with pytest.raises(ValidationError, match="Save the related object first"):
        fk.get_db_prep_value(author_cls())


def test_fk_other_model_instance_is_rejected_naming_the_fk() -> None:
    make_model("Author", id=UUIDField(primary_key=True))
    other = make_model("Tag", id=UUIDField(primary_key=True))
    fk = ForeignKey("Author")
    make_model("Post", id=UUIDField(primary_key=True), author_id=fk)
    with pytest.raises(ValidationError) as info:
        fk.get_db_prep_value(other())
    assert info.value.message.startswith("Post.author_id: invalid key for Author.id")
    assert isinstance(info.value.__cause__, ValidationError)


def test_fk_to_column() -> None:
    make_model("Account", id=IntegerField(primary_key=True), code=CharField(max_length=8))
    fk = ForeignKey("Account", to_column="code")
    make_model("Login", id=IntegerField(primary_key=True), account_code=fk)
    assert fk.db_type == "varchar(8)"
    assert fk.related_column == "code"
    with pytest.raises(ValidationError, match="more than max_length=8"):
        fk.clean("x" * 9)


def test_fk_unknown_to_column() -> None:
    make_model("Account", id=IntegerField(primary_key=True))
    fk = ForeignKey("Account", to_column="nope")
    make_model("Login", id=IntegerField(primary_key=True), account_id=fk)
    with pytest.raises(FieldError, match="Account has no field 'nope'"):
        _ = fk.db_type


def test_fk_composite_target_key_needs_to_column() -> None:
    make_model("Pair", a=IntegerField(primary_key=True), b=IntegerField(primary_key=True))
    fk = ForeignKey("Pair")
    make_model("Link", id=IntegerField(primary_key=True), pair_id=fk)
    with pytest.raises(FieldError, match="a composite primary key; pass to_column"):
        _ = fk.target_field


def test_fk_target_meta_is_used_when_present() -> None:
    meta = SimpleNamespace(primary_keys=["code"], fields={"code": CharField(max_length=4)})

    target = type("Coded", (), {"_database": "main", "_meta": meta})
    ModelRegistry.register(target)
    fk = ForeignKey("Coded")
    make_model("User", id=IntegerField(primary_key=True), coded_id=fk)
    assert fk.db_type == "varchar(4)"


def test_fk_resolution_prefers_owning_database() -> None:
    make_model("Author", "main", id=UUIDField(primary_key=True))
    make_model("Author", "other", id=IntegerField(primary_key=True))
    fk_main = ForeignKey("Author")
    make_model("Post", "main", id=IntegerField(primary_key=True), author_id=fk_main)
    fk_other = ForeignKey("Author")
    make_model("Note", "other", id=IntegerField(primary_key=True), author_id=fk_other)
    assert fk_main.db_type == "uuid"
    assert fk_other.db_type == "integer"


def test_fk_to_db_selects_target_database() -> None:
    make_model("Author", "main", id=UUIDField(primary_key=True))
    make_model("Author", "other", id=IntegerField(primary_key=True))
    fk = ForeignKey("Author", to_db="other")
    make_model("Post", "main", id=IntegerField(primary_key=True), author_id=fk)
    assert fk.db_type == "integer"


def test_fk_unresolvable_target_raises_configuration_error() -> None:
    fk = ForeignKey("Ghost")
    make_model("Post", id=IntegerField(primary_key=True), ghost_id=fk)
    with pytest.raises(ConfigurationError, match="Model Ghost not found"):
        _ = fk.db_type
    assert "db_type" not in fk.to_dict()
    assert fk.to_dict()["to_model"] == "Ghost"


def test_fk_resolution_follows_registry_changes() -> None:
    make_model("Author", id=UUIDField(primary_key=True))
    fk = ForeignKey("Author")
    make_model("Post", id=IntegerField(primary_key=True), author_id=fk)
    assert fk.db_type == "uuid"
    with pytest.warns(Warning, match="already registered"):
        make_model("Author", id=IntegerField(primary_key=True))
    assert fk.db_type == "integer"


def test_fk_copied_to_another_model_resolves_for_that_model() -> None:
    import copy

    make_model("Author", "main", id=UUIDField(primary_key=True))
    make_model("Author", "other", id=IntegerField(primary_key=True))
    fk = ForeignKey("Author")
    make_model("Post", "main", id=IntegerField(primary_key=True), author_id=fk)
    assert fk.db_type == "uuid"
    clone = copy.copy(fk)
    make_model("Note", "other", id=IntegerField(primary_key=True), author_id=clone)
    assert clone.db_type == "integer"


def test_fk_with_enum_target_converts_rows() -> None:
    import enum

    class Kind(enum.Enum):
        A = "a"

    make_model("KindRow", code=EnumField(Kind, primary_key=True))
    fk = ForeignKey("KindRow")
    make_model("Thing", id=IntegerField(primary_key=True), kind=fk)
    assert fk.from_db_value("a") is Kind.A
    assert fk.get_db_prep_value(Kind.A) == "a"


def test_fk_options_and_actions() -> None:
    fk = ForeignKey(
        "Author",
        related_name="posts",
        on_delete="set null",
        on_update="no  action",
        to_schema="auth",
    )
    assert fk.on_delete == "SET NULL"
    assert fk.on_update == "NO ACTION"
    d = fk.to_dict()
    assert d["related_name"] == "posts"
    assert d["to_schema"] == "auth"
    assert d["on_delete"] == "SET NULL"
    with pytest.raises(FieldError, match="on_delete='DROP'"):
        ForeignKey("Author", on_delete="DROP")
    with pytest.raises(FieldError, match="must be a model class or its name"):
        ForeignKey("")


def test_fk_none_and_nullability() -> None:
    make_model("Author", id=UUIDField(primary_key=True))
    fk = ForeignKey("Author", null=False)
    make_model("Post", id=IntegerField(primary_key=True), author_id=fk)
    assert fk.to_python(None) is None
    with pytest.raises(ValidationError, match=r"Post\.author_id: None is not allowed"):
        fk.get_db_prep_value(None)


def test_many_to_many_field() -> None:
    m2m = ManyToManyField("Tag", db_table="post_tags", related_name="posts", is_native=True)
    post = make_model("Post", id=IntegerField(primary_key=True), tags=m2m)
    assert m2m.is_native is False
    assert m2m.model is post
    assert m2m.to_model_name == "Tag"
    with pytest.raises(FieldError, match="not a column"):
        _ = m2m.db_type
    with pytest.raises(FieldError, match="add_m2m"):
        m2m.get_db_prep_value([1])
    d = m2m.to_dict()
    assert "db_type" not in d
    assert d["db_table"] == "post_tags"
    assert d["related_name"] == "posts"
    assert d["is_native"] is False
    with pytest.raises(FieldError):
        ManyToManyField(3)  # type: ignore[arg-type]
