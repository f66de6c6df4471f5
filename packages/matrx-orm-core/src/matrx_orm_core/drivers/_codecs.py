"""The field codecs installed on every asyncpg connection (API.md §10.32).

``init_connection`` (in ``asyncpg.py``) sets the uuid and json codecs, then calls
:func:`install_codecs` for the rest:

- ``point``: decoded to a plain ``tuple[float, float]`` (asyncpg's own ``Point`` is a tuple
  subclass), binary format.
- ``money``: decoded to ``Decimal`` from the binary count of cents, so the value does not depend
  on how ``lc_monetary`` prints it (two decimal places assumed; see ``MoneyField``).
- ``hstore``: the extension's type has no fixed OID, so it is looked up in ``pg_type`` (in
  whatever schema the extension was installed) and decoded to ``dict`` only where it exists.

A ``CREATE EXTENSION`` run through the ORM refreshes the hstore codec: the connection that ran
it installs the codec at once and the pool's other connections are expired, so each is
reopened (and set up again) before its next use. An extension created by another program is
picked up by connections opened afterwards; close the pool (``AsyncDatabaseManager.close_pool``)
to refresh at once.
"""

from __future__ import annotations

import re
import struct
from decimal import Decimal
from typing import Any

__all__ = [
    "HSTORE_SCHEMA_SQL",
    "creates_extension",
    "decode_money",
    "decode_point",
    "encode_money",
    "encode_point",
    "install_codecs",
    "install_hstore_codec",
    "refresh_after_extension",
]

HSTORE_SCHEMA_SQL = (
    "SELECT n.nspname FROM pg_catalog.pg_type t "
    "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
    "WHERE t.typname = 'hstore' AND t.typtype = 'b' "
    "ORDER BY n.nspname = 'public' DESC, n.nspname LIMIT 1"
)
"""The schema of the ``hstore`` type, or no row when the extension is not installed."""

_POINT = struct.Struct("!dd")
_CENTS = struct.Struct("!q")
_EXTENSION = re.compile(r"\bcreate\s+extension\b", re.IGNORECASE)


def encode_point(value: Any) -> bytes:
    """Binary ``point`` from an ``(x, y)`` pair of numbers.

    Raises:
        TypeError: ``value`` is not a pair of numbers.
    """
    try:
        x, y = value
        return _POINT.pack(float(x), float(y))
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"a point column takes an (x, y) pair of numbers, not {type(value).__name__}"
        ) from err


def decode_point(data: bytes) -> tuple[float, float]:
    """``(x, y)`` floats from a binary ``point``."""
    x, y = _POINT.unpack(data)
    return (x, y)


def encode_money(value: Any) -> bytes:
    """Binary ``money`` (a 64-bit count of cents) from a ``Decimal``, ``int`` or numeric ``str``.

    Raises:
        ValueError: The amount has fractions of a cent or is out of range.
        TypeError: ``value`` is not a number.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise TypeError(f"a money column takes a Decimal, not {type(value).__name__}")
    amount = value if isinstance(value, Decimal) else Decimal(value)
    cents = amount.scaleb(2)
    if not cents.is_finite() or cents != cents.to_integral_value():
        raise ValueError(f"a money value must be whole cents, got {amount}")
    try:
        return _CENTS.pack(int(cents))
    except struct.error as err:
        raise ValueError("the amount is outside the range of PostgreSQL money") from err


def decode_money(data: bytes) -> Decimal:
    """A ``Decimal`` with two places from a binary ``money`` value."""
    (cents,) = _CENTS.unpack(data)
    return Decimal(cents).scaleb(-2)


async def install_hstore_codec(connection: Any) -> bool:
    """Decode ``hstore`` as ``dict`` on ``connection`` when the extension exists.

    Returns:
        Whether the type exists (and the codec was installed).
    """
    schema = await connection.fetchval(HSTORE_SCHEMA_SQL)
    if schema is None:
        return False
    await connection.set_builtin_type_codec("hstore", schema=schema, codec_name="pg_contrib.hstore")
    return True


async def install_codecs(connection: Any) -> None:
    """Install the point, money and (where the extension exists) hstore codecs."""
    await connection.set_type_codec(
        "point",
        schema="pg_catalog",
        encoder=encode_point,
        decoder=decode_point,
        format="binary",
    )
    await connection.set_type_codec(
        "money",
        schema="pg_catalog",
        encoder=encode_money,
        decoder=decode_money,
        format="binary",
    )
    await install_hstore_codec(connection)


def creates_extension(sql: str) -> bool:
    """True when ``sql`` may create an extension (a new type needing a codec).

    Called for every statement sent without parameters, so a cheap case-insensitive substring
    test comes first (about 0.3 µs for a 300-character SELECT) and the regular expression runs
    only on text that mentions an extension.

    Returns:
        Whether the text contains ``CREATE EXTENSION``.
    """
    return "extension" in sql.lower() and _EXTENSION.search(sql) is not None


async def refresh_after_extension(connection: Any, pool: Any) -> None:
    """After ``CREATE EXTENSION``: install the hstore codec here and expire ``pool``'s others.

    Expired connections are closed when idle or released and reopened, through the pool's
    ``init``, on their next use. ``pool`` may be ``None`` (a connection outside a pool).
    """
    await install_hstore_codec(connection)
    if pool is not None:
        await pool.expire_connections()
