"""Level1 tests for abstract model inheritance of fields, foreign keys, inverse foreign keys and
many-to-many declarations (API.md §2.4.1), beyond the basics in test_meta.py."""

# ruff: noqa: RUF012 - model declarations use dict class attributes, as the spec does

from __future__ import annotations

import pytest

from matrx_orm_core.exceptions import ConfigurationError, FieldError
from matrx_orm_core.fields import CharField, ForeignKey, IntegerField, ManyToManyField
from matrx_orm_core.models import Model
from matrx_orm_core.query import QueryBuilder
from matrx_orm_core.registry import model_registry

DB = "abstract_db"


class AbOwner(Model):
    id = IntegerField(primary_key=True)
    _database = DB


class AbTag(Model):
    id = IntegerField(primary_key=True)
    _database = DB


def test_foreign_key_from_an_abstract_base_belongs_to_each_subclass() -> None:
    class Owned(Model):
        owner_id = ForeignKey(AbOwner, null=False)

        class Meta:
            abstract = True

    class Car(Owned):
        id = IntegerField(primary_key=True)
        _database = DB

    class Boat(Owned):
        id = IntegerField(primary_key=True)
        _database = DB

    for model in (Car, Boat):
        field = model._meta.fields["owner_id"]
        assert field.model is model
        reference = model._meta.foreign_keys["owner_id"]
        assert reference.model is model
        assert reference.related_model is AbOwner
        assert reference.related_column == "id"
        assert field.nullable is False
    assert Car._meta.fields["owner_id"] is not Boat._meta.fields["owner_id"]
    assert Car._dynamic_fields == {"_owner_id_related"}
    car = Car(id=1, owner_id=5)
    assert car.get_related("owner") is None  # known relation, not loaded


def test_many_to_many_field_gets_a_junction_per_subclass() -> None:
    class Tagged(Model):
        _abstract = True
        tags = ManyToManyField(AbTag)

    class Photo(Tagged):
        id = IntegerField(primary_key=True)
        _database = DB

    class Video(Tagged):
        id = IntegerField(primary_key=True)
        _database = DB

    photo_tags = Photo._meta.many_to_many_keys["tags"]
    video_tags = Video._meta.many_to_many_keys["tags"]
    assert (photo_tags.junction_table, photo_tags.source_column) == ("abtag_photo", "photo_id")
    assert (video_tags.junction_table, video_tags.source_column) == ("abtag_video", "video_id")
    assert photo_tags.model is Photo
    assert video_tags.model is Video
    assert "tags" not in Photo._meta.fields  # an M2M field is not a column
    assert [t["source_table"] for t in Photo._pending_junction_tables] == ["photo"]


def test_self_referential_many_to_many_targets_each_subclass() -> None:
    class Networked(Model):
        _abstract = True
        peers = ManyToManyField("self")

    class Person(Networked):
        id = IntegerField(primary_key=True)
        _database = DB

    class Company(Networked):
        id = IntegerField(primary_key=True)
        _database = DB

    assert Person._meta.many_to_many_keys["peers"].target_model is Person
    assert Company._meta.many_to_many_keys["peers"].target_model is Company


def test_declared_relations_merge_through_an_abstract_chain() -> None:
    class Commentable(Model):
        _abstract = True
        _inverse_foreign_keys = {
            "comments": {"from_model": "Cm", "from_field": "target_id", "referenced_field": "id"}
        }

    class Taggable(Commentable):
        _abstract = True
        _many_to_many = {
            "labels": {
                "junction_table": "item_label",
                "source_column": "item_id",
                "target_column": "label_id",
                "target_model": "Label",
            }
        }
        _inverse_foreign_keys = {
            "likes": {"from_model": "Like", "from_field": "item_id", "referenced_field": "id"}
        }

    class Item(Taggable):
        id = IntegerField(primary_key=True)
        title = CharField()
        _database = DB
        _inverse_foreign_keys = {  # overrides one inherited entry, keeps the other
            "likes": {"from_model": "Vote", "from_field": "item_id", "referenced_field": "id"}
        }

    assert sorted(Item._meta.inverse_foreign_keys) == ["comments", "likes"]
    assert Item._meta.inverse_foreign_keys["likes"].from_model == "Vote"
    assert Item._meta.inverse_foreign_keys["comments"].model is Item
    assert Item._meta.many_to_many_keys["labels"].junction_table == "item_label"
    assert Item._dynamic_fields == {"_comments_relation", "_likes_relation", "_labels_m2m"}


def test_primary_key_may_come_from_the_abstract_base() -> None:
    class Keyed(Model):
        _abstract = True
        id = IntegerField(primary_key=True)

    class Widget(Keyed):
        name = CharField()
        _database = DB

    assert Widget._meta.primary_keys == ["id"]
    assert Widget._meta.fields["id"].model is Widget


def test_concrete_subclass_without_any_primary_key_is_refused() -> None:
    class Named(Model):
        _abstract = True
        name = CharField()

    with pytest.raises(FieldError, match="must define at least one primary key"):

        class Nameless(Named):
            _database = DB


def test_abstract_models_cannot_be_queried_or_registered() -> None:
    class Shared(Model):
        _abstract = True
        name = CharField()

    assert model_registry.get_model("Shared", DB) is None
    with pytest.raises(ConfigurationError, match="not a concrete model"):
        QueryBuilder(Shared)
