"""Piccolo (PostgresEngine on asyncpg) with its connection pool started at 4 connections."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any
from uuid import UUID

from piccolo.columns import JSONB, Integer, Numeric, Timestamptz, Varchar
from piccolo.columns import UUID as UUIDColumn
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from .base import Adapter, ConnInfo

__all__ = ["PiccoloOrm"]

CHUNK = 5_000


def _table_class(engine: PostgresEngine) -> type[Table]:
    class BenchItem(Table, tablename="bench_item_piccolo", db=engine):
        id = UUIDColumn(primary_key=True)
        name = Varchar(length=100, index=True)
        qty = Integer()
        price = Numeric(digits=(10, 2))
        created_at = Timestamptz()
        tags = JSONB()

    return BenchItem


class PiccoloOrm(Adapter):
    """Piccolo's documented usage: objects() for instances, select() for dicts."""

    key = "piccolo"
    label = "Piccolo"

    def versions(self) -> dict[str, str]:
        return {"piccolo": version("piccolo")}

    async def setup(self, conn: ConnInfo) -> None:
        config: dict[str, Any] = {
            "host": conn.host,
            "port": conn.port,
            "user": conn.user,
            "password": conn.password or "",
            "database": conn.database,
            "ssl": False,
        }
        self._engine = PostgresEngine(config=config, log_queries=False)
        await self._engine.start_connection_pool(min_size=4, max_size=4)
        self._item: Any = _table_class(self._engine)

    async def teardown(self) -> None:
        await self._engine.close_connection_pool()

    async def insert_single(self, row: dict[str, Any]) -> Any:
        item = self._item
        return await item.objects().create(**row)

    async def bulk_insert(self, rows: list[dict[str, Any]]) -> None:
        # One multi-row INSERT binds 6 parameters a row; asyncpg caps a statement at 32,767,
        # so the rows go in chunks of 5,000 inside one transaction.
        item = self._item
        objects = [item(**r) for r in rows]
        async with self._engine.transaction():
            for start in range(0, len(objects), CHUNK):
                await item.insert(*objects[start : start + CHUNK])

    async def get_by_pk(self, pk: UUID) -> Any:
        item = self._item
        return await item.objects().get(item.id == pk).output(load_json=True)

    async def filter_small(self, name: str, limit: int) -> list[Any]:
        item = self._item
        query = item.objects().where(item.name == name).order_by(item.qty).limit(limit)
        result: list[Any] = await query.output(load_json=True)
        return result

    async def filter_large(self, min_qty: int) -> list[Any]:
        item = self._item
        result: list[Any] = await item.objects().where(item.qty >= min_qty).output(load_json=True)
        return result

    async def update_single(self, pk: UUID, qty: int) -> None:
        item = self._item
        await item.update({item.qty: qty}).where(item.id == pk)

    async def values_large(self, min_qty: int) -> list[dict[str, Any]]:
        item = self._item
        result: list[dict[str, Any]] = await (
            item.select().where(item.qty >= min_qty).output(load_json=True)
        )
        return result

    async def count(self, name: str) -> int:
        item = self._item
        value: int = await item.count().where(item.name == name)
        return value
