"""``QueryBuilder.select_related``: the chain method (the JOIN and hydration live in
``query._select_related``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from matrx_orm_core.exceptions import FieldError

from ._select_related import JoinStep, resolve_paths

__all__ = ["SelectRelatedMethods"]


class SelectRelatedMethods:
    """The ``select_related`` part of ``QueryBuilder`` (a mixin holding the
    ``_select_related`` slot; the builder initialises it and copies it in ``_clone``)."""

    __slots__ = ("_select_related",)

    model_cls: Any
    _select_related: tuple[JoinStep, ...]

    if TYPE_CHECKING:

        def _clone(self) -> Self:  # provided by QueryBuilder
            ...

    def select_related(self, *fk_names: str) -> Self:
        """Load the objects these foreign keys point to in the same query, with JOINs.

        Name an FK by its field name (``"author_id"``) or without the ``_id`` suffix
        (``"author"``); follow chains with ``__`` (``"author__company"`` loads the author and
        the author's company). Each returned instance then answers ``get_related("author")``
        without a query (``None`` when the FK is NULL). A nullable FK is a LEFT JOIN, so rows
        without a related object are still returned; a NOT NULL FK is an INNER JOIN. Calls add
        up; ``count()``, ``exists()``, ``values()`` and updates ignore it.

        Returns:
            A new QueryBuilder.

        Raises:
            FieldError: No name given, or a name is not a foreign key of the model reached so
                far (to-many relations need ``prefetch_related``); nothing is sent.
            RelationshipError: The FK's target lives in another database (no JOIN across
                databases; use ``fetch_fk`` or ``prefetch_related``).
        """
        cls = self.model_cls
        if not fk_names:
            fks = ", ".join(cls._meta.foreign_keys) or "(none)"
            reason = (
                f"{cls.__name__}.select_related() needs at least one foreign key name. "
                f"Foreign keys of {cls.__name__}: {fks}."
            )
            raise FieldError(model=cls, reason=reason, message=reason)
        clone = self._clone()
        clone._select_related = resolve_paths(cls, fk_names, self._select_related)
        return clone
