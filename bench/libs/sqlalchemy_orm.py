"""SQLAlchemy 2 async ORM (asyncpg dialect), one AsyncSession per operation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from importlib.metadata import version
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Integer, Numeric, String, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .base import Adapter, ConnInfo

__all__ = ["BenchItem", "SqlAlchemyOrm"]


class _Base(DeclarativeBase):
    pass


class BenchItem(_Base):
    """The benchmark row."""

    __tablename__ = "bench_item_sqlalchemy"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(100), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tags: Mapped[Any] = mapped_column(JSONB)


_TABLE = BenchItem.__table__


class SqlAlchemyOrm(Adapter):
    """SQLAlchemy's documented async ORM usage: ``async with session`` per unit of work."""

    key = "sqlalchemy"
    label = "SQLAlchemy 2"

    def __init__(self) -> None:
        self._engine: AsyncEngine | None = None

    def versions(self) -> dict[str, str]:
        return {"sqlalchemy": version("sqlalchemy")}

    async def setup(self, conn: ConnInfo) -> None:
        if conn.socket:
            url = URL.create(
                "postgresql+asyncpg",
                username=conn.user,
                password=conn.password,
                database=conn.database,
                query={"host": conn.host, "port": str(conn.port)},
            )
        else:
            url = URL.create(
                "postgresql+asyncpg",
                username=conn.user,
                password=conn.password,
                host=conn.host,
                port=conn.port,
                database=conn.database,
            )
        self._engine = create_async_engine(
            url, pool_size=4, max_overflow=0, connect_args={"ssl": False}
        )
        self._session = async_sessionmaker(self._engine, expire_on_commit=False)

    async def teardown(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def insert_single(self, row: dict[str, Any]) -> Any:
        async with self._session() as session:
            item = BenchItem(**row)
            session.add(item)
            await session.commit()
            return item

    async def bulk_insert(self, rows: list[dict[str, Any]]) -> None:
        async with self._session() as session:
            await session.execute(insert(BenchItem), [{"id": uuid4(), **r} for r in rows])
            await session.commit()

    async def get_by_pk(self, pk: UUID) -> Any:
        async with self._session() as session:
            return await session.get(BenchItem, pk)

    async def filter_small(self, name: str, limit: int) -> list[Any]:
        statement = select(BenchItem).where(BenchItem.name == name).order_by(BenchItem.qty)
        async with self._session() as session:
            return list((await session.scalars(statement.limit(limit))).all())

    async def filter_large(self, min_qty: int) -> list[Any]:
        async with self._session() as session:
            result = await session.scalars(select(BenchItem).where(BenchItem.qty >= min_qty))
            return list(result.all())

    async def update_single(self, pk: UUID, qty: int) -> None:
        async with self._session() as session:
            await session.execute(update(BenchItem).where(BenchItem.id == pk).values(qty=qty))
            await session.commit()

    async def values_large(self, min_qty: int) -> list[dict[str, Any]]:
        async with self._session() as session:
            result = await session.execute(select(_TABLE).where(_TABLE.c.qty >= min_qty))
            return [dict(m) for m in result.mappings().all()]

    async def count(self, name: str) -> int:
        statement = select(func.count()).select_from(BenchItem).where(BenchItem.name == name)
        async with self._session() as session:
            value: int = (await session.execute(statement)).scalar_one()
            return value
