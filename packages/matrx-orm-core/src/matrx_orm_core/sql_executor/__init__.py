"""Raw SQL: the named-query registry and its executors (``matrx_orm.sql_executor``).

Queries are registered with ``:name`` placeholders, which are rewritten once into ``$n``
positional parameters; every value is bound, never formatted into the text. Execution is async
on the ORM's driver, with ``*_sync`` twins that run on the ORM's background loop.
"""

from __future__ import annotations

from ._docs import (
    display_help,
    generate_documentation,
    get_query_details,
    list_available_queries,
)
from .executor import (
    execute_batch_query,
    execute_batch_query_sync,
    execute_query,
    execute_query_sync,
    execute_standard_query,
    execute_standard_query_sync,
    execute_transaction_query,
    execute_transaction_query_sync,
)
from .registry import QueryParam, QueryRegistry, SQLQuery, get_registry, register_query

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
