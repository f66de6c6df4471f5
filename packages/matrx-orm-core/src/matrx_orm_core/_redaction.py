"""Hiding secrets and parameter values in error text, logs and listings."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "PARAM_KEYS",
    "REDACTED",
    "SHOW_PARAMS_ENV",
    "get_show_params",
    "is_secret_key",
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


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a secret (contains password, passwd, pwd or secret)."""
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
            k: (REDACTED if v not in (None, "") else v) if is_secret_key(k) else redact_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_secrets(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(redact_secrets(v) for v in value)
    return value
