"""The exception hierarchy and warning classes (from matrx_orm_core.exceptions).

This is the canonical home of ``ConnectionError``: it is not re-exported from ``matrx_orm``
itself, where a star import would shadow the builtin of the same name.
"""

from __future__ import annotations

from matrx_orm_core.exceptions import (
    AdapterError,
    CacheError,
    ConfigurationError,
    ConfigurationWarning,
    ConnectionError,
    DatabaseConfigError,
    DatabaseError,
    DoesNotExist,
    FieldError,
    IntegrityError,
    MatrxORMWarning,
    MigrationError,
    MultipleObjectsReturned,
    OptimisticLockError,
    ORMException,
    ParameterError,
    QueryError,
    RelationshipError,
    StateError,
    SyncContextError,
    TransactionError,
    UnknownDatabaseError,
    ValidationError,
)

__all__ = [
    "AdapterError",
    "CacheError",
    "ConfigurationError",
    "ConfigurationWarning",
    "ConnectionError",
    "DatabaseConfigError",
    "DatabaseError",
    "DoesNotExist",
    "FieldError",
    "IntegrityError",
    "MatrxORMWarning",
    "MigrationError",
    "MultipleObjectsReturned",
    "ORMException",
    "OptimisticLockError",
    "ParameterError",
    "QueryError",
    "RelationshipError",
    "StateError",
    "SyncContextError",
    "TransactionError",
    "UnknownDatabaseError",
    "ValidationError",
]
