"""Paginator and Page: split a query into numbered pages of ``per_page`` rows.

``Paginator(queryset, per_page)`` runs nothing when created. ``await paginator.page(n)`` counts
the matching rows once (``SELECT count(*)``, cached on the paginator) and then fetches the page
with ``LIMIT per_page OFFSET (n - 1) * per_page`` on a copy of the query, so the query keeps
its filters, ordering, ``only()``/``defer()`` and ``select_related``. ``async for page in
paginator`` re-counts and walks the pages from 1 (none when no row matches).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from matrx_orm_core._exception_base import MatrxORMWarning
from matrx_orm_core.exceptions import QueryUsageError, ValidationError

if TYPE_CHECKING:
    from matrx_orm_core.models.base import Model

    from .builder import QueryBuilder

__all__ = ["Page", "Paginator"]

M = TypeVar("M", bound="Model")


def _positive_int(value: Any, what: str, model: type | None, fix: str) -> int:
    if type(value) is not int or value < 1:
        raise ValidationError(
            message=f"{what} must be an int >= 1, got {value!r}. {fix}",
            model=model,
            field=what,
            value=value,
            reason=f"{what} must be an int >= 1",
        )
    return value


class Page(Generic[M]):
    """One page of results: its items and where it sits among all pages.

    Iterating a page iterates its items; ``len(page)`` is the number of items on it.

    Args:
        items: The instances on this page.
        number: The 1-based page number.
        per_page: The page size.
        total_count: The number of rows across all pages.
    """

    __slots__ = ("items", "number", "per_page", "total_count")

    def __init__(self, items: list[M], number: int, per_page: int, total_count: int) -> None:
        self.items: list[M] = items
        self.number: int = number
        self.per_page: int = per_page
        self.total_count: int = total_count

    @property
    def total_pages(self) -> int:
        """``ceil(total_count / per_page)``; 0 when there are no rows."""
        return math.ceil(self.total_count / self.per_page)

    @property
    def has_next(self) -> bool:
        """Whether a page follows this one."""
        return self.number < self.total_pages

    @property
    def has_previous(self) -> bool:
        """Whether a page precedes this one."""
        return self.number > 1

    @property
    def next_number(self) -> int | None:
        """The next page's number, or ``None`` on the last page."""
        return self.number + 1 if self.has_next else None

    @property
    def previous_number(self) -> int | None:
        """The previous page's number, or ``None`` on the first page."""
        return self.number - 1 if self.has_previous else None

    @property
    def start_index(self) -> int:
        """The 1-based position of the first item among all rows; 0 on an empty page."""
        if not self.items:
            return 0
        return (self.number - 1) * self.per_page + 1

    @property
    def end_index(self) -> int:
        """The 1-based position of the last item among all rows; 0 on an empty page."""
        if not self.items:
            return 0
        return min(self.number * self.per_page, self.total_count)

    def __iter__(self) -> Iterator[M]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (
            f"<Page {self.number} of {self.total_pages}: {len(self.items)} items, "
            f"{self.total_count} total>"
        )


class Paginator(Generic[M]):
    """Pages over a query, ``per_page`` rows at a time.

    Give the query an ``order_by``: without one PostgreSQL may return rows in a different order
    for each page, so rows can repeat or go missing between pages (a ``MatrxORMWarning`` says
    so when the paginator is created).

    Args:
        queryset: The query to paginate (``Model.filter(...)...``); not sliced.
        per_page: Rows per page, an int >= 1 (default 20).

    Raises:
        ValidationError: ``per_page`` is not an int >= 1 (also a ``ValueError``).
        QueryUsageError: ``queryset`` is not a query, or it already has a limit or offset
            (also a ``TypeError``).
    """

    __slots__ = ("_count", "per_page", "queryset")

    def __init__(self, queryset: QueryBuilder[M], per_page: int = 20) -> None:
        from .builder import QueryBuilder

        if not isinstance(queryset, QueryBuilder):
            raise QueryUsageError(
                message=f"Paginator needs a query such as Model.filter(...) or "
                f"Model.filter().order_by(...), got {type(queryset).__name__}.",
            )
        model = queryset.model_cls
        if queryset._limit is not None or queryset._offset is not None:
            raise QueryUsageError(
                model=model,
                message=f"Paginator({model.__name__} query): the query already has a limit or "
                "offset (or a slice); the paginator sets those per page. Pass the query "
                "without them.",
            )
        self.per_page: int = _positive_int(
            per_page, "per_page", model, "Pass the number of rows per page, e.g. per_page=20."
        )
        self.queryset: QueryBuilder[M] = queryset
        self._count: int | None = None
        if not queryset._order:
            warnings.warn(
                f"Paginator over an unordered {model.__name__} query: rows may repeat or be "
                "skipped between pages. Add .order_by(...) to the query.",
                MatrxORMWarning,
                stacklevel=2,
            )

    async def count(self) -> int:
        """The number of matching rows, counted on the first call and cached.

        Returns:
            The row count.
        """
        if self._count is None:
            self._count = await self.queryset.count()
        return self._count

    @property
    def total_pages(self) -> int | None:
        """The number of pages (0 when there are no rows); ``None`` until counted."""
        if self._count is None:
            return None
        return math.ceil(self._count / self.per_page)

    async def page(self, number: int) -> Page[M]:
        """Fetch page ``number`` (1-based).

        Page 1 of an empty result is valid and has no items.

        Returns:
            The page.

        Raises:
            ValidationError: ``number`` is not an int >= 1, or it is past the last page (also a
                ``ValueError``); nothing is fetched then.
        """
        model = self.queryset.model_cls
        _positive_int(number, "page number", model, "Pages are numbered from 1.")
        total = await self.count()
        last = max(1, math.ceil(total / self.per_page))
        if number > last:
            raise ValidationError(
                message=f"Page {number} of the {model.__name__} query is out of range: there "
                f"{'is' if last == 1 else 'are'} {last} page{'' if last == 1 else 's'} "
                f"({total} rows, {self.per_page} per page). Ask for a page from 1 to {last}.",
                model=model,
                field="page number",
                value=number,
                reason="page number past the last page",
            )
        items: list[M] = []
        if total:
            offset = (number - 1) * self.per_page
            items = await self.queryset.limit(self.per_page).offset(offset).all()
        return Page(items, number, self.per_page, total)

    async def _pages(self) -> AsyncIterator[Page[M]]:
        self._count = None
        if not await self.count():
            return
        number = 1
        while True:
            page = await self.page(number)
            yield page
            if not page.has_next:
                return
            number += 1

    def __aiter__(self) -> AsyncIterator[Page[M]]:
        """Walk every page from 1, re-counting the rows first (no rows: no pages)."""
        return self._pages()

    def __repr__(self) -> str:
        counted = "not counted yet" if self._count is None else f"{self._count} rows"
        return f"<Paginator {self.queryset.model_cls.__name__} per_page={self.per_page}, {counted}>"
