"""The spec README's Relationships, Many-to-Many and Cross-Schema examples on a real server, and
the relation loader's return values, errors, resilience and atomicity (API.md §4.2, §4.3)."""

from __future__ import annotations

import logging
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import pytest

import matrx_orm_relations
from matrx_orm import (
    CharField,
    DoesNotExist,
    FieldError,
    ForeignKey,
    IntegrityError,
    ManyToManyField,
    Model,
    TextField,
    UUIDField,
    transaction,
)
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import hooks
from matrx_orm_core.config import DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.testing import (
    DatabaseServer,
    assert_num_queries,
    count_queries,
    create_database,
    drop_database,
)
from matrx_orm_relations import ensure_m2m_tables

pytestmark = pytest.mark.level2

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")
OTHER = "rl_other_db"


class RlUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100)

    _inverse_foreign_keys: ClassVar[dict[str, Any]] = {
        "posts": {"from_model": "RlPost", "from_field": "author_id", "referenced_field": "id"}
    }
    _table_name = "rl_user"
    _database = DB


class RlAccount(Model):
    id = UUIDField(primary_key=True)
    email = CharField(max_length=255)

    _table_name = "rl_account"
    _db_schema = "rl_auth"
    _database = DB


class RlHidden(Model):
    id = UUIDField(primary_key=True)

    _table_name = "rl_hidden"
    _db_schema = "rl_auth"
    _unfetchable = True
    _database = DB


class RlTag(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=50)

    _table_name = "rl_tag"
    _database = DB


