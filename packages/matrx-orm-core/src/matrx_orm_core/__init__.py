"""matrx-orm core: configuration, fields, models, queries, connections and exceptions.

This module is the public API of the ``matrx-orm-core`` distribution. Importing it loads no
database driver: drivers are imported lazily when the first connection is opened.

``ConnectionError`` is deliberately left out of ``__all__`` (API.md §10.22): a star import would
shadow the builtin of the same name. Import it from :mod:`matrx_orm_core.exceptions`.
"""

from __future__ import annotations

import importlib.metadata

from .config import (
    DatabaseConfigError,
    DatabaseProjectConfig,
    DatabaseRegistry,
    get_all_database_project_names,
    get_all_database_projects_redacted,
    get_code_config,
    get_connection_string,
    get_database_alias,
    get_database_config,
    get_default_database,
    get_manager_config,
    get_schema_builder_overrides,
    register_database,
)
from .connections import AsyncDatabaseManager
from .exceptions import (
    AdapterError,
    CacheError,
    ConfigurationError,
    ConfigurationWarning,
    DatabaseError,
    DoesNotExist,
    FieldError,
    IntegrityError,
    MatrxORMWarning,
    MigrationError,
    ModelNotFoundError,
    MultipleObjectsReturned,
    OptimisticLockError,
    ORMException,
    ParameterError,
    QueryError,
    QueryUsageError,
    RelationshipError,
    StateError,
    SyncContextError,
    TransactionError,
    UnknownDatabaseError,
    UnknownRelationError,
    ValidationError,
)
from .fields import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    Field,
    FloatField,
    ForeignKey,
    IntegerField,
    JSONBField,
    JSONField,
    ManyToManyField,
    SmallIntegerField,
    TextField,
    TimeField,
    UUIDField,
    VersionField,
)
from .models import (
    CachePolicy,
    ForeignKeyReference,
    InverseForeignKeyReference,
    ManyToManyReference,
    Model,
    ModelMeta,
    ModelOptions,
)
from .query import QueryBuilder, QuerySet
from .query.paginator import Page, Paginator
from .registry import ModelRegistry, model_registry
from .signals import (
    Signal,
    post_create,
    post_delete,
    post_save,
    pre_create,
    pre_delete,
    pre_save,
)
from .transaction import transaction

__version__ = importlib.metadata.version("matrx-orm-core")

__all__ = [
    # configuration
    "DatabaseConfigError",
    "DatabaseProjectConfig",
    "DatabaseRegistry",
    "get_all_database_project_names",
    "get_all_database_projects_redacted",
    "get_code_config",
    "get_connection_string",
    "get_database_alias",
    "get_database_config",
    "get_default_database",
    "get_manager_config",
    "get_schema_builder_overrides",
    "register_database",
    # connections
    "AsyncDatabaseManager",
    # exceptions and warnings (ConnectionError: see the module docstring)
    "AdapterError",
    "CacheError",
    "ConfigurationError",
    "ConfigurationWarning",
    "DatabaseError",
    "DoesNotExist",
    "FieldError",
    "IntegrityError",
    "MatrxORMWarning",
    "MigrationError",
    "ModelNotFoundError",
    "MultipleObjectsReturned",
    "ORMException",
    "OptimisticLockError",
    "ParameterError",
    "QueryError",
    "QueryUsageError",
    "RelationshipError",
    "UnknownRelationError",
    "StateError",
    "SyncContextError",
    "TransactionError",
    "UnknownDatabaseError",
    "ValidationError",
    # fields
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "EnumField",
    "Field",
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "JSONBField",
    "JSONField",
    "ManyToManyField",
    "SmallIntegerField",
    "TextField",
    "TimeField",
    "UUIDField",
    "VersionField",
    # models
    "CachePolicy",
    "ForeignKeyReference",
    "InverseForeignKeyReference",
    "ManyToManyReference",
    "Model",
    "ModelMeta",
    "ModelOptions",
    "ModelRegistry",
    "model_registry",
    # queries
    "Page",
    "Paginator",
    "QueryBuilder",
    "QuerySet",
    "Signal",
    "post_create",
    "post_delete",
    "post_save",
    "pre_create",
    "pre_delete",
    "pre_save",
    "transaction",
]
