"""Relation declarations: ForeignKey (a column typed like the target key) and ManyToManyField."""

from __future__ import annotations

from typing import Any

from matrx_orm_core.exceptions import ConfigurationError, FieldError, ValidationError
from matrx_orm_core.registry import ModelRegistry

from .base import Field, field_error

__all__ = ["ForeignKey", "ManyToManyField"]

REFERENTIAL_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"})
_SERIAL_TYPES = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}


def _model_reference_name(reference: str | type) -> str:
    return reference if isinstance(reference, str) else reference.__name__


def primary_key_names(model: type) -> list[str]:
    """Return the primary key field names of ``model`` (from ``_meta`` or its fields)."""
    meta = getattr(model, "_meta", None)
    names = getattr(meta, "primary_keys", None)
    if names:
        return list(names)
    return [name for name, field in model_fields(model).items() if field.primary_key]


def model_fields(model: type) -> dict[str, Field[Any]]:
    """Return ``{name: Field}`` for ``model`` (from ``_meta.fields``, else its class attributes)."""
    meta = getattr(model, "_meta", None)
    fields = getattr(meta, "fields", None)
    if isinstance(fields, dict) and fields:
        return dict(fields)
    found: dict[str, Field[Any]] = {}
    for klass in reversed(model.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Field):
                found[name] = value
    return found


def _check_action(kind: str, action: str) -> str:
    normalised = " ".join(action.upper().split()) if isinstance(action, str) else ""
    if normalised not in REFERENTIAL_ACTIONS:
        raise field_error(
            field=kind,
            reason=f"ForeignKey({kind}={action!r}) is invalid: use one of "
            f"{', '.join(sorted(REFERENTIAL_ACTIONS))}.",
        )
    return normalised


