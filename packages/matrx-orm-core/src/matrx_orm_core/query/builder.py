"""QueryBuilder (alias QuerySet): an immutable, lazy query over one model.

Every chain method returns a new builder and leaves the one it was called on unchanged; nothing
runs until a terminal method is awaited. Names and values are validated when a chain method is
called (``FieldError`` / ``ValidationError`` before any SQL exists); the SQL text is compiled
at the terminal, once per query shape (see ``query.compiler``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from matrx_orm_core import _caching, _execution
from matrx_orm_core.drivers.base import Row
from matrx_orm_core.exceptions import (
    ConfigurationError,
    QueryError,
    QueryUsageError,
    TransactionError,
)
from matrx_orm_core.fields.base import OrderBy
from matrx_orm_core.models import _persistence as _p
from matrx_orm_core.sql import ForUpdate
from matrx_orm_core.transaction import in_transaction

from ._expression_methods import ExpressionMethods, ExprState, has_expression
from ._prefetch_methods import PrefetchMethods
from ._read_methods import ReadMethods
from ._results import CHUNK_SIZE, hydrate, iterate, model_value
from ._select_related import JoinStep, compile_select_related
from ._select_related_methods import SelectRelatedMethods
from ._write_methods import WriteMethods
from .compiler import QueryShape, WhereShape, compile_query
from .lookups import Condition, prepare_condition

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model

__all__ = ["CHUNK_SIZE", "QueryBuilder", "QuerySet", "model_value"]

M = TypeVar("M", bound="Model")

_Group = tuple[bool, tuple[Condition, ...]]


class QueryBuilder(
    SelectRelatedMethods,
    PrefetchMethods,
    ExpressionMethods,
    ReadMethods[M],
    WriteMethods,
    Generic[M],
):
    """A lazy, immutable query over ``model_cls``.

    Args:
        model_cls: A concrete model class.
        database: The database project to run on (default: the model's ``_database``).

    Raises:
        ConfigurationError: ``model_cls`` is not a concrete model.
    """

    __slots__ = (
        "_columns",
        "_deferred",
        "_distinct",
        "_distinct_on",
        "_filters",
        "_for_update",
        "_groups",
        "_limit",
        "_offset",
        "_order",
        "_prefetch",
        "_wshape",
        "_wvalues",
        "_x",
        "database",
        "model_cls",
    )

    def __init__(self, model_cls: type[M], database: str | None = None) -> None:
        meta = vars(model_cls).get("_meta")
        if meta is None:
            raise ConfigurationError(
                model=model_cls,
                config_key="_meta",
                reason=f"{model_cls.__name__} is not a concrete model (abstract models have no "
                "table); query a concrete subclass.",
            )
        self.model_cls: type[M] = model_cls
        self.database: str = database or meta.database
        self._groups: tuple[_Group, ...] = ()
        self._filters: dict[str, Any] = {}
        self._wshape: WhereShape = ()
        self._wvalues: tuple[Any, ...] = ()
        self._order: tuple[tuple[str, bool], ...] = ()
        self._columns: tuple[str, ...] | None = None
        self._deferred: frozenset[str] = frozenset()
        self._distinct = False
        self._distinct_on: tuple[str, ...] = ()
        self._limit: int | None = None
        self._offset: int | None = None
        self._for_update: ForUpdate | None = None
        self._prefetch: tuple[str, ...] = ()
        self._select_related: tuple[JoinStep, ...] = ()
        self._x: ExprState | None = None

    def _clone(self) -> QueryBuilder[M]:
        clone: QueryBuilder[M] = object.__new__(type(self))
        clone.model_cls = self.model_cls
        clone.database = self.database
        clone._groups = self._groups
        clone._filters = self._filters
        clone._wshape = self._wshape
        clone._wvalues = self._wvalues
        clone._order = self._order
        clone._columns = self._columns
        clone._deferred = self._deferred
        clone._distinct = self._distinct
        clone._distinct_on = self._distinct_on
        clone._limit = self._limit
        clone._offset = self._offset
        clone._for_update = self._for_update
        clone._prefetch = self._prefetch
        clone._select_related = self._select_related
        clone._x = self._x
        return clone

    def __repr__(self) -> str:
        names = ", ".join(cond.field for _, group in self._groups for cond in group)
        return f"<QueryBuilder {self.model_cls.__name__} filters=[{names}]>"

    # -- validation helpers ------------------------------------------------------------------

    def _check(self, names: Iterable[Any], operation: str) -> tuple[str, ...]:
        cls = self.model_cls
        fields = cls._meta.fields
        result: list[str] = []
        for name in names:
            if not isinstance(name, str) or name not in fields:
                reason = (
                    f"{cls.__name__}.{operation}(): {name!r} is not a field of {cls.__name__}. "
                    f"Valid fields: {', '.join(fields)}."
                )
                raise _p.field_error(cls, name if isinstance(name, str) else repr(name), reason)
            result.append(name)
        return tuple(result)

    def _add(self, lookups: Mapping[str, Any], negated: bool, operation: str) -> QueryBuilder[M]:
        cls = self.model_cls
        conditions = tuple(
            [prepare_condition(cls, key, value, operation) for key, value in lookups.items()]
        )
        clone = self._clone()
        clone._groups = (*self._groups, (negated, conditions))
        clone._wshape = (*self._wshape, (negated, tuple([c.shape for c in conditions])))
        clone._wvalues = self._wvalues + tuple([v for c in conditions for v in c.values])
        if negated:
            clone._filters = {**self._filters, **{"NOT " + k: v for k, v in lookups.items()}}
        else:
            clone._filters = {**self._filters, **lookups}
        return clone

    def where_lookups(self, lookups: Mapping[str, Any], operation: str) -> QueryBuilder[M]:
        """``filter(**lookups)`` for a model-level call, with errors naming ``operation``.

        Returns:
            A new builder.

        Raises:
            FieldError: Unknown field or lookup (nothing is sent).
            ValidationError: A value does not suit its lookup or field.
        """
        if has_expression(lookups):
            return self._filter_expr((), lookups, False, operation)
        if not lookups:
            return self._clone()
        return self._add(lookups, False, operation)

    # -- chain methods -----------------------------------------------------------------------

    def filter(self, *conditions: Any, **lookups: Any) -> QueryBuilder[M]:
        """Add conditions, ANDed with the existing ones: ``field[__op]=value`` (the value may be
        an expression) and positional ``Q``/``Exists``; aggregate conditions go to HAVING.

        Returns:
            A new builder.

        Raises:
            FieldError: Unknown field, annotation or lookup (nothing is sent).
            ValidationError: A value does not suit its lookup or field.
            QueryUsageError: A positional argument that is not Q or Exists.
        """
        if conditions or self._x is not None or has_expression(lookups):
            return self._filter_expr(conditions, lookups, False, "filter")
        if not lookups:
            return self._clone()
        return self._add(lookups, False, "filter")

    def exclude(self, *conditions: Any, **lookups: Any) -> QueryBuilder[M]:
        """Exclude the rows matching all of ``conditions`` and ``lookups``: ``NOT (a AND b)``.

        Returns:
            A new builder.

        Raises:
            FieldError: Unknown field or lookup.
            ValidationError: A value does not suit its lookup or field.
        """
        if conditions or self._x is not None or has_expression(lookups):
            return self._filter_expr(conditions, lookups, True, "exclude")
        if not lookups:
            return self._clone()
        return self._add(lookups, True, "exclude")

    def order_by(self, *terms: object) -> QueryBuilder[M]:
        """Replace the ordering: ``"field"`` ascending, ``"-field"`` descending, an
        ``OrderBy`` from ``Model.field.desc()`` / ``.asc()``, an annotation alias (``"-n"``) or
        an expression (``Lower("name")``, ``F("a").desc()``).

        Returns:
            A new builder.

        Raises:
            FieldError: A term is not a field name or an ``OrderBy`` (also a ``ValueError``).
        """
        order: list[tuple[Any, bool]] = []
        for term in terms:
            expression = self._order_term(term)
            if expression is not None:  # an expression or annotation alias
                order.append(expression)
                continue
            if isinstance(term, str):
                parsed = OrderBy.parse(term)
            elif isinstance(term, OrderBy):
                parsed = term
            else:
                cls = self.model_cls
                reason = (
                    f"{cls.__name__}.order_by(): {term!r} is not a field name, '-name' or "
                    "Field.desc()/asc()."
                )
                raise _p.field_error(cls, repr(term), reason)
            self._check((parsed.field_name,), "order_by")
            order.append((parsed.field_name, parsed.descending))
        clone = self._clone()
        clone._order = tuple(order)
        if self._x is None and any(type(name) is not str for name, _ in order):
            clone._x = ExprState()  # expression orderings live on the expression path
        return clone

    def reverse(self) -> QueryBuilder[M]:
        """Flip every ordering term (no ordering: unchanged).

        Returns:
            A new builder.
        """
        clone = self._clone()
        clone._order = tuple((name, not desc) for name, desc in self._order)
        return clone

    def _count_arg(self, value: Any, what: str) -> int:
        if type(value) is not int or value < 0:
            cls = self.model_cls
            raise cls.ValidationError(
                model=cls, field=what, value=value, reason=f"{what} must be an int >= 0"
            ).enrich(operation=what)
        return value

    def limit(self, n: int) -> QueryBuilder[M]:
        """At most ``n`` rows (bound as a parameter).

        Returns:
            A new builder.

        Raises:
            ValidationError: ``n`` is not an int >= 0.
        """
        clone = self._clone()
        clone._limit = self._count_arg(n, "limit")
        return clone

    def offset(self, n: int) -> QueryBuilder[M]:
        """Skip the first ``n`` rows (bound as a parameter).

        Returns:
            A new builder.

        Raises:
            ValidationError: ``n`` is not an int >= 0.
        """
        clone = self._clone()
        clone._offset = self._count_arg(n, "offset")
        return clone

    def __getitem__(self, index: slice) -> QueryBuilder[M]:
        """``qb[a:b]``: offset ``a``, limit ``b - a``; ``qb[a:]``: offset only.

        Slices compose with an existing offset and limit.

        Returns:
            A new builder.

        Raises:
            QueryUsageError: An integer index (also a ``TypeError``).
            QueryError: A step, or a negative bound.
        """
        if not isinstance(index, slice):
            raise QueryUsageError(
                message="Index access not supported, use slicing (qb[a:b]) or first()/get()",
                model=self.model_cls,
            )
        start, stop = index.start or 0, index.stop
        if index.step is not None or start < 0 or (stop is not None and stop < 0):
            raise QueryError(
                message="QueryBuilder slices take non-negative bounds and no step",
                model=self.model_cls,
            )
        clone = self._clone()
        base = self._offset or 0
        if start:
            clone._offset = base + start
        if stop is not None:
            size = max(stop - start, 0)
            if self._limit is not None:
                size = max(min(size, self._limit - start), 0)
            clone._limit = size
        elif self._limit is not None:
            clone._limit = max(self._limit - start, 0)
        return clone

    def select(self, *fields: str) -> QueryBuilder[M]:
        """Load only ``fields`` (the primary key is always loaded); same as ``only``.

        Returns:
            A new builder.

        Raises:
            FieldError: An unknown field name.
        """
        return self._load(fields, "select")

    def only(self, *fields: str) -> QueryBuilder[M]:
        """Load only ``fields`` plus the primary key; the other attributes are ``None`` and
        listed in ``instance._deferred``, so ``save()`` leaves their columns alone.

        Returns:
            A new builder.

        Raises:
            FieldError: An unknown field name.
        """
        return self._load(fields, "only")

    def _load(self, fields: Sequence[str], operation: str) -> QueryBuilder[M]:
        names = set(self._check(fields, operation))
        meta = self.model_cls._meta
        names.update(meta.pk_names)
        clone = self._clone()
        clone._columns = tuple(name for name in meta.select_columns if name in names)
        clone._deferred = frozenset(meta.select_columns) - names
        return clone

    def defer(self, *fields: str) -> QueryBuilder[M]:
        """Load every field except ``fields`` (deferred attributes are ``None``, see ``only``).

        Returns:
            A new builder.

        Raises:
            FieldError: An unknown field name, or a primary key field.
        """
        names = set(self._check(fields, "defer"))
        meta = self.model_cls._meta
        for name in meta.pk_names:
            if name in names:
                cls = self.model_cls
                reason = f"{cls.__name__}.defer(): the primary key '{name}' cannot be deferred."
                raise _p.field_error(cls, name, reason)
        return self._load([n for n in meta.select_columns if n not in names], "defer")

    def distinct(self, *fields: str) -> QueryBuilder[M]:
        """``SELECT DISTINCT``; with fields, ``SELECT DISTINCT ON (fields)`` (the ordering must
        then start with those fields, as PostgreSQL requires; checked when the query runs).

        Returns:
            A new builder.

        Raises:
            FieldError: An unknown field name.
        """
        clone = self._clone()
        clone._distinct = True
        clone._distinct_on = self._check(fields, "distinct")
        return clone

    def using(self, database: str) -> QueryBuilder[M]:
        """Run this query on another registered database project.

        Returns:
            A new builder.
        """
        clone = self._clone()
        clone.database = database
        return clone

    def select_for_update(
        self, nowait: bool = False, skip_locked: bool = False, of: Iterable[str] | None = None
    ) -> QueryBuilder[M]:
        """Lock the selected rows: ``FOR UPDATE [OF "t", ...] [NOWAIT | SKIP LOCKED]``.

        NOWAIT wins when both flags are set. ``of`` names tables (as the SQL references them).

        Returns:
            A new builder.

        Raises:
            FieldError: A name in ``of`` is not the model's table.
        """
        tables = tuple(of or ())
        cls = self.model_cls
        for table in tables:
            if table != cls._meta.table_name:
                reason = (
                    f"{cls.__name__}.select_for_update(of=...): {table!r} is not a table of this "
                    f"query; the only one is {cls._meta.table_name!r}."
                )
                raise _p.field_error(cls, table if isinstance(table, str) else repr(table), reason)
        clone = self._clone()
        clone._for_update = ForUpdate(tables, nowait, skip_locked and not nowait)
        return clone

    # -- introspection -----------------------------------------------------------------------

    @property
    def for_update(self) -> ForUpdate | None:
        """The ``FOR UPDATE`` clause this query carries, or ``None``."""
        return self._for_update

    @property
    def filters(self) -> Mapping[str, Any]:
        """The lookups given so far (a copy); ``exclude()`` keys are prefixed with ``"NOT "``."""
        return dict(self._filters)

    def _shape(self, kind: str, columns: tuple[str, ...] | None = None) -> QueryShape:
        return (
            kind,
            self._wshape,
            self._order,
            columns if columns is not None else self._columns,
            self._distinct,
            self._distinct_on,
            self._limit is not None,
            self._offset is not None,
            self._for_update if kind == "select" else None,
            (),
        )

    def _paging(self) -> list[Any]:
        values: list[Any] = []
        if self._limit is not None:
            values.append(self._limit)
        if self._offset is not None:
            values.append(self._offset)
        return values

    def _compiled(
        self, kind: str, columns: tuple[str, ...] | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        meta = self.model_cls._meta
        shape = self._shape(kind, columns)
        if self._x is not None:
            return self._compiled_expr(kind, columns, shape)
        if self._select_related and kind == "select" and columns is None:
            compiled = compile_select_related(meta, shape, self._select_related)
        else:
            compiled = compile_query(meta, shape)
        values = self._wvalues
        if self._limit is not None or self._offset is not None:
            values = values + tuple(self._paging())
        return compiled[0], _p.params_for(compiled, values)

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        """The SELECT this builder runs for ``all()``: ``(sql, params)``; nothing is sent.

        Returns:
            The SQL text with ``$n`` placeholders and the bound values in order.

        Raises:
            QueryError: The query is not valid (e.g. DISTINCT ON against the ordering).
        """
        return self._compiled("select")

    # -- running -----------------------------------------------------------------------------

    async def _rows(self, operation: str, columns: tuple[str, ...] | None = None) -> list[Row]:
        if self._for_update is not None and not in_transaction(self.database):
            # Checked when the query runs, not when it is built: a builder made outside a
            # block may run inside one. Outside, the locks would end with the statement.
            raise TransactionError(
                model=self.model_cls,
                operation="select_for_update",
                message=(
                    f"{self.model_cls.__name__}: select_for_update() needs an open transaction: "
                    f"run the query inside 'async with transaction({self.database!r})'; outside "
                    "one the row locks are released as soon as the statement ends."
                ),
            )
        sql, params = self._compiled("select", columns)
        return await _execution.fetch(
            self.database,
            sql,
            params,
            model=self.model_cls,
            operation=operation,
            filters=self._filters,
        )

    def _hydrate(self, rows: Sequence[Row]) -> list[M]:
        instances = hydrate(self, rows)
        return instances if self._x is None else self._annotate_instances(instances)

    def _store(self, instances: list[M]) -> None:
        if instances and self._columns is None:
            _caching.store(self.model_cls, self.database, instances)

    def _pk_order(self) -> tuple[tuple[str, bool], ...]:
        """The default ordering: the DISTINCT ON fields (PostgreSQL requires them first), then
        the primary key."""
        lead = tuple((name, False) for name in self._distinct_on)
        return lead + tuple(
            (name, False) for name in self.model_cls._meta.pk_names if name not in self._distinct_on
        )

    # -- iteration ---------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[M]:
        if self._prefetch:
            return self._iterate_prefetched()
        return iterate(self)


QuerySet = QueryBuilder
"""Alias of :class:`QueryBuilder` (API.md §10.21)."""
