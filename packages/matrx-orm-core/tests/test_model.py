"""Tests for Model instances: construction, hydration, to_dict, equality, loaded relations."""

# ruff: noqa: RUF012 - model declarations use list/dict class attributes, as the spec does

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from matrx_orm_core import hooks
from matrx_orm_core.exceptions import (
    ConfigurationError,
    RelationshipError,
    StateError,
    SyncContextError,
    ValidationError,
)
from matrx_orm_core.fields import (
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    EnumField,
    ForeignKey,
    IntegerField,
    JSONField,
    ManyToManyField,
    UUIDField,
)
from matrx_orm_core.models import Model
from matrx_orm_core.models.base import RuntimeContainer
from matrx_orm_core.registry import ModelRegistry

DB = "model_db"
UID = "00000000-0000-0000-0000-00000000000a"


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class MUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=20)
    is_active = BooleanField(default=True)
    tags = JSONField(default=list)
    _database = DB


class MPost(Model):
    id = IntegerField(primary_key=True)
    author_id = ForeignKey("MUser", "id")
    mood = EnumField(enum_class=Mood)
    price = DecimalField(max_digits=6, decimal_places=2)
    created = DateTimeField()
    data = JSONField()
    labels = ManyToManyField("MLabel")
    _database = DB
    _inverse_foreign_keys = {
        "comments": {"from_model": "MComment", "from_field": "post_id", "referenced_field": "id"}
    }


@pytest.fixture(autouse=True)
def _forget_new_models() -> Iterator[None]:
    before = set(ModelRegistry.all_entries())
    yield
    for key, model in ModelRegistry.all_entries().items():
        if key not in before:
            ModelRegistry.unregister(model)


def test_constructor_applies_defaults_and_to_python() -> None:
    user = MUser(id=uuid.UUID(UID), username="al")
    assert user.id == UID  # uuid.UUID converted to str by UUIDField.to_python
    assert user.username == "al"
    assert user.is_active is True
    assert user.tags == []
    assert MUser(id=UID, username="b").tags is not user.tags  # callable default per instance
    post = MPost(id=1, created="2024-01-02T03:04:05+00:00", mood="sad")
    assert post.created == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert post.mood is Mood.SAD
    assert post.price is None
    assert "labels" not in post.__dict__


def test_new_instance_state() -> None:
    user = MUser(id=UID, username="al")
    assert user._persisted is False
    assert user._deferred == frozenset()
    assert "_extra_data" not in user.__dict__
    assert "_dynamic_data" not in user.__dict__
    assert user._extra_data == {}  # created on first access


def test_unknown_kwargs_go_to_extra_data() -> None:
    user = MUser(id=UID, username="al", nickname="x", score=3)
    assert user._extra_data == {"nickname": "x", "score": 3}
    assert "nickname" not in user.to_dict()


def test_constructor_validation_error_is_the_models_subclass() -> None:
    with pytest.raises(MUser.ValidationError) as info:
        MUser(id="not-a-uuid", username="al")
    assert isinstance(info.value, ValidationError)
    assert info.value.field == "id"
    assert info.value.model == "MUser"


def test_abstract_model_cannot_be_instantiated() -> None:
    class AbstractThing(Model):
        _abstract = True
        name = CharField()

    with pytest.raises(StateError, match="AbstractThing is abstract"):
        AbstractThing(name="x")


def test_from_row_fast_path_skips_init_and_converts_only_where_needed() -> None:
    calls: list[str] = []

    class Tracked(Model):
        id = IntegerField(primary_key=True)
        mood = EnumField(enum_class=Mood)
        name = CharField()
        _database = DB

        def __init__(self, **kwargs: Any) -> None:
            calls.append("init")
            super().__init__(**kwargs)

    obj = Tracked._from_row({"id": 7, "mood": "happy", "name": "n"})
    assert calls == []
    assert obj._persisted is True
    assert (obj.id, obj.mood, obj.name) == (7, Mood.HAPPY, "n")
    null_mood = Tracked._from_row({"id": 8, "mood": None, "name": None})
    assert null_mood.mood is None


def test_hydrate_many_matches_from_row() -> None:
    from matrx_orm_core.models._persistence import hydrate_many

    rows = [
        {"id": 1, "author_id": None, "mood": "sad", "price": None, "created": None, "data": 1},
        {"id": 2, "author_id": None, "mood": None, "price": None, "created": None, "data": None},
    ]
    many = hydrate_many(MPost, rows)
    assert [(p.id, p.mood, p._persisted) for p in many] == [(1, Mood.SAD, True), (2, None, True)]
    assert [p.__dict__ for p in many] == [MPost._from_row(r).__dict__ for r in rows]


