"""The Model base class: instance state, serialisation, and thin CRUD/relation entry points.

Instance state (docs/architecture.md, "Model instances"): field values live in the instance
``__dict__``; ``_persisted`` (class default ``False``) says the row is known to exist,
``_deferred`` (class default ``frozenset()``) names unloaded fields, and ``_extra_data`` /
``_dynamic_data`` (unknown constructor keywords / loaded relations) are created on first use.

Equality: two instances are equal when they are of the same concrete class and have the same,
fully set primary key; an instance without a primary key value is equal only to itself. Hashing
follows the same key, and an instance without a primary key value is unhashable (``hash()``
raises ``TypeError``, as in Django), because its hash would change once the key is set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

from typing_extensions import Self

from matrx_orm_core import hooks
from matrx_orm_core._loop import run_sync
from matrx_orm_core.exceptions import (
    ConfigurationError,
    DoesNotExist,
    MultipleObjectsReturned,
    StateError,
    UnknownRelationError,
    ValidationError,
)
from matrx_orm_core.query import _expression_methods as _expr
from matrx_orm_core.query import _expression_writes as _writes
from matrx_orm_core.query.builder import QueryBuilder, model_value

from . import _bulk
from . import _persistence as _p
from ._serialize import RuntimeContainer, serialize
from .meta import ModelMeta

if TYPE_CHECKING:
    from matrx_orm_core.drivers.base import Row
    from matrx_orm_core.fields import Field

    from .options import CachePolicy, ModelOptions

__all__ = ["Model", "RuntimeContainer"]


class _LazyDict:
    """A non-data descriptor that creates an empty per-instance dict on first access."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> dict[str, Any]: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Self | dict[str, Any]:
        if instance is None:
            return self
        value: dict[str, Any] = {}
        instance.__dict__[self.name] = value
        return value


