"""ModelMeta: turns a Model class body into a concrete model with ``_meta``, or an abstract one.

What the metaclass does for a concrete model (API.md §2.4, §2.4.1, §10.4, §10.10, §10.27):

* requires ``_database`` (ConfigurationError at class creation; the database need not be
  registered yet). ``_database``, ``_db_schema``, ``_primary_keys`` and the cache settings are
  inherited; ``_table_name`` is not (default: snake_case of the class name), so every concrete
  model has its own table;
* collects fields through the full MRO (abstract-of-abstract chains keep every field). A field
  inherited from another model is copied, so each concrete model owns its field objects and
  ``field.model`` is right; inheriting from a concrete model therefore copies its fields into a
  table of the subclass's own. Setting an inherited field name to a non-field value in a
  subclass removes that field;
* rejects field names that start with ``_`` or shadow an attribute of ``Model`` (``save``,
  ``filter``, ``to_dict``, ``runtime``, ``dto``, ``table_name``, ...). ``model`` is allowed;
* applies the primary-key rules (``_primary_keys`` or ``primary_key=True``, not both; at least
  one; names must be fields);
* calls ``field.contribute_to_class(cls, name)`` for every field, parses ``ForeignKey`` fields,
  ``_inverse_foreign_keys``, ``_many_to_many`` and ``ManyToManyField`` declarations into
  references, and builds ``_meta``, ``_fields`` (no many-to-many fields), ``_dynamic_fields``
  and ``_pending_junction_tables``;
* gives the class its own ``DoesNotExist``, ``MultipleObjectsReturned`` and ``ValidationError``
  subclasses (of the parent model's when the parent is concrete, else of the shared classes);
* registers the class in ``registry.model_registry``.

A user-defined ``__init__`` is never replaced. A class is abstract when its own body has
``_abstract = True`` or an inner ``class Meta: abstract = True``; abstract models get no
``_meta`` and no registry entry, and may not inherit from a concrete model.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from matrx_orm_core.exceptions import (
    ConfigurationError,
    DoesNotExist,
    FieldError,
    MultipleObjectsReturned,
    ValidationError,
)
from matrx_orm_core.fields import Field, ForeignKey, ManyToManyField

from ._naming import junction_columns, junction_table_name, snake_case
from .options import CachePolicy, ModelOptions
from .references import ForeignKeyReference, InverseForeignKeyReference, ManyToManyReference

__all__ = ["EXPLICIT_RESERVED_NAMES", "ModelMeta"]

EXPLICIT_RESERVED_NAMES = frozenset(
    {"save", "update", "delete", "filter", "get", "all", "to_dict", "runtime", "dto"}
    | {"table_name", "_meta"}
)
"""Names a field may never take, besides every attribute of ``Model`` (upstream list)."""

_IFK_KEYS = frozenset({"from_model", "from_field", "referenced_field", "related_name"})
_IFK_KEYS_ALL = _IFK_KEYS | {"is_native"}
_M2M_REQUIRED = ("junction_table", "source_column", "target_column", "target_model")
_M2M_KEYS = frozenset(_M2M_REQUIRED) | {"related_name", "junction_schema"}
_EXCEPTIONS: tuple[tuple[str, type[Exception]], ...] = (
    ("DoesNotExist", DoesNotExist),
    ("MultipleObjectsReturned", MultipleObjectsReturned),
    ("ValidationError", ValidationError),
)


def _field_error(model: str, field: str | None = None, reason: str = "") -> FieldError:
    return FieldError(model=model, field=field, reason=reason, message=reason)


def _is_abstract(namespace: Mapping[str, Any]) -> bool:
    inner = namespace.get("Meta")
    return bool(namespace.get("_abstract", False) or getattr(inner, "abstract", False))


def _is_concrete(klass: type) -> bool:
    return "_meta" in vars(klass)


class ModelMeta(type):
    """Metaclass of :class:`~matrx_orm_core.models.Model` (see the module docstring)."""

    reserved_names: ClassVar[frozenset[str]] = EXPLICIT_RESERVED_NAMES

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> ModelMeta:
        if not any(isinstance(base, ModelMeta) for base in bases):
            # The root Model class: every attribute it defines becomes a reserved name.
            root = super().__new__(mcs, name, bases, namespace, **kwargs)
            if ModelMeta.reserved_names is EXPLICIT_RESERVED_NAMES:
                ModelMeta.reserved_names = EXPLICIT_RESERVED_NAMES | frozenset(
                    n for n in dir(root) if n != "model"
                )
            return root
        for key, value in namespace.items():
            if isinstance(value, Field):
                _check_field_name(name, key)
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        if _is_abstract(namespace):
            concrete = [b.__name__ for b in cls.__mro__[1:] if _is_concrete(b)]
            if concrete:
                raise ConfigurationError(
                    model=name,
                    config_key="abstract",
                    reason=f"Abstract model {name} inherits from concrete model {concrete[0]}; "
                    "an abstract base must derive only from Model or other abstract models.",
                )
            type.__setattr__(cls, "_abstract", True)
            return cls
        type.__setattr__(cls, "_abstract", False)
        _build_concrete(cls, name, namespace)
        return cls


def _check_field_name(model: str, field: str) -> None:
    if field.startswith("_") or field in ModelMeta.reserved_names:
        raise _field_error(
            model=model,
            field=field,
            reason=f"Field name '{field}' on model {model} is reserved: it would shadow a Model "
            "method or attribute, or it starts with '_'. Rename the field (its name is also "
            "its column name).",
        )


def _collect_fields(cls: type, namespace: Mapping[str, Any]) -> dict[str, Field[Any]]:
    """Fields of ``cls`` through its full MRO: base classes first, then the class body."""
    collected: dict[str, Field[Any]] = {}
    for klass in reversed(cls.__mro__[1:]):
        if not isinstance(klass, ModelMeta):
            continue
        for key, value in vars(klass).items():
            if isinstance(value, Field):
                collected[key] = value
            elif key in collected:
                del collected[key]
    for key, value in namespace.items():
        if isinstance(value, Field):
            collected[key] = value
        elif key in collected:
            del collected[key]
    for key, value in list(collected.items()):
        if namespace.get(key) is not value:
            value = copy.copy(value)
            collected[key] = value
            type.__setattr__(cls, key, value)
        value.contribute_to_class(cls, key)
    return collected


def _merged_dict(cls: type, attr: str, name: str) -> dict[str, Any]:
    """Merge a dict class attribute (``_inverse_foreign_keys``...) over the full MRO."""
    merged: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        value = vars(klass).get(attr)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise _field_error(
                model=name,
                field=attr,
                reason=f"{name}.{attr} must be a dict of declarations, got {type(value).__name__}.",
            )
        merged.update(value)
    return merged


def _primary_keys(cls: type, name: str, fields: Mapping[str, Field[Any]]) -> list[str]:
    declared = [key for key, f in fields.items() if f.primary_key]
    explicit = getattr(cls, "_primary_keys", None)
    if explicit:
        if isinstance(explicit, str) or not all(isinstance(k, str) for k in explicit):
            raise _field_error(
                model=name,
                field="_primary_keys",
                reason=f"{name}._primary_keys must be a list of field names.",
            )
        if declared:
            raise _field_error(
                model=name,
                field="_primary_keys",
                reason=f"Model {name} cannot have both _primary_keys and fields with "
                f"primary_key=True ({', '.join(declared)}); use one of the two.",
            )
        unknown = [k for k in explicit if k not in fields]
        if unknown:
            raise _field_error(
                model=name,
                field=unknown[0],
                reason=f"Primary key field '{unknown[0]}' in {name}._primary_keys is not a "
                f"field of {name}. Fields: {', '.join(fields)}.",
            )
        return list(explicit)
    if not declared:
        raise _field_error(
            model=name,
            reason=f"Model {name} must define at least one primary key field: mark a field "
            "with primary_key=True or list field names in _primary_keys.",
        )
    return declared


def _foreign_keys(cls: type, fields: Mapping[str, Field[Any]]) -> dict[str, ForeignKeyReference]:
    refs: dict[str, ForeignKeyReference] = {}
    for key, f in fields.items():
        if isinstance(f, ForeignKey):
            refs[key] = ForeignKeyReference(
                column_name=key,
                to_model=f.to_model,
                to_column=getattr(f, "to_column", None),
                related_name=getattr(f, "related_name", None),
                on_delete=getattr(f, "on_delete", "CASCADE"),
                on_update=getattr(f, "on_update", "CASCADE"),
                to_db=getattr(f, "to_db", None),
                to_schema=getattr(f, "to_schema", None),
                model=cls,
            )
    return refs


def _inverse_foreign_keys(
    cls: type, name: str, fields: Mapping[str, Field[Any]]
) -> dict[str, InverseForeignKeyReference]:
    refs: dict[str, InverseForeignKeyReference] = {}
    for key, spec in _merged_dict(cls, "_inverse_foreign_keys", name).items():
        if isinstance(spec, InverseForeignKeyReference):
            spec = {
                "from_model": spec.from_model,
                "from_field": spec.from_field,
                "referenced_field": spec.referenced_field,
                "related_name": spec.related_name,
            }
        where = f"{name}._inverse_foreign_keys['{key}']"
        if not isinstance(spec, Mapping):
            raise _field_error(model=name, field=key, reason=f"{where} must be a dict.")
        unknown = sorted(set(spec) - _IFK_KEYS_ALL)
        if unknown:
            raise _field_error(
                model=name,
                field=key,
                reason=f"{where} has unknown keys {unknown}; allowed: {sorted(_IFK_KEYS)}.",
            )
        for required in ("from_model", "from_field", "referenced_field"):
            if not spec.get(required):
                raise _field_error(
                    model=name,
                    field=key,
                    reason=f"Inverse foreign key '{key}' on {name} must specify "
                    f"'{required}' ({where}).",
                )
        if spec["referenced_field"] not in fields:
            raise _field_error(
                model=name,
                field=key,
                reason=f"{where}: referenced_field '{spec['referenced_field']}' is not a field "
                f"of {name}. Fields: {', '.join(fields)}.",
            )
        refs[key] = InverseForeignKeyReference(
            from_model=spec["from_model"],
            from_field=spec["from_field"],
            referenced_field=spec["referenced_field"],
            related_name=spec.get("related_name") or key,
            model=cls,
        )
    return refs


def _declared_many_to_many(cls: type, name: str) -> dict[str, ManyToManyReference]:
    refs: dict[str, ManyToManyReference] = {}
    for key, spec in _merged_dict(cls, "_many_to_many", name).items():
        where = f"{name}._many_to_many['{key}']"
        if not isinstance(spec, Mapping):
            raise _field_error(model=name, field=key, reason=f"{where} must be a dict.")
        unknown = sorted(set(spec) - _M2M_KEYS)
        missing = [k for k in _M2M_REQUIRED if not spec.get(k)]
        if unknown or missing:
            raise _field_error(
                model=name,
                field=key,
                reason=f"{where}: missing keys {missing}, unknown keys {unknown}. Required: "
                f"{list(_M2M_REQUIRED)}; optional: related_name, junction_schema.",
            )
        refs[key] = ManyToManyReference(
            junction_table=spec["junction_table"],
            source_column=spec["source_column"],
            target_column=spec["target_column"],
            target_model=spec["target_model"],
            related_name=spec.get("related_name") or key,
            junction_schema=spec.get("junction_schema"),
            model=cls,
        )
    return refs


def _field_many_to_many(
    cls: type, name: str, m2m_fields: Mapping[str, ManyToManyField]
) -> tuple[dict[str, ManyToManyReference], list[dict[str, Any]]]:
    refs: dict[str, ManyToManyReference] = {}
    pending: list[dict[str, Any]] = []
    schema = getattr(cls, "_db_schema", None)
    for key, f in m2m_fields.items():
        target: str | type = f.to_model
        if target == "self":
            target = cls
        target_name = target if isinstance(target, str) else target.__name__
        table = junction_table_name(name, target_name, getattr(f, "db_table", None))
        source_col, target_col = junction_columns(name, target_name)
        refs[key] = ManyToManyReference(
            junction_table=table,
            source_column=source_col,
            target_column=target_col,
            target_model=target,
            related_name=key,
            junction_schema=schema,
            model=cls,
        )
        target_meta = None if isinstance(target, str) else vars(target).get("_meta")
        pending.append(
            {
                "junction_table": table,
                "junction_schema": schema,
                "source_column": source_col,
                "target_column": target_col,
                "source_model": name,
                "target_model": target_name,
                "source_table": None,  # filled in below, once the table name is known
                "target_table": target_meta.table_name
                if target_meta is not None
                else snake_case(target_name),
                "field_name": key,
                "related_name": getattr(f, "related_name", None),
            }
        )
    return refs, pending


def _check_version_fields(
    name: str, fields: Mapping[str, Field[Any]], primary_keys: list[str]
) -> None:
    versions = [key for key, f in fields.items() if getattr(f, "is_version_field", False)]
    if versions and versions[0] in primary_keys:
        raise _field_error(
            model=name,
            field=versions[0],
            reason=f"{name}.{versions[0]} is a VersionField and cannot be part of the primary "
            "key: the version changes on every save. Remove it from _primary_keys.",
        )
    if len(versions) > 1:
        raise _field_error(
            model=name,
            field=versions[1],
            reason=f"Model {name} declares {len(versions)} VersionFields "
            f"({', '.join(versions)}); optimistic locking uses exactly one row version. Keep "
            "one and make the others IntegerFields.",
        )


def _cache_policy(cls: type, name: str) -> CachePolicy:
    value = getattr(cls, "_cache_policy", CachePolicy.SHORT_TERM)
    try:
        return CachePolicy(value)
    except ValueError as err:
        raise ConfigurationError(
            model=name,
            config_key="_cache_policy",
            reason=f"{name}._cache_policy={value!r} is not a CachePolicy; use one of "
            f"{', '.join(p.name for p in CachePolicy)}.",
        ) from err


def _build_concrete(cls: type, name: str, namespace: Mapping[str, Any]) -> None:
    database = getattr(cls, "_database", None)
    if not isinstance(database, str) or not database:
        raise ConfigurationError(
            model=name,
            config_key="_database",
            reason=f"Model {name} has no _database: set _database = '<project name>' (the "
            "name of a registered DatabaseProjectConfig) on the class, or mark it abstract.",
        )
    all_fields = _collect_fields(cls, namespace)
    m2m_fields = {k: f for k, f in all_fields.items() if isinstance(f, ManyToManyField)}
    fields = {k: f for k, f in all_fields.items() if k not in m2m_fields}
    primary_keys = _primary_keys(cls, name, fields)
    _check_version_fields(name, fields, primary_keys)
    foreign_keys = _foreign_keys(cls, fields)
    inverse = _inverse_foreign_keys(cls, name, fields)
    many_to_many = _declared_many_to_many(cls, name)
    from_fields, pending = _field_many_to_many(cls, name, m2m_fields)
    many_to_many.update(from_fields)
    seen = set(fields)
    for kind, names in (("inverse foreign key", inverse), ("many-to-many", many_to_many)):
        clash = sorted(seen & set(names))
        if clash:
            raise _field_error(
                model=name,
                field=clash[0],
                reason=f"The {kind} relation '{clash[0]}' on {name} has the same name as a "
                "field or another relation; relation names must be unique per model.",
            )
        seen.update(names)
    table_name = namespace.get("_table_name") or snake_case(name)
    for entry in pending:
        entry["source_table"] = table_name
    timeout = getattr(cls, "_cache_timeout", None)
    meta = ModelOptions(
        table_name=table_name,
        database=database,
        fields=fields,
        primary_keys=primary_keys,
        unique_fields={k for k, f in fields.items() if f.unique},
        foreign_keys=foreign_keys,
        inverse_foreign_keys=inverse,
        indexes=list(getattr(cls, "_indexes", None) or []),
        unique_together=list(getattr(cls, "_unique_together", None) or []),
        constraints=list(getattr(cls, "_constraints", None) or []),
        db_schema=getattr(cls, "_db_schema", None),
        unfetchable=bool(getattr(cls, "_unfetchable", False)),
        many_to_many_keys=many_to_many,
        model_name=name,
        cache_policy=_cache_policy(cls, name),
        cache_timeout=timeout,
        realtime_updates=bool(getattr(cls, "_realtime_updates", False)),
    )
    dynamic = {f"_{k}_related" for k in foreign_keys}
    dynamic |= {f"_{k}_relation" for k in inverse}
    dynamic |= {f"_{k}_m2m" for k in many_to_many}
    type.__setattr__(cls, "_meta", meta)
    type.__setattr__(cls, "_fields", fields)
    type.__setattr__(cls, "_dynamic_fields", dynamic)
    type.__setattr__(cls, "_pending_junction_tables", pending)
    for attr, shared in _EXCEPTIONS:
        parents = tuple(
            getattr(base, attr)
            for base in cls.__bases__
            if isinstance(base, ModelMeta) and _is_concrete(base)
        ) or (shared,)
        exc = type(
            attr,
            parents,
            {
                "__module__": cls.__module__,
                "__qualname__": f"{cls.__qualname__}.{attr}",
                "default_model": cls,
            },
        )
        type.__setattr__(cls, attr, exc)

    from matrx_orm_core.registry import model_registry

    model_registry.register(cls)
