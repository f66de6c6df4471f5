"""Tests for ModelMeta and ModelOptions: _meta, abstract models, inheritance, rules, relations."""

# ruff: noqa: RUF012 - model declarations use list/dict class attributes, as the spec does

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

import pytest

from matrx_orm_core import sql
from matrx_orm_core.exceptions import (
    ConfigurationError,
    DoesNotExist,
    FieldError,
    MultipleObjectsReturned,
    ValidationError,
)
from matrx_orm_core.fields import (
    CharField,
    EnumField,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    TextField,
    UUIDField,
)
from matrx_orm_core.models import (
    CachePolicy,
    ForeignKeyReference,
    InverseForeignKeyReference,
    ManyToManyReference,
    Model,
    ModelOptions,
)
from matrx_orm_core.registry import ModelRegistry, model_registry

DB = "meta_db"


@pytest.fixture(autouse=True)
def _forget_new_models() -> Iterator[None]:
    before = set(ModelRegistry.all_entries())
    yield
    for key, model in ModelRegistry.all_entries().items():
        if key not in before:
            ModelRegistry.unregister(model)


def test_meta_holds_upstream_attributes_and_precomputed_values() -> None:
    class HTTPServer(Model):
        id = IntegerField(primary_key=True)
        host = CharField(max_length=50, unique=True)
        note = TextField()
        _database = DB
        _db_schema = "infra"
        _indexes = ["ix"]
        _unique_together = [("host", "note")]
        _constraints = ["c"]
        _unfetchable = True
        _cache_policy = CachePolicy.PERMANENT
        _cache_timeout = 30
        _realtime_updates = True

    meta = HTTPServer._meta
    assert isinstance(meta, ModelOptions)
    assert meta.table_name == "h_t_t_p_server"
    assert meta.database == DB
    assert meta.db_schema == "infra"
    assert meta.qualified_table_name == "infra.h_t_t_p_server"
    assert meta.table == sql.Table("h_t_t_p_server", "infra")
    assert list(meta.fields) == ["id", "host", "note"]
    assert meta.primary_keys == ["id"]
    assert meta.pk_names == ("id",)
    assert meta.pk_fields == (HTTPServer.id,)
    assert meta.non_pk_names == ("host", "note")
    assert meta.select_columns == ("id", "host", "note")
    assert meta.unique_fields == {"host"}
    assert meta.indexes == ["ix"]
    assert meta.unique_together == [("host", "note")]
    assert meta.constraints == ["c"]
    assert meta.unfetchable is True
    assert meta.cache_policy is CachePolicy.PERMANENT
    assert meta.cache_timeout == 30
    assert meta.realtime_updates is True
    assert meta.foreign_keys == {}
    assert meta.inverse_foreign_keys == {}
    assert meta.many_to_many_keys == {}
    assert meta.model_name == "HTTPServer"
    assert HTTPServer._fields == meta.fields
    assert HTTPServer._abstract is False


def test_defaults_table_name_schema_and_cache_policy() -> None:
    class PlainThing(Model):
        id = IntegerField(primary_key=True)
        _database = DB
        _table_name = "things"

    meta = PlainThing._meta
    assert meta.table_name == "things"
    assert meta.qualified_table_name == "things"
    assert meta.table == sql.Table("things", None)
    assert meta.cache_policy is CachePolicy.SHORT_TERM
    assert meta.cache_timeout is None
    assert meta.realtime_updates is False
    assert meta.unfetchable is False


def test_cache_policy_enum_values() -> None:
    assert [p.value for p in CachePolicy] == ["permanent", "long_term", "short_term", "instant"]

    class StrPolicy(Model):
        id = IntegerField(primary_key=True)
        _database = DB
        _cache_policy = "instant"

    assert StrPolicy._meta.cache_policy is CachePolicy.INSTANT


def test_invalid_cache_policy_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="_cache_policy"):

        class BadPolicy(Model):
            id = IntegerField(primary_key=True)
            _database = DB
            _cache_policy = "forever"


def test_concrete_model_without_database_raises_at_class_creation() -> None:
    with pytest.raises(ConfigurationError, match="NoDb has no _database"):

        class NoDb(Model):
            id = IntegerField(primary_key=True)


def test_load_converters_only_for_fields_that_need_them() -> None:
    class Color(enum.Enum):
        RED = "red"

    class Paint(Model):
        id = IntegerField(primary_key=True)
        color = EnumField(enum_class=Color)
        name = CharField()
        _database = DB

    converters = Paint._meta.load_converters
    assert [name for name, _ in converters] == ["color"]
    assert converters[0][1]("red") is Color.RED


