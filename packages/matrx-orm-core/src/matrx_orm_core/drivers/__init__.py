"""Driver selection: built-in drivers load lazily by name; tests may register their own."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable

from matrx_orm_core.exceptions import ConfigurationError

from .base import Connection, Driver, NotificationHandler, Pool, Row

__all__ = [
    "DRIVER_ENV_VAR",
    "Connection",
    "Driver",
    "NotificationHandler",
    "Pool",
    "Row",
    "get_driver",
    "register_driver",
    "unregister_driver",
]

DRIVER_ENV_VAR = "MATRX_ORM_DRIVER"
"""Environment variable that forces a driver (a name, or a comma-separated preference list)."""

_BUILTIN: dict[str, tuple[str, str]] = {
    "asyncpg": ("matrx_orm_core.drivers.asyncpg", "asyncpg"),
}
"""Built-in driver name → (module exposing ``create_driver()``, the pip requirement)."""

_factories: dict[str, Callable[[], Driver]] = {}
_instances: dict[str, Driver] = {}
_lock = threading.Lock()


def register_driver(name: str, factory: Callable[[], Driver]) -> None:
    """Make ``factory`` the driver for ``name`` (replacing any earlier one).

    The factory is called once, on the first :func:`get_driver` for that name.

    Raises:
        ConfigurationError: ``name`` is empty.
    """
    if not name or not name.strip():
        raise ConfigurationError(config_key="driver", reason="A driver name must be non-empty.")
    with _lock:
        _factories[name] = factory
        _instances.pop(name, None)


def unregister_driver(name: str) -> None:
    """Forget a driver added with :func:`register_driver` (built-in drivers stay available)."""
    with _lock:
        _factories.pop(name, None)
        _instances.pop(name, None)


def _load(name: str) -> Driver:
    factory = _factories.get(name)
    if factory is not None:
        return factory()
    module_name, _requirement = _BUILTIN[name]
    module = importlib.import_module(module_name)
    create: Callable[[], Driver] = module.create_driver
    return create()


def get_driver(name: str = "asyncpg") -> Driver:
    """Return the driver called ``name`` (``$MATRX_ORM_DRIVER`` overrides it).

    Either value may be a comma-separated preference list; the first driver that loads wins.
    Drivers are imported on first use, so importing the ORM imports no database library.

    Returns:
        The shared driver instance.

    Raises:
        ConfigurationError: no listed driver could be loaded; the message lists every attempt
            and why it failed.
    """
    forced = os.environ.get(DRIVER_ENV_VAR, "").strip()
    wanted = forced or name
    instance = _instances.get(wanted)
    if instance is not None:
        return instance
    candidates = [part.strip() for part in wanted.split(",") if part.strip()]
    attempts: list[str] = []
    with _lock:
        for candidate in candidates:
            instance = _instances.get(candidate)
            if instance is None:
                if candidate not in _factories and candidate not in _BUILTIN:
                    known = ", ".join(sorted({*_BUILTIN, *_factories}))
                    attempts.append(f"{candidate}: unknown driver (known drivers: {known})")
                    continue
                try:
                    instance = _load(candidate)
                except ImportError as err:
                    requirement = _BUILTIN.get(candidate, ("", candidate))[1]
                    attempts.append(
                        f"{candidate}: import failed ({err}); install it with "
                        f"`pip install {requirement}`"
                    )
                    continue
                except Exception as err:
                    attempts.append(f"{candidate}: {type(err).__name__}: {err}")
                    continue
                _instances[candidate] = instance
            _instances[wanted] = instance
            return instance
    source = f"${DRIVER_ENV_VAR}={forced!r}" if forced else f"driver={name!r}"
    reason = (
        f"No database driver could be loaded for {source}. Attempts: "
        + "; ".join(attempts or ["(no driver name given)"])
        + ". Set DatabaseProjectConfig.driver or $MATRX_ORM_DRIVER to an installed driver."
    )
    raise ConfigurationError(config_key="driver", reason=reason)
