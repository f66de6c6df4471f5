"""Naming rules for models: default table names, junction tables and identifier shortening.

Junction tables for ``ManyToManyField`` (API.md §4.1, §10.27) keep upstream's names so that
existing databases keep working:

* table: ``db_table`` when given, otherwise the two class names lower-cased (not snake-cased),
  sorted and joined with ``_``: ``Post`` + ``Tag`` -> ``post_tag``, ``Zebra`` + ``Alpha`` ->
  ``alpha_zebra``, ``User`` + ``User`` -> ``user_user``, ``BlogPost`` + ``Tag`` ->
  ``blogpost_tag``;
* columns: ``<snake(source)>_id`` and ``<snake(target)>_id`` (``BlogPost`` -> ``blog_post_id``).
  The mix of lower-casing (table) and snake-casing (columns) is upstream's and is kept on
  purpose. For a self-referential relation both columns would be the same name, so they become
  ``from_<snake>_id`` and ``to_<snake>_id``;
* a generated name longer than PostgreSQL's 63-byte identifier limit is shortened
  deterministically: its first 54 UTF-8 bytes (cut at a character boundary), ``_``, and the first
  8 hex digits of the SHA-256 of the full name. A ``db_table`` given by the user is used as is.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "junction_columns",
    "junction_table_name",
    "shorten_identifier",
    "snake_case",
]

MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server."""

_HASH_CHARS = 8
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(name: str) -> str:
    """Return upstream's snake_case of a class name (``HTTPServer`` -> ``h_t_t_p_server``)."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def shorten_identifier(name: str, limit: int = MAX_IDENTIFIER_BYTES) -> str:
    """Return ``name`` unchanged if it fits in ``limit`` UTF-8 bytes, else a stable short form.

    The short form is the longest prefix of at most ``limit - 9`` bytes that ends on a character
    boundary, then ``_`` and the first 8 hex digits of ``sha256(name)``.
    """
    encoded = name.encode("utf-8")
    if len(encoded) <= limit:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:_HASH_CHARS]
    prefix = encoded[: limit - _HASH_CHARS - 1].decode("utf-8", errors="ignore")
    return f"{prefix}_{digest}"


def junction_table_name(source: str, target: str, db_table: str | None = None) -> str:
    """Return the junction table name for a many-to-many relation between two class names."""
    if db_table:
        return db_table
    first, second = sorted((source.lower(), target.lower()))
    return shorten_identifier(f"{first}_{second}")


def junction_columns(source: str, target: str) -> tuple[str, str]:
    """Return ``(source_column, target_column)`` of a junction table for two class names."""
    source_snake = snake_case(source)
    target_snake = snake_case(target)
    if source == target:
        return (
            shorten_identifier(f"from_{source_snake}_id"),
            shorten_identifier(f"to_{target_snake}_id"),
        )
    return shorten_identifier(f"{source_snake}_id"), shorten_identifier(f"{target_snake}_id")
