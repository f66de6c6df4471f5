"""Typed use of matrx-orm models: `mypy --strict` checks attribute and method types here.

Fields are generic non-data descriptors, so ``user.username`` is a ``str`` for type checkers,
``User.username`` is the ``CharField`` itself, and model methods return the model's own type.
Nothing here touches a database at import: the coroutines only run when awaited.
"""

from __future__ import annotations

from uuid import uuid4

from matrx_orm_core import (
    BooleanField,
    CharField,
    ForeignKey,
    IntegerField,
    Model,
    QueryBuilder,
    TextField,
    UUIDField,
)
from matrx_orm_core.fields import Field


class User(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=255)
    bio = TextField(null=True)
    is_active = BooleanField(default=True)
    login_count = IntegerField(default=0)

    _table_name = "user"
    _database = "my_project"


class Post(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    body = TextField(null=True)
    author_id = ForeignKey("User", "id")
    is_published = BooleanField(default=False)

    _table_name = "post"
    _database = "my_project"


def describe(user: User) -> str:
    """Read field values into annotated variables."""
    name: str = user.username
    uid: str = user.id
    active: bool = user.is_active
    logins: int = user.login_count
    return f"{uid} {name} active={active} logins={logins}"


def class_access() -> Field[str]:
    """Class access returns the field object."""
    field: CharField = User.username
    return field


async def quick_start() -> int:
    """The spec's Quick Start flow, fully typed."""
    user: User = await User.create(id=str(uuid4()), username="alice", email="a@example.com")
    post: Post = await Post.create(id=str(uuid4()), title="Hello World", author_id=user.id)
    alice: User = await User.get(username="alice")
    maybe: User | None = await User.get_or_none(username="bob")
    query: QueryBuilder[Post] = Post.filter(author_id=alice.id, is_published=True)
    posts: list[Post] = await query.all()
    first: Post | None = await query.first()
    n: int = await Post.filter(id=post.id).update(is_published=True)
    total: int = await User.count()
    found: bool = await User.exists(username="alice")
    saved: User = await alice.update(email="alice@example.com")
    same: User = await saved.save()
    await Post.filter(id=post.id).delete()
    await same.delete()
    title: str = posts[0].title if posts else ""
    return n + total + int(found) + len(title) + (maybe is None) + (first is None)