def test_to_dict_serialises_values_and_includes_none() -> None:
    class Nested:
        def to_dict(self) -> dict[str, Any]:
            return {"n": 1}

    post = MPost(
        id=1,
        author_id=UID,
        mood=Mood.HAPPY,
        price=Decimal("1.50"),
        created=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
    )
    post.__dict__["data"] = {"u": uuid.UUID(UID), "when": dt.date(2024, 1, 3), "x": [Nested()]}
    assert post.to_dict() == {
        "id": 1,
        "author_id": UID,
        "mood": "happy",
        "price": "1.50",
        "created": "2024-01-02T00:00:00+00:00",
        "data": {"u": UID, "when": "2024-01-03", "x": [{"n": 1}]},
    }


def test_to_dict_adds_runtime_and_dto_only_when_populated() -> None:
    class Dto:
        def to_dict(self) -> dict[str, Any]:
            return {"label": "L"}

    user = MUser(id=UID, username="al")
    assert "runtime" not in user.to_dict()
    assert isinstance(user.runtime, RuntimeContainer)
    assert "runtime" not in user.to_dict()  # created but empty
    user.runtime.set("score", Decimal("2"))
    user.dto = Dto()
    data = user.to_dict()
    assert data["runtime"] == {"score": "2"}
    assert data["dto"] == {"label": "L"}
    flat = user.to_flat_dict()
    assert flat["score"] == Decimal("2")
    assert flat["label"] == "L"
    assert flat["is_active"] is True


def test_cache_key_repr_and_table_name() -> None:
    user = MUser(id=UID, username="al")
    assert user.get_cache_key() == UID
    assert repr(user) == f"<MUser id='{UID}'>"
    assert "al" not in repr(user)
    assert user.table_name == "m_user"
    assert MUser.get_field("username") is MUser.username
    assert MUser.get_field("nope") is None
    assert MUser.get_database_name() == DB


def test_equality_and_hash_follow_class_and_primary_key() -> None:
    a = MUser(id=UID, username="a")
    b = MUser(id=UID, username="b")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != MUser(id="00000000-0000-0000-0000-00000000000b", username="a")
    assert MPost(id=1) != MUser(id=UID)
    assert a != "x"


def test_instances_without_primary_key_compare_by_identity_and_are_unhashable() -> None:
    a = MPost()
    b = MPost()
    assert a == a
    assert a != b
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)


def test_get_related_defaults_and_set_related() -> None:
    post = MPost(id=1)
    assert post.get_related("author_id") is None
    assert post.get_related("author") is None  # FK name without _id
    assert post.get_related("comments") == []
    assert post.get_related("labels") == []
    assert post.has_related("comments") is False
    user = MUser(id=UID, username="al")
    post.set_related("author_id", user)
    assert post.get_related("author") is user
    assert post.has_related("author_id") is True
    post.set_related("comments", ["c1"], is_inverse=True)
    post.set_related("labels", ["l1"], is_m2m=True)
    assert post.get_related("comments") == ["c1"]
    assert post.get_related("labels") == ["l1"]
    assert post._dynamic_data == {"author_id": user, "comments": ["c1"], "labels": ["l1"]}


def test_unknown_relation_names_raise() -> None:
    post = MPost(id=1)
    with pytest.raises(AttributeError, match="No related field for 'nope' on MPost"):
        post.get_related("nope")
    with pytest.raises(RelationshipError):
        post.set_related("nope", 1)
    with pytest.raises(RelationshipError, match="not a many-to-many relation"):
        post.set_related("comments", [], is_m2m=True)
    with pytest.raises(RelationshipError, match="not a inverse foreign key relation"):
        post.set_related("labels", [], is_inverse=True)


async def test_relation_io_without_loader_names_the_package() -> None:
    post = MPost(id=1)
    previous = hooks.set_relation_loader(None)  # as on a core-only install
    try:
        with pytest.raises(ConfigurationError, match="pip install matrx-orm-relations"):
            await post.fetch_fk("author_id")
        with pytest.raises(ConfigurationError, match="pip install matrx-orm-relations"):
            await post.add_m2m("labels", 1, 2)
    finally:
        hooks.set_relation_loader(previous)


