"""Lifecycle signals around real writes: the spec's examples, vetoes, and what fires nothing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from matrx_orm import BooleanField, CharField, Model, UUIDField
from matrx_orm.migrations import MigrationDB
from matrx_orm_core import signals
from matrx_orm_core.signals import (
    post_create,
    post_delete,
    post_save,
    pre_create,
    pre_delete,
    pre_save,
)

DB = os.environ.get("MATRX_TEST_DB_ALIAS", "matrx_test")


class SigUser(Model):
    id = UUIDField(primary_key=True, default="gen_random_uuid()")
    username = CharField(max_length=100)
    protected = BooleanField(default=False)

    _table_name = "sig_user"
    _database = DB


class AuditLog(Model):
    id = UUIDField(primary_key=True, default="gen_random_uuid()")
    action = CharField(max_length=20)
    entity_id = UUIDField()

    _table_name = "sig_audit_log"
    _database = DB


SCHEMA = """
CREATE TABLE "sig_user" (
    "id" uuid PRIMARY KEY,
    "username" varchar(100) NOT NULL,
    "protected" boolean NOT NULL DEFAULT false
);
CREATE TABLE "sig_audit_log" (
    "id" uuid PRIMARY KEY,
    "action" varchar(20) NOT NULL,
    "entity_id" uuid NOT NULL
);
"""

ALL = (pre_create, post_create, pre_save, post_save, pre_delete, post_delete)


@pytest.fixture
async def tables(matrx_test_database: Any) -> AsyncIterator[MigrationDB]:
    db = MigrationDB(DB)
    await db.execute(SCHEMA)
    try:
        yield db
    finally:
        await db.execute('DROP TABLE IF EXISTS "sig_user", "sig_audit_log"')


@pytest.fixture(autouse=True)
def clean_signals() -> Iterator[None]:
    saved = [list(signal.receivers) for signal in ALL]
    yield
    for signal, receivers in zip(ALL, saved, strict=True):
        signal.receivers[:] = receivers


async def test_readme_audit_on_save_sees_created(tables: MigrationDB) -> None:
    @post_save.connect
    async def audit_on_save(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
        if sender.__name__ == "SigUser":
            await AuditLog.create(action="created" if created else "updated", entity_id=instance.id)

    user = await SigUser.create(username="alice")
    user.username = "alice2"
    await user.save()
    await user.update(username="alice3")
    fresh = SigUser(username="bob")
    await fresh.save()
    logs = [(log.action, log.entity_id) for log in await AuditLog.all()]
    assert sorted(logs) == sorted(
        [
            ("created", user.id),
            ("updated", user.id),
            ("updated", user.id),
            ("created", fresh.id),
        ]
    )


async def test_readme_guard_delete_stops_the_delete(tables: MigrationDB) -> None:
    @pre_delete.connect
    async def guard_delete(sender: type, instance: Any, **kwargs: Any) -> None:
        if getattr(instance, "protected", False):
            raise ValueError(f"Cannot delete protected {sender.__name__} {instance.id}")

    keep = await SigUser.create(username="root", protected=True)
    drop = await SigUser.create(username="guest")
    with pytest.raises(ValueError, match="Cannot delete protected SigUser"):
        await keep.delete()
    assert keep._persisted is True
    await drop.delete()
    assert [u.username for u in await SigUser.all()] == ["root"]


async def test_readme_manual_connect_disconnect(tables: MigrationDB) -> None:
    seen: list[str] = []

    async def my_async_handler(sender: type, instance: Any, **kwargs: Any) -> None:
        seen.append(instance.username)

    post_save.connect(my_async_handler)
    await SigUser.create(username="one")
    post_save.disconnect(my_async_handler)
    await SigUser.create(username="two")
    assert seen == ["one"]


async def test_pre_receiver_exception_writes_nothing(tables: MigrationDB) -> None:
    class Veto(Exception):
        pass

    def refuse(sender: type, instance: Any, **kwargs: Any) -> None:
        raise Veto

    pre_create.connect(refuse)
    with pytest.raises(Veto):
        await SigUser.create(username="never")
    pre_create.disconnect(refuse)
    user = await SigUser.create(username="ok")
    pre_save.connect(refuse)
    with pytest.raises(Veto):
        await user.update(username="changed")
    assert user.username == "ok"  # the update() restored the old value
    pre_save.disconnect(refuse)
    assert [u.username for u in await SigUser.all()] == ["ok"]


async def test_firing_order_and_arguments(tables: MigrationDB) -> None:
    calls: list[tuple[Any, ...]] = []
    for signal in ALL:

        def receiver(sender: type, name: str = signal.name, **kwargs: Any) -> None:
            calls.append((name, sender.__name__, kwargs.get("created"), "instance" in kwargs))

        signal.connect(receiver)
    user = await SigUser.create(username="x")
    await user.delete()
    assert calls == [
        ("pre_save", "SigUser", True, True),
        ("pre_create", "SigUser", None, True),
        ("post_create", "SigUser", True, True),
        ("post_save", "SigUser", True, True),
        ("pre_delete", "SigUser", None, True),
        ("post_delete", "SigUser", None, True),
    ]


async def test_post_receiver_errors_are_returned_not_raised(
    tables: MigrationDB, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sender: type, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    post_save.connect(broken)
    user = await SigUser.create(username="fine")
    assert (await SigUser.get(use_cache=False, id=user.id)).username == "fine"
    [record] = [r for r in caplog.records if r.name == "matrx_orm_core.signals"]
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "receiver bug"


async def test_bulk_and_set_based_writes_fire_nothing(tables: MigrationDB) -> None:
    fired: list[str] = []
    for signal in ALL:
        signal.connect(lambda sender, _n=signal.name, **kw: fired.append(_n))
    users = await SigUser.bulk_create([{"username": "a"}, {"username": "b"}])
    await SigUser.bulk_update(users, ["username"])
    await SigUser.upsert({"id": users[0].id, "username": "c"}, ["id"], ["username"])
    await SigUser.update_where({"username": "b"}, username="d")
    await SigUser.delete_where(username="d")
    await SigUser.bulk_delete(users)
    assert fired == []
    assert signals.post_save.receivers  # still connected: they simply were not fired
