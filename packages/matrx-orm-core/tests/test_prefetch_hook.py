"""QuerySet.prefetch_related in core: path validation, immutability, the hand-off to the relation
hook, and the ConfigurationError a core-only install gets (no AttributeError)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pytest

from matrx_orm_core import (
    CharField,
    ConfigurationError,
    FieldError,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    Model,
    hooks,
)
from matrx_orm_core.hooks import MissingRelationLoader, RelationLoader
from matrx_orm_core.query import resolve_relation, resolve_relation_path
from matrx_orm_core.testing import Recorder

pytestmark = pytest.mark.level1

MISSING = (
    "prefetch_related() needs the relations package, which is not installed or not imported. "
    "Install it with: pip install matrx-orm-relations (or pip install matrx-orm), then import "
    "matrx_orm (or matrx_orm_relations) before calling it."
)


class PhAuthor(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=20)
    _inverse_foreign_keys: ClassVar[dict[str, Any]] = {
        "posts": {"from_model": "PhPost", "from_field": "author_id", "referenced_field": "id"}
    }
    _table_name = "ph_author"
    _database = "recorded"


class PhTag(Model):
    id = IntegerField(primary_key=True)
    _table_name = "ph_tag"
    _database = "recorded"


class PhPost(Model):
    id = IntegerField(primary_key=True)
    author_id = ForeignKey("PhAuthor")
    tags = ManyToManyField("PhTag")
    _table_name = "ph_post"
    _database = "recorded"


class RecordingLoader:
    """Every protocol method of the default, except prefetch_related, which records its call."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], tuple[str, ...]]] = []

    async def prefetch_related(self, instances: Sequence[Any], paths: Sequence[str]) -> None:
        self.calls.append((list(instances), tuple(paths)))


for _name in dir(RelationLoader):
    if not _name.startswith("_") and _name != "prefetch_related":
        setattr(RecordingLoader, _name, getattr(MissingRelationLoader, _name))


@pytest.fixture
def missing_loader() -> Iterator[None]:
    previous = hooks.set_relation_loader(None)
    try:
        yield
    finally:
        hooks.set_relation_loader(previous)


@pytest.fixture
def loader() -> Iterator[RecordingLoader]:
    fake = RecordingLoader()
    previous = hooks.set_relation_loader(fake)  # type: ignore[arg-type]
    try:
        yield fake
    finally:
        hooks.set_relation_loader(previous)


def test_core_only_install_names_the_package(missing_loader: None, recording_db: Recorder) -> None:
    with pytest.raises(ConfigurationError) as info:
        PhPost.filter().prefetch_related("author_id")
    assert info.value.message == MISSING
    assert recording_db.statements == []


async def test_missing_loader_prefetch_related_raises(missing_loader: None) -> None:
    with pytest.raises(ConfigurationError) as info:
        await hooks.get_relation_loader().prefetch_related([PhPost(id=1)], ["tags"])
    assert info.value.message == MISSING
    assert info.value.model == "PhPost"


def test_resolve_relation_kinds() -> None:
    fk = resolve_relation(PhPost, "author")
    assert (fk.kind, fk.name, fk.model, fk.target) == ("fk", "author_id", PhPost, PhAuthor)
    assert resolve_relation(PhPost, "author_id").name == "author_id"
    m2m = resolve_relation(PhPost, "tags")
    assert (m2m.kind, m2m.target) == ("m2m", PhTag)
    ifk = resolve_relation(PhAuthor, "posts")
    assert (ifk.kind, ifk.target) == ("ifk", PhPost)
    steps = resolve_relation_path(PhAuthor, "posts__tags")
    assert [(s.kind, s.name) for s in steps] == [("ifk", "posts"), ("m2m", "tags")]


def test_bad_paths_fail_before_sql(loader: RecordingLoader, recording_db: Recorder) -> None:
    with pytest.raises(FieldError) as info:
        PhPost.filter().prefetch_related("title")
    assert info.value.message == (
        "PhPost.prefetch_related(): 'title' is not a relation of PhPost. Relations: author_id, "
        "tags."
    )
    assert isinstance(info.value, ValueError)
    with pytest.raises(FieldError, match="'nope' is not a relation of PhTag"):
        PhPost.filter().prefetch_related("tags__nope")
    for bad in ("", "tags__", "__tags", 3):
        with pytest.raises(FieldError, match="is not a relation path"):
            PhPost.filter().prefetch_related(bad)  # type: ignore[arg-type]
    assert recording_db.statements == []


async def test_terminals_hand_instances_to_the_hook(
    loader: RecordingLoader, recording_db: Recorder
) -> None:
    base = PhPost.filter(id__gt=0)
    query = base.prefetch_related("author", "tags").prefetch_related("tags")
    assert base._prefetch == ()
    assert query._prefetch == ("author", "tags")
    recording_db.add_result(rows=[{"id": 1, "author_id": 7}, {"id": 2, "author_id": 8}])
    posts = await query.all()
    assert loader.calls == [(posts, ("author", "tags"))]
    recording_db.add_result(rows=[{"id": 1, "author_id": 7}])
    first = await query.first()
    recording_db.add_result(rows=[{"id": 1, "author_id": 7}])
    got = await query.get()
    assert [call[0] for call in loader.calls[1:]] == [[first], [got]]
    recording_db.add_result(rows=[])
    assert await query.all() == []
    recording_db.add_result(rows=[{"id": 3, "author_id": 7}])
    await base.all()
    assert len(loader.calls) == 3  # nothing to load, or nothing asked for: no call


async def test_streaming_prefetches_each_chunk(
    loader: RecordingLoader, recording_db: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matrx_orm_core.query import _prefetch_methods, _results

    monkeypatch.setattr(_results, "CHUNK_SIZE", 2)
    monkeypatch.setattr(_prefetch_methods, "CHUNK_SIZE", 2)
    recording_db.add_result(rows=[{"id": 1, "author_id": 7}, {"id": 2, "author_id": 7}])
    recording_db.add_result(rows=[{"id": 3, "author_id": 8}])
    seen = [post.id async for post in PhPost.filter().prefetch_related("tags")]
    assert seen == [1, 2, 3]
    assert [([p.id for p in posts], paths) for posts, paths in loader.calls] == [
        ([1, 2], ("tags",)),
        ([3], ("tags",)),
    ]
    assert len(recording_db.statements) == 2
