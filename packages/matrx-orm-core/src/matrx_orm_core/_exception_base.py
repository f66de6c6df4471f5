"""The base of the exception hierarchy (ORMException, the warning classes) and its report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from typing_extensions import Self

from ._redaction import PARAM_KEYS, REDACTED, get_show_params, is_secret_key, redact_dsn

__all__ = [
    "ConfigurationWarning",
    "MatrxORMWarning",
    "ORMException",
]

_MAX_VALUE_CHARS = 300
_RULE = "=" * 80
_UNKNOWN_MODEL = "Unknown Model"


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
            if is_secret_key(key):
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
            if is_secret_key(key):
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
        f"{key}={REDACTED if hide or is_secret_key(key) else redact_dsn(str(value))}"
        for key, value in filters.items()
    )
