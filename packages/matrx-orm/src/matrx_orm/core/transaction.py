"""The transaction() context manager (re-exported from matrx_orm_core.transaction)."""

from __future__ import annotations

from matrx_orm_core.transaction import (
    TransactionContext,
    get_active_connection,
    in_transaction,
    transaction,
)

__all__ = [
    "TransactionContext",
    "get_active_connection",
    "in_transaction",
    "transaction",
]
