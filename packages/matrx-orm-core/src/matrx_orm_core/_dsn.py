"""Reading and writing PostgreSQL connection URLs (DatabaseProjectConfig.from_url and dsn)."""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .exceptions import REDACTED, DatabaseConfigError, redact_dsn

if TYPE_CHECKING:
    from .config import DatabaseProjectConfig

__all__ = ["SSL_MODES", "format_dsn", "parse_url", "port_problem"]

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
"""The accepted ``ssl`` strings (libpq's ``sslmode`` values)."""

_DEFAULT_PORT = "5432"
# Where libpq-built servers put their socket, in libpq's search order.
_DEFAULT_SOCKET_DIRS: tuple[str, ...] = ("/var/run/postgresql", "/run/postgresql", "/tmp")
_URL_SCHEMES = ("postgres", "postgresql")
_URL_PARAMS = (
    "application_name",
    "connect_timeout",
    "dbname",
    "host",
    "password",
    "pgbouncer",
    "port",
    "sslmode",
    "user",
)
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def port_problem(port: object) -> str | None:
    """What is wrong with a port value (an int or a string of digits, 1 to 65535), or None."""
    if isinstance(port, int) and not isinstance(port, bool):
        number = port
    elif isinstance(port, str) and port.strip().isdigit():
        number = int(port.strip())
    else:
        return f"must be an int or a string of digits (got {port!r})"
    if not 1 <= number <= 65535:
        return f"must be between 1 and 65535 (got {port!r})"
    return None


def format_dsn(config: DatabaseProjectConfig, *, redacted: bool) -> str:
    """The connection URL of a config (see :meth:`DatabaseProjectConfig.dsn`)."""
    auth = quote(config.user, safe="")
    if config.password:
        auth += ":" + (REDACTED if redacted else quote(config.password, safe=""))
    query: list[tuple[str, str]] = []
    if config.uses_socket:
        netloc = f"{auth}@"
        query += [("host", config.host), ("port", str(config.port_number))]
    else:
        host = config.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        netloc = f"{auth}@{host}:{config.port_number}"
    sslmode = config.ssl if isinstance(config.ssl, str) else None
    if isinstance(config.ssl, bool):
        sslmode = "require" if config.ssl else "disable"
    if sslmode is not None and sslmode != "prefer":
        query.append(("sslmode", sslmode))
    if config.connect_timeout != 10.0:
        query.append(("connect_timeout", f"{config.connect_timeout:g}"))
    if "application_name" in config.server_settings:
        query.append(("application_name", config.server_settings["application_name"]))
    url = f"postgresql://{netloc}/{quote(config.database_name, safe='')}"
    if query:
        url += "?" + "&".join(f"{key}={quote(value, safe='/')}" for key, value in query)
    return url


def _split_authority(rest: str, shown: str) -> tuple[str | None, str, str]:
    """``rest`` (after ``scheme://``) as (userinfo, host:port, path-and-query)."""
    query_at = rest.find("?")
    at = rest.rfind("@", 0, query_at if query_at >= 0 else len(rest))
    if at < 0 and query_at >= 0 and "@" in rest[query_at:] and "/" not in rest[:query_at]:
        raise DatabaseConfigError(
            f"Cannot parse the database URL {shown}: percent-encode special characters in the "
            "user name and password ('?' as %3F, '@' as %40, '/' as %2F, '#' as %23).",
            config_key="url",
        )
    userinfo = rest[:at] if at >= 0 else None
    after = rest[at + 1 :]
    ends = [i for i in (after.find("/"), after.find("?")) if i >= 0]
    cut = min(ends) if ends else len(after)
    if "," in after[:cut]:
        raise DatabaseConfigError(
            f"Several hosts in one URL are not supported ({shown}). Give a single host.",
            config_key="host",
        )
    return userinfo, after[:cut], after[cut:]


def parse_url(url: str) -> dict[str, Any]:
    """The config fields a URL sets (connection parts always; ssl/pooler/... when present)."""
    if not isinstance(url, str) or not url.strip():
        raise DatabaseConfigError("The database URL is empty.", config_key="url")
    shown = redact_dsn(url.strip())
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() not in _URL_SCHEMES:
        raise DatabaseConfigError(
            f"Unsupported database URL {shown}: it must start with postgresql:// or postgres://.",
            config_key="url",
        )
    userinfo, hostport, tail = _split_authority(rest, shown)
    user: str | None = None
    password: str | None = None
    if userinfo is not None:
        raw_user, colon, raw_password = userinfo.partition(":")
        user = unquote(raw_user) or None
        password = unquote(raw_password) if colon else None
    port: str | None = None
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0 or (hostport[close + 1 :] and not hostport[close + 1 :].startswith(":")):
            raise DatabaseConfigError(f"Malformed IPv6 host in {shown}.", config_key="host")
        host: str | None = hostport[1:close] or None
        port = hostport[close + 2 :] or None
    else:
        raw_host, _, raw_port = hostport.partition(":")
        host = unquote(raw_host) or None
        port = raw_port or None
    path, _, query = tail.partition("?")
    query = query.partition("#")[0]
    path = path.partition("#")[0]
    database = unquote(path[1:]) if path.startswith("/") and len(path) > 1 else None
    parsed: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        raw_key, _, raw_value = item.partition("=")
        key, value = unquote(raw_key), unquote(raw_value)
        if key not in _URL_PARAMS:
            named = repr(key) if key.isidentifier() else "(malformed)"
            raise DatabaseConfigError(
                f"Unsupported query parameter {named} in {shown}. Supported: "
                f"{', '.join(_URL_PARAMS)}; pass other settings as keyword arguments.",
                config_key=key if key.isidentifier() else "url",
            )
        if key == "host":
            host = value or host
        elif key == "port":
            port = value or port
        elif key == "user":
            user = value or user
        elif key == "password":
            password = value
        elif key == "dbname":
            database = value or database
        elif key == "sslmode":
            if value not in SSL_MODES:
                raise DatabaseConfigError(
                    f"Unknown sslmode {value!r} in {shown}; use one of {', '.join(SSL_MODES)}.",
                    config_key="ssl",
                )
            parsed["ssl"] = value
        elif key == "connect_timeout":
            try:
                parsed["connect_timeout"] = float(value)
            except ValueError:
                raise DatabaseConfigError(
                    f"connect_timeout must be a number of seconds in {shown}.",
                    config_key="connect_timeout",
                ) from None
        elif key == "application_name":
            parsed.setdefault("server_settings", {})["application_name"] = value
        elif key == "pgbouncer":
            if value.lower() not in _TRUE_WORDS | _FALSE_WORDS:
                raise DatabaseConfigError(
                    f"pgbouncer must be true or false in {shown}.", config_key="pooler"
                )
            parsed["pooler"] = value.lower() in _TRUE_WORDS
    if port is not None and port_problem(port):
        raise DatabaseConfigError(
            f"The port in {shown} must be a number between 1 and 65535.", config_key="port"
        )
    port = port or os.environ.get("PGPORT") or _DEFAULT_PORT
    user = user or os.environ.get("PGUSER") or getpass.getuser()
    parsed.update(
        host=host or os.environ.get("PGHOST") or _default_host(port),
        port=port,
        database_name=database or os.environ.get("PGDATABASE") or user,
        user=user,
        password=password,
    )
    return parsed


def _default_host(port: str) -> str:
    """libpq's default: the first socket directory holding this port's socket, else localhost."""
    for directory in _DEFAULT_SOCKET_DIRS:
        if os.path.exists(os.path.join(directory, f".s.PGSQL.{port}")):
            return directory
    return "localhost"
