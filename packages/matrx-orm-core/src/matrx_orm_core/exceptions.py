"""The matrx-orm exception hierarchy, its error reports, and the redaction of secrets in them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from typing_extensions import Self

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
    "get_show_params",
    "redact_dsn",
    "redact_secrets",
    "set_show_params",
]

REDACTED = "<redacted>"
"""The text that replaces a hidden value."""

SHOW_PARAMS_ENV = "MATRX_ORM_SHOW_PARAMS"
PARAM_KEYS = frozenset({"params", "args", "filters", "value", "values"})
"""Detail keys whose values are hidden in error text unless parameters are shown."""

_SECRET_KEY_PARTS = ("password", "passwd", "pwd", "secret")
_MAX_VALUE_CHARS = 300
_RULE = "=" * 80
_UNKNOWN_MODEL = "Unknown Model"
_TRUTHY = frozenset({"1", "true", "yes", "on"})

# The password of a URL (postgresql://, and any other scheme too): everything between "user:"
# and the last "@" of the token. Greedy on purpose: an unencoded "@" or "/" inside a password
# must still be hidden, at the price of over-hiding in rare texts.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^\s:/?#@\[\]]*:)(?P<secret>\S*)(?=@)",
    re.IGNORECASE,
)
_SECRET_WORD = r"\b[a-z0-9_]*(?:password|passwd|pwd|secret)[a-z0-9_]*"
# key=value forms (libpq keyword DSNs, URL query strings); "$1" placeholders are not secrets.
_KEYWORD_PASSWORD = re.compile(
    rf"(?P<head>{_SECRET_WORD}\s*=\s*)(?!\$\d)"
    r"(?P<secret>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s'\",;&)]+)",
    re.IGNORECASE,
)
# "password": "value" forms (JSON or a dict's repr inside a message).
_QUOTED_PASSWORD = re.compile(
    rf"(?P<head>(?P<q>['\"]){_SECRET_WORD}(?P=q)\s*:\s*)"
    r"(?P<secret>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")",
    re.IGNORECASE,
)

_show_params_override: bool | None = None


def set_show_params(show: bool | None) -> None:
    """Show or hide parameter and filter values in error text.

    Args:
        show: ``True`` shows values, ``False`` hides them, ``None`` goes back to the
            ``MATRX_ORM_SHOW_PARAMS`` environment variable (hidden unless it is ``1``).

    Raises:
        TypeError: ``show`` is not a bool or None.
    """
    global _show_params_override
    if show is not None and not isinstance(show, bool):
        raise TypeError(f"set_show_params() takes True, False or None, not {show!r}")
    _show_params_override = show


def get_show_params() -> bool:
    """Return whether error text shows parameter and filter values.

    Returns:
        The value set by :func:`set_show_params`, else whether ``MATRX_ORM_SHOW_PARAMS`` is one of
        ``1``, ``true``, ``yes`` or ``on``.
    """
    if _show_params_override is not None:
        return _show_params_override
    return os.environ.get(SHOW_PARAMS_ENV, "").strip().lower() in _TRUTHY


def redact_dsn(text: str) -> str:
    """Hide every password inside a piece of text.

    Covers the password of any ``postgresql://`` / ``postgres://`` URL (and of URLs with other
    schemes, such as ``mysql://``), ``password=...`` style
    key/value pairs (libpq keyword strings, URL query strings) and ``"password": "..."`` pairs.

    Args:
        text: any text, such as a DSN, a message or an error from a driver.

    Returns:
        The text with each password replaced by ``<redacted>``.
    """
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    return _QUOTED_PASSWORD.sub(lambda m: m.group("head") + repr(REDACTED), text)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and any(part in key.lower() for part in _SECRET_KEY_PARTS)


def redact_secrets(value: Any) -> Any:
    """Return a copy of ``value`` with every password hidden, for logs and listings.

    Mapping keys that name a secret (containing ``password``, ``passwd``, ``pwd`` or ``secret``)
    get ``<redacted>`` when they hold a non-empty value, and every string goes through
    :func:`redact_dsn`. Dicts, lists, tuples and sets are copied; other objects are returned as
    they are.

    Args:
        value: any value.

    Returns:
        The redacted copy.
    """
    if isinstance(value, str):
        return redact_dsn(value)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if v not in (None, "") else v) if _is_secret_key(k) else redact_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_secrets(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(redact_secrets(v) for v in value)
    return value


def _model_name(model: object) -> str | None:
    """A model given as a class, a name or an instance, as its name."""
    if model is None or model == "":
        return None
    if isinstance(model, str):
        return model
    if isinstance(model, type):
        return model.__name__
    return type(model).__name__


class _Hidden:
    """Renders as ``<redacted>`` without quotes inside a rendered container."""

    def __repr__(self) -> str:
        return REDACTED


_HIDDEN = _Hidden()


def _render(value: Any, *, hide: bool, top: bool = False) -> str:
    """One context value as text: secrets always hidden, parameter values hidden when ``hide``."""
    if isinstance(value, ORMException):
        return redact_dsn(value.message)
    if isinstance(value, str):
        return redact_dsn(value) if top else repr(redact_dsn(value))
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if _is_secret_key(key):
                text = REDACTED
            elif hide and key in PARAM_KEYS:
                text = _render(_mask(item), hide=hide)
            else:
                text = _render(item, hide=hide)
            parts.append(f"{key!r}: {text}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_render(v, hide=hide) for v in value]
        if isinstance(value, list):
            return "[" + ", ".join(items) + "]"
        if isinstance(value, tuple):
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "{" + ", ".join(items) + "}" if items else "set()"
    return redact_dsn(repr(value))


def _mask(value: Any) -> Any:
    """Keep the shape of a parameter value (keys, lengths) and hide every leaf."""
    if isinstance(value, Mapping):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return [_HIDDEN for _ in value]
    return _HIDDEN


def _truncate(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_CHARS else text[:_MAX_VALUE_CHARS] + "..."


def _restore_exception(cls: type[ORMException], state: dict[str, Any]) -> ORMException:
    """Unpickle an ORM exception without calling its constructor."""
    exc = cls.__new__(cls)
    exc.__dict__.update(state)
    exc.args = (redact_dsn(exc.message),)
    return exc


def _error_text(error: object) -> str | None:
    return None if error is None else redact_dsn(str(error))


class MatrxORMWarning(UserWarning):
    """Base class of every warning matrx-orm emits."""


class ConfigurationWarning(MatrxORMWarning):
    """A configuration call that did nothing or may not do what was meant."""


class ORMException(Exception):
    """Base class of every matrx-orm error.

    Attributes:
        model: the model name (``"Unknown Model"`` when not known).
        details: context values for programs; these keep raw values (``details["filters"]``).
        class_name: the class where the error was raised, if given.
        method_name: the operation, such as ``"get"`` (also readable as ``operation``).
    """

    default_message: ClassVar[str] = "An error occurred in the ORM"
    default_model: ClassVar[str | type | None] = None
    """Model used when none is given; per-model subclasses (``Post.DoesNotExist``) may set it."""

    def __init__(
        self,
        message: str | None = None,
        model: str | type | object | None = None,
        details: Mapping[str, Any] | None = None,
        class_name: str | None = None,
        method_name: str | None = None,
    ) -> None:
        self.model: str = (
            _model_name(model) or _model_name(type(self).default_model) or _UNKNOWN_MODEL
        )
        self.details: dict[str, Any] = self._sanitize_details(dict(details or {}))
        self._message = message
        self.class_name = class_name
        self.method_name = method_name
        super().__init__(redact_dsn(self.message))

    @staticmethod
    def _sanitize_details(details: Mapping[str, Any]) -> dict[str, Any]:
        """Flatten nested ORM exceptions to their message so reports stay short."""
        return {
            key: value.message if isinstance(value, ORMException) else value
            for key, value in details.items()
        }

    @property
    def message(self) -> str:
        """The one-line message (without the context block)."""
        return self._message or self.default_message

    @property
    def operation(self) -> str | None:
        """The operation that failed (the same as ``method_name``)."""
        return self.method_name

    @property
    def sql(self) -> str | None:
        """The SQL text that failed, when known."""
        value = self.details.get("sql", self.details.get("query"))
        return value if isinstance(value, str) else None

    @property
    def params(self) -> Any:
        """The bound parameters (raw values), when known."""
        return self.details.get("params")

    @property
    def filters(self) -> Any:
        """The filters of the failed lookup (raw values), when known."""
        return self.details.get("filters")

    def enrich(
        self,
        model: str | type | object | None = None,
        operation: str | None = None,
        args: Any = None,
        **extra: Any,
    ) -> Self:
        """Add context while the error travels up; a value already present is kept.

        Args:
            model: the model class or name; used only while the model is unknown.
            operation: the operation name; used only while ``method_name`` is empty.
            args: stored as ``details["args"]`` unless already there.
            **extra: more context (``sql=``, ``params=``, ``filters=``...), each stored in
                ``details`` unless the key is already there.

        Returns:
            This exception, so ``raise err.enrich(...)`` works.
        """
        name = _model_name(model)
        if name and self.model == _UNKNOWN_MODEL:
            self.model = name
        if operation and not self.method_name:
            self.method_name = operation
        if args is not None and "args" not in self.details:
            self.details["args"] = args
        for key, value in self._sanitize_details(extra).items():
            if key not in self.details and value is not None:
                self.details[key] = value
        self.args = (redact_dsn(self.message),)
        return self

    def hints(self) -> list[str]:
        """Lines that say how to fix the error (shown under ``Hint:``)."""
        return []

    def format_message(self) -> str:
        """The multi-line report that ``str()`` returns; secrets hidden, no colour codes.

        Returns:
            The report: model and operation, message, context lines and hints.
        """
        hide = not get_show_params()
        if self.method_name:
            where = f"{self.class_name}.{self.method_name}()" if self.class_name else ""
            where = where or f"{self.method_name}()"
            header = f"[ERROR in {self.model}: {where}]"
        else:
            header = f"[ERROR in {self.model}]"
        lines = ["", _RULE, header, "", f"Message: {redact_dsn(self.message)}"]
        context: list[tuple[str, str]] = []
        hidden_any = False
        for key, value in self.details.items():
            if key == "traceback" or value is None:
                continue
            if _is_secret_key(key):
                text = REDACTED
            elif hide and key in PARAM_KEYS:
                empty = isinstance(value, (Mapping, list, tuple, set, frozenset)) and not value
                hidden_any = hidden_any or not empty
                text = _render(_mask(value), hide=hide, top=True)
            else:
                text = _render(value, hide=hide, top=True)
            context.append((key, _truncate(text)))
        if context:
            lines += ["", "Context:"]
            width = max(len(key) for key, _ in context) + 1
            for key, text in context:
                text = text.replace("\n", "\n" + " " * (width + 3))
                lines.append(f"  {(key + ':').ljust(width)} {text}")
        hints = self.hints()
        if hidden_any:
            hints.append(
                "Parameter values are hidden. Set MATRX_ORM_SHOW_PARAMS=1 or call "
                "matrx_orm.exceptions.set_show_params(True) to show them."
            )
        if hints:
            lines += ["", "Hint:"] + [f"  - {hint}" for hint in hints]
        lines.append(_RULE)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_message()

    def __repr__(self) -> str:
        parts = [f"model={self.model!r}"]
        if self.method_name:
            parts.append(f"operation={self.method_name!r}")
        parts.append(f"message={redact_dsn(self.message)!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_exception, (type(self), dict(self.__dict__)))


def _filter_text(filters: Mapping[str, Any]) -> str:
    hide = not get_show_params()
    return ", ".join(
        f"{key}={REDACTED if hide or _is_secret_key(key) else redact_dsn(str(value))}"
        for key, value in filters.items()
    )


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
