"""Data-only relation references that the metaclass stores in ``_meta``.

Core parses every relation declaration (``ForeignKey``, ``ManyToManyField``,
``_inverse_foreign_keys``, ``_many_to_many``) into these objects (API.md §10.27). They hold names
and targets only; loading and editing related rows is the relations package's job, reached
through ``hooks.get_relation_loader()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ForeignKeyReference", "InverseForeignKeyReference", "ManyToManyReference"]


def _model_name(reference: str | type) -> str:
    return reference if isinstance(reference, str) else reference.__name__


def _resolve(reference: str | type, owner: type | None, database: str | None) -> type:
    """Resolve a class or a class name through the model registry.

    Raises:
        ConfigurationError: No registered model matches, or the name is ambiguous.
    """
    if isinstance(reference, type):
        return reference
    if owner is not None and reference in ("self", owner.__name__):
        return owner
    from matrx_orm_core.registry import model_registry

    return model_registry.resolve(reference, database=database)


@dataclass(eq=False)
class ForeignKeyReference:
    """A foreign key declared by a ``ForeignKey`` field.

    ``to_column`` is ``None`` when the field did not name one: the target's primary key.
    """

    column_name: str
    to_model: str | type
    to_column: str | None
    related_name: str | None = None
    is_native: bool = False
    on_delete: str = "CASCADE"
    on_update: str = "CASCADE"
    to_db: str | None = None
    to_schema: str | None = None
    model: type | None = field(default=None, repr=False)

    @property
    def field_name(self) -> str:
        """The FK field's name on the owning model."""
        return self.column_name

    @property
    def related_model_name(self) -> str:
        """The target class name, without resolving it."""
        return _model_name(self.to_model)

    @property
    def related_model(self) -> type:
        """The target model class (resolved through the registry on first use).

        Raises:
            ConfigurationError: The target is not a registered model.
        """
        database = self.to_db or getattr(self.model, "_database", None)
        return _resolve(self.to_model, self.model, database)

    @property
    def related_column(self) -> str:
        """The referenced column: ``to_column``, else the target's first primary key."""
        if self.to_column:
            return self.to_column
        meta: Any = getattr(self.related_model, "_meta", None)
        return str(meta.primary_keys[0]) if meta is not None else "id"


@dataclass(eq=False)
class InverseForeignKeyReference:
    """A reverse foreign key declared in ``_inverse_foreign_keys``.

    ``from_model.from_field`` references ``referenced_field`` on the owning model;
    ``related_name`` defaults to the declaration's dict key (API.md §10.10).
    """

    from_model: str | type
    from_field: str
    referenced_field: str
    related_name: str | None = None
    is_native: bool = False
    model: type | None = field(default=None, repr=False)

    @property
    def related_model_name(self) -> str:
        """The referencing class name, without resolving it."""
        return _model_name(self.from_model)

    @property
    def related_model(self) -> type:
        """The referencing model class (resolved through the registry).

        Raises:
            ConfigurationError: The model is not registered.
        """
        return _resolve(self.from_model, self.model, getattr(self.model, "_database", None))


@dataclass(eq=False)
class ManyToManyReference:
    """A many-to-many relation through a junction table.

    Built from ``_many_to_many`` entries or from ``ManyToManyField`` declarations (see
    :mod:`matrx_orm_core.models._naming` for the junction naming rule). ``source_column``
    references the owning model's primary key, ``target_column`` the target's.
    """

    junction_table: str
    source_column: str
    target_column: str
    target_model: str | type
    related_name: str
    junction_schema: str | None = None
    model: type | None = field(default=None, repr=False)

    @property
    def qualified_junction_table(self) -> str:
        """``schema.junction`` when a schema is set, else the junction name (for display)."""
        if self.junction_schema:
            return f"{self.junction_schema}.{self.junction_table}"
        return self.junction_table

    @property
    def target_model_name(self) -> str:
        """The target class name, without resolving it."""
        return _model_name(self.target_model)

    @property
    def resolved_model(self) -> type:
        """The target model class (resolved through the registry).

        Raises:
            ConfigurationError: The target is not a registered model.
        """
        return _resolve(self.target_model, self.model, getattr(self.model, "_database", None))
