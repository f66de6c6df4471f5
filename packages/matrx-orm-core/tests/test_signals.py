"""Tests for matrx_orm_core.signals: connect/disconnect, send semantics, and where the model
write methods fire them (statements go to the ``recording_db`` recorder)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from matrx_orm_core import signals
from matrx_orm_core.fields import CharField, IntegerField
from matrx_orm_core.models import Model
from matrx_orm_core.signals import Signal
from matrx_orm_core.testing import Recorder

ALL = (
    signals.pre_create,
    signals.post_create,
    signals.pre_save,
    signals.post_save,
    signals.pre_delete,
    signals.post_delete,
)


class SigItem(Model):
    id = IntegerField(primary_key=True)
    name = CharField(null=True)
    _database = "recorded"


@pytest.fixture(autouse=True)
def clean_signals() -> Iterator[None]:
    saved = [list(signal.receivers) for signal in ALL]
    yield
    for signal, receivers in zip(ALL, saved, strict=True):
        signal.receivers[:] = receivers


# --- Signal ---------------------------------------------------------------------------------------


def test_connect_is_a_decorator_and_ignores_duplicates() -> None:
    sig = Signal("demo")

    @sig.connect
    def first(sender: Any, **kwargs: Any) -> str:
        return "one"

    assert first.__name__ == "first"  # the decorator returns the function itself
    assert sig.connect(first) is first
    assert sig.receivers == [first]
    assert repr(sig) == "<Signal 'demo': 1 receiver(s)>"


def test_disconnect_unknown_receiver_is_silent() -> None:
    sig = Signal("demo")
    sig.disconnect(print)

    def receiver(sender: Any, **kwargs: Any) -> None:
        return None

    sig.connect(receiver)
    sig.disconnect(receiver)
    assert sig.receivers == []


async def test_send_runs_sync_and_async_receivers_in_order() -> None:
    sig = Signal("demo")
    order: list[str] = []

    def sync_receiver(sender: Any, **kwargs: Any) -> str:
        order.append("sync")
        return f"sync:{sender}:{kwargs['x']}"

    async def async_receiver(sender: Any, **kwargs: Any) -> str:
        order.append("async")
        return "async"

    class Callable:
        def __call__(self, sender: Any, **kwargs: Any) -> Any:
            order.append("awaitable")
            return async_receiver(sender)

    third = Callable()
    sig.connect(sync_receiver)
    sig.connect(async_receiver)
    sig.connect(third)
    results = await sig.send("S", x=1)
    assert results == [(sync_receiver, "sync:S:1"), (async_receiver, "async"), (third, "async")]
    assert order == ["sync", "async", "awaitable", "async"]


async def test_send_collects_and_logs_receiver_exceptions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sig = Signal("demo")
    boom = ValueError("boom")

    def broken(sender: Any, **kwargs: Any) -> None:
        raise boom

    def fine(sender: Any, **kwargs: Any) -> int:
        return 2

    sig.connect(broken)
    sig.connect(fine)
    with caplog.at_level(logging.ERROR, logger="matrx_orm_core.signals"):
        results = await sig.send(None)
    assert results == [(broken, boom), (fine, 2)]
    [record] = caplog.records
    assert record.exc_info is not None
    assert record.exc_info[1] is boom
    assert "'demo'" in record.getMessage()


async def test_send_or_raise_stops_at_the_first_exception() -> None:
    sig = Signal("demo")
    ran: list[str] = []

    async def veto(sender: Any, **kwargs: Any) -> None:
        raise PermissionError("no")

    def later(sender: Any, **kwargs: Any) -> None:
        ran.append("later")

    sig.connect(veto)
    sig.connect(later)
    with pytest.raises(PermissionError, match="no"):
        await sig.send_or_raise(None)
    assert ran == []
    sig.disconnect(veto)
    assert await sig.send_or_raise(None) == [(later, None)]


def test_module_signals_are_named() -> None:
    assert [s.name for s in ALL] == [
        "pre_create",
        "post_create",
        "pre_save",
        "post_save",
        "pre_delete",
        "post_delete",
    ]


# --- firing points --------------------------------------------------------------------------------


def record_all(calls: list[tuple[Any, ...]]) -> None:
    for signal in ALL:

        def receiver(sender: Any, _name: str = signal.name, **kwargs: Any) -> None:
            instance = kwargs.pop("instance")
            calls.append((_name, sender, instance.name, dict(kwargs)))

        signal.connect(receiver)


async def test_create_fires_save_and_create_signals(recording_db: Recorder) -> None:
    calls: list[tuple[Any, ...]] = []
    record_all(calls)
    recording_db.add_result(rows=[{"id": 1, "name": "a"}])
    await SigItem.create(id=1, name="a")
    assert calls == [
        ("pre_save", SigItem, "a", {"created": True}),
        ("pre_create", SigItem, "a", {}),
        ("post_create", SigItem, "a", {"created": True}),
        ("post_save", SigItem, "a", {"created": True}),
    ]


async def test_save_insert_then_update_then_update_method(recording_db: Recorder) -> None:
    calls: list[tuple[Any, ...]] = []
    record_all(calls)
    item = SigItem(id=1, name="a")
    recording_db.add_result(rows=[{"id": 1, "name": "a"}])
    await item.save()
    assert [c[0] for c in calls] == ["pre_save", "pre_create", "post_create", "post_save"]
    calls.clear()
    item.name = "b"
    recording_db.add_result(rows=[{"id": 1, "name": "b"}])
    await item.save()
    assert calls == [
        ("pre_save", SigItem, "b", {"created": False}),
        ("post_save", SigItem, "b", {"created": False}),
    ]
    calls.clear()
    recording_db.add_result(rows=[{"id": 1, "name": "c"}])
    await item.update(name="c")
    assert calls == [
        ("pre_save", SigItem, "c", {"created": False, "update_fields": ("name",)}),
        ("post_save", SigItem, "c", {"created": False, "update_fields": ("name",)}),
    ]


async def test_pre_save_receiver_can_change_the_values_written(recording_db: Recorder) -> None:
    @signals.pre_save.connect
    def shout(sender: Any, instance: Any, **kwargs: Any) -> None:
        instance.name = instance.name.upper()

    recording_db.add_result(rows=[{"id": 1, "name": "A"}])
    await SigItem.create(id=1, name="a")
    assert recording_db.params == [(1, "A")]


async def test_delete_fires_and_a_pre_delete_veto_sends_nothing(recording_db: Recorder) -> None:
    calls: list[tuple[Any, ...]] = []
    record_all(calls)
    item = SigItem._from_row({"id": 1, "name": "keep"})

    def guard(sender: Any, instance: Any, **kwargs: Any) -> None:
        if instance.name == "keep":
            raise ValueError("protected")

    signals.pre_delete.receivers.insert(0, guard)
    with pytest.raises(ValueError, match="protected"):
        await item.delete()
    assert recording_db.statements == []
    assert item._persisted is True
    signals.pre_delete.disconnect(guard)
    await item.delete()
    assert recording_db.sql == ['DELETE FROM "sig_item" WHERE "id" = $1']
    assert [c[0] for c in calls] == ["pre_delete", "post_delete"]


async def test_pre_create_veto_sends_nothing(recording_db: Recorder) -> None:
    def veto(sender: Any, **kwargs: Any) -> None:
        raise PermissionError("read-only")

    signals.pre_create.connect(veto)
    with pytest.raises(PermissionError):
        await SigItem.create(id=1, name="a")
    with pytest.raises(PermissionError):
        await SigItem(id=2).save()
    assert recording_db.statements == []


async def test_pre_save_veto_in_update_restores_values(recording_db: Recorder) -> None:
    item = SigItem._from_row({"id": 1, "name": "old"})

    def veto(sender: Any, **kwargs: Any) -> None:
        raise PermissionError("frozen")

    signals.pre_save.connect(veto)
    with pytest.raises(PermissionError):
        await item.update(name="new")
    assert item.name == "old"
    assert recording_db.statements == []


async def test_post_receiver_errors_do_not_undo_or_raise(recording_db: Recorder) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug")

    signals.post_save.connect(broken)
    signals.post_create.connect(broken)
    signals.post_delete.connect(broken)
    recording_db.add_result(rows=[{"id": 1, "name": "a"}])
    item = await SigItem.create(id=1, name="a")
    assert item._persisted is True
    await item.delete()
    assert len(recording_db.statements) == 2


async def test_no_receivers_means_no_send(
    recording_db: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    for signal in ALL:
        signal.receivers.clear()

    async def fail(self: Signal, sender: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{self.name} was sent with no receivers")

    monkeypatch.setattr(Signal, "send", fail)
    monkeypatch.setattr(Signal, "send_or_raise", fail)
    recording_db.add_result(rows=[{"id": 1, "name": "a"}])
    item = await SigItem.create(id=1, name="a")
    recording_db.add_result(rows=[{"id": 1, "name": "b"}])
    await item.update(name="b")
    recording_db.add_result(rows=[{"id": 1, "name": "b"}])
    await item.save()
    await item.delete()
    assert len(recording_db.statements) == 4