class _RecordingLoader:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def _rec(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((*args, kwargs) if kwargs else args)

    async def fetch_fk(self, instance: Any, name: str) -> Any:
        self._rec("fetch_fk", instance, name)
        return "fk"

    async def fetch_fks(self, instance: Any) -> dict[str, Any]:
        self._rec("fetch_fks", instance)
        return {}

    async def fetch_ifk(self, instance: Any, name: str) -> list[Any]:
        self._rec("fetch_ifk", instance, name)
        return []

    async def fetch_ifks(self, instance: Any) -> dict[str, list[Any]]:
        self._rec("fetch_ifks", instance)
        return {}

    async def fetch_m2m(self, instance: Any, name: str) -> list[Any]:
        self._rec("fetch_m2m", instance, name)
        return []

    async def fetch_m2ms(self, instance: Any) -> dict[str, list[Any]]:
        self._rec("fetch_m2ms", instance)
        return {}

    async def add_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        self._rec("add_m2m", instance, name, *ids)
        return len(ids)

    async def remove_m2m(self, instance: Any, name: str, *ids: Any) -> int:
        self._rec("remove_m2m", instance, name, *ids)
        return 1

    async def set_m2m(self, instance: Any, name: str, ids: Any) -> None:
        self._rec("set_m2m", instance, name, ids)

    async def clear_m2m(self, instance: Any, name: str) -> int:
        self._rec("clear_m2m", instance, name)
        return 3

    async def fetch_all_related(self, instance: Any) -> dict[str, dict[str, Any]]:
        self._rec("fetch_all_related", instance)
        return {"foreign_keys": {}, "inverse_foreign_keys": {}, "many_to_many": {}}

    async def fetch_one_relation(self, instance: Any, name: str) -> Any:
        self._rec("fetch_one_relation", instance, name)
        return None

    async def filter_fk(self, instance: Any, name: str, **filters: Any) -> list[Any]:
        self._rec("filter_fk", instance, name, **filters)
        return []

    async def filter_ifk(self, instance: Any, name: str, **filters: Any) -> list[Any]:
        self._rec("filter_ifk", instance, name, **filters)
        return []

    async def filter_one_relation(self, instance: Any, name: str, **filters: Any) -> list[Any]:
        self._rec("filter_one_relation", instance, name, **filters)
        return []

    async def prefetch_related(self, instances: Any, paths: Any) -> None:
        self._rec("prefetch_related", list(instances), tuple(paths))


async def test_relation_io_delegates_to_the_installed_loader() -> None:
    loader = _RecordingLoader()
    previous = hooks.set_relation_loader(loader)
    try:
        post = MPost(id=1)
        assert await post.fetch_fk("author_id") == "fk"
        await post.fetch_fks()
        await post.fetch_ifk("comments")
        await post.fetch_ifks()
        await post.fetch_m2m("labels")
        await post.fetch_m2ms()
        assert await post.add_m2m("labels", 1, 2) == 2
        assert await post.remove_m2m("labels", 1) == 1
        await post.set_m2m("labels", [5])
        assert await post.clear_m2m("labels") == 3
        assert await post.fetch_all_related() == {
            "foreign_keys": {},
            "inverse_foreign_keys": {},
            "many_to_many": {},
        }
        await post.fetch_one_relation("comments")
        await post.filter_fk("author_id", a=1)
        await post.filter_ifk("comments", b=2)
        await post.filter_one_relation("labels", c=3)
    finally:
        hooks.set_relation_loader(previous)
    assert loader.calls == [
        ("fetch_fk", post, "author_id"),
        ("fetch_fks", post),
        ("fetch_ifk", post, "comments"),
        ("fetch_ifks", post),
        ("fetch_m2m", post, "labels"),
        ("fetch_m2ms", post),
        ("add_m2m", post, "labels", 1, 2),
        ("remove_m2m", post, "labels", 1),
        ("set_m2m", post, "labels", [5]),
        ("clear_m2m", post, "labels"),
        ("fetch_all_related", post),
        ("fetch_one_relation", post, "comments"),
        ("filter_fk", post, "author_id", {"a": 1}),
        ("filter_ifk", post, "comments", {"b": 2}),
        ("filter_one_relation", post, "labels", {"c": 3}),
    ]


async def test_sync_twins_refuse_inside_a_running_loop() -> None:
    with pytest.raises(SyncContextError, match=r"get_sync\(\) called in an async context"):
        MUser.get_sync(id=UID)
    with pytest.raises(SyncContextError, match=r"save_sync\(\)"):
        MUser(id=UID, username="a").save_sync()
