"""The QuerySet methods of expressions: Q filters, annotate, group_by, having, aggregate,
with_cte, expression ordering and expression updates.

``QueryBuilder`` inherits `ExpressionMethods`. Everything expression-related lives in one
attribute, ``_x`` (an `ExprState`, or ``None`` for a plain query), so a query that uses no
expression pays one ``is None`` test on top of the plain path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from matrx_orm_core.exceptions import QueryError, QueryUsageError
from matrx_orm_core.models import _locking
from matrx_orm_core.models import _persistence as _p

from ._sqlnodes import ExprLeaf
from .compiler import Extras, QueryShape, build_node, compile_query
from .conditions import resolve_filters
from .cte import CTE
from .expressions import (
    Annotation,
    BaseExpression,
    OrderedExpression,
    Resolver,
    annotation_converters,
    check_alias,
)

if TYPE_CHECKING:
    from matrx_orm_core.drivers.base import Row
    from matrx_orm_core.models.base import Model

    from .builder import QueryBuilder
    from .compiler import WhereShape

__all__ = ["ExprState", "ExpressionMethods", "get_with_conditions", "has_expression"]

T = TypeVar("T")
M = TypeVar("M", bound="Model")


class ExprState(NamedTuple):
    """A query's expression parts (immutable; replaced, never edited)."""

    annotations: Mapping[str, Annotation] = {}
    group_by: tuple[str, ...] = ()
    having: tuple[ExprLeaf, ...] = ()
    ctes: tuple[tuple[str, ExprLeaf, bool], ...] = ()
    outer_refs: frozenset[str] = frozenset()


def has_expression(lookups: Mapping[str, Any]) -> bool:
    """Whether any lookup value is an expression (``F``, a function, a ``Subquery``...)."""
    for value in lookups.values():  # noqa: SIM110 (a loop is cheaper than any() + genexpr here)
        if isinstance(value, BaseExpression):
            return True
    return False