class Model(metaclass=ModelMeta):
    """Base class of every model. See the package and ``ModelMeta`` docstrings."""

    DoesNotExist: ClassVar[type[DoesNotExist]] = DoesNotExist
    MultipleObjectsReturned: ClassVar[type[MultipleObjectsReturned]] = MultipleObjectsReturned
    ValidationError: ClassVar[type[ValidationError]] = ValidationError

    _meta: ClassVar[ModelOptions]
    _fields: ClassVar[dict[str, Field[Any]]]
    _dynamic_fields: ClassVar[set[str]]
    _pending_junction_tables: ClassVar[list[dict[str, Any]]]
    _abstract: ClassVar[bool]
    _database: ClassVar[str]
    _table_name: ClassVar[str]
    _db_schema: ClassVar[str | None]
    _primary_keys: ClassVar[list[str]]
    _unfetchable: ClassVar[bool]
    _cache_policy: ClassVar[CachePolicy | str]
    _cache_timeout: ClassVar[int | None]
    _realtime_updates: ClassVar[bool]
    _inverse_foreign_keys: ClassVar[dict[str, Any]]
    _many_to_many: ClassVar[dict[str, Any]]
    _indexes: ClassVar[list[Any]]
    _unique_together: ClassVar[list[Any]]
    _constraints: ClassVar[list[Any]]

    _persisted: bool = False
    _deferred: frozenset[str] = frozenset()
    _extra_data = _LazyDict()
    _dynamic_data = _LazyDict()
    dto: Any = None

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        try:
            fields = cls._meta.fields
        except AttributeError:
            raise StateError(
                model=cls,
                operation="__init__",
                reason=f"{cls.__name__} is abstract (it has no table); instantiate a concrete "
                "subclass instead.",
            ) from None
        data = self.__dict__
        try:
            for name, field in fields.items():
                value = kwargs[name] if name in kwargs else field.get_default()
                data[name] = None if value is None else field.to_python(value)
        except ValidationError as err:
            _p.raise_as_model_error(cls, err, "")
        if not fields.keys() >= kwargs.keys():
            data["_extra_data"] = {k: v for k, v in kwargs.items() if k not in fields}

    @classmethod
    def _from_row(cls, row: Row | dict[str, Any]) -> Self:
        """Build a persisted instance from a database row (the hydration fast path)."""
        return _p.hydrate(cls, row)

    # -- class-level operations ------------------------------------------------------------

    @classmethod
    def get_database_name(cls) -> str:
        """Return the model's database project name.

        Raises:
            ConfigurationError: The model is abstract.
        """
        database: str | None = getattr(cls, "_database", None)
        if "_meta" not in vars(cls) or not database:
            raise ConfigurationError(
                model=cls,
                config_key="_database",
                reason=f"{cls.__name__} is abstract or has no _database.",
            )
        return database

    @classmethod
    def get_field(cls, name: str) -> Field[Any] | None:
        """Return the field called ``name`` (not many-to-many), or ``None``."""
        return cls._meta.fields.get(name)

    @classmethod
    async def create(cls, **kwargs: Any) -> Self:
        """INSERT a row from ``kwargs`` (``None`` values are left to server defaults).

        Returns:
            The persisted instance, refreshed from ``RETURNING``.

        Raises:
            FieldError: Unknown field name (nothing sent).
            ValidationError: A value is not acceptable (nothing sent).
            IntegrityError: A constraint failed on the server.
        """
        return await _p.create(cls, kwargs)

    @classmethod
    async def get(cls, use_cache: Any = True, *conditions: Any, **filters: Any) -> Self:
        """Return the one row matching ``filters``: ``field=value`` (``None`` matches NULL) or
        ``field__op=value`` lookups; the cache is asked only when every key is a plain field.
        ``Q``/``Exists`` conditions may be passed positionally (``User.get(Q(a=1) | Q(b=2))``);
        such a query always goes to the database.

        Raises:
            FieldError: Unknown field name or lookup (nothing sent).
            DoesNotExist: No row (``cls.DoesNotExist``).
            MultipleObjectsReturned: Several rows (``cls.MultipleObjectsReturned``).
        """
        if conditions or type(use_cache) is not bool:
            return await _expr.get_with_conditions(cls, use_cache, conditions, filters)
        return await _p.get(cls, use_cache, filters)

    @classmethod
    async def get_or_none(
        cls, use_cache: Any = True, *conditions: Any, **filters: Any
    ) -> Self | None:
        """Like ``get`` but returns ``None`` when no row matches (other errors propagate)."""
        try:
            return await cls.get(use_cache, *conditions, **filters)
        except DoesNotExist:
            return None

    @classmethod
    async def get_by_id(cls, id_value: Any, use_cache: bool = True) -> Self:
        """``get`` by the first primary key field."""
        return await _p.get(cls, use_cache, {cls._meta.pk_names[0]: id_value})

    @classmethod
    async def get_many(cls, **filters: Any) -> list[Self]:
        """Every row matching exact ``filters``."""
        return await cls.filter(**filters).all()

    @classmethod
    async def raw(cls, sql: str, *params: Any) -> list[Self]:
        """Run ``sql`` on the model's database and build an instance from each row.

        ``params`` are bound to ``$1``, ``$2``, ... (never formatted into the text). Columns
        that are not fields go to ``_extra_data``; fields with no column are ``None`` and
        deferred, so ``save()`` leaves them alone. A statement that is not a read clears the
        cache of every model of the database.

        Returns:
            The instances, in row order.

        Raises:
            ValidationError: ``sql`` is not a non-empty str, or a column cannot be loaded into
                the field of the same name.
            DatabaseError: (or a subclass) the statement failed.
        """
        from matrx_orm_core.sql_executor.raw import raw_models

        return await raw_models(cls, sql, params)

    @classmethod
    async def raw_sql(cls, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Run ``sql`` on the model's database and return each row as a dict (no hydration).

        ``params`` are bound to ``$1``, ``$2``, ...; a statement that is not a read clears
        the cache of every model of the database.

        Returns:
            One dict per row.

        Raises:
            ValidationError: ``sql`` is not a non-empty str.
            DatabaseError: (or a subclass) the statement failed.
        """
        from matrx_orm_core.sql_executor.raw import raw_dicts

        return await raw_dicts(cls, sql, params)

    @classmethod
    def filter(cls, *conditions: Any, **filters: Any) -> QueryBuilder[Self]:
        """A lazy query with ``filters`` (``field=value`` or ``field__op=value``) and
        positional ``Q``/``Exists`` conditions; validated now, run when awaited.

        Returns:
            A new QueryBuilder.

        Raises:
            FieldError: Unknown field or lookup (nothing sent).
            ValidationError: A value does not suit its lookup or field.
        """
        return QueryBuilder(cls).filter(*conditions, **filters)

    @classmethod
    def exclude(cls, *conditions: Any, **filters: Any) -> QueryBuilder[Self]:
        """A lazy query without the rows matching all of ``conditions`` and ``filters``:
        ``NOT (a AND b)``.

        Returns:
            A new QueryBuilder.

        Raises:
            FieldError: Unknown field or lookup (nothing sent).
            ValidationError: A value does not suit its lookup or field.
        """
        return QueryBuilder(cls).exclude(*conditions, **filters)

    @classmethod
    async def all(cls) -> list[Self]:
        """Every row of the table.

        Returns:
            The instances.
        """
        return await QueryBuilder(cls).all()

    @classmethod
    async def count(cls, *conditions: Any, **filters: Any) -> int:
        """``SELECT count(*)`` over the rows matching ``filters`` (lookups and ``Q`` allowed).

        Returns:
            The row count.
        """
        if conditions or _expr.has_expression(filters):
            return await QueryBuilder(cls).filter(*conditions, **filters).count()
        return int(await model_value(cls, "count", filters) or 0)

    @classmethod
    async def exists(cls, *conditions: Any, **filters: Any) -> bool:
        """``SELECT EXISTS(...)`` for ``filters`` (lookups and ``Q`` allowed).

        Returns:
            Whether any row matches.
        """
        if conditions or _expr.has_expression(filters):
            return await QueryBuilder(cls).filter(*conditions, **filters).exists()
        return bool(await model_value(cls, "exists", filters))

    # -- set-based writes (models/_bulk.py; no signals fire) --------------------------------

    @overload
    @classmethod
    async def bulk_create(
        cls, objects_data: list[dict[str, Any]], *, returning: Literal[True] = ...
    ) -> list[Self]: ...

    @overload
    @classmethod
    async def bulk_create(
        cls, objects_data: list[dict[str, Any]], *, returning: Literal[False]
    ) -> int: ...

    @classmethod
    async def bulk_create(
        cls, objects_data: list[dict[str, Any]], *, returning: bool = True
    ) -> list[Self] | int:
        """INSERT many rows atomically (``unnest`` arrays or COPY, any number of rows).

        Keys may differ between rows (their union is used); a missing key gets the field's
        default, or the server default. ``None`` values are left to server defaults, as in
        ``create()``.

        ``returning=False`` is for loads that do not need the stored rows back: the rows are
        COPYed straight into the table (same validation, defaults and atomicity) and only
        their number is returned; no instances are built and none are put in the cache.

        Returns:
            The persisted instances, in input order (``[]`` for ``[]``); with
            ``returning=False`` the number of rows inserted (``0`` for ``[]``).

        Raises:
            FieldError: A key is not a field (nothing sent).
            ValidationError: A value is not acceptable (nothing sent).
            IntegrityError: A constraint failed; no row was inserted.
        """
        result: list[Self] | int = await _bulk.bulk_create(cls, objects_data, returning=returning)
        return result

    @classmethod
    async def bulk_update(cls, objects: list[Self], fields: list[str]) -> int:
        """UPDATE ``fields`` of every (persisted) instance in one statement.

        Returns:
            The number of rows updated.

        Raises:
            FieldError: A name in ``fields`` is not a field (nothing sent).
            ValidationError: ``fields`` is empty or names the primary key, an object is not a
                saved instance of this model, two objects share a key, or a value is not
                acceptable (nothing sent).
        """
        return await _bulk.bulk_update(cls, objects, fields)

    @classmethod
    async def bulk_delete(cls, objects: list[Self]) -> int:
        """DELETE the rows of the given instances by primary key.

        Returns:
            The number of rows deleted.

        Raises:
            ValidationError: An object is not a saved instance with a primary key (nothing
                sent).
        """
        return await _bulk.bulk_delete(cls, objects)

    @classmethod
    async def upsert(
        cls,
        data: dict[str, Any],
        conflict_fields: list[str],
        update_fields: list[str] | None = None,
    ) -> Self:
        """INSERT ``data``, or UPDATE the existing row that conflicts on ``conflict_fields``.

        The default ``update_fields`` are the supplied columns except the conflict fields and
        the primary key, so field defaults never overwrite an existing row.

        Returns:
            The inserted or updated instance.

        Raises:
            FieldError: A key, conflict field or update field is not a field (nothing sent).
            ValidationError: ``data`` or ``conflict_fields`` is empty, nothing is left to
                update, or a value is not acceptable (nothing sent).
        """
        return await _bulk.upsert(cls, data, conflict_fields, update_fields)

    @classmethod
    async def bulk_upsert(
        cls,
        objects_data: list[dict[str, Any]],
        conflict_fields: list[str],
        update_fields: list[str] | None = None,
    ) -> list[Self]:
        """``upsert`` for many rows, atomically.

        Returns:
            The inserted or updated instances, in input order (``[]`` for ``[]``).

        Raises:
            FieldError: As ``upsert``.
            ValidationError: As ``upsert``, and when two rows share a conflict key.
        """
        return await _bulk.bulk_upsert(cls, objects_data, conflict_fields, update_fields)

    @classmethod
    async def update_where(cls, filters: dict[str, Any], **updates: Any) -> dict[str, Any]:
        """UPDATE every row matching ``filters`` with ``updates``, without fetching first.

        Returns:
            ``{"rows_affected": int, "updated_rows": [dict, ...]}`` (the rows after the
            update, as plain dicts).

        Raises:
            FieldError: A filter or update name is not a field (nothing sent).
            ValidationError: No updates, or a value is not acceptable (nothing sent).

        ``filters`` may also be a ``Q``, and values may be expressions
        (``views=F("views") + 1``, ``shipped_at=Now()``).
        """
        if (
            not isinstance(filters, dict)
            or _expr.has_expression(filters)
            or _expr.has_expression(updates)
        ):
            return await _writes.update_where_expr(cls, filters, updates)
        return await _bulk.update_where(cls, filters, updates)

    @classmethod
    async def delete_where(cls, *conditions: Any, **filters: Any) -> int:
        """DELETE every row matching ``filters`` (and positional ``Q``/``Exists`` conditions).

        Returns:
            The number of rows deleted.

        Raises:
            FieldError: A filter name is not a field (nothing sent).
        """
        if conditions or _expr.has_expression(filters):
            return await _writes.delete_where_expr(cls, conditions, filters)
        return await _bulk.delete_where(cls, filters)

    @overload
    @classmethod
    def bulk_create_sync(
        cls, objects_data: list[dict[str, Any]], *, returning: Literal[True] = ...
    ) -> list[Self]: ...

    @overload
    @classmethod
    def bulk_create_sync(
        cls, objects_data: list[dict[str, Any]], *, returning: Literal[False]
    ) -> int: ...

    @classmethod
    def bulk_create_sync(
        cls, objects_data: list[dict[str, Any]], *, returning: bool = True
    ) -> list[Self] | int:
        """Blocking ``bulk_create`` (``returning=False``: the number of rows inserted)."""
        result: list[Self] | int = run_sync(
            lambda: _bulk.bulk_create(cls, objects_data, returning=returning), name="bulk_create"
        )
        return result

    @classmethod
    def upsert_sync(
        cls,
        data: dict[str, Any],
        conflict_fields: list[str],
        update_fields: list[str] | None = None,
    ) -> Self:
        """Blocking ``upsert``."""
        return run_sync(lambda: cls.upsert(data, conflict_fields, update_fields), name="upsert")

    @classmethod
    def update_where_sync(cls, filters: dict[str, Any], **updates: Any) -> dict[str, Any]:
        """Blocking ``update_where``."""
        return run_sync(lambda: cls.update_where(filters, **updates), name="update_where")

    @classmethod
    def delete_where_sync(cls, **filters: Any) -> int:
        """Blocking ``delete_where``."""
        return run_sync(lambda: cls.delete_where(**filters), name="delete_where")

    # -- instance operations ----------------------------------------------------------------

    async def save(self) -> Self:
        """INSERT a new instance, or UPDATE every loaded non-key field of a persisted one.

        Raises:
            ValidationError: A value, or the primary key of a persisted instance, is not
                acceptable (nothing sent).
            DoesNotExist: The persisted row no longer exists.
        """
        await _p.save_instance(self)
        return self

    async def update(self, **kwargs: Any) -> Self:
        """Assign ``kwargs`` and UPDATE only those fields; old values come back on failure.

        Raises:
            FieldError: Unknown field name (nothing sent).
            StateError: The instance is not persisted (use ``save()``).
            DoesNotExist: The row no longer exists.
        """
        await _p.update_instance(self, kwargs)
        return self

    async def delete(self) -> None:
        """DELETE the row by primary key; the instance is then no longer persisted.

        Raises:
            ValidationError: The primary key is None (nothing sent).
        """
        await _p.delete_instance(self)

    # -- sync twins (API.md §10.1) ----------------------------------------------------------

    @classmethod
    def get_sync(cls, use_cache: bool = True, **filters: Any) -> Self:
        """Blocking ``get`` (raises SyncContextError inside a running event loop)."""
        return run_sync(lambda: cls.get(use_cache, **filters), name="get")

    @classmethod
    def get_or_none_sync(cls, use_cache: bool = True, **filters: Any) -> Self | None:
        """Blocking ``get_or_none``."""
        return run_sync(lambda: cls.get_or_none(use_cache, **filters), name="get_or_none")

    @classmethod
    def filter_sync(cls, **filters: Any) -> list[Self]:
        """Blocking ``filter(**filters).all()``."""
        return run_sync(lambda: cls.filter(**filters).all(), name="filter")

    @classmethod
    def all_sync(cls) -> list[Self]:
        """Blocking ``all``."""
        return run_sync(cls.all, name="all")

    @classmethod
    def count_sync(cls, **filters: Any) -> int:
        """Blocking ``count``."""
        return run_sync(lambda: cls.count(**filters), name="count")

    @classmethod
    def exists_sync(cls, **filters: Any) -> bool:
        """Blocking ``exists``."""
        return run_sync(lambda: cls.exists(**filters), name="exists")

    @classmethod
    def create_sync(cls, **kwargs: Any) -> Self:
        """Blocking ``create``."""
        return run_sync(lambda: cls.create(**kwargs), name="create")

    def save_sync(self) -> Self:
        """Blocking ``save``."""
        return run_sync(self.save, name="save")

    def delete_sync(self) -> None:
        """Blocking ``delete``."""
        run_sync(self.delete, name="delete")

    # -- values ------------------------------------------------------------------------------

    @property
    def table_name(self) -> str:
        """The model's table name."""
        return self._meta.table_name

    @property
    def runtime(self) -> RuntimeContainer:
        """Runtime values and relationships attached to this instance (created on first use)."""
        container: RuntimeContainer | None = self.__dict__.get("_runtime")
        if container is None:
            container = self.__dict__["_runtime"] = RuntimeContainer()
        return container

    def _pk_values(self) -> tuple[Any, ...]:
        data = self.__dict__
        return tuple(data.get(name) for name in self._meta.pk_names)

    def get_cache_key(self) -> str:
        """The primary key values joined with ``_``."""
        return "_".join(str(value) for value in self._pk_values())

    def to_dict(self) -> dict[str, Any]:
        """Every field (``None`` included) as plain data; ``runtime``/``dto`` when populated."""
        data = self.__dict__
        result = {name: serialize(data.get(name)) for name in self._meta.fields}
        runtime: RuntimeContainer | None = data.get("_runtime")
        if runtime is not None:
            runtime_dict = runtime.to_dict()
            if runtime_dict:
                result["runtime"] = runtime_dict
        if self.dto is not None:
            result["dto"] = serialize(self.dto)
        return result

    def to_flat_dict(self) -> dict[str, Any]:
        """Field values as Python values (``None`` included), merged with runtime and dto data."""
        data = self.__dict__
        result: dict[str, Any] = {}
        for name, field in self._meta.fields.items():
            value = data.get(name)
            result[name] = None if value is None else field.to_python(value)
        runtime: RuntimeContainer | None = data.get("_runtime")
        if runtime is not None:
            result.update(runtime.data)
            result.update(runtime.relationships)
        dto_dict = getattr(self.dto, "to_dict", None)
        if callable(dto_dict):
            result.update(dto_dict())
        return result

    def __repr__(self) -> str:
        data = self.__dict__
        keys = ", ".join(f"{name}={data.get(name)!r}" for name in self._meta.pk_names)
        return f"<{type(self).__name__} {keys}>"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Model):
            return NotImplemented
        if type(other) is not type(self):
            return False
        keys = self._pk_values()
        return None not in keys and keys == other._pk_values()

    def __hash__(self) -> int:
        keys = self._pk_values()
        if None in keys:
            raise TypeError(
                f"{type(self).__name__} instances without a primary key value are unhashable; "
                "set the key (or save the instance) first."
            )
        return hash((type(self), keys))

    # -- loaded relations (in memory, API.md §10.14, §10.27, §10.28) ------------------------

    def _relation_name(self, name: str) -> str:
        meta = self._meta
        if name in meta.foreign_keys or name in meta.inverse_foreign_keys:
            return name
        if name in meta.many_to_many_keys:
            return name
        if f"{name}_id" in meta.foreign_keys:
            return f"{name}_id"
        known = [*meta.foreign_keys, *meta.inverse_foreign_keys, *meta.many_to_many_keys]
        reason = (
            f"No related field for '{name}' on {type(self).__name__}. Relations: "
            f"{', '.join(known) or '(none)'}."
        )
        raise UnknownRelationError(model=type(self), field=name, reason=reason, message=reason)

    def get_related(self, field_name: str) -> Any:
        """The loaded value of a relation: the FK object (``None`` until loaded) or a list.

        Raises:
            RelationshipError: ``field_name`` is not a relation of this model.
        """
        name = self._relation_name(field_name)
        loaded = self.__dict__.get("_dynamic_data")
        if loaded is not None and name in loaded:
            return loaded[name]
        return None if name in self._meta.foreign_keys else []

    def set_related(
        self, field_name: str, value: Any, is_inverse: bool = False, is_m2m: bool = False
    ) -> None:
        """Store a loaded relation value (``is_inverse``/``is_m2m`` must match its kind).

        Raises:
            RelationshipError: Unknown relation, or the flags name the wrong kind.
        """
        name = self._relation_name(field_name)
        meta = self._meta
        if (is_m2m and name not in meta.many_to_many_keys) or (
            is_inverse and name not in meta.inverse_foreign_keys
        ):
            kind = "many-to-many" if is_m2m else "inverse foreign key"
            reason = f"'{field_name}' is not a {kind} relation of {type(self).__name__}."
            raise UnknownRelationError(
                model=type(self), field=field_name, reason=reason, message=reason
            )
        self._dynamic_data[name] = value

    def has_related(self, field_name: str) -> bool:
        """True when the relation is loaded and not empty/None."""
        return bool(self.get_related(field_name))

    # -- relation I/O: delegated to the relation loader (matrx-orm-relations) ---------------

    async def fetch_fk(self, field_name: str) -> Model | None:
        """Load the object the FK ``field_name`` points to (stored for ``get_related``)."""
        result: Model | None = await hooks.get_relation_loader().fetch_fk(self, field_name)
        return result

    async def fetch_fks(self) -> dict[str, Model | None]:
        """Load every FK target; failures give ``None`` (logged)."""
        return await hooks.get_relation_loader().fetch_fks(self)

    async def fetch_ifk(self, field_name: str) -> list[Model]:
        """Load the rows of the inverse FK ``field_name``."""
        return await hooks.get_relation_loader().fetch_ifk(self, field_name)

    async def fetch_ifks(self) -> dict[str, list[Model]]:
        """Load every inverse FK."""
        return await hooks.get_relation_loader().fetch_ifks(self)

    async def fetch_m2m(self, relation_name: str) -> list[Model]:
        """Load the targets of the many-to-many relation."""
        return await hooks.get_relation_loader().fetch_m2m(self, relation_name)

    async def fetch_m2ms(self) -> dict[str, list[Model]]:
        """Load every many-to-many relation."""
        return await hooks.get_relation_loader().fetch_m2ms(self)

    async def add_m2m(self, relation_name: str, *target_ids: Any) -> int:
        """Link targets; returns the junction rows inserted."""
        return await hooks.get_relation_loader().add_m2m(self, relation_name, *target_ids)

    async def remove_m2m(self, relation_name: str, *target_ids: Any) -> int:
        """Unlink targets; returns the junction rows removed."""
        return await hooks.get_relation_loader().remove_m2m(self, relation_name, *target_ids)

    async def set_m2m(self, relation_name: str, target_ids: Iterable[Any]) -> None:
        """Make the linked targets exactly ``target_ids``."""
        await hooks.get_relation_loader().set_m2m(self, relation_name, target_ids)

    async def clear_m2m(self, relation_name: str) -> int:
        """Unlink every target; returns the junction rows removed."""
        return await hooks.get_relation_loader().clear_m2m(self, relation_name)

    async def fetch_all_related(self) -> dict[str, dict[str, Any]]:
        """Load FKs, inverse FKs and M2Ms (keys ``foreign_keys``, ``inverse_foreign_keys``,
        ``many_to_many``)."""
        return await hooks.get_relation_loader().fetch_all_related(self)

    async def fetch_one_relation(self, field_name: str) -> Model | list[Model] | None:
        """Load one relation of any kind by name."""
        result: Model | list[Model] | None = await hooks.get_relation_loader().fetch_one_relation(
            self, field_name
        )
        return result

    async def filter_fk(self, field_name: str, /, **filters: Any) -> list[Model]:
        """The FK target of ``field_name`` with extra filters."""
        return await hooks.get_relation_loader().filter_fk(self, field_name, **filters)

    async def filter_ifk(self, field_name: str, /, **filters: Any) -> list[Model]:
        """The inverse FK rows of ``field_name`` with extra filters."""
        return await hooks.get_relation_loader().filter_ifk(self, field_name, **filters)

    async def filter_one_relation(self, field_name: str, /, **filters: Any) -> list[Model]:
        """The rows of relation ``field_name`` with extra filters."""
        return await hooks.get_relation_loader().filter_one_relation(self, field_name, **filters)