def test_contribute_to_class_sets_name_and_model() -> None:
    class Named(Model):
        id = IntegerField(primary_key=True)
        title = CharField()
        _database = DB

    assert Named.title.name == "title"
    assert Named.title.column == "title"
    assert Named.title.model is Named


# --- registry and exceptions --------------------------------------------------------------------


def test_concrete_models_are_registered_by_database_and_name() -> None:
    class Registered(Model):
        id = IntegerField(primary_key=True)
        _database = DB

    assert model_registry.get_model("Registered", DB) is Registered


def test_per_model_exception_subclasses() -> None:
    class Parent(Model):
        id = IntegerField(primary_key=True)
        _database = DB

    class Child(Parent):
        _table_name = "child"

    assert issubclass(Parent.DoesNotExist, DoesNotExist)
    assert Parent.DoesNotExist is not DoesNotExist
    assert issubclass(Parent.MultipleObjectsReturned, MultipleObjectsReturned)
    assert issubclass(Parent.ValidationError, ValidationError)
    assert issubclass(Child.DoesNotExist, Parent.DoesNotExist)
    assert Child.DoesNotExist is not Parent.DoesNotExist
    assert Parent.DoesNotExist.__qualname__.endswith("Parent.DoesNotExist")
    with pytest.raises(DoesNotExist):
        raise Parent.DoesNotExist(model=Parent)
    assert Parent.DoesNotExist().model == "Parent"  # default_model names the model
    assert Child.ValidationError(reason="r").model == "Child"


# --- abstract models and inheritance -------------------------------------------------------------


def test_abstract_via_meta_and_attribute_get_no_meta_and_no_registry_entry() -> None:
    class AuditedA(Model):
        _database = DB

        class Meta:
            abstract = True

        created_by = CharField(max_length=100)

    class AuditedB(Model):
        _abstract = True
        updated_by = CharField(max_length=100)

    for abstract in (AuditedA, AuditedB):
        assert "_meta" not in vars(abstract)
        assert not hasattr(abstract, "_meta")
        assert abstract._abstract is True
    assert model_registry.get_model("AuditedA", DB) is None

    class Article(AuditedA):
        _database = DB
        id = UUIDField(primary_key=True)
        title = CharField(max_length=255)

    assert list(Article._meta.fields) == ["created_by", "id", "title"]
    assert Article._abstract is False
    assert Article.created_by is not AuditedA.created_by
    assert Article.created_by.model is Article


def test_abstract_of_abstract_chain_keeps_grandparent_fields() -> None:
    class Base1(Model):
        _abstract = True
        a = CharField()

    class Base2(Base1):
        _abstract = True
        b = CharField()

    class Leaf(Base2):
        _database = DB
        id = IntegerField(primary_key=True)

    assert list(Leaf._meta.fields) == ["a", "b", "id"]
    assert Leaf.a.model is Leaf
    assert Base1.a.model is None  # abstract fields are never bound to a model


def test_concrete_inheritance_copies_fields() -> None:
    class Animal(Model):
        id = IntegerField(primary_key=True)
        name = CharField()
        _database = DB

    class Dog(Animal):
        breed = CharField()

    assert Dog._meta.table_name == "dog"
    assert list(Dog._meta.fields) == ["id", "name", "breed"]
    assert Dog.name is not Animal.name
    assert Dog.name.model is Dog
    assert Animal.name.model is Animal
    assert list(Animal._meta.fields) == ["id", "name"]


def test_subclass_can_drop_an_inherited_field() -> None:
    class WithNote(Model):
        _abstract = True
        note = CharField()

    class NoNote(WithNote):
        _database = DB
        id = IntegerField(primary_key=True)
        note = None

    assert list(NoNote._meta.fields) == ["id"]


def test_abstract_model_cannot_inherit_from_concrete() -> None:
    class Concrete1(Model):
        id = IntegerField(primary_key=True)
        _database = DB

    with pytest.raises(ConfigurationError, match="inherits from concrete model Concrete1"):

        class AbstractChild(Concrete1):
            _abstract = True


def test_user_defined_init_is_kept() -> None:
    class Custom(Model):
        id = IntegerField(primary_key=True)
        _database = DB

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.extra_flag = True

    obj = Custom(id=1)
    assert obj.extra_flag is True
    assert obj.id == 1


# --- primary keys ------------------------------------------------------------------------------


