"""BaseManager without a server: construction errors, AppError classification, retries, SQL."""

from __future__ import annotations

from typing import Any

import pytest

from matrx_orm_core import CharField, ConfigurationError, IntegerField, ManyToManyField, Model
from matrx_orm_core.exceptions import ConnectionError as DbConnectionError
from matrx_orm_core.testing import Recorder
from matrx_orm_relations import AppError, BaseManager, _manager, handle_errors

pytestmark = pytest.mark.level1


class MuTag(Model):
    id = IntegerField(primary_key=True)
    _table_name = "mu_tag"
    _database = "recorded"


class MuItem(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=20)
    tags = ManyToManyField("MuTag")
    _table_name = "mu_item"
    _database = "recorded"


class ItemManager(BaseManager):
    model = MuItem


class AbstractThing(Model):
    _abstract = True


def test_construction_errors() -> None:
    with pytest.raises(ConfigurationError, match=r"BaseManager needs a concrete model"):
        BaseManager()
    with pytest.raises(ConfigurationError, match="needs a concrete model"):
        BaseManager(AbstractThing)
    with pytest.raises(ConfigurationError, match="fetch_on_init_limit must be an int >= 0"):
        ItemManager(fetch_on_init_limit=-1)
    assert repr(ItemManager()) == "<ItemManager model=MuItem>"
    assert BaseManager(MuTag).model is MuTag


async def test_missing_row_is_a_404_app_error(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[])
    with pytest.raises(AppError) as info:
        await ItemManager().load_by_id(5)
    error = info.value.error
    assert (error["status"], error["client_visible"]) == (
        404,
        "The requested MuItem was not found.",
    )
    assert error["context"] == {"manager": "ItemManager", "model": "MuItem", "method": "load_by_id"}
    assert recording_db.params == [(5, 2)]


async def test_bad_input_is_a_400_app_error(recording_db: Recorder) -> None:
    manager = ItemManager()
    with pytest.raises(AppError) as info:
        await manager.create_items([{"id": 1, "name": "x"}], batch_size=0)
    assert info.value.status == 400
    with pytest.raises(AppError) as info:
        await manager.get_item_with_related(1, "tags", use_join=True)
    assert info.value.status == 400
    assert "cannot be joined" in info.value.message
    assert recording_db.statements == []


async def test_retry_on_connection_errors(
    recording_db: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_manager, "RETRY_DELAYS", (0, 0))
    recording_db.add_error(DbConnectionError(message="server gone"))
    recording_db.add_error(DbConnectionError(message="server gone"))
    recording_db.add_result(rows=[{"id": 3, "name": "back"}])
    item = await ItemManager().load_by_id_with_retry(3)
    assert item.name == "back"
    assert len(recording_db.statements) == 3
    recording_db.add_result(rows=[])
    with pytest.raises(AppError):  # not a connection error: no retry
        await ItemManager().load_by_id_with_retry(4)
    assert len(recording_db.statements) == 4


async def test_handle_errors_on_your_own_methods() -> None:
    class Custom(ItemManager):
        @handle_errors
        async def explode(self) -> Any:
            raise KeyError("boom")

    with pytest.raises(AppError) as info:
        await Custom().explode()
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.error["type"] == "KeyError"
    assert info.value.status == 500
