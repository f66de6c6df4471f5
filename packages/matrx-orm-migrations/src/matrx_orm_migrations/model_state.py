"""Model state: registered models' ``_meta`` → the neutral schema model (:mod:`.schema`).

Each concrete model becomes a :class:`~.schema.Table`: its fields' exact column types
(``field.db_type``, normalised), nullability, constant defaults, primary key, ``unique=True``
fields and ``_unique_together``, ``ForeignKey`` constraints (target table and schema resolved
from the target model), ``index=True`` fields and ``_indexes``, ``_constraints`` checks. Every
``ManyToManyField`` (and ``_many_to_many`` declaration) whose junction table no model owns adds
that junction table with a composite primary key and two cascading foreign keys. Enum fields
declared with a ``db_type`` other than text (``EnumField(enum_class=Mood, db_type="mood")``)
add a PostgreSQL enum type with the members' values as labels.

Constraint and index names are generated the way PostgreSQL names them (``<table>_pkey``,
``<table>_<col>_key``) or as API.md §5.6 says (``fk_<table>_<col>_<ref>_<refcol>``,
``idx_<table>_<col>``), capped at 63 bytes with a hash suffix.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from matrx_orm_core import Func
from matrx_orm_core.exceptions import ConfigurationError, FieldError, MigrationError
from matrx_orm_core.fields import EnumField, Field

from ._types import normalize_type, serial_base
from .ddl import (
    ConstraintDef,
    IndexDef,
    SQLExpression,
    check_expression,
    constraint_name,
    literal,
)
from .schema import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)

__all__ = ["build_model_schema", "model_table"]

_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEXT_TYPES = frozenset({"character varying", "text", "character"})
_JSON_TYPES = frozenset({"json", "jsonb"})


def _reason(err: Exception) -> str:
    """The one-line reason of a core error (not its multi-line report)."""
    details = getattr(err, "details", None)
    reason = details.get("reason") if isinstance(details, dict) else None
    return str(reason or getattr(err, "message", None) or err)


def _error(model: str, field: str | None, reason: str) -> MigrationError:
    where = f"{model}.{field}" if field else model
    return MigrationError(model=model, message=f"{where}: {reason}", details={"field": field})


def build_model_schema(models: Iterable[type], schema: str = "public") -> Schema:
    """Build the schema the given models describe.

    Args:
        models: concrete model classes. Models marked ``_unfetchable`` and models whose
            ``_db_schema`` names another schema are left out; models without a schema belong
            to every schema (API.md §5.7).
        schema: the schema being diffed.

    Returns:
        The tables (models and junction tables) and enum types, sorted by name.

    Raises:
        MigrationError: two models share a table name, a type or expression is not valid DDL,
            or a relation target cannot be resolved (the message names model and field).
    """
    selected: list[Any] = [m for m in models if _in_schema(m, schema)]
    tables: dict[str, Table] = {}
    owners: dict[str, str] = {}
    enums: dict[str, EnumType] = {}
    for model in sorted(selected, key=lambda m: (m._meta.table_name, m.__name__)):
        meta = model._meta
        if meta.table_name in tables:
            raise _error(
                model.__name__,
                None,
                f"table {meta.table_name!r} is also the table of model "
                f"{owners[meta.table_name]}; give one of them another _table_name, or pass "
                "models= to compare only one of them.",
            )
        tables[meta.table_name] = model_table(model, schema, enums)
        owners[meta.table_name] = model.__name__
    for model in selected:
        for junction in _junction_tables(model, schema):
            tables.setdefault(junction.name, junction)
    return Schema(
        name=schema,
        tables=tuple(tables[name] for name in sorted(tables)),
        enums=tuple(enums[name] for name in sorted(enums)),
    )


def _in_schema(model: type, schema: str) -> bool:
    meta = getattr(model, "_meta", None)
    if meta is None or meta.unfetchable:
        return False
    return meta.db_schema is None or meta.db_schema == schema


def _db_type(model: type, name: str, field: Field[Any]) -> str:
    try:
        return field.db_type
    except (ConfigurationError, FieldError) as err:
        raise _error(model.__name__, name, f"cannot tell the column type: {_reason(err)}") from err


def model_table(model: type, schema: str, enums: dict[str, EnumType] | None = None) -> Table:
    """The :class:`~.schema.Table` of one concrete model (see the module docstring).

    Args:
        model: the model class.
        schema: the schema it is built for (qualifies user types and unqualified targets).
        enums: collects the enum types the model's fields declare, when given.

    Raises:
        MigrationError: see :func:`build_model_schema`.
    """
    meta = model._meta  # type: ignore[attr-defined]
    table = meta.table_name
    label = model.__name__
    columns: list[Column] = []
    for name, field in meta.fields.items():
        raw = _db_type(model, name, field)
        column_type = normalize_type(raw, schema, where=f"{label}.{name}")
        if enums is not None and isinstance(field, EnumField):
            _collect_enum(field, column_type, schema, enums)
        columns.append(
            Column(
                name=field.column or name,
                type=column_type,
                nullable=bool(field.nullable) and name not in meta.primary_keys,
                default=_default_sql(label, name, field, column_type),
                serial=serial_base(raw),
            )
        )
    fields = set(meta.fields)
    primary_key = PrimaryKey(constraint_name(table, "pkey"), tuple(meta.primary_keys))
    uniques: dict[tuple[str, ...], UniqueConstraint] = {
        (name,): UniqueConstraint(constraint_name(table, name, "key"), (name,))
        for name, f in meta.fields.items()
        if f.unique and list(meta.primary_keys) != [name]
    }
    for entry in meta.unique_together:
        cols = _names(label, "_unique_together", entry, fields)
        uniques.setdefault(cols, UniqueConstraint(constraint_name(table, *cols, "key"), cols))
    indexes = {
        f"idx_{table}_{name}": Index(constraint_name("idx", table, name), (name,))
        for name, f in meta.fields.items()
        if f.index and not f.unique and name not in meta.primary_keys
    }
    for entry in meta.indexes:
        index = _index(label, table, entry, fields)
        indexes[index.name] = index
    checks = [_check(label, entry) for entry in meta.constraints]
    return Table(
        name=table,
        schema=schema,
        columns=tuple(columns),
        primary_key=primary_key,
        uniques=tuple(sorted(uniques.values(), key=lambda u: u.name)),
        foreign_keys=tuple(sorted(_foreign_keys(model, schema), key=lambda f: f.name)),
        checks=tuple(sorted(checks, key=lambda c: c.name)),
        indexes=tuple(sorted(indexes.values(), key=lambda i: i.name)),
    )


def _collect_enum(
    field: EnumField[Any], column_type: str, schema: str, enums: dict[str, EnumType]
) -> None:
    base = column_type.removesuffix("[]")
    if not base.startswith('"'):
        return  # varchar/text: a plain text column holding the values
    type_schema, name = _split_user_type(base)
    if type_schema != schema:
        return  # a type owned by another schema is that schema's business
    labels = tuple(str(getattr(v, "value", v)) for v in _enum_values(field))
    known = enums.get(name)
    if known is not None and known.labels != labels:
        raise _error(
            field._model_name() or "?",
            field.name,
            f"enum type {name!r} is declared with different values by two fields "
            f"({list(known.labels)} and {list(labels)}); declare the same members on both.",
        )
    enums[name] = EnumType(schema, name, labels)


def _enum_values(field: EnumField[Any]) -> list[Any]:
    if field.enum_class is not None:
        return [member.value for member in field.enum_class]
    return list(getattr(field, "choices", None) or [])


def _split_user_type(text: str) -> tuple[str, str]:
    """``"s"."n"`` → ``("s", "n")`` (the canonical spelling from ``user_type_name``)."""
    parts: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == '"':
            j = i + 1
            buf = []
            while j < len(text):
                if text[j] == '"':
                    if j + 1 < len(text) and text[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            i += 1
    return parts[0], parts[1]


def _default_sql(model: str, name: str, field: Field[Any], column_type: str) -> str | None:
    """The column's DDL default.

    A field's ``db_default=`` wins (see :func:`_db_default`). Otherwise a constant Python
    default becomes the DDL default; callables and containers give none (the ORM fills them in).
    """
    if "db_default" in field.extra:
        return _db_default(field.extra["db_default"], f"db_default of {model}.{name}")
    value = field.default
    if value is None or callable(value):
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (dict, list)):
        if column_type not in _JSON_TYPES:
            return None  # arrays and other containers: the Python default fills new rows
        value = json.dumps(value)
    if isinstance(value, (tuple, set, frozenset)):
        return None
    try:
        return literal(value, f"the default of {model}.{name}")
    except MigrationError:
        return None


def _db_default(value: Any, where: str) -> str | None:
    """A ``db_default``: a value (quoted with :func:`literal`, as Django's ``db_default``), a
    zero-argument function expression (``Now()``, a ``Func`` subclass naming
    ``gen_random_uuid``), or :class:`~.ddl.SQLExpression` text (checked, written as is)."""
    if value is None:
        return None
    if isinstance(value, SQLExpression):
        return check_expression(str(value), where)
    if isinstance(value, Func):
        if value.args or not _FUNCTION_NAME.fullmatch(value.function or ""):
            raise MigrationError(
                message=f"{where}: only functions without arguments can be a column default "
                f"(got {type(value).__name__} with {len(value.args)} argument(s)); write the "
                'SQL as db_default=SQLExpression("...") instead.',
            )
        return f"{value.function}()"
    if isinstance(value, enum.Enum):
        value = value.value
    return literal(value, where)


def _names(model: str, option: str, entry: Any, fields: set[str]) -> tuple[str, ...]:
    cols = (entry,) if isinstance(entry, str) else tuple(entry)
    if not cols or not all(isinstance(c, str) for c in cols):
        raise _error(model, option, f"each entry must be a list of field names, got {entry!r}.")
    unknown = [c for c in cols if c not in fields]
    if unknown:
        raise _error(
            model,
            option,
            f"{unknown[0]!r} is not a field of {model} (fields: {', '.join(sorted(fields))}).",
        )
    return cols


def _index(model: str, table: str, entry: Any, fields: set[str]) -> Index:
    """One ``_indexes`` entry: a field name, a list of names, a dict or an ``IndexDef``."""
    if isinstance(entry, IndexDef):
        spec: Mapping[str, Any] = {
            "name": entry.name,
            "columns": list(entry.columns),
            "unique": entry.unique,
            "method": entry.method,
            "where": entry.where,
        }
    elif isinstance(entry, Mapping):
        spec = entry
        unknown = sorted(set(spec) - {"name", "columns", "fields", "unique", "method", "where"})
        if unknown:
            raise _error(
                model,
                "_indexes",
                f"unknown index keys {unknown}; use name, columns, unique, method, where.",
            )
    else:
        spec = {"columns": entry}
    cols = _names(model, "_indexes", spec.get("columns", spec.get("fields")), fields)
    where = spec.get("where")
    if where is not None:
        where = check_expression(where, f"{model}._indexes predicate")
    method = str(spec.get("method") or "btree").lower()
    name = spec.get("name") or constraint_name("idx", table, *cols)
    return Index(name, cols, bool(spec.get("unique", False)), method, where)


def _check(model: str, entry: Any) -> CheckConstraint:
    """One ``_constraints`` entry: ``{"name": ..., "check": "<sql>"}`` or a CHECK ConstraintDef."""
    if isinstance(entry, ConstraintDef):
        if entry.constraint_type.upper() != "CHECK":
            raise _error(
                model,
                "_constraints",
                f"only CHECK constraints are supported here, got {entry.constraint_type!r}; "
                "use unique=True or _unique_together for UNIQUE.",
            )
        name, expr = entry.name, entry.expression
    elif isinstance(entry, Mapping) and set(entry) == {"name", "check"}:
        name, expr = entry["name"], entry["check"]
    else:
        raise _error(
            model,
            "_constraints",
            f"each entry must be {{'name': ..., 'check': '<SQL expression>'}}, got {entry!r}.",
        )
    if not isinstance(name, str) or not name:
        raise _error(model, "_constraints", "a CHECK constraint needs a non-empty name.")
    return CheckConstraint(name, check_expression(expr, f"{model} CHECK {name}"))


def _foreign_keys(model: type, schema: str) -> list[ForeignKey]:
    meta = model._meta  # type: ignore[attr-defined]
    result = []
    for name, ref in meta.foreign_keys.items():
        if ref.to_db is not None and ref.to_db != meta.database:
            continue  # PostgreSQL cannot reference a table in another database
        try:
            target = ref.related_model
            ref_column = ref.related_column
        except (ConfigurationError, FieldError) as err:
            raise _error(
                model.__name__, name, f"cannot resolve the ForeignKey target: {_reason(err)}"
            ) from err
        target_meta = target._meta
        ref_schema = target_meta.db_schema or ref.to_schema or schema
        table = meta.table_name
        result.append(
            ForeignKey(
                name=constraint_name("fk", table, name, target_meta.table_name, ref_column),
                columns=(name,),
                ref_schema=ref_schema,
                ref_table=target_meta.table_name,
                ref_columns=(ref_column,),
                on_delete=ref.on_delete,
                on_update=ref.on_update,
            )
        )
    return result


def _junction_tables(model: type, schema: str) -> list[Table]:
    """Junction tables of ``model``'s many-to-many relations that no model owns."""
    from matrx_orm_core.registry import model_registry

    meta = model._meta  # type: ignore[attr-defined]
    registered: list[Any] = list(model_registry.all_models(meta.database).values())
    owned = {m._meta.table_name for m in registered}
    result = []
    for key, ref in meta.many_to_many_keys.items():
        junction_schema = ref.junction_schema or schema
        if junction_schema != schema or ref.junction_table in owned:
            continue
        try:
            target: Any = ref.resolved_model
        except (ConfigurationError, FieldError) as err:
            raise _error(
                model.__name__, key, f"cannot resolve the many-to-many target: {_reason(err)}"
            ) from err
        ends = []
        sides: tuple[tuple[Any, str], ...] = (
            (model, ref.source_column),
            (target, ref.target_column),
        )
        for end, column in sides:
            end_meta = end._meta
            if len(end_meta.primary_keys) != 1:
                raise _error(
                    model.__name__,
                    key,
                    f"{end.__name__} has a composite primary key; a junction table needs a "
                    "single-column key on both sides.",
                )
            pk = end_meta.primary_keys[0]
            pk_type = normalize_type(
                end_meta.fields[pk].db_type, schema, where=f"{end.__name__}.{pk}"
            )
            pk_type = {"serial": "integer"}.get(pk_type, pk_type)
            ends.append((end_meta, column, pk, pk_type))
        table = ref.junction_table
        columns = tuple(Column(column, pk_type, nullable=False) for _, column, _, pk_type in ends)
        fks = tuple(
            sorted(
                (
                    ForeignKey(
                        name=constraint_name("fk", table, column, end_meta.table_name, pk),
                        columns=(column,),
                        ref_schema=end_meta.db_schema or schema,
                        ref_table=end_meta.table_name,
                        ref_columns=(pk,),
                        on_delete="CASCADE",
                        on_update="CASCADE",
                    )
                    for end_meta, column, pk, _ in ends
                ),
                key=lambda f: f.name,
            )
        )
        result.append(
            Table(
                name=table,
                schema=schema,
                columns=columns,
                primary_key=PrimaryKey(
                    constraint_name(table, "pkey"), tuple(c.name for c in columns)
                ),
                foreign_keys=fks,
            )
        )
    return result
