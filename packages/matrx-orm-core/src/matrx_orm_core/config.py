"""Database configuration: DatabaseProjectConfig, the DatabaseRegistry and its lookup functions."""

from __future__ import annotations

import logging
import os
import ssl as _ssl
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from typing_extensions import Self

from ._codegen_paths import code_targets
from ._dsn import SSL_MODES, format_dsn, parse_url, port_problem
from .exceptions import (
    REDACTED,
    ConfigurationError,
    ConfigurationWarning,
    DatabaseConfigError,
    redact_secrets,
)

__all__ = [
    "DEFAULT_DATABASE_ENV",
    "SSL_MODES",
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
    "registry",
]

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_ENV = "MATRX_DEFAULT_DATABASE"
"""Names the default database when more than one is registered."""

_POOLER_HOST_SUFFIX = "pooler.supabase.com"
_POOLER_PORT = 6543


def _user_stacklevel() -> int:
    """The ``warnings`` stacklevel of the first frame outside this module."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
        level += 1
    return level


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(repr=False)
class DatabaseProjectConfig:
    """One PostgreSQL database that models can use (``_database = "<name>"``).

    The first fields follow the upstream order, so positional construction keeps working. ``port``
    may be an int or a string of digits; ``password`` may be empty or ``None`` (trust or peer
    auth); ``host`` may be a Unix-socket directory such as ``/var/run/postgresql``. Every value is
    checked when the object is created and again when it is registered. ``repr()`` and ``str()``
    never show the password.

    Raises:
        DatabaseConfigError: a value is missing or invalid (the message names each one).
    """

    name: str
    host: str
    port: str | int
    database_name: str
    user: str
    password: str | None
    alias: str = ""
    manager_config_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    entity_overrides: dict[str, Any] = field(default_factory=dict)
    field_overrides: dict[str, Any] = field(default_factory=dict)
    additional_schemas: list[str] = field(default_factory=list)
    ssl: str | bool | _ssl.SSLContext = "prefer"
    min_size: int = 5
    max_size: int = 20
    command_timeout: float | None = None
    statement_cache_size: int | None = None
    pooler: bool | None = None
    direct_url: str | None = None
    connect_timeout: float = 10.0
    driver: str = "asyncpg"
    server_settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every value (``register_database`` calls this again before recording).

        Raises:
            DatabaseConfigError: the name or alias is empty, required fields are missing, or
                values have the wrong type or range. Nothing is recorded anywhere.
        """
        if not isinstance(self.name, str) or not self.name.strip():
            raise DatabaseConfigError(
                f"DatabaseProjectConfig.name must be a non-empty string (got {self.name!r}). "
                "It is the name models refer to with _database.",
                config_key="name",
            )
        name = self.name
        if not isinstance(self.alias, str) or not self.alias.strip():
            raise DatabaseConfigError(
                f"Database alias cannot be empty for '{name}'. Pass alias='...': a short name, "
                "unique across registered databases, used for generated-code folders.",
                config_key="alias",
            )
        required = ("host", "port", "database_name", "user")
        missing = [key for key in required if _missing(getattr(self, key))]
        if missing:
            raise DatabaseConfigError(
                f"Missing required configuration fields for '{name}': {', '.join(missing)}. "
                "Please check your environment variables.",
                config_key=missing[0],
            )
        problems = self._problems()
        if problems:
            lines = "\n".join(f"  - {key}: {text}" for key, text in problems)
            raise DatabaseConfigError(
                f"Invalid configuration for database '{name}':\n{lines}",
                config_key=problems[0][0],
            )

    def _problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []

        def need(ok: bool, key: str, text: str) -> None:
            if not ok:
                problems.append((key, text))

        if any(sep in self.alias for sep in ("/", "\\")) or self.alias.strip() in (".", ".."):
            problems.append(("alias", "must not contain a path separator (it names a folder)"))
        for key in ("host", "database_name", "user"):
            value = getattr(self, key)
            need(isinstance(value, str), key, f"must be a string (got {type(value).__name__})")
        port_text = port_problem(self.port)
        if port_text:
            problems.append(("port", port_text))
        need(
            self.password is None or isinstance(self.password, str),
            "password",
            f"must be a string or None (got {type(self.password).__name__})",
        )
        for key in ("manager_config_overrides", "entity_overrides", "field_overrides"):
            value = getattr(self, key)
            need(isinstance(value, dict), key, f"must be a dict (got {type(value).__name__})")
        need(
            isinstance(self.additional_schemas, (list, tuple))
            and all(isinstance(s, str) and s for s in self.additional_schemas),
            "additional_schemas",
            f"must be a list of schema names (got {self.additional_schemas!r})",
        )
        need(
            isinstance(self.ssl, (bool, _ssl.SSLContext)) or self.ssl in SSL_MODES,
            "ssl",
            f"must be one of {', '.join(SSL_MODES)}, a bool or an ssl.SSLContext "
            f"(got {self.ssl!r})",
        )
        need(
            _is_int(self.min_size) and self.min_size >= 0,
            "min_size",
            f"must be an int >= 0 (got {self.min_size!r})",
        )
        need(
            _is_int(self.max_size) and self.max_size >= 1,
            "max_size",
            f"must be an int >= 1 (got {self.max_size!r})",
        )
        sizes_valid = _is_int(self.min_size) and _is_int(self.max_size) and self.max_size >= 1
        if sizes_valid and self.min_size > self.max_size:
            problems.append(
                ("min_size", f"must not exceed max_size ({self.min_size} > {self.max_size})")
            )
        need(
            self.command_timeout is None
            or (_is_number(self.command_timeout) and self.command_timeout > 0),
            "command_timeout",
            f"must be a number > 0 or None (got {self.command_timeout!r})",
        )
        need(
            self.statement_cache_size is None
            or (_is_int(self.statement_cache_size) and self.statement_cache_size >= 0),
            "statement_cache_size",
            f"must be an int >= 0 or None (got {self.statement_cache_size!r})",
        )
        need(
            self.pooler is None or isinstance(self.pooler, bool),
            "pooler",
            f"must be True, False or None (got {self.pooler!r})",
        )
        direct_url: object = self.direct_url
        if direct_url is not None:
            if not isinstance(direct_url, str):
                problems.append(("direct_url", "must be a postgresql:// URL string or None"))
            else:
                try:
                    parse_url(direct_url)
                except DatabaseConfigError as err:
                    problems.append(("direct_url", err.message))
        need(
            _is_number(self.connect_timeout) and self.connect_timeout > 0,
            "connect_timeout",
            f"must be a number > 0 (got {self.connect_timeout!r})",
        )
        need(
            isinstance(self.driver, str) and bool(self.driver.strip()),
            "driver",
            f"must be a driver name such as 'asyncpg' (got {self.driver!r})",
        )
        need(
            isinstance(self.server_settings, dict)
            and all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.server_settings.items()
            ),
            "server_settings",
            "must be a dict of str to str",
        )
        return problems

    @property
    def port_number(self) -> int:
        """The port as an int."""
        return int(str(self.port).strip())

    @property
    def uses_socket(self) -> bool:
        """True when ``host`` is a Unix-socket directory."""
        return self.host.startswith("/")

    @property
    def uses_pooler(self) -> bool:
        """True behind a transaction pooler (PgBouncer, Supabase's pooler).

        ``pooler`` decides when set; otherwise a host ending in ``pooler.supabase.com`` or port
        6543 counts as a pooler.
        """
        if self.pooler is not None:
            return self.pooler
        host = self.host.lower().rstrip(".")
        return host.endswith(_POOLER_HOST_SUFFIX) or self.port_number == _POOLER_PORT

    @property
    def effective_statement_cache_size(self) -> int | None:
        """``statement_cache_size`` when set, else 0 behind a pooler, else None (driver default)."""
        if self.statement_cache_size is not None:
            return self.statement_cache_size
        return 0 if self.uses_pooler else None

    def dsn(self, redacted: bool = True) -> str:
        """The connection URL.

        Args:
            redacted: replace the password with ``<redacted>`` (the default).

        Returns:
            ``postgresql://user:<redacted>@host:port/db``. A socket host goes in ``?host=``;
            ``sslmode``, ``connect_timeout`` and ``application_name`` are added when they differ
            from the defaults. Other server settings and ``pooler`` are not part of the URL.
        """
        return format_dsn(self, redacted=redacted)

    def direct_config(self) -> DatabaseProjectConfig | None:
        """The session (non-pooler) connection described by ``direct_url``, if any.

        Returns:
            A config with the same name, alias, pool settings and overrides, the connection
            values of ``direct_url`` and ``pooler=False``; ``None`` without a ``direct_url``.
        """
        if self.direct_url is None:
            return None
        inherited = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in {"name", "alias", "direct_url", "pooler", "host", "port"}
            and f.name not in {"database_name", "user", "password"}
        }
        merged = {**inherited, **parse_url(self.direct_url), "pooler": False}
        return type(self)(name=self.name, alias=self.alias, **merged)

    @classmethod
    def from_url(cls, name: str, url: str, *, alias: str | None = None, **overrides: Any) -> Self:
        """Build a config from a ``postgresql://`` (or ``postgres://``) URL.

        Percent-encoded parts are decoded. A socket directory may be given as
        ``postgresql://user@/db?host=/var/run/postgresql`` or percent-encoded as the host. Missing
        parts follow libpq: host from ``PGHOST``, else the first default socket directory that
        holds a server socket, else ``localhost``; port from ``PGPORT``, else 5432; user from
        ``PGUSER``, else the login name; database from ``PGDATABASE``, else the user. Query
        parameters: ``host``, ``port``, ``user``, ``password``, ``dbname``, ``sslmode`` (sets
        ``ssl``), ``connect_timeout``, ``application_name`` (a server setting) and ``pgbouncer``
        (``true`` sets ``pooler=True``).

        Args:
            name: the database name models use in ``_database``.
            url: the connection URL.
            alias: the alias; defaults to ``name``.
            **overrides: any other field (``ssl=``, ``min_size=``, ``pooler=``...); these win over
                values taken from the URL.

        Returns:
            The validated config (not registered; pass it to ``register_database``).

        Raises:
            DatabaseConfigError: the URL cannot be parsed, uses another scheme, has an unknown
                query parameter, or an override is not a field. Messages never show the password.
        """
        allowed = {f.name for f in fields(cls)} - {"name", "alias"}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise DatabaseConfigError(
                f"from_url() got unknown option(s) for '{name}': {', '.join(unknown)}. "
                f"Valid options: {', '.join(sorted(allowed))}.",
                config_key=unknown[0],
            )
        kwargs = {**parse_url(url), **overrides}
        return cls(name=name, alias=name if alias is None else alias, **kwargs)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "password":
                text = repr(REDACTED) if value else repr(value)
            else:
                text = repr(redact_secrets(value))
            parts.append(f"{f.name}={text}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _differences(a: DatabaseProjectConfig, b: DatabaseProjectConfig) -> list[str]:
    """Names of the fields whose values differ (``port`` compared as a number)."""
    names = []
    for f in fields(a):
        if f.name == "port":
            if a.port_number != b.port_number:
                names.append("port")
        elif getattr(a, f.name) != getattr(b, f.name):
            names.append(f.name)
    return names


def _not_found(name: str, configs: Mapping[str, DatabaseProjectConfig]) -> DatabaseConfigError:
    known = ", ".join(repr(n) for n in configs) or "none"
    return DatabaseConfigError(
        f"Configuration '{name}' not found in registered databases (registered: {known}). "
        f"Call register_database(DatabaseProjectConfig(name={name!r}, ...)) at startup, before "
        "any query uses it.",
        config_key=name,
    )


class DatabaseRegistry:
    """The process-wide table of registered databases (a class-level singleton).

    Every method is a classmethod, so ``DatabaseRegistry.register(config)`` and
    ``DatabaseRegistry().register(config)`` do the same; ``DatabaseRegistry()`` always returns the
    same object. The state lives in the class attributes ``_configs`` (name to config) and
    ``_used_aliases`` (alias to name).
    """

    _instance: ClassVar[DatabaseRegistry | None] = None
    _configs: ClassVar[dict[str, DatabaseProjectConfig]] = {}
    _used_aliases: ClassVar[dict[str, str]] = {}
    _lock: ClassVar[threading.RLock] = threading.RLock()

    def __new__(cls) -> DatabaseRegistry:
        with cls._lock:
            if cls._instance is None:
                cls._instance = super().__new__(cls)
            return cls._instance

    @classmethod
    def register(cls, config: DatabaseProjectConfig) -> None:
        """Record a database; every check runs before anything is recorded.

        Registering an equal config under the same name again only warns.

        Args:
            config: the configuration to record.

        Raises:
            DatabaseConfigError: ``config`` is invalid, another config is registered under its
                name, or its alias is used by another database.
        """
        if not isinstance(config, DatabaseProjectConfig):
            raise DatabaseConfigError(
                "register_database() takes a DatabaseProjectConfig "
                f"(got {type(config).__name__}). Use DatabaseProjectConfig(...) or "
                "DatabaseProjectConfig.from_url(name, url).",
                config_key="config",
            )
        config.validate()
        with cls._lock:
            existing = cls._configs.get(config.name)
            if existing is not None:
                changed = [] if existing is config else _differences(existing, config)
                if not changed:
                    warnings.warn(
                        f"Database '{config.name}' is already registered with the same "
                        "settings; this register_database() call did nothing.",
                        ConfigurationWarning,
                        stacklevel=_user_stacklevel(),
                    )
                    return
                raise DatabaseConfigError(
                    f"Database '{config.name}' is already registered with different settings "
                    f"({', '.join(changed)}). Register it under another name, or call "
                    f"DatabaseRegistry.unregister({config.name!r}) first.",
                    config_key=changed[0],
                )
            owner = cls._used_aliases.get(config.alias)
            if owner is not None and owner in cls._configs:
                raise DatabaseConfigError(
                    f"Database alias '{config.alias}' already used by '{owner}'. Please use a "
                    "different alias.",
                    config_key="alias",
                )
            cls._configs[config.name] = config
            cls._used_aliases[config.alias] = config.name
        logger.debug(
            "Registered database %r (alias %r): %s", config.name, config.alias, config.dsn()
        )

    @classmethod
    def unregister(cls, name: str) -> None:
        """Forget a database and free its alias (open pools are not closed here).

        Raises:
            DatabaseConfigError: ``name`` is not registered.
        """
        with cls._lock:
            config = cls._configs.pop(name, None)
            if config is None:
                raise _not_found(name, cls._configs)
            if cls._used_aliases.get(config.alias) == name:
                del cls._used_aliases[config.alias]
        logger.debug("Unregistered database %r", name)

    @classmethod
    def reset(cls) -> None:
        """Forget every database (for tests)."""
        with cls._lock:
            cls._configs.clear()
            cls._used_aliases.clear()

    @classmethod
    def get_config_dataclass(cls, name: str) -> DatabaseProjectConfig:
        """Return the registered config object itcls.

        Raises:
            DatabaseConfigError: ``name`` is not registered (the message lists those that are).
        """
        try:
            return cls._configs[name]
        except KeyError:
            raise _not_found(name, cls._configs) from None

    @classmethod
    def get_database_config(cls, name: str) -> dict[str, Any]:
        """Return ``host, port, database_name, user, password, alias, additional_schemas``.

        Raises:
            DatabaseConfigError: ``name`` is not registered.
        """
        config = cls.get_config_dataclass(name)
        return {
            "host": config.host,
            "port": config.port,
            "database_name": config.database_name,
            "user": config.user,
            "password": config.password,
            "alias": config.alias,
            "additional_schemas": list(config.additional_schemas),
        }

    @classmethod
    def get_manager_config_by_project_name(cls, name: str) -> dict[str, dict[str, Any]]:
        """Return the ``manager_config_overrides`` of a database.

        Raises:
            DatabaseConfigError: ``name`` is not registered.
        """
        return cls.get_config_dataclass(name).manager_config_overrides

    @classmethod
    def get_all_database_configs(cls) -> dict[str, dict[str, Any]]:
        """Return ``{name: {host, port, database_name, user, password, manager_config_overrides,
        alias}}`` for every database (passwords included: do not log this)."""
        with cls._lock:
            configs = list(cls._configs.items())
        return {
            name: {
                "host": c.host,
                "port": c.port,
                "database_name": c.database_name,
                "user": c.user,
                "password": c.password,
                "manager_config_overrides": c.manager_config_overrides,
                "alias": c.alias,
            }
            for name, c in configs
        }

    @classmethod
    def get_all_database_project_names(cls) -> list[str]:
        """Return the registered names in registration order."""
        with cls._lock:
            return list(cls._configs)

    @classmethod
    def get_all_database_projects(cls) -> list[dict[str, Any]]:
        """Return ``get_all_database_configs()`` as a list, each with ``database_project``."""
        return [
            {**values, "database_project": name}
            for name, values in cls.get_all_database_configs().items()
        ]

    @classmethod
    def get_all_database_projects_redacted(cls) -> list[dict[str, Any]]:
        """Like ``get_all_database_projects()`` with every password shown as ``<redacted>``."""
        return [redact_secrets(item) for item in cls.get_all_database_projects()]

    @classmethod
    def get_database_alias(cls, name: str) -> str:
        """Return a database's alias.

        Raises:
            DatabaseConfigError: ``name`` is not registered.
        """
        return cls.get_config_dataclass(name).alias

    @classmethod
    def get_schema_builder_overrides(cls, name: str) -> dict[str, dict[str, Any]]:
        """Return ``{"entity_overrides": {...}, "field_overrides": {...}}``.

        Raises:
            DatabaseConfigError: ``name`` is not registered.
        """
        config = cls.get_config_dataclass(name)
        return {
            "entity_overrides": config.entity_overrides,
            "field_overrides": config.field_overrides,
        }


registry = DatabaseRegistry()


def register_database(config: DatabaseProjectConfig) -> None:
    """Register a database so models with ``_database = config.name`` can use it.

    Raises:
        DatabaseConfigError: see :meth:`DatabaseRegistry.register`.
    """
    registry.register(config)


def get_config(name: str) -> DatabaseProjectConfig:
    """Return the registered config object.

    Raises:
        DatabaseConfigError: ``name`` is not registered (the message lists those that are).
    """
    return registry.get_config_dataclass(name)


def get_database_config(name: str) -> dict[str, Any]:
    """Return the connection values of a database as a dict (see the registry method)."""
    return registry.get_database_config(name)


def get_manager_config(name: str) -> dict[str, dict[str, Any]]:
    """Return the ``manager_config_overrides`` of a database."""
    return registry.get_manager_config_by_project_name(name)


def get_connection_string(name: str) -> str:
    """Return ``postgresql://user:<redacted>@host:port/db`` for a database (password hidden)."""
    return registry.get_config_dataclass(name).dsn(redacted=True)


def get_all_database_project_names() -> list[str]:
    """Return the registered database names in registration order."""
    return registry.get_all_database_project_names()


def get_all_database_projects_redacted() -> list[dict[str, Any]]:
    """Return every database's values with passwords shown as ``<redacted>``."""
    return registry.get_all_database_projects_redacted()


def get_database_alias(name: str) -> str:
    """Return a database's alias."""
    return registry.get_database_alias(name)


def get_schema_builder_overrides(name: str) -> dict[str, dict[str, Any]]:
    """Return a database's TypeScript override maps (``entity_overrides``, ``field_overrides``)."""
    return registry.get_schema_builder_overrides(name)


def get_default_database() -> str:
    """Return the database used when an API's ``database`` argument is omitted.

    Returns:
        The only registered database; otherwise the one named by ``MATRX_DEFAULT_DATABASE``.

    Raises:
        ConfigurationError: nothing is registered, or several are and ``MATRX_DEFAULT_DATABASE``
            is unset or names a database that is not registered.
    """
    names = get_all_database_project_names()
    if len(names) == 1:
        return names[0]
    chosen = os.environ.get(DEFAULT_DATABASE_ENV, "").strip()
    if chosen:
        if chosen in names:
            return chosen
        raise ConfigurationError(
            config_key=DEFAULT_DATABASE_ENV,
            reason=f"it names {chosen!r}, which is not registered (registered: "
            f"{', '.join(repr(n) for n in names) or 'none'}).",
        )
    if not names:
        reason = (
            "no database is registered. Call register_database(DatabaseProjectConfig(...)) "
            "at startup."
        )
    else:
        reason = (
            f"{len(names)} databases are registered ({', '.join(repr(n) for n in names)}). "
            f"Pass database='...' or set {DEFAULT_DATABASE_ENV}."
        )
    raise ConfigurationError(config_key="default database", reason=reason)


def get_code_config(
    name: str,
    *,
    python_root: str | os.PathLike[str] | None = None,
    ts_root: str | os.PathLike[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Return where generated code for a database goes (the schema builder's output targets).

    Python files go under ``<python_root>/database/<alias>/``; TypeScript files under
    ``<ts_root>/``. A root not given comes from ``ADMIN_PYTHON_ROOT`` / ``ADMIN_TS_ROOT``, else
    the current directory. Each target is a dict with ``root``, ``temp_path`` (file name),
    ``file_location`` (header comment), and empty ``import_lines``, ``additional_top_lines`` and
    ``additional_bottom_lines`` (the generator computes imports from the fields it emits).

    Returns:
        ``{target_name: target}`` for the targets ``python_models``, ``python_base_manager``,
        ``python_all_managers``, ``python_auto_config`` and the TypeScript ones.

    Raises:
        DatabaseConfigError: ``name`` is not registered.
    """
    return code_targets(get_database_alias(name), python_root, ts_root)
