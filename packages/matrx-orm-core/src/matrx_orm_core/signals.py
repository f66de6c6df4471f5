"""Lifecycle signals: the ``Signal`` class and the six model signals the write methods fire.

A receiver is any callable taking ``(sender, **kwargs)``; it may be a coroutine function or a
plain function (a returned awaitable is awaited). Receivers run one after another in the order
they were connected, and are held by strong references (a nested function stays connected until
``disconnect``).

Firing points (API.md §2.12, ruling §10.6):

* ``pre_create`` / ``post_create(created=True)`` around ``Model.create()`` and the INSERT done
  by ``save()`` on a new instance;
* ``pre_save`` / ``post_save`` around every ``save()``, ``create()`` and instance ``update()``,
  with ``created=True`` for an INSERT and ``created=False`` for an UPDATE (``update()`` also
  passes ``update_fields``, the names it writes);
* ``pre_delete`` / ``post_delete`` around instance ``delete()``.

An exception raised by a ``pre_*`` receiver propagates out of the operation, which then writes
nothing. Exceptions raised by ``post_*`` receivers are logged and returned by ``send``; they do
not undo the write. Bulk operations, ``upsert``, ``bulk_upsert``, ``update_where`` and
``delete_where`` fire no signals.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "Signal",
    "post_create",
    "post_delete",
    "post_save",
    "pre_create",
    "pre_delete",
    "pre_save",
]

logger = logging.getLogger(__name__)

Receiver = Callable[..., Any]
R = TypeVar("R", bound=Receiver)


class Signal:
    """A named list of receivers that ``send`` calls in order.

    Args:
        name: A label used in ``repr`` and log messages.

    Example:
        >>> from matrx_orm_core.signals import Signal
        >>> ping = Signal("ping")
        >>> @ping.connect
        ... def answer(sender, **kwargs):
        ...     return f"pong from {sender}"
        >>> ping.receivers == [answer]
        True
    """

    __slots__ = ("name", "receivers")

    def __init__(self, name: str) -> None:
        self.name = name
        self.receivers: list[Receiver] = []
        """The connected receivers, in call order. Empty means sending costs nothing."""

    def connect(self, receiver: R) -> R:
        """Add ``receiver`` (ignored when already connected); usable as a decorator.

        Returns:
            ``receiver`` itself, so ``@signal.connect`` leaves the function unchanged.
        """
        if receiver not in self.receivers:
            self.receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Receiver) -> None:
        """Remove ``receiver``; does nothing when it is not connected."""
        if receiver in self.receivers:
            self.receivers.remove(receiver)

    async def send(self, sender: Any, **kwargs: Any) -> list[tuple[Receiver, Any]]:
        """Call every receiver with ``(sender, **kwargs)``, one after another.

        A receiver's exception (an ``Exception``; cancellation still propagates) is logged and
        recorded in place of its result, and the remaining receivers still run.

        Returns:
            ``(receiver, result)`` pairs in call order, where ``result`` is the receiver's
            (awaited) return value or the exception it raised.
        """
        results: list[tuple[Receiver, Any]] = []
        for receiver in list(self.receivers):
            try:
                result = receiver(sender, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as err:
                logger.exception(
                    "receiver %r of signal %r raised %s", receiver, self.name, type(err).__name__
                )
                results.append((receiver, err))
            else:
                results.append((receiver, result))
        return results

    async def send_or_raise(self, sender: Any, **kwargs: Any) -> list[tuple[Receiver, Any]]:
        """Like ``send``, but the first receiver exception propagates (later ones do not run).

        The ORM uses this for the ``pre_*`` signals, so a receiver can veto an operation.

        Returns:
            ``(receiver, result)`` pairs in call order.

        Raises:
            Exception: Whatever a receiver raised, unchanged.
        """
        results: list[tuple[Receiver, Any]] = []
        for receiver in list(self.receivers):
            result = receiver(sender, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            results.append((receiver, result))
        return results

    def __repr__(self) -> str:
        return f"<Signal {self.name!r}: {len(self.receivers)} receiver(s)>"


pre_create = Signal("pre_create")
"""Sent before a new row is INSERTed by ``create()``/``save()`` (``sender``, ``instance``)."""

post_create = Signal("post_create")
"""Sent after that INSERT (``sender``, ``instance``, ``created=True``)."""

pre_save = Signal("pre_save")
"""Sent before every ``save()``/``create()``/``update()`` write (``instance``, ``created``)."""

post_save = Signal("post_save")
"""Sent after every ``save()``/``create()``/``update()`` write (``instance``, ``created``)."""

pre_delete = Signal("pre_delete")
"""Sent before instance ``delete()`` (``sender``, ``instance``); raising vetoes the delete."""

post_delete = Signal("post_delete")
"""Sent after instance ``delete()`` (``sender``, ``instance``)."""