class ForeignKey(Field[Any]):
    """A column referencing another model's key.

    The column type and Python type follow the target key field (a ``uuid`` key gives a
    ``uuid`` column and ``str`` values; an ``integer`` key gives ``integer`` and ``int``). The
    target is resolved lazily through the model registry: a class-name string is looked up in
    ``to_db`` (or the owning model's database) first, then by a unique name across databases.
    A value may be the key value itself or an instance of the target model (its ``to_column``
    value is used). The field name is the column name (``author_id``).

    Args:
        to_model: The target model class, or its class name.
        to_column: The referenced target field; defaults to the target's primary key.
        related_name: Name of the inverse relation on the target.
        on_delete: ``CASCADE`` (default), ``SET NULL``, ``SET DEFAULT``, ``RESTRICT``,
            ``NO ACTION``.
        on_update: As ``on_delete``.
        to_db: The target's registered database when it differs from this model's.
        to_schema: Informational schema hint (routing uses the target's ``_db_schema``).
        **kwargs: Common ``Field`` options.

    Raises:
        FieldError: Invalid ``to_model`` or referential action.
    """

    def __init__(
        self,
        to_model: str | type,
        to_column: str | None = None,
        related_name: str | None = None,
        on_delete: str = "CASCADE",
        on_update: str = "CASCADE",
        to_db: str | None = None,
        to_schema: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not (isinstance(to_model, type) or (isinstance(to_model, str) and to_model)):
            raise field_error(
                field="to_model",
                reason=f"ForeignKey(to_model={to_model!r}) must be a model class or its name.",
            )
        self.to_model = to_model
        self.to_column = to_column
        self.related_name = related_name
        self.on_delete = _check_action("on_delete", on_delete)
        self.on_update = _check_action("on_update", on_update)
        self.to_db = to_db
        self.to_schema = to_schema
        self._resolved: tuple[int, type | None, type, Field[Any]] | None = None
        super().__init__(**kwargs)

    @property
    def to_model_name(self) -> str:
        """The target model's class name."""
        return _model_reference_name(self.to_model)

    def _resolve(self) -> tuple[type, Field[Any]]:
        version = ModelRegistry.version()
        cached = self._resolved
        if cached is not None and cached[0] == version and cached[1] is self.model:
            return cached[2], cached[3]
        database = self.to_db
        if database is None and self.model is not None:
            database = getattr(self.model, "_database", None)
        target = ModelRegistry.resolve(self.to_model, database=database)
        column = self.to_column
        fields = model_fields(target)
        if column is None:
            keys = primary_key_names(target)
            if len(keys) != 1:
                raise field_error(
                    model=self._model_name(),
                    field=self.name,
                    reason=f"{self._label()}: {target.__name__} has "
                    f"{'no' if not keys else 'a composite'} primary key; pass "
                    "to_column='<target field>'.",
                )
            column = keys[0]
        target_field = fields.get(column)
        if target_field is None:
            raise field_error(
                model=self._model_name(),
                field=self.name,
                reason=f"{self._label()}: {target.__name__} has no field {column!r} "
                f"(fields: {', '.join(sorted(fields))}); fix to_column.",
            )
        self._resolved = (version, self.model, target, target_field)
        return target, target_field

    @property
    def related_model(self) -> type:
        """The resolved target model class.

        Raises:
            ConfigurationError: The target is not registered (or is ambiguous).
        """
        return self._resolve()[0]

    @property
    def target_field(self) -> Field[Any]:
        """The referenced field on the target model."""
        return self._resolve()[1]

    @property
    def related_column(self) -> str:
        """The referenced column name (``to_column`` or the target's primary key)."""
        target = self.target_field
        return target.column or target.name or ""

    def _get_default_db_type(self) -> str:
        db_type: str = self._resolve()[1].db_type
        return _SERIAL_TYPES.get(db_type.lower(), db_type)

    @property
    def python_type(self) -> type:
        python_type: type = self._resolve()[1].python_type
        return python_type

    def _unwrap(self, value: Any) -> Any:
        target, target_field = self._resolve()
        if isinstance(value, target):
            key = value.__dict__.get(target_field.name or "")
            if key is None:
                raise self._invalid(
                    None,
                    f"the {target.__name__} instance has no {target_field.name} value yet",
                    "Save the related object first, or pass its key value.",
                )
            return key
        return value

    def _delegate(self, value: Any, convert: Any) -> Any:
        try:
            return convert(value)
        except ValidationError as err:
            raise self._invalid(
                value,
                f"invalid key for {self.to_model_name}.{self.target_field.name}: "
                f"{err.details.get('reason') or err}",
                f"Pass a {self.to_model_name} instance or its key value.",
            ) from err

    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        return self._delegate(self._unwrap(value), self.target_field.to_python)

    def _prep_input(self, value: Any) -> Any:
        return self.to_python(value)

    def _check(self, value: Any) -> None:
        self._delegate(value, self.target_field._check)

    def _to_db(self, value: Any) -> Any:
        return self.target_field._to_db(value)

    def from_db_value(self, value: Any) -> Any:
        return self.target_field.from_db_value(value)

    def _options(self) -> dict[str, Any]:
        return {
            "to_model": self.to_model_name,
            "to_column": self.to_column,
            "related_name": self.related_name,
            "on_delete": self.on_delete,
            "on_update": self.on_update,
            "to_db": self.to_db,
            "to_schema": self.to_schema,
        }

    def _describe_db_type(self) -> str | None:
        try:
            return self.db_type
        except (ConfigurationError, FieldError):
            return None


class ManyToManyField(Field[Any]):
    """A many-to-many declaration. Not a column (``is_native=False``).

    The model metaclass turns it into a ``ManyToManyReference`` in ``_meta``. The junction table
    is ``db_table``, or the two lower-cased class names sorted and joined with ``_``.

    Args:
        to_model: The target model class, or its class name.
        db_table: The junction table name.
        related_name: Name of the relation seen from the target.
        **kwargs: Extra options kept in ``.extra``.
    """

    def __init__(
        self,
        to_model: str | type,
        db_table: str | None = None,
        related_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not (isinstance(to_model, type) or (isinstance(to_model, str) and to_model)):
            raise field_error(
                field="to_model",
                reason=f"ManyToManyField(to_model={to_model!r}) must be a model class or its name.",
            )
        self.to_model = to_model
        self.db_table = db_table
        self.related_name = related_name
        kwargs.pop("is_native", None)
        super().__init__(is_native=False, **kwargs)

    @property
    def to_model_name(self) -> str:
        """The target model's class name."""
        return _model_reference_name(self.to_model)

    def _describe_db_type(self) -> str | None:
        return None

    def _get_default_db_type(self) -> str:
        raise field_error(
            model=self._model_name(),
            field=self.name,
            reason=f"{self._label()} is a many-to-many relation, not a column; it has no "
            "column type (its junction table holds the rows).",
        )

    def get_db_prep_value(self, value: Any) -> Any:
        raise field_error(
            model=self._model_name(),
            field=self.name,
            reason=f"{self._label()} is a many-to-many relation, not a column; use "
            "add_m2m/remove_m2m/set_m2m to change it.",
        )

    def _options(self) -> dict[str, Any]:
        return {
            "to_model": self.to_model_name,
            "db_table": self.db_table,
            "related_name": self.related_name,
        }
