"""The matrx-orm exception hierarchy, its error reports, and the redaction of secrets in them.

Every class and function is importable from here, the one public home; the base class and the
report live in ``_exception_base`` and the redaction helpers in ``_redaction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._exception_base import (
    _UNKNOWN_MODEL,
    ConfigurationWarning,
    MatrxORMWarning,
    ORMException,
    _error_text,
    _filter_text,
    _model_name,
)
from ._exception_base import _restore_exception as _restore_exception
from ._redaction import PARAM_KEYS as PARAM_KEYS
from ._redaction import (
    REDACTED,
    get_show_params,
    redact_dsn,
    redact_secrets,
    set_show_params,
)
from ._redaction import SHOW_PARAMS_ENV as SHOW_PARAMS_ENV

__all__ = [
    "REDACTED",
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
    "ModelNotFoundError",
    "MultipleObjectsReturned",
    "ORMException",
    "OptimisticLockError",
    "ParameterError",
    "QueryError",
    "QueryUsageError",
    "RelationshipError",
    "StateError",
    "SyncContextError",
    "TransactionError",
    "UnknownDatabaseError",
    "UnknownRelationError",
    "ValidationError",
    "get_show_params",
    "redact_dsn",
    "redact_secrets",
    "set_show_params",
]

# ``_restore_exception``, ``PARAM_KEYS`` and ``SHOW_PARAMS_ENV`` stay importable from here (the
# ``as`` imports above): pickles written before the split name the unpickler hook here.

# The public home of the base classes (pickles, reprs and docs name this module).
for _cls in (MatrxORMWarning, ConfigurationWarning, ORMException):
    _cls.__module__ = __name__
del _cls


class ValidationError(ORMException, ValueError):
    """A value or model failed validation (also a ``ValueError``)."""

    def __init__(
        self,
        message: str | None = None,
        model: str | type | object | None = None,
        field: str | None = None,
        value: Any = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        if message is None:
            if reason and field:
                message = f"Validation failed for field '{field}': {reason}"
            elif reason:
                message = reason
            else:
                message = f"Validation failed for {f'field {field!r}' if field else 'model'}"
        merged: dict[str, Any] = {"field": field, "value": value, "reason": reason}
        merged.update(details or {})
        super().__init__(message=message, model=model, details=merged)

    @property
    def field(self) -> str | None:
        """The field that failed, if any."""
        field = self.details.get("field")
        return field if isinstance(field, str) else None


class FieldError(ORMException, ValueError):
    """An unknown or unusable field name (also a ``ValueError``)."""

    def __init__(
        self,
        model: str | type | object | None = None,
        field: str | None = None,
        value: Any = None,
        reason: str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged: dict[str, Any] = {"field": field, "value": value, "reason": reason}
        merged.update(details or {})
        super().__init__(
            message=message or f"Field error for {field!r}: {reason or 'invalid field'}",
            model=model,
            details=merged,
        )


class QueryError(ORMException):
    """A query could not be built or run."""


class DoesNotExist(QueryError, LookupError):
    """No row matched a lookup that expects one (also a ``LookupError``)."""

    def __init__(
        self,
        model: str | type | object | None = None,
        filters: Mapping[str, Any] | None = None,
        class_name: str | None = None,
        method_name: str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        super().__init__(
            message=message,
            model=model,
            details={"filters": dict(filters or {})},
            class_name=class_name,
            method_name=method_name,
        )

    @property
    def message(self) -> str:
        """``No <Model> found matching: k=<redacted>, ...`` (values shown only on opt-in)."""
        if self._message:
            return self._message
        name = "object" if self.model == _UNKNOWN_MODEL else self.model
        filters = self.details.get("filters")
        if isinstance(filters, Mapping) and filters:
            return f"No {name} found matching: {_filter_text(filters)}"
        return f"No {name} found"

    def hints(self) -> list[str]:
        return [
            "NOTICE: no row matched the filters. This is not an ORM bug.",
            "get() expects exactly one row. Use get_or_none() when a missing row is a normal "
            "outcome, or filter(...).first() to get None instead of an error.",
        ]


class MultipleObjectsReturned(QueryError, LookupError):
    """A lookup that expects one row matched several (also a ``LookupError``)."""

    def __init__(
        self,
        model: str | type | object | None = None,
        count: int | None = None,
        filters: Mapping[str, Any] | None = None,
        *,
        message: str | None = None,
        class_name: str | None = None,
        method_name: str | None = None,
    ) -> None:
        super().__init__(
            message=message,
            model=model,
            details={"count": count, "filters": dict(filters or {})},
            class_name=class_name,
            method_name=method_name,
        )

    @property
    def message(self) -> str:
        """``Found <n> <Model> objects when expecting one. Filters: k=<redacted>``."""
        if self._message:
            return self._message
        count = self.details.get("count")
        name = "" if self.model == _UNKNOWN_MODEL else f" {self.model}"
        filters = self.details.get("filters")
        text = _filter_text(filters) if isinstance(filters, Mapping) and filters else "(none)"
        found = count if count is not None else "several"
        return f"Found {found}{name} objects when expecting one. Filters: {text}"

    def hints(self) -> list[str]:
        return [
            "Narrow the filters to a unique field such as the primary key, or use "
            "filter(...).all() / filter(...).first() when several rows are valid.",
        ]


class QueryUsageError(QueryError, TypeError):
    """A query was used in a way it does not support, e.g. ``qs[0]`` (also a ``TypeError``)."""


class DatabaseError(ORMException):
    """The database rejected or failed a statement."""

    def __init__(
        self,
        message: str | None = None,
        model: str | type | object | None = None,
        details: Mapping[str, Any] | None = None,
        class_name: str | None = None,
        method_name: str | None = None,
        *,
        operation: str | None = None,
        original_error: BaseException | str | None = None,
        sql: str | None = None,
        params: Any = None,
    ) -> None:
        merged = dict(details or {})
        if sql is not None:
            merged.setdefault("sql", sql)
        if params is not None:
            merged.setdefault("params", params)
        if original_error is not None:
            merged.setdefault("original_error", _error_text(original_error))
        if message is None and original_error is not None:
            during = f" during {operation or method_name}" if operation or method_name else ""
            message = f"Database error{during}: {_error_text(original_error)}"
        self.original_error = original_error
        super().__init__(
            message=message,
            model=model,
            details=merged,
            class_name=class_name,
            method_name=method_name or operation,
        )


# Shadows the builtin on purpose (the spec's name); the umbrella does not re-export it at top level.
class ConnectionError(DatabaseError):
    """The server could not be reached or refused the login."""

    def __init__(
        self,
        model: str | type | object | None = None,
        db_url: str | None = None,
        original_error: BaseException | str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
        operation: str | None = None,
    ) -> None:
        merged: dict[str, Any] = {"db_url": redact_dsn(db_url) if db_url else None}
        merged.update(details or {})
        if message is None:
            target = f" {redact_dsn(db_url)}" if db_url else ""
            cause = f": {_error_text(original_error)}" if original_error is not None else ""
            message = f"Failed to connect to database{target}{cause}"
        super().__init__(
            message=message,
            model=model,
            details=merged,
            operation=operation,
            original_error=original_error,
        )

    def hints(self) -> list[str]:
        return [
            "Check host, port, user, password, database_name and ssl in the registered "
            "DatabaseProjectConfig, and that the server accepts connections from this machine.",
        ]


_INTEGRITY_KINDS = {
    "unique": "unique constraint",
    "foreign_key": "foreign key constraint",
    "not_null": "not-null constraint",
    "check": "check constraint",
    "exclusion": "exclusion constraint",
}
_INTEGRITY_HINTS = {
    "unique": "A row with these values already exists. Update it, use upsert(), or change the "
    "unique values.",
    "foreign_key": "The referenced row does not exist (or is still referenced). Create or keep "
    "the parent row first.",
    "not_null": "A required column got NULL. Pass a value or give the field a default.",
    "check": "A value breaks the table's CHECK constraint. Change the value.",
    "exclusion": "The row conflicts with an existing row under the exclusion constraint.",
}


class IntegrityError(DatabaseError):
    """A write broke a constraint (SQLSTATE class 23).

    Attributes:
        constraint: the kind: ``unique``, ``foreign_key``, ``not_null``, ``check`` or
            ``exclusion`` (any other text given is kept as it is).
        constraint_name: the constraint's name as the server reported it.
        table: the table, when reported.
        column: the column, when reported.
    """

    def __init__(
        self,
        model: str | type | object | None = None,
        constraint: str | None = None,
        original_error: BaseException | str | None = None,
        *,
        constraint_name: str | None = None,
        table: str | None = None,
        column: str | None = None,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
        operation: str | None = None,
        sql: str | None = None,
        params: Any = None,
    ) -> None:
        self.constraint = constraint
        self.constraint_name = constraint_name
        self.table = table
        self.column = column
        merged: dict[str, Any] = {
            "constraint": constraint,
            "constraint_name": constraint_name,
            "table": table,
            "column": column,
        }
        merged.update(details or {})
        if message is None:
            kind = _INTEGRITY_KINDS.get(constraint or "", constraint or "constraint")
            where = [
                f"{label} {value!r}"
                for label, value in (
                    ("constraint", constraint_name),
                    ("table", table),
                    ("column", column),
                )
                if value
            ]
            message = f"Database integrity error: {kind} violated"
            if where:
                message += f" ({', '.join(where)})"
            if original_error is not None:
                message += f": {_error_text(original_error)}"
        super().__init__(
            message=message,
            model=model,
            details=merged,
            operation=operation,
            original_error=original_error,
            sql=sql,
            params=params,
        )

    def hints(self) -> list[str]:
        hint = _INTEGRITY_HINTS.get(self.constraint or "")
        return [hint] if hint else []


class TransactionError(DatabaseError):
    """A transaction could not begin, commit or roll back."""

    def __init__(
        self,
        model: str | type | object | None = None,
        operation: str | None = None,
        original_error: BaseException | str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        if message is None:
            cause = f": {_error_text(original_error)}" if original_error is not None else ""
            message = f"Transaction failed during {operation or 'an operation'}{cause}"
        super().__init__(
            message=message,
            model=model,
            details=details,
            operation=operation,
            original_error=original_error,
        )


class ConfigurationError(ORMException):
    """The ORM is not configured for what was asked (database, driver, plugin...)."""

    def __init__(
        self,
        model: str | type | object | None = None,
        config_key: str | None = None,
        reason: str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged: dict[str, Any] = {"config_key": config_key, "reason": reason}
        merged.update(details or {})
        if message is None:
            if config_key:
                message = f"Configuration error for {config_key}: {reason or 'invalid value'}"
            else:
                message = reason or "Invalid ORM configuration"
        super().__init__(message=message, model=model, details=merged)


class ModelNotFoundError(ConfigurationError, ValueError):
    """No registered model has the name asked for (also a ``ValueError``, as upstream raised)."""


class DatabaseConfigError(ConfigurationError):
    """A database registration or lookup failed (bad, conflicting or unknown configuration)."""

    def __init__(
        self,
        message: str | None = None,
        model: str | type | object | None = None,
        *,
        config_key: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            model=model, config_key=config_key, reason=reason, message=message, details=details
        )


class CacheError(ORMException):
    """The cache layer failed."""

    def __init__(
        self,
        model: str | type | object | None = None,
        operation: str | None = None,
        details: Mapping[str, Any] | None = None,
        original_error: BaseException | str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        merged = dict(details or {})
        if original_error is not None:
            merged.setdefault("original_error", _error_text(original_error))
        self.original_error = original_error
        super().__init__(
            message=message or f"Cache operation '{operation}' failed",
            model=model,
            details=merged,
            method_name=operation,
        )


class StateError(ORMException):
    """An object or pool is in a state that does not allow the operation."""

    def __init__(
        self,
        model: str | type | object | None = None,
        operation: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        original_error: BaseException | str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        merged = dict(details or {})
        if reason:
            merged.setdefault("reason", reason)
        if original_error is not None:
            merged.setdefault("original_error", _error_text(original_error))
        if message is None:
            message = f"State operation '{operation}' failed" + (f": {reason}" if reason else "")
        self.original_error = original_error
        super().__init__(message=message, model=model, details=merged, method_name=operation)


class RelationshipError(ORMException):
    """A relation (foreign key, inverse FK, many-to-many) could not be resolved or used."""

    def __init__(
        self,
        model: str | type | object | None = None,
        related_model: str | type | object | None = None,
        field: str | None = None,
        reason: str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged: dict[str, Any] = {
            "related_model": _model_name(related_model),
            "field": field,
            "reason": reason,
        }
        merged.update(details or {})
        super().__init__(
            message=message or f"Relationship error: {reason or 'invalid relation'}",
            model=model,
            details=merged,
        )


class UnknownRelationError(RelationshipError, AttributeError):
    """A relation name that the model does not declare (also an ``AttributeError``).

    Raised by ``get_related``/``set_related``/``has_related`` and the relation methods, so code
    written against the upstream ``AttributeError("No related field for x")`` keeps working.
    """


class MigrationError(ORMException):
    """A migration could not be loaded, applied or rolled back."""

    def __init__(
        self,
        model: str | type | object | None = None,
        migration: str | None = None,
        original_error: BaseException | str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged: dict[str, Any] = {
            "migration": migration,
            "original_error": _error_text(original_error),
        }
        merged.update(details or {})
        self.original_error = original_error
        super().__init__(
            message=message or f"Migration '{migration}' failed: {_error_text(original_error)}",
            model=model,
            details=merged,
        )


class ParameterError(ORMException):
    """A bound parameter has the wrong type or value for its placeholder."""

    def __init__(
        self,
        model: str | type | object | None = None,
        query: str | None = None,
        args: Any = None,
        reason: str | None = None,
        class_name: str | None = None,
        method_name: str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged: dict[str, Any] = {
            "query": query,
            "args": args if args is not None else [],
            "reason": reason,
        }
        merged.update(details or {})
        super().__init__(
            message=message or f"Invalid query parameter: {reason or 'bad value'}",
            model=model,
            details=merged,
            class_name=class_name,
            method_name=method_name,
        )

    def hints(self) -> list[str]:
        return [
            "A bound value does not fit its column type (for example a str where a UUID or an "
            "int is expected, or a list where a single value is expected: use field__in=...).",
        ]


class UnknownDatabaseError(ORMException):
    """A database error that no more specific class describes."""

    def __init__(
        self,
        model: str | type | object | None = None,
        operation: str | None = None,
        query: str | None = None,
        args: Any = None,
        traceback: str | None = None,
        original_error: BaseException | str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        cause = _error_text(original_error) or "Unknown"
        merged: dict[str, Any] = {
            "query": query,
            "args": args if args is not None else [],
            "traceback": traceback,
            "original_error": cause,
        }
        merged.update(details or {})
        self.original_error = original_error
        super().__init__(
            message=message or f"Unexpected database error during {operation}: {cause}",
            model=model,
            details=merged,
            method_name=operation,
        )


class AdapterError(ORMException):
    """A database adapter or driver failed outside a statement."""

    def __init__(
        self,
        model: str | type | object | None = None,
        adapter_name: str | None = None,
        original_error: BaseException | str | None = None,
        *,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged: dict[str, Any] = {
            "adapter": adapter_name,
            "original_error": _error_text(original_error),
        }
        merged.update(details or {})
        self.original_error = original_error
        super().__init__(
            message=message or f"Error in {adapter_name} adapter: {_error_text(original_error)}",
            model=model,
            details=merged,
        )


class OptimisticLockError(ORMException):
    """A versioned row changed since it was read; re-fetch and retry."""

    def __init__(
        self,
        model: str | type | object | None = None,
        pk: Any = None,
        expected_version: int | None = None,
        message: str | None = None,
    ) -> None:
        name = _model_name(model) or _model_name(type(self).default_model) or "the row"
        super().__init__(
            message=message
            or (
                f"Optimistic lock conflict on {name} (pk={pk!r}, expected version="
                f"{expected_version}): the row was changed by someone else. Re-fetch it and "
                "retry."
            ),
            model=model,
            details={"pk": pk, "expected_version": expected_version},
        )


class SyncContextError(ORMException, RuntimeError):
    """A ``*_sync`` twin was called inside a running event loop (also a ``RuntimeError``)."""
