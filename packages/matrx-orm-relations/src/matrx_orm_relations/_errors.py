"""``AppError`` and ``handle_errors``: BaseManager's application-level error wrapper (API.md §4.5).

Most manager methods turn any exception into an :class:`AppError` that carries a structured
``error`` dict for an API layer (status, type, message, a client-safe message, context,
traceback). The original exception is kept as ``__cause__``. A manager class with
``raise_orm_errors = True`` lets the ORM's own exceptions through unchanged.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ParamSpec, TypeVar

from matrx_orm_core.exceptions import (
    DoesNotExist,
    FieldError,
    IntegrityError,
    MultipleObjectsReturned,
    ORMException,
    RelationshipError,
    ValidationError,
)

__all__ = ["AppError", "handle_errors"]

P = ParamSpec("P")
R = TypeVar("R")


class AppError(Exception):
    """An error raised by a ``BaseManager`` method, shaped for an application's API layer.

    Args:
        message: What went wrong (for logs and developers).
        error_type: The original exception's class name (``"DoesNotExist"``), or a category.
        client_visible: A message safe to show an end user (no values, no SQL).
        context: Where it happened: manager, model, method.
        status: An HTTP-like status: 400 bad input (validation, unknown field or relation),
            404 not found, 409 conflict, 500 otherwise.

    Attributes:
        error: ``{"status", "type", "message", "client_visible", "context", "traceback"}``.
    """

    def __init__(
        self,
        message: str,
        error_type: str = "AppError",
        client_visible: str | None = None,
        context: Mapping[str, Any] | None = None,
        status: int = 500,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.client_visible = client_visible or "An unexpected error occurred."
        self.context = dict(context or {})
        self.status = status

    @property
    def error(self) -> dict[str, Any]:
        """The structured error, with the original exception's traceback when chained."""
        cause = self.__cause__
        trace = (
            "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
            if cause is not None
            else None
        )
        return {
            "status": self.status,
            "type": self.error_type,
            "message": self.message,
            "client_visible": self.client_visible,
            "context": dict(self.context),
            "traceback": trace,
        }

    def __repr__(self) -> str:
        return f"AppError({self.message!r}, error_type={self.error_type!r}, status={self.status})"


def _classify(err: BaseException, model: str) -> tuple[int, str]:
    if isinstance(err, DoesNotExist):
        return 404, f"The requested {model} was not found."
    if isinstance(err, MultipleObjectsReturned):
        return 409, f"More than one {model} matched; narrow the request."
    if isinstance(err, IntegrityError):
        return 409, f"The {model} conflicts with existing data."
    if isinstance(err, (ValidationError, FieldError, RelationshipError)):
        return 400, err.message
    if isinstance(err, (ValueError, TypeError)) and not isinstance(err, ORMException):
        return 400, "The request is not valid."
    return 500, "An unexpected error occurred."


def to_app_error(err: BaseException, manager: Any, method: str) -> AppError:
    """The :class:`AppError` for ``err`` raised in ``manager.method``."""
    model = getattr(getattr(manager, "model", None), "__name__", "item")
    status, client = _classify(err, model)
    message = err.message if isinstance(err, ORMException) else str(err) or type(err).__name__
    context = {"manager": type(manager).__name__, "model": model, "method": method}
    return AppError(message, type(err).__name__, client, context, status)


def handle_errors(
    func: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate an async manager method: any exception becomes an :class:`AppError` (chained),
    unless the manager sets ``raise_orm_errors = True`` and the exception is an ORM one.
    ``AppError`` and cancellation pass through unchanged."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except AppError:
            raise
        except Exception as err:
            manager = args[0] if args else None
            if isinstance(err, ORMException) and getattr(manager, "raise_orm_errors", False):
                raise
            raise to_app_error(err, manager, func.__name__) from err

    return wrapper