class ExpressionMethods:
    """The expression methods of ``QueryBuilder`` (see the module docstring)."""

    __slots__ = ()

    if TYPE_CHECKING:
        model_cls: type[Any]
        database: str
        _x: ExprState | None
        _wshape: WhereShape
        _wvalues: tuple[Any, ...]
        _filters: dict[str, Any]
        _order: tuple[tuple[Any, bool], ...]
        _columns: tuple[str, ...] | None
        _limit: int | None
        _offset: int | None
        _distinct: bool
        _select_related: tuple[Any, ...]

        def _clone(self) -> QueryBuilder[Any]: ...
        def _shape(self, kind: str, columns: tuple[str, ...] | None = None) -> QueryShape: ...
        def _paging(self) -> list[Any]: ...
        def _check(self, names: Iterable[Any], operation: str) -> tuple[str, ...]: ...
        async def _rows(
            self, operation: str, columns: tuple[str, ...] | None = None
        ) -> list[Row]: ...
        async def _send_update(self, compiled: _p.Compiled, set_values: Sequence[Any]) -> int: ...

    # -- state -------------------------------------------------------------------------------

    @property
    def _state(self) -> ExprState:
        return self._x if self._x is not None else ExprState()

    def _annotations(self) -> Mapping[str, Annotation]:
        return self._x.annotations if self._x is not None else {}

    def _with(self, **changes: Any) -> QueryBuilder[Any]:
        clone = self._clone()
        clone._x = self._state._replace(**changes)
        return clone

    # -- filters -----------------------------------------------------------------------------

    def _filter_expr(
        self, items: Sequence[Any], lookups: Mapping[str, Any], negated: bool, operation: str
    ) -> QueryBuilder[Any]:
        """``filter``/``exclude`` with Q objects or expression values."""
        cls = self.model_cls
        where, having, outer = resolve_filters(
            cls, items, lookups, self._annotations(), negated, operation
        )
        clone = self._clone()
        if where:
            # a negated group is already one NOT (...) leaf
            clone._wshape = (*self._wshape, (False, tuple(where)))
            clone._wvalues = self._wvalues + tuple([v for leaf in where for v in leaf.values])
        if having or outer:
            state = self._state
            clone._x = state._replace(
                having=state.having + tuple(having), outer_refs=state.outer_refs | outer
            )
        prefix = "NOT " if negated else ""
        # keys never hold values (error texts redact values, not keys): the Q is the value
        start = len(self._filters)
        described = {
            f"{prefix}{type(item).__name__}#{start + i}": item for i, item in enumerate(items, 1)
        }
        described.update({prefix + key: value for key, value in lookups.items()})
        clone._filters = {**self._filters, **described}
        return clone

    def having(self, *conditions: Any, **lookups: Any) -> QueryBuilder[Any]:
        """Conditions on the groups (``HAVING``), typically on aggregate annotations:
        ``.annotate(n=Count("id")).having(n__gt=5)`` (``filter`` does the same for
        aggregates).

        Returns:
            A new builder.

        Raises:
            FieldError: Unknown field, annotation or lookup.
        """
        cls = self.model_cls
        where, having, outer = resolve_filters(
            cls, conditions, lookups, self._annotations(), False, "having"
        )
        state = self._state
        clone = self._clone()
        clone._x = state._replace(
            having=state.having + tuple(where + having), outer_refs=state.outer_refs | outer
        )
        return clone

    # -- annotate / group_by / aggregate -----------------------------------------------------

    def annotate(self, **expressions: Any) -> QueryBuilder[Any]:
        """Add computed columns: ``annotate(n=Count("id"), low=Lower("name"))``.

        The values land on instances as attributes (and in ``_extra_data``) and can be named
        in ``values()``, ``order_by()``, ``filter()`` and ``group_by()``. An aggregate groups
        the query (by ``group_by()``, else by the selected fields).

        Returns:
            A new builder.

        Raises:
            FieldError: An alias that is not a plain identifier, or that clashes with a field or
                another annotation.
            QueryUsageError: A value that is not an expression.
        """
        return self._annotate(expressions, "annotate")

    def _annotate(self, expressions: Mapping[str, Any], operation: str) -> QueryBuilder[Any]:
        cls = self.model_cls
        annotations = dict(self._annotations())
        # aggregate() selects only its aliases (and the groups), so a field name is free there
        taken = annotations.keys() | (
            set(self._state.group_by) if operation == "aggregate" else cls._meta.fields.keys()
        )
        outer: set[str] = set()
        for alias, expression in expressions.items():
            check_alias(cls, alias, "alias", operation)
            if alias in taken or alias in annotations:
                kind = "an annotation" if alias in annotations else "a field"
                reason = (
                    f"{cls.__name__}.{operation}(): {alias!r} is already {kind} of "
                    f"{cls.__name__}; choose another alias."
                )
                raise _p.field_error(cls, alias, reason)
            if not isinstance(expression, BaseExpression):
                raise QueryUsageError(
                    message=(
                        f"{cls.__name__}.{operation}({alias}=...): {expression!r} is not an "
                        "expression; use F(), Value(), a function, an aggregate, Window() or "
                        "Subquery()"
                    ),
                    model=cls,
                )
            resolver = Resolver(cls, operation, annotations)
            node = expression.resolve(resolver)
            outer |= resolver.outer_refs
            annotations[alias] = Annotation(
                node,
                tuple(resolver.values),
                resolver.aggregate,
                resolver.window,
                expression.resolve_output_field(resolver),
            )
        state = self._state
        return self._with(annotations=annotations, outer_refs=state.outer_refs | outer)

    def group_by(self, *names: str) -> QueryBuilder[Any]:
        """``GROUP BY`` these fields or (non-aggregate) annotations; pair it with
        ``annotate(aggregate)`` and ``values(...)``.

        Returns:
            A new builder.

        Raises:
            FieldError: An unknown name, or an aggregate annotation.
        """
        cls = self.model_cls
        annotations = self._annotations()
        for name in names:
            annotation = annotations.get(name) if isinstance(name, str) else None
            if annotation is None:
                self._check((name,), "group_by")
            elif annotation.aggregate or annotation.window:
                reason = (
                    f"{cls.__name__}.group_by(): {name!r} is an aggregate; it cannot be a group."
                )
                raise _p.field_error(cls, name, reason)
        return self._with(group_by=tuple(names))

    def with_cte(self, *ctes: CTE) -> QueryBuilder[Any]:
        """Prefix the query with ``WITH [RECURSIVE] name AS (...), ...``.

        Returns:
            A new builder.

        Raises:
            QueryUsageError: An argument that is not a ``CTE``.
            FieldError: A CTE name that is not a plain identifier, or used twice.
        """
        cls = self.model_cls
        state = self._state
        resolved = list(state.ctes)
        for cte in ctes:
            if not isinstance(cte, CTE):
                raise QueryUsageError(
                    message=f"{cls.__name__}.with_cte() takes CTE objects, got {cte!r}",
                    model=cls,
                )
            resolver = Resolver(cls, "with_cte")
            name, node = cte.resolve(resolver)
            if any(name == taken for taken, _, _ in resolved):
                reason = f"{cls.__name__}.with_cte(): the CTE name {name!r} is used twice."
                raise _p.field_error(cls, name, reason)
            resolved.append((name, ExprLeaf(node, tuple(resolver.values)), cte.recursive))
        return self._with(ctes=tuple(resolved))

    async def aggregate(self, **aggregates: Any) -> dict[str, Any]:
        """Compute aggregates over the matching rows: ``{"total": Decimal(...), "n": 3}``.

        With ``group_by()`` the first group's row (and its group fields) is returned, ``{}``
        when there is none. Without, there is always one row: ``Count`` gives 0 and the others
        ``None`` over no rows.

        Returns:
            The values by alias, typed as the server computes them (``int`` for counts,
            ``Decimal`` for numeric sums and averages, ``float`` for float columns).

        Raises:
            ValidationError: No aggregates, or a value that is not an aggregate.
            QueryError: The query is sliced or DISTINCT.
        """
        cls = self.model_cls
        if not aggregates:
            raise cls.ValidationError(
                model=cls,
                reason=f"{cls.__name__}.aggregate() needs at least one name=Aggregate(...).",
            ).enrich(operation="aggregate")
        if self._limit is not None or self._offset is not None or self._distinct:
            raise QueryError(
                message=(
                    f"{cls.__name__}.aggregate() over a sliced or DISTINCT query is not "
                    "supported; aggregate the unsliced query, or use a CTE"
                ),
                model=cls,
            )
        qb = self._annotate(aggregates, "aggregate")
        for alias in aggregates:
            if not qb._annotations()[alias].aggregate:
                raise cls.ValidationError(
                    model=cls,
                    field=alias,
                    reason=(
                        f"{cls.__name__}.aggregate({alias}=...): not an aggregate; use Sum, Avg, "
                        "Min, Max, Count, StdDev or Variance (or annotate() for other expressions)"
                    ),
                ).enrich(operation="aggregate")
        qb._order = ()
        names = (*self._state.group_by, *aggregates)
        rows = await qb._rows("aggregate", names)
        if not rows:
            return {}
        result = dict(rows[0].items())
        for name, convert in cls._meta.load_converters:  # the group fields load as fields do
            if name in self._state.group_by and result.get(name) is not None:
                result[name] = convert(result[name])
        # and the aggregates through their output fields (Max("status") gives a member)
        for name, convert in annotation_converters(qb._annotations(), aggregates).items():
            if result[name] is not None:
                result[name] = convert(result[name])
        return result

    # -- values / order_by / update --------------------------------------------------------

    def _value_columns(self, fields: Sequence[Any], operation: str) -> tuple[str, ...] | None:
        """The select list of ``values()``: fields and annotation aliases; ``None`` when the
        plain rule applies (no annotation, no grouping)."""
        state = self._x
        if state is None or not (state.annotations or state.group_by):
            return None
        if not fields:
            base = state.group_by or self._columns or self.model_cls._meta.select_columns
            return (*base, *[a for a in state.annotations if a not in base])
        resolver = Resolver(self.model_cls, operation, state.annotations)
        for name in fields:
            resolver.column(name)  # FieldError listing the fields and annotations
        return tuple(fields)

    def _order_term(self, term: Any) -> tuple[Any, bool] | None:
        """An ``order_by`` term that is an expression or annotation alias, or ``None``."""
        if isinstance(term, OrderedExpression):
            expression, descending = term.expression, term.descending
        elif isinstance(term, BaseExpression):
            expression, descending = term, False
        elif isinstance(term, str):
            name = term[1:] if term.startswith("-") else term
            annotation = self._annotations().get(name)
            if annotation is None:
                return None
            return ExprLeaf(annotation.template, annotation.values), term.startswith("-")
        else:
            return None
        resolver = Resolver(self.model_cls, "order_by", self._annotations())
        node = expression.resolve(resolver)
        return ExprLeaf(node, tuple(resolver.values)), descending

    def _extras(self, columns: tuple[str, ...] | None) -> tuple[Extras | None, tuple[Any, ...]]:
        """The `Extras` key of a SELECT with ``columns`` and the values it binds (the
        ordering's expression values included, last)."""
        state = self._x
        if state is None:
            return None, ()
        annotations = state.annotations
        fields = self.model_cls._meta.fields
        selected = (
            list(annotations) if columns is None else [c for c in columns if c in annotations]
        )
        extras = Extras(
            annotations=tuple(
                [
                    (
                        a,
                        ExprLeaf(annotations[a].template, annotations[a].values),
                        annotations[a].aggregate,
                    )
                    for a in selected
                ]
            ),
            group_by=tuple(
                [
                    g if g in fields else ExprLeaf(annotations[g].template, annotations[g].values)
                    for g in state.group_by
                ]
            ),
            having=state.having,
            ctes=tuple([(name, leaf) for name, leaf, _ in state.ctes]),
            recursive=any(recursive for _, _, recursive in state.ctes),
        )
        values = [v for leaf in extras.leaves() for v in leaf.values]
        values += [v for term, _ in self._order if isinstance(term, ExprLeaf) for v in term.values]
        return extras, tuple(values)

    def _compiled_expr(
        self, kind: str, columns: tuple[str, ...] | None, shape: QueryShape
    ) -> tuple[str, tuple[Any, ...]]:
        """``QueryBuilder._compiled`` for a query with expression parts."""
        from ._select_related import compile_select_related

        meta = self.model_cls._meta
        extras, extra_values = self._extras(columns)
        if self._select_related and kind == "select" and columns is None:
            compiled = compile_select_related(meta, shape, self._select_related, extras)
        else:
            compiled = compile_query(meta, shape, extras)
        values = self._wvalues + tuple(self._paging()) + extra_values
        return compiled[0], _p.params_for(compiled, values)

    def _check_expr_writable(self, operation: str) -> None:
        state = self._x
        if state is not None and (
            state.annotations or state.group_by or state.having or state.ctes
        ):
            cls = self.model_cls
            raise QueryError(
                message=(
                    f"{cls.__name__}.filter(...).{operation}() cannot use annotate, group_by, "
                    "having or with_cte; filter with Q/F/Subquery instead."
                ),
                model=cls,
            )

    def _set_values(
        self, values: Mapping[str, Any], names: tuple[str, ...], operation: str
    ) -> tuple[tuple[ExprLeaf | None, ...], list[Any]]:
        """The SET leaves (``None`` for a plain value) and the SET values, in ``names`` order."""
        cls = self.model_cls
        leaves: list[ExprLeaf | None] = []
        bound: list[Any] = []
        for name in names:
            value = values[name]
            if isinstance(value, BaseExpression):
                resolver = Resolver(cls, operation)
                # a Value assigned to a column is typed next to that column's field
                node = resolver.operand(value, cls._meta.fields.get(name))
                leaf = ExprLeaf(node, tuple(resolver.values))
                if resolver.aggregate or resolver.window:
                    raise QueryError(
                        message=(
                            f"{cls.__name__}.{operation}({name}=...): an aggregate or window "
                            "cannot be assigned; use a Subquery"
                        ),
                        model=cls,
                    )
                leaves.append(leaf)
                bound.extend(leaf.values)
            else:
                leaves.append(None)
                bound.append(_p.prepare_write(cls, name, value, operation))
        return tuple(leaves), bound

    async def _update_expr(self, values: Mapping[str, Any], names: tuple[str, ...]) -> int:
        """``update()`` when a value is an expression (``F("views") + 1``, ``Now()``)."""
        cls = self.model_cls
        sets, bound = self._set_values(values, names, "update")
        base = self._shape("update")
        shape: QueryShape = (*base[:9], names)
        meta = cls._meta
        compiled: _p.Compiled = meta.compiled(  # every changed row's version goes up by one
            ("qbx_update", shape, sets),
            lambda: _p.compile_statement(
                _locking.bump_version(meta, build_node(meta, shape, None, sets))
            ),
        )
        return await self._send_update(compiled, bound)

    def _annotate_instances(self, instances: list[T]) -> list[T]:
        """Load annotation values through their output fields where those need it (an
        ``EnumField`` gives members), then copy them into ``_extra_data`` (they are attributes
        already).

        Returns:
            ``instances``.
        """
        state = self._x
        aliases = tuple(state.annotations) if state is not None else ()
        converters = annotation_converters(state.annotations, aliases) if state is not None else {}
        for instance in instances if converters else ():
            data = instance.__dict__
            for alias, convert in converters.items():
                value = data.get(alias)
                if value is not None:
                    data[alias] = convert(value)
        for instance in instances if aliases else ():
            data = instance.__dict__
            data["_extra_data"] = {alias: data.get(alias) for alias in aliases}
        return instances


async def get_with_conditions(
    cls: type[M], first: Any, conditions: tuple[Any, ...], filters: Mapping[str, Any]
) -> M:
    """``Model.get(Q(...), ...)``: positional conditions (the first one arrives in the
    ``use_cache`` slot), always answered by the database.

    Raises:
        QueryUsageError: A positional argument that is not Q or Exists (``use_cache`` must be a
            bool).
    """
    from .builder import QueryBuilder

    if type(first) is not bool:
        conditions = (first, *conditions)
    qb: QueryBuilder[M] = QueryBuilder(cls)._filter_expr(conditions, filters, False, "get")
    return await qb.get()