class RlPost(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    author_id = ForeignKey("RlUser", "id")
    account_id = ForeignKey(to_model=RlAccount, to_column="id", to_schema="rl_auth", null=True)
    hidden_id = ForeignKey("RlHidden", null=True)
    tags = ManyToManyField("RlTag")

    _inverse_foreign_keys: ClassVar[dict[str, Any]] = {
        "comments": {"from_model": "RlComment", "from_field": "post_id", "referenced_field": "id"}
    }
    _table_name = "rl_post"
    _database = DB


class RlComment(Model):
    id = UUIDField(primary_key=True)
    post_id = ForeignKey("RlPost")
    body = TextField()

    _table_name = "rl_comment"
    _database = DB


class RlArticle(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)

    _many_to_many: ClassVar[dict[str, Any]] = {
        "labels": {
            "junction_table": "rl_article_label",
            "source_column": "article_id",
            "target_column": "label_id",
            "target_model": "RlTag",
        }
    }
    _table_name = "rl_article"
    _database = DB


class RlRecipe(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=200)
    ingredients = ManyToManyField("RlIngredient", db_table="rl_recipe_ingredients")

    _table_name = "rl_recipe"
    _database = DB


class RlIngredient(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=200)

    _table_name = "rl_ingredient"
    _database = DB


class RlQuiteLongSourceModelNameForJunctionShortening(Model):
    id = UUIDField(primary_key=True)
    targets = ManyToManyField("RlAnotherRatherLongTargetModelNameForShortening")

    _table_name = "rl_long_source"
    _database = DB


class RlAnotherRatherLongTargetModelNameForShortening(Model):
    id = UUIDField(primary_key=True)

    _table_name = "rl_long_target"
    _database = DB


class RlRemoteUser(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=100)

    _table_name = "rl_remote_user"
    _database = OTHER


class RlOrder(Model):
    id = UUIDField(primary_key=True)
    remote_user_id = ForeignKey(to_model=RlRemoteUser, to_column="id", to_db=OTHER)

    _table_name = "rl_order"
    _database = DB


TABLES = [
    "rl_comment",
    "rlpost_rltag",
    "rl_article_label",
    "rl_recipe_ingredients",
    "rl_post",
    "rl_article",
    "rl_tag",
    "rl_user",
    "rl_recipe",
    "rl_ingredient",
    "rl_order",
]
DROP = (
    "".join(f'DROP TABLE IF EXISTS "{name}" CASCADE; ' for name in TABLES)
    + "DROP TABLE IF EXISTS rl_long_source, rl_long_target CASCADE; "
    + "DROP SCHEMA IF EXISTS rl_auth CASCADE;"
)
SCHEMA = """
CREATE SCHEMA rl_auth;
CREATE TABLE rl_auth.rl_account (id uuid PRIMARY KEY, email varchar(255) NOT NULL);
CREATE TABLE rl_auth.rl_hidden (id uuid PRIMARY KEY);
CREATE TABLE rl_user (id uuid PRIMARY KEY, username varchar(100) NOT NULL);
CREATE TABLE rl_tag (id uuid PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE rl_post (
    id uuid PRIMARY KEY,
    title varchar(200) NOT NULL,
    author_id uuid NOT NULL REFERENCES rl_user (id),
    account_id uuid,
    hidden_id uuid
);
CREATE TABLE rl_comment (
    id uuid PRIMARY KEY, post_id uuid NOT NULL REFERENCES rl_post (id), body text NOT NULL
);
CREATE TABLE rl_article (id uuid PRIMARY KEY, title varchar(200) NOT NULL);
CREATE TABLE rl_article_label (
    article_id uuid NOT NULL REFERENCES rl_article (id),
    label_id uuid NOT NULL REFERENCES rl_tag (id),
    PRIMARY KEY (article_id, label_id)
);
CREATE TABLE rl_recipe (id uuid PRIMARY KEY, name varchar(200) NOT NULL);
CREATE TABLE rl_ingredient (id uuid PRIMARY KEY, name varchar(200) NOT NULL);
CREATE TABLE rl_long_source (id uuid PRIMARY KEY);
CREATE TABLE rl_long_target (id uuid PRIMARY KEY);
CREATE TABLE rl_order (id uuid PRIMARY KEY, remote_user_id uuid NOT NULL);
"""


@pytest.fixture
def no_cache() -> Iterator[None]:
    """Count every query: the state cache (when installed) would answer some FK reads."""
    previous = hooks.set_model_cache(None)
    try:
        yield
    finally:
        hooks.set_model_cache(previous)


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def other_database(matrx_test_server: DatabaseServer) -> Iterator[str]:
    name = create_database(matrx_test_server)
    try:
        yield name
    finally:
        drop_database(matrx_test_server, name)


@pytest.fixture
async def db(
    matrx_test_database: Any, matrx_test_server: DatabaseServer, other_database: str
) -> AsyncIterator[MigrationDB]:
    if OTHER in DatabaseRegistry.get_all_database_project_names():
        DatabaseRegistry.unregister(OTHER)
    register_database(matrx_test_server.config(OTHER, database=other_database))
    migrations = MigrationDB(DB)
    other = MigrationDB(OTHER)
    await migrations.execute(DROP)
    await migrations.execute(SCHEMA)
    await other.execute(
        "DROP TABLE IF EXISTS rl_remote_user; "
        "CREATE TABLE rl_remote_user (id uuid PRIMARY KEY, name varchar(100) NOT NULL);"
    )
    await ensure_m2m_tables(
        RlPost, RlRecipe, RlArticle, RlQuiteLongSourceModelNameForJunctionShortening
    )
    try:
        yield migrations
    finally:
        await migrations.execute(DROP)
        await other.execute("DROP TABLE IF EXISTS rl_remote_user")
        await AsyncDatabaseManager.close_pools_for_loop()
        DatabaseRegistry.unregister(OTHER)


async def _blog() -> tuple[RlUser, RlPost, list[RlTag]]:
    user = await RlUser.create(id=_id(), username="ada")
    post = await RlPost.create(id=_id(), title="Hello", author_id=user.id)
    tags = [await RlTag.create(id=_id(), name=name) for name in ("python", "sql", "orm", "async")]
    return user, post, tags


def _names(items: list[Any]) -> list[str]:
    return sorted(item.name for item in items)


# -- foreign keys ------------------------------------------------------------------------------


async def test_fetch_fk_readme(db: MigrationDB) -> None:
    user, post, _ = await _blog()
    post = await RlPost.get(id=post.id)
    author = await post.fetch_fk("author_id")
    assert isinstance(author, RlUser)
    assert author.id == user.id
    assert author.username == "ada"
    assert post.get_related("author_id") is author
    assert post.get_related("author") is author
    fk_results = await post.fetch_fks()
    assert set(fk_results) == {"author_id", "account_id", "hidden_id"}
    assert fk_results["author_id"] == user
    assert fk_results["account_id"] is None
    assert fk_results["hidden_id"] is None


async def test_fetch_fk_errors(db: MigrationDB) -> None:
    _, post, _ = await _blog()
    with pytest.raises(FieldError) as info:
        await post.fetch_fk("nope")
    assert isinstance(info.value, ValueError)
    assert info.value.message == (
        "No foreign key found for field 'nope' on RlPost. Foreign keys: author_id, account_id, "
        "hidden_id."
    )
    post.account_id = _id()  # names no row
    with pytest.raises(DoesNotExist):
        await post.fetch_fk("account_id")
    assert post.get_related("account_id") is None


async def test_fetch_fks_carries_on_and_logs(
    db: MigrationDB, caplog: pytest.LogCaptureFixture
) -> None:
    user, post, _ = await _blog()
    post.account_id = _id()  # a dangling FK: that relation fails, the others load
    post.hidden_id = _id()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fetch_fks logs; it does not warn
        with caplog.at_level(logging.WARNING, logger="matrx_orm_relations"):
            results = await post.fetch_fks()
    assert results == {"author_id": user, "account_id": None, "hidden_id": None}
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    prefix = "RlPost.fetch_fks: account_id failed: DoesNotExist: "
    assert any(m.startswith(prefix) for m in messages), messages
    assert all("\n" not in m for m in messages)  # one line each
    assert "RlPost.hidden_id: skipped, RlHidden is marked _unfetchable" in messages


async def test_unfetchable_fk_returns_none_with_one_warning(db: MigrationDB) -> None:
    _, post, _ = await _blog()
    post.hidden_id = _id()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with assert_num_queries(0):
            result = await post.fetch_fk("hidden_id")
    assert result is None
    assert len(caught) == 1
    assert caught[0].category is UserWarning
    text = str(caught[0].message)
    assert text.startswith("fetch_fk('hidden_id') skipped: RlHidden is marked _unfetchable = True")
    assert "_db_schema" in text
    assert "to_db" in text
    assert caught[0].filename == __file__


async def test_cross_schema_fk_uses_the_target_schema(db: MigrationDB, no_cache: None) -> None:
    user = await RlUser.create(id=_id(), username="ada")
    account = await RlAccount.create(id=_id(), email="ada@example.com")
    post = await RlPost.create(id=_id(), title="x", author_id=user.id, account_id=account.id)
    async with count_queries() as counted:
        fetched = await post.fetch_fk("account_id")
    assert isinstance(fetched, RlAccount)
    assert fetched.email == "ada@example.com"
    assert counted.count == 1
    assert '"rl_auth"."rl_account"' in counted.statements[0][1]


async def test_cross_database_fk_goes_to_the_other_pool(db: MigrationDB, no_cache: None) -> None:
    remote = await RlRemoteUser.create(id=_id(), name="remote")
    order = await RlOrder.create(id=_id(), remote_user_id=remote.id)
    async with count_queries() as counted:
        fetched = await order.fetch_fk("remote_user_id")
    assert isinstance(fetched, RlRemoteUser)
    assert fetched.name == "remote"
    assert [database for database, _ in counted.statements] == [OTHER]
    orders = await RlOrder.filter(id=order.id).prefetch_related("remote_user").all()
    assert orders[0].get_related("remote_user_id") == remote


# -- inverse foreign keys ------------------------------------------------------------------------


async def test_fetch_ifk_readme(db: MigrationDB) -> None:
    user, post, _ = await _blog()
    second = await RlPost.create(id=_id(), title="Second", author_id=user.id)
    user = await RlUser.get(id=user.id)
    posts = await user.fetch_ifk("posts")
    assert sorted(p.id for p in posts) == sorted([post.id, second.id])
    assert user.get_related("posts") == posts
    ifk_results = await user.fetch_ifks()
    assert list(ifk_results) == ["posts"]
    assert len(ifk_results["posts"]) == 2
    with pytest.raises(FieldError, match="No inverse foreign key found for name 'nope' on RlUser"):
        await user.fetch_ifk("nope")
    unsaved = RlUser(username="x")
    unsaved.id = None
    async with assert_num_queries(0):
        assert await unsaved.fetch_ifk("posts") == []


# -- many-to-many ------------------------------------------------------------------------------


async def test_m2m_operations_readme(db: MigrationDB) -> None:
    _, post, (tag1, tag2, tag3, tag4) = await _blog()
    post = await RlPost.get(id=post.id)
    assert await post.fetch_m2m("tags") == []
    assert await post.add_m2m("tags", tag1.id, tag2.id, tag3.id) == 3
    assert await post.add_m2m("tags", tag1.id, tag4) == 1  # idempotent; instances accepted
    assert _names(await post.fetch_m2m("tags")) == ["async", "orm", "python", "sql"]
    assert await post.remove_m2m("tags", tag3.id) == 1
    assert await post.remove_m2m("tags", tag3.id) == 0
    await post.set_m2m("tags", [tag1.id, tag2.id, tag4.id])
    tags = await post.fetch_m2m("tags")
    assert _names(tags) == ["async", "python", "sql"]
    assert post.get_related("tags") == tags
    m2m_results = await post.fetch_m2ms()
    assert list(m2m_results) == ["tags"]
    assert _names(m2m_results["tags"]) == _names(tags)
    assert await post.clear_m2m("tags") == 3
    assert await post.fetch_m2m("tags") == []


async def test_m2m_errors(db: MigrationDB) -> None:
    _, post, (tag1, *_) = await _blog()
    with pytest.raises(FieldError) as info:
        await post.add_m2m("nope", tag1.id)
    assert info.value.message.startswith("No M2M relationship 'nope' on RlPost.")
    with pytest.raises(ValueError, match=r"a target id is not a valid RlTag\.id"):
        async with assert_num_queries(0):
            await post.add_m2m("tags", "not-a-uuid")
    with pytest.raises(ValueError, match="pass a list of RlTag keys"):
        await post.set_m2m("tags", tag1.id)
    unsaved = RlPost(title="x", author_id=post.author_id)
    unsaved.id = None
    with pytest.raises(Exception, match="save the instance first"):
        await unsaved.add_m2m("tags", tag1.id)


async def test_set_m2m_is_atomic(db: MigrationDB) -> None:
    _, post, (tag1, tag2, tag3, _) = await _blog()
    await post.set_m2m("tags", [tag1.id, tag2.id])
    with pytest.raises(IntegrityError):
        await post.set_m2m("tags", [tag3.id, _id()])  # the second id names no tag
    assert _names(await post.fetch_m2m("tags")) == ["python", "sql"]
    async with transaction(DB):  # inside a transaction it is a savepoint
        with pytest.raises(IntegrityError):
            await post.set_m2m("tags", [_id()])
        await post.add_m2m("tags", tag3.id)
    assert _names(await post.fetch_m2m("tags")) == ["orm", "python", "sql"]


async def test_config_based_m2m(db: MigrationDB) -> None:
    tags = [await RlTag.create(id=_id(), name=name) for name in ("a", "b")]
    article = await RlArticle.create(id=_id(), title="t")
    assert await article.add_m2m("labels", *(t.id for t in tags)) == 2
    assert _names(await article.fetch_m2m("labels")) == ["a", "b"]
    rows = await db.fetch("SELECT count(*) AS n FROM rl_article_label")
    assert rows[0]["n"] == 2


async def test_declarative_m2m_with_db_table(db: MigrationDB) -> None:
    recipe = await RlRecipe.create(id=_id(), name="bread")
    flour = await RlIngredient.create(id=_id(), name="flour")
    assert RlRecipe._meta.many_to_many_keys["ingredients"].junction_table == "rl_recipe_ingredients"
    assert await recipe.add_m2m("ingredients", flour.id) == 1
    assert await recipe.fetch_m2m("ingredients") == [flour]
    assert RlPost._meta.many_to_many_keys["tags"].junction_table == "rlpost_rltag"


async def test_long_junction_names_are_shortened_end_to_end(db: MigrationDB) -> None:
    ref = RlQuiteLongSourceModelNameForJunctionShortening._meta.many_to_many_keys["targets"]
    full = (
        "rlanotherratherlongtargetmodelnameforshortening_"
        "rlquitelongsourcemodelnameforjunctionshortening"
    )
    assert len(full) > 63
    assert len(ref.junction_table.encode()) == 63
    assert ref.junction_table.startswith(full[:54] + "_")
    rows = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE tablename = $1", ref.junction_table
    )
    assert len(rows) == 1
    source = await RlQuiteLongSourceModelNameForJunctionShortening.create(id=_id())
    target = await RlAnotherRatherLongTargetModelNameForShortening.create(id=_id())
    assert await source.add_m2m("targets", target.id) == 1
    assert await source.fetch_m2m("targets") == [target]
    assert await ensure_m2m_tables(RlQuiteLongSourceModelNameForJunctionShortening) == [
        ref.junction_table
    ]


