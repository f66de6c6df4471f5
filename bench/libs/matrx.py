"""matrx-orm: the library under test, through its public Model and QuerySet API."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any
from uuid import UUID, uuid4

from matrx_orm_core.config import DatabaseProjectConfig, DatabaseRegistry, register_database
from matrx_orm_core.connections import AsyncDatabaseManager
from matrx_orm_core.exceptions import FieldError
from matrx_orm_core.fields import (
    CharField,
    DateTimeField,
    DecimalField,
    IntegerField,
    JSONBField,
    UUIDField,
)
from matrx_orm_core.models import Model

from .base import Adapter, ConnInfo

__all__ = ["BenchItem", "MatrxOrm", "register_project"]

PROJECT = "matrx_bench"


def register_project(conn: ConnInfo, name: str) -> None:
    """Register database project ``name`` (its alias too) on ``conn`` with a pool of 4."""
    register_database(
        DatabaseProjectConfig(
            name=name,
            host=conn.host,
            port=conn.port,
            database_name=conn.database,
            user=conn.user,
            password=conn.password or "",
            alias=name,
            min_size=4,
            max_size=4,
            ssl="disable",
        )
    )


class BenchItem(Model):
    """The benchmark row."""

    id = UUIDField(primary_key=True, default=uuid4)
    name = CharField(max_length=100, index=True)
    qty = IntegerField()
    price = DecimalField(max_digits=10, decimal_places=2)
    created_at = DateTimeField()
    tags = JSONBField()

    _table_name = "bench_item_matrx"
    _database = PROJECT


def _missing(owner: object, *names: str) -> list[str]:
    return [name for name in names if not hasattr(owner, name)]


class MatrxOrm(Adapter):
    """matrx-orm with a pool of 4 (the default connection settings otherwise)."""

    key = "matrx"
    label = "matrx-orm"

    def versions(self) -> dict[str, str]:
        return {"matrx-orm-core": version("matrx-orm-core")}

    def unavailable(self, workload: str) -> str | None:
        """Name the API a workload needs that this matrx-orm build does not have yet."""
        query = BenchItem.filter()
        needs: dict[str, list[str]] = {
            "bulk_insert": _missing(BenchItem, "bulk_create"),
            "bulk_insert_count": _missing(BenchItem, "bulk_create"),
            "filter_small": _missing(query, "order_by", "limit"),
            "values_large": _missing(query, "values"),
        }
        missing = needs.get(workload, [])
        if missing:
            return "matrx-orm has no " + ", ".join(missing) + " yet"
        if workload in ("filter_large", "values_large"):
            try:
                BenchItem.filter(qty__gte=0)
            except FieldError:
                return "matrx-orm has no __gte lookup yet"
        return None

    async def setup(self, conn: ConnInfo) -> None:
        register_project(conn, PROJECT)

    async def teardown(self) -> None:
        # Close only this project's pool: the suite may share its loop with other pools (the
        # level-2 smoke test does).
        await AsyncDatabaseManager.close_pool(PROJECT)
        DatabaseRegistry.unregister(PROJECT)

    async def insert_single(self, row: dict[str, Any]) -> Any:
        return await BenchItem.create(**row)

    async def bulk_insert(self, rows: list[dict[str, Any]]) -> None:
        await BenchItem.bulk_create(rows)

    async def bulk_insert_count(self, rows: list[dict[str, Any]]) -> None:
        inserted = await BenchItem.bulk_create(rows, returning=False)
        if inserted != len(rows):
            raise AssertionError(f"bulk_create inserted {inserted} of {len(rows)} rows")

    async def get_by_pk(self, pk: UUID) -> Any:
        return await BenchItem.get(id=pk)

    async def filter_small(self, name: str, limit: int) -> list[Any]:
        query: Any = BenchItem.filter(name=name)
        result: list[Any] = await query.order_by("qty").limit(limit).all()
        return result

    async def filter_large(self, min_qty: int) -> list[Any]:
        return await BenchItem.filter(qty__gte=min_qty).all()

    async def update_single(self, pk: UUID, qty: int) -> None:
        await BenchItem.filter(id=pk).update(qty=qty)

    async def values_large(self, min_qty: int) -> list[dict[str, Any]]:
        query: Any = BenchItem.filter(qty__gte=min_qty)
        result: list[dict[str, Any]] = await query.values()
        return result

    async def count(self, name: str) -> int:
        return await BenchItem.count(name=name)
