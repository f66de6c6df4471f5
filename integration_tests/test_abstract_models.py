"""The spec README "Abstract Base Models" example on a real server: two concrete models share
the abstract base's fields, each in its own table, and the base has none."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from matrx_orm import CharField, ConfigurationError, Model, UUIDField
from matrx_orm.migrations import MigrationDB

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class AuditedModel(Model):
    _database = DB

    class Meta:
        abstract = True

    created_by = CharField(max_length=100)
    updated_by = CharField(max_length=100, nullable=True)


class AbsArticle(AuditedModel):
    _database = DB
    _table_name = "adv_abs_article"
    id = UUIDField(primary_key=True, default=uuid4)
    title = CharField(max_length=255)


class AbsComment(AuditedModel):
    _database = DB
    _table_name = "adv_abs_comment"
    id = UUIDField(primary_key=True, default=uuid4)
    body = CharField(max_length=2000)


SCHEMA = """
CREATE TABLE "adv_abs_article" (
    "created_by" varchar(100) NOT NULL,
    "updated_by" varchar(100),
    "id" uuid PRIMARY KEY,
    "title" varchar(255) NOT NULL
);
CREATE TABLE "adv_abs_comment" (
    "created_by" varchar(100) NOT NULL,
    "updated_by" varchar(100),
    "id" uuid PRIMARY KEY,
    "body" varchar(2000) NOT NULL
);
"""
DROP = 'DROP TABLE IF EXISTS "adv_abs_article", "adv_abs_comment"'


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(DROP)
    await db.execute(SCHEMA)
    try:
        yield db
    finally:
        await db.execute(DROP)


async def test_readme_abstract_base_example(tables: MigrationDB) -> None:
    article = AbsArticle(id=str(uuid4()), title="Hello", created_by="alice")
    assert article.created_by == "alice"
    assert "_meta" not in vars(AuditedModel)
    assert list(AbsArticle._meta.fields) == ["created_by", "updated_by", "id", "title"]
    assert list(AbsComment._meta.fields) == ["created_by", "updated_by", "id", "body"]

    await article.save()
    comment = await AbsComment.create(body="Nice", created_by="bob", updated_by="carol")
    loaded = await AbsArticle.get(id=article.id)
    assert (loaded.title, loaded.created_by, loaded.updated_by) == ("Hello", "alice", None)
    await loaded.update(updated_by="dave")
    again = await AbsComment.get(id=comment.id)
    assert (again.body, again.created_by, again.updated_by) == ("Nice", "bob", "carol")
    assert await AbsArticle.filter(updated_by="dave").count() == 1
    assert await AbsComment.filter(created_by="alice").count() == 0


def test_the_abstract_base_has_no_table_to_query() -> None:
    with pytest.raises(ConfigurationError, match="not a concrete model"):
        AuditedModel.filter(created_by="alice")
