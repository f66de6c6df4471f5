"""Tortoise ORM (asyncpg backend), configured with a pool of 4."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any
from uuid import UUID, uuid4

from tortoise import Tortoise, fields
from tortoise.models import Model

from .base import Adapter, ConnInfo

__all__ = ["BenchItem", "TortoiseOrm"]


class BenchItem(Model):
    """The benchmark row."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    name = fields.CharField(max_length=100, db_index=True)
    qty = fields.IntField()
    price = fields.DecimalField(max_digits=10, decimal_places=2)
    created_at = fields.DatetimeField()
    tags: Any = fields.JSONField()

    class Meta:
        table = "bench_item_tortoise"
        app = "bench"


class TortoiseOrm(Adapter):
    """Tortoise's documented usage: Model.create / filter / bulk_create / values."""

    key = "tortoise"
    label = "Tortoise"

    def versions(self) -> dict[str, str]:
        return {"tortoise-orm": version("tortoise-orm")}

    async def setup(self, conn: ConnInfo) -> None:
        credentials: dict[str, Any] = {
            "host": conn.host,
            "port": conn.port,
            "user": conn.user,
            "password": conn.password or "",
            "database": conn.database,
            "minsize": 4,
            "maxsize": 4,
            "ssl": False,
        }
        config = {
            "connections": {
                "default": {"engine": "tortoise.backends.asyncpg", "credentials": credentials}
            },
            "apps": {"bench": {"models": [__name__], "default_connection": "default"}},
        }
        await Tortoise.init(config=config, _enable_global_fallback=True)

    async def teardown(self) -> None:
        await Tortoise.close_connections()

    async def insert_single(self, row: dict[str, Any]) -> Any:
        return await BenchItem.create(**row)

    async def bulk_insert(self, rows: list[dict[str, Any]]) -> None:
        await BenchItem.bulk_create([BenchItem(**r) for r in rows])

    async def get_by_pk(self, pk: UUID) -> Any:
        return await BenchItem.get(id=pk)

    async def filter_small(self, name: str, limit: int) -> list[Any]:
        return await BenchItem.filter(name=name).order_by("qty").limit(limit)

    async def filter_large(self, min_qty: int) -> list[Any]:
        return await BenchItem.filter(qty__gte=min_qty)

    async def update_single(self, pk: UUID, qty: int) -> None:
        await BenchItem.filter(id=pk).update(qty=qty)

    async def values_large(self, min_qty: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await BenchItem.filter(qty__gte=min_qty).values()
        return result

    async def count(self, name: str) -> int:
        return await BenchItem.filter(name=name).count()
