"""Common table expressions: ``CTE(name, raw_sql | QuerySet, recursive=False, params=())``.

``QuerySet.with_cte(*ctes)`` puts ``WITH [RECURSIVE] "a" AS (...), ...`` in front of the query.
A QuerySet body is compiled like a subquery; a raw body may use its own ``$1..$n`` for
``params``: the project's lexer (``sqltext.positional_pieces``) splits the text around them
(skipping strings and comments), and each is renumbered into the statement's numbering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matrx_orm_core.exceptions import QueryUsageError, ValidationError
from matrx_orm_core.sql import SQLNode
from matrx_orm_core.sqltext import ScanError, count_statements, positional_pieces

from ._sqlnodes import RawPieces, Slot
from .expressions import Resolver, check_alias

if TYPE_CHECKING:
    from .builder import QueryBuilder

__all__ = ["CTE"]


class CTE:
    """One common table expression.

    Args:
        name: The CTE's name (a plain identifier).
        query: Raw SQL text (trusted, written by the programmer) or a QuerySet.
        recursive: Mark the WITH clause ``RECURSIVE``.
        params: Values for ``$1..$n`` in raw SQL text (bound, never interpolated).

    Raises:
        QueryUsageError: ``query`` is neither text nor a QuerySet, or params go with a QuerySet.
    """

    __slots__ = ("name", "params", "query", "recursive")

    def __init__(
        self,
        name: str,
        query: str | QueryBuilder[Any],
        recursive: bool = False,
        *,
        params: tuple[Any, ...] | list[Any] = (),
    ) -> None:
        from .builder import QueryBuilder

        if not isinstance(query, (str, QueryBuilder)):
            raise QueryUsageError(
                message=f"CTE({name!r}) takes SQL text or a QuerySet, got {type(query).__name__}",
            )
        if params and not isinstance(query, str):
            raise QueryUsageError(
                message=f"CTE({name!r}): params= is for raw SQL; a QuerySet binds its own values",
            )
        self.name = name
        self.query = query
        self.recursive = bool(recursive)
        self.params = tuple(params)

    def __repr__(self) -> str:
        return f"CTE({self.name!r}, {self.query!r}, recursive={self.recursive})"

    def resolve(self, resolver: Resolver) -> tuple[str, SQLNode]:
        """The name and the body node (values bound into ``resolver``).

        Raises:
            FieldError: The name is not a plain identifier.
            ValidationError: Raw text that is not one statement, or ``$n`` and ``params``
                that do not match.
        """
        name = check_alias(resolver.model, self.name, "CTE name", resolver.operation)
        if not isinstance(self.query, str):
            from .compiler import subquery_template

            template, values = subquery_template(self.query, "cte")
            return name, resolver.embed(template, values)
        return name, self._raw(resolver, name)

    def _raw(self, resolver: Resolver, name: str) -> SQLNode:
        assert isinstance(self.query, str)  # checked by resolve()

        def bad(reason: str) -> ValidationError:
            return ValidationError(field=name, value=self.query, reason=f"CTE({name!r}): {reason}")

        try:
            pieces, numbers = positional_pieces(self.query)
        except ScanError as err:
            raise bad(f"the SQL text cannot be read: {err}") from err
        if count_statements(self.query) != 1:
            raise bad("the SQL text must be exactly one statement (no ';' between statements)")
        count = len(self.params)
        used = set(numbers)
        if any(number < 1 or number > count for number in numbers):
            raise bad(f"the text uses ${max(numbers)} but params= gives {count} value(s)")
        if used != set(range(1, count + 1)):
            raise bad(f"params= gives {count} value(s) but the text uses only {sorted(used)}")
        slots: list[Slot] = [resolver.bind(value) for value in self.params]
        base = slots[0].index if slots else 0
        return RawPieces(pieces, tuple([base + number - 1 for number in numbers]))