def test_primary_keys_list_declares_a_composite_key() -> None:
    class Pair(Model):
        left = IntegerField()
        right = IntegerField()
        _database = DB
        _primary_keys = ["left", "right"]

    assert Pair._meta.primary_keys == ["left", "right"]
    assert Pair._meta.non_pk_names == ()


def test_primary_keys_and_primary_key_true_together_raise() -> None:
    with pytest.raises(FieldError, match="cannot have both") as info:

        class Both(Model):
            id = IntegerField(primary_key=True)
            other = IntegerField()
            _database = DB
            _primary_keys = ["other"]

    assert isinstance(info.value, ValueError)
    assert info.value.model == "Both"


def test_unknown_primary_key_name_raises() -> None:
    with pytest.raises(FieldError, match="Primary key field 'nope'"):

        class Unknown(Model):
            id = IntegerField()
            _database = DB
            _primary_keys = ["nope"]


def test_model_without_primary_key_raises() -> None:
    with pytest.raises(FieldError, match="Model NoPk must define at least one primary key field"):

        class NoPk(Model):
            name = CharField()
            _database = DB


# --- reserved names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "save",
        "update",
        "delete",
        "filter",
        "get",
        "all",
        "to_dict",
        "runtime",
        "dto",
        "table_name",
        "get_related",
        "DoesNotExist",
        "create",
    ],
)
def test_fields_may_not_shadow_model_attributes(name: str) -> None:
    namespace: dict[str, Any] = {
        "id": IntegerField(primary_key=True),
        name: CharField(),
        "_database": DB,
    }
    with pytest.raises(FieldError, match=f"Field name '{name}' on model Shadow is reserved"):
        type(Model)("Shadow", (Model,), namespace)


def test_field_names_starting_with_underscore_are_rejected() -> None:
    with pytest.raises(FieldError, match="'_secret'"):

        class Under(Model):
            id = IntegerField(primary_key=True)
            _secret = CharField()
            _database = DB


def test_field_named_model_works() -> None:
    class Car(Model):
        id = IntegerField(primary_key=True)
        model = CharField()
        _database = DB

    car = Car(id=1, model="T")
    assert car.model == "T"
    assert "model" in Car._meta.fields


# --- relations -----------------------------------------------------------------------------


def test_foreign_key_becomes_reference() -> None:
    class Author(Model):
        id = UUIDField(primary_key=True)
        _database = DB

    class Book(Model):
        id = UUIDField(primary_key=True)
        author_id = ForeignKey("Author", "id", related_name="books", on_delete="SET NULL")
        _database = DB

    ref = Book._meta.foreign_keys["author_id"]
    assert isinstance(ref, ForeignKeyReference)
    assert (ref.column_name, ref.to_model, ref.to_column) == ("author_id", "Author", "id")
    assert (ref.related_name, ref.on_delete, ref.on_update) == ("books", "SET NULL", "CASCADE")
    assert ref.field_name == "author_id"
    assert ref.model is Book
    assert ref.related_model is Author
    assert ref.related_column == "id"
    assert "author_id" in Book._meta.fields
    assert Book._dynamic_fields == {"_author_id_related"}


def test_inverse_foreign_keys_default_related_name_to_key() -> None:
    class Owner(Model):
        id = IntegerField(primary_key=True)
        _database = DB
        _inverse_foreign_keys = {
            "pets": {"from_model": "Pet", "from_field": "owner_id", "referenced_field": "id"},
            "toys": {
                "from_model": "Toy",
                "from_field": "owner_id",
                "referenced_field": "id",
                "related_name": "owned_toys",
            },
        }

    pets = Owner._meta.inverse_foreign_keys["pets"]
    assert isinstance(pets, InverseForeignKeyReference)
    assert (pets.from_model, pets.from_field, pets.referenced_field) == ("Pet", "owner_id", "id")
    assert pets.related_name == "pets"
    assert Owner._meta.inverse_foreign_keys["toys"].related_name == "owned_toys"
    assert Owner._dynamic_fields == {"_pets_relation", "_toys_relation"}


def test_inverse_foreign_key_without_referenced_field_raises() -> None:
    with pytest.raises(FieldError, match="must specify 'referenced_field'"):

        class BadIfk(Model):
            id = IntegerField(primary_key=True)
            _database = DB
            _inverse_foreign_keys = {"x": {"from_model": "X", "from_field": "y"}}