# -- everything at once --------------------------------------------------------------------------


async def test_fetch_all_related_always_has_three_keys(db: MigrationDB) -> None:
    user, post, (tag1, tag2, *_) = await _blog()
    await post.add_m2m("tags", tag1.id, tag2.id)
    all_related = await post.fetch_all_related()
    assert list(all_related) == ["foreign_keys", "inverse_foreign_keys", "many_to_many"]
    assert all_related["foreign_keys"]["author_id"] == user
    assert all_related["inverse_foreign_keys"] == {"comments": []}
    assert _names(all_related["many_to_many"]["tags"]) == ["python", "sql"]
    tag = await RlTag.get(id=tag1.id)
    assert await tag.fetch_all_related() == {
        "foreign_keys": {},
        "inverse_foreign_keys": {},
        "many_to_many": {},
    }


async def test_multi_query_helpers_run_serially_inside_a_transaction(
    db: MigrationDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, post, (tag1, *_) = await _blog()
    await post.add_m2m("tags", tag1.id)

    def no_gather(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("gather used inside a transaction")

    monkeypatch.setattr(matrx_orm_relations._common.asyncio, "gather", no_gather)
    async with transaction(DB):
        related = await post.fetch_all_related()
    assert related["foreign_keys"]["author_id"] == user
    assert related["many_to_many"]["tags"] == [tag1]


async def test_one_relation_and_filters(db: MigrationDB) -> None:
    user, post, (tag1, tag2, *_) = await _blog()
    await post.add_m2m("tags", tag1.id, tag2.id)
    comment = await RlComment.create(id=_id(), post_id=post.id, body="first")
    await RlComment.create(id=_id(), post_id=post.id, body="second")
    assert await post.fetch_one_relation("author") == user
    assert len(await post.fetch_one_relation("comments")) == 2
    assert _names(await post.fetch_one_relation("tags")) == ["python", "sql"]
    with pytest.raises(FieldError, match="Relations: author_id, account_id, hidden_id"):
        await post.fetch_one_relation("nope")
    assert await post.filter_fk("author_id", username="ada") == [user]
    assert await post.filter_fk("author_id", username="bob") == []
    assert await post.filter_ifk("comments", body="first") == [comment]
    assert await post.filter_one_relation("tags", name="sql") == [tag2]
    assert await post.filter_one_relation("comments", body="second") != []
    with pytest.raises(FieldError, match="already set by the relation"):
        await post.filter_ifk("comments", post_id=post.id)
