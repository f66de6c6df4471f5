"""ModelOptions (a concrete model's ``_meta``) and the CachePolicy enum."""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from matrx_orm_core.sql import Table

if TYPE_CHECKING:
    from matrx_orm_core.fields import Field

    from .references import (
        ForeignKeyReference,
        InverseForeignKeyReference,
        ManyToManyReference,
    )

__all__ = ["CachePolicy", "ModelOptions"]

SQL_CACHE_LIMIT = 512
"""Compiled statement shapes kept per model before the cache is emptied and refilled."""


class CachePolicy(str, enum.Enum):
    """How long the state cache keeps a model's rows (the cache package applies the TTLs)."""

    PERMANENT = "permanent"
    LONG_TERM = "long_term"
    SHORT_TERM = "short_term"
    INSTANT = "instant"


LoadConverter = Callable[[Any], Any]


@dataclass(eq=False)
class ModelOptions:
    """Everything the ORM knows about one concrete model, built once by the metaclass.

    The first thirteen attributes are upstream's (API.md §2.4). The rest are precomputed for the
    hot paths: the ``sql.Table`` node, the primary-key fields, the explicit column list used for
    SELECT and RETURNING (never ``*``, so a row maps exactly onto the fields), the load
    converters (only fields whose driver value is not already the Python value), the
    ``auto_now`` / ``auto_now_add`` fields, the cache settings and a per-model cache of compiled
    SQL keyed by statement shape.
    """

    table_name: str
    database: str
    fields: dict[str, Field[Any]]
    primary_keys: list[str]
    unique_fields: set[str]
    foreign_keys: dict[str, ForeignKeyReference]
    inverse_foreign_keys: dict[str, InverseForeignKeyReference]
    indexes: list[Any]
    unique_together: list[Any]
    constraints: list[Any]
    db_schema: str | None = None
    unfetchable: bool = False
    many_to_many_keys: dict[str, ManyToManyReference] = field(default_factory=dict)
    model_name: str = ""
    cache_policy: CachePolicy = CachePolicy.SHORT_TERM
    cache_timeout: int | None = None
    realtime_updates: bool = False
    table: Table = field(init=False, repr=False)
    pk_fields: tuple[Field[Any], ...] = field(init=False, repr=False)
    pk_names: tuple[str, ...] = field(init=False, repr=False)
    non_pk_names: tuple[str, ...] = field(init=False, repr=False)
    select_columns: tuple[str, ...] = field(init=False, repr=False)
    auto_now_fields: tuple[str, ...] = field(init=False, repr=False)
    auto_now_add_fields: tuple[str, ...] = field(init=False, repr=False)
    version_name: str | None = field(init=False, repr=False)
    """The ``VersionField`` guarding instance updates (optimistic locking), or ``None``."""
    sql_cache: dict[Hashable, Any] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.table = Table(self.table_name, self.db_schema)
        self.pk_names = tuple(self.primary_keys)
        self.pk_fields = tuple(self.fields[name] for name in self.pk_names)
        self.non_pk_names = tuple(name for name in self.fields if name not in self.pk_names)
        self.select_columns = tuple(self.fields)
        self.auto_now_fields = tuple(
            name for name, f in self.fields.items() if getattr(f, "auto_now", False)
        )
        self.auto_now_add_fields = tuple(
            name
            for name, f in self.fields.items()
            if getattr(f, "auto_now_add", False) and not getattr(f, "auto_now", False)
        )
        self.version_name = next(
            (name for name, f in self.fields.items() if getattr(f, "is_version_field", False)),
            None,
        )

    @property
    def qualified_table_name(self) -> str:
        """``schema.table`` when a schema is set, else the table name (unquoted, for display)."""
        if self.db_schema:
            return f"{self.db_schema}.{self.table_name}"
        return self.table_name

    @cached_property
    def load_converters(self) -> tuple[tuple[str, LoadConverter], ...]:
        """``(name, field.from_db_value)`` for the fields whose row value needs converting.

        Computed on first use rather than at class creation, because a ``ForeignKey`` learns
        its target's type only once the target model exists.
        """
        return tuple(
            (name, f.from_db_value) for name, f in self.fields.items() if f.needs_load_conversion
        )

    def compiled(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """Return the compiled statement cached under ``key``, building it on first use."""
        cache = self.sql_cache
        try:
            return cache[key]
        except KeyError:
            pass
        value = build()
        if len(cache) >= SQL_CACHE_LIMIT:
            cache.clear()
        cache[key] = value
        return value
