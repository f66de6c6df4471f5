"""The quick-start demo: register a database, create its tables with a migration, run CRUD.

Run it from the repository root with ``nox -s demo`` (or ``python examples/quickstart``). It uses
``DATABASE_URL`` when that is set; otherwise it starts a throw-away embedded PostgreSQL server and
removes it again at the end.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from uuid import uuid4

from matrx_orm import (
    BooleanField,
    CharField,
    DatabaseProjectConfig,
    ForeignKey,
    Model,
    TextField,
    UUIDField,
    makemigrations,
    migrate,
    register_database,
    rollback,
)
from matrx_orm.migrations import MigrationDB

DATABASE = "quickstart"


class User(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=255)
    bio = TextField(null=True)
    is_active = BooleanField(default=True)

    _table_name = "user"
    _database = DATABASE


class Post(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    body = TextField(null=True)
    author_id = ForeignKey("User", "id")
    is_published = BooleanField(default=False)

    _table_name = "post"
    _database = DATABASE


def say(message: str) -> None:
    print(message, flush=True)


async def run_demo(folder: Path) -> None:
    # makemigrations compares the models with the database and writes the file that creates
    # what is missing; migrate applies it in a transaction and records it in _matrx_migrations.
    path = await makemigrations(DATABASE, folder, name="create_user_and_post")
    if path is None:
        raise SystemExit('tables "user" and "post" already exist; drop them and run again')
    say(f"wrote migration {path.name}")
    applied = await migrate(DATABASE, folder)
    say(f"applied migrations: {applied}")
    say('created tables "user" and "post"')

    try:
        await crud()
    finally:
        # rollback runs the file's down(): it drops both tables again.
        await rollback(DATABASE, folder)
        db = MigrationDB(DATABASE)
        if not await db.fetch_val("SELECT count(*) FROM _matrx_migrations"):
            await db.execute("DROP TABLE _matrx_migrations")
    say("dropped the demo tables")


async def crud() -> None:
    user = await User.create(id=str(uuid4()), username="alice", email="alice@example.com")
    say(f"created user {user.username!r} with id {user.id}")
    post = await Post.create(id=str(uuid4()), title="Hello World", author_id=user.id)
    say(f"created post {post.title!r} (published: {post.is_published})")

    alice = await User.get(username="alice")
    posts = await Post.filter(author_id=alice.id, is_published=True).all()
    say(f"read back {alice.username!r}; published posts so far: {len(posts)}")

    updated = await Post.filter(id=post.id).update(is_published=True)
    posts = await Post.filter(author_id=alice.id, is_published=True).all()
    say(f"published {updated} post(s); published posts now: {[p.title for p in posts]}")

    deleted = await Post.filter(id=post.id).delete()
    remaining = await Post.filter(author_id=alice.id).count()
    say(f"deleted {deleted} post(s); posts left for alice: {remaining}")


async def main_async() -> None:
    from matrx_orm_core.connections import AsyncDatabaseManager

    try:
        with tempfile.TemporaryDirectory() as folder:
            await run_demo(Path(folder))
    finally:
        await AsyncDatabaseManager.close_all_pools()


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if url:
        register_database(DatabaseProjectConfig.from_url(DATABASE, url))
        say("using the database named by DATABASE_URL")
        asyncio.run(main_async())
        return 0

    from matrx_orm_core.embedded import start_embedded_server

    say("DATABASE_URL is not set: starting an embedded PostgreSQL server")
    with start_embedded_server() as server:
        register_database(server.config(DATABASE))
        asyncio.run(main_async())
    say("stopped the embedded server; nothing is left running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