def test_inverse_foreign_key_unknown_key_or_field_raises() -> None:
    with pytest.raises(FieldError, match="unknown keys"):

        class TypoIfk(Model):
            id = IntegerField(primary_key=True)
            _database = DB
            _inverse_foreign_keys = {
                "x": {"from_model": "X", "from_field": "y", "referenced_field": "id", "bad": 1}
            }

    with pytest.raises(FieldError, match="referenced_field 'nope' is not a field"):

        class MissingRef(Model):
            id = IntegerField(primary_key=True)
            _database = DB
            _inverse_foreign_keys = {
                "x": {"from_model": "X", "from_field": "y", "referenced_field": "nope"}
            }


def test_many_to_many_dict_defaults_related_name_to_key() -> None:
    class Group(Model):
        id = IntegerField(primary_key=True)
        _database = DB
        _many_to_many = {
            "members": {
                "junction_table": "group_member",
                "source_column": "group_id",
                "target_column": "member_id",
                "target_model": "Member",
                "junction_schema": "auth",
            }
        }

    ref = Group._meta.many_to_many_keys["members"]
    assert isinstance(ref, ManyToManyReference)
    assert ref.related_name == "members"
    assert ref.qualified_junction_table == "auth.group_member"
    assert (ref.source_column, ref.target_column) == ("group_id", "member_id")
    assert Group._dynamic_fields == {"_members_m2m"}


def test_many_to_many_dict_missing_keys_raise() -> None:
    with pytest.raises(FieldError, match=r"missing keys \['source_column', 'target_column'\]"):

        class BadM2m(Model):
            id = IntegerField(primary_key=True)
            _database = DB
            _many_to_many = {"m": {"junction_table": "j", "target_model": "X"}}


def test_many_to_many_field_builds_reference_and_pending_junction() -> None:
    class Tag(Model):
        id = IntegerField(primary_key=True)
        _database = DB
        _table_name = "tags"

    class BlogPost(Model):
        id = IntegerField(primary_key=True)
        tags = ManyToManyField(Tag, related_name="posts")
        _database = DB
        _db_schema = "blog"

    assert "tags" not in BlogPost._meta.fields
    assert "tags" not in BlogPost._fields
    ref = BlogPost._meta.many_to_many_keys["tags"]
    assert (ref.junction_table, ref.source_column, ref.target_column) == (
        "blogpost_tag",
        "blog_post_id",
        "tag_id",
    )
    assert ref.target_model is Tag
    assert ref.related_name == "tags"
    assert ref.junction_schema == "blog"
    assert ref.resolved_model is Tag
    assert BlogPost._pending_junction_tables == [
        {
            "junction_table": "blogpost_tag",
            "junction_schema": "blog",
            "source_column": "blog_post_id",
            "target_column": "tag_id",
            "source_model": "BlogPost",
            "target_model": "Tag",
            "source_table": "blog_post",
            "target_table": "tags",
            "field_name": "tags",
            "related_name": "posts",
        }
    ]


def test_self_referential_many_to_many_and_db_table() -> None:
    class Person(Model):
        id = IntegerField(primary_key=True)
        friends = ManyToManyField("self")
        mentors = ManyToManyField("Person", db_table="mentorship")
        _database = DB

    friends = Person._meta.many_to_many_keys["friends"]
    assert (friends.junction_table, friends.source_column, friends.target_column) == (
        "person_person",
        "from_person_id",
        "to_person_id",
    )
    assert friends.resolved_model is Person
    mentors = Person._meta.many_to_many_keys["mentors"]
    assert mentors.junction_table == "mentorship"


def test_relations_are_inherited_from_abstract_bases() -> None:
    class Linked(Model):
        _abstract = True
        labels = ManyToManyField("Label")
        _inverse_foreign_keys = {
            "notes": {"from_model": "Note", "from_field": "doc_id", "referenced_field": "id"}
        }

    class Doc(Linked):
        id = IntegerField(primary_key=True)
        _database = DB

    assert list(Doc._meta.inverse_foreign_keys) == ["notes"]
    assert Doc._meta.many_to_many_keys["labels"].source_column == "doc_id"
    assert Doc._meta.many_to_many_keys["labels"].junction_table == "doc_label"


def test_relation_name_clash_with_field_raises() -> None:
    with pytest.raises(FieldError, match="same name as a field"):

        class Clash(Model):
            id = IntegerField(primary_key=True)
            notes = CharField()
            _database = DB
            _inverse_foreign_keys = {
                "notes": {"from_model": "N", "from_field": "c", "referenced_field": "id"}
            }
