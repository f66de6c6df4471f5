"""Raw SQL execution and the named-query registry (re-exported from matrx_orm_core.sql_executor)."""

from __future__ import annotations

from matrx_orm_core.sql_executor import (
    QueryParam,
    QueryRegistry,
    SQLQuery,
    display_help,
    execute_batch_query,
    execute_batch_query_sync,
    execute_query,
    execute_query_sync,
    execute_standard_query,
    execute_standard_query_sync,
    execute_transaction_query,
    execute_transaction_query_sync,
    generate_documentation,
    get_query_details,
    get_registry,
    list_available_queries,
    register_query,
)

__all__ = [
    "QueryParam",
    "QueryRegistry",
    "SQLQuery",
    "display_help",
    "execute_batch_query",
    "execute_batch_query_sync",
    "execute_query",
    "execute_query_sync",
    "execute_standard_query",
    "execute_standard_query_sync",
    "execute_transaction_query",
    "execute_transaction_query_sync",
    "generate_documentation",
    "get_query_details",
    "get_registry",
    "list_available_queries",
    "register_query",
]
