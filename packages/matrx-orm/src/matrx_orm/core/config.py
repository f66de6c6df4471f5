"""Database configuration and the project registry (from matrx_orm_core.config)."""

from __future__ import annotations

from matrx_orm_core.config import (
    DatabaseConfigError,
    DatabaseProjectConfig,
    DatabaseRegistry,
    get_all_database_project_names,
    get_all_database_projects_redacted,
    get_code_config,
    get_config,
    get_connection_string,
    get_database_alias,
    get_database_config,
    get_default_database,
    get_manager_config,
    get_schema_builder_overrides,
    register_database,
)

__all__ = [
    "DatabaseConfigError",
    "DatabaseProjectConfig",
    "DatabaseRegistry",
    "get_all_database_project_names",
    "get_all_database_projects_redacted",
    "get_code_config",
    "get_config",
    "get_connection_string",
    "get_database_alias",
    "get_database_config",
    "get_default_database",
    "get_manager_config",
    "get_schema_builder_overrides",
    "register_database",
]
