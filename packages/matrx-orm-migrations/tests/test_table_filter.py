"""TableFilter: include/exclude scoping and the cross-scope foreign-key warning."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest

from matrx_orm_core.exceptions import MigrationError
from matrx_orm_migrations.schema import Column, ForeignKey, Table
from matrx_orm_migrations.table_filter import CROSS_SCOPE_MESSAGE, TableFilter

POST = Table(
    "post",
    "public",
    (Column("id", "integer"), Column("author_id", "uuid"), Column("editor_id", "uuid")),
    foreign_keys=(
        ForeignKey("fk_a", ("author_id",), "public", "user", ("id",)),
        ForeignKey("fk_e", ("editor_id",), "public", "user", ("id",)),
    ),
)
COMMENT = Table(
    "comment",
    "public",
    (Column("post_id", "integer"),),
    foreign_keys=(ForeignKey("fk_p", ("post_id",), "public", "post", ("id",)),),
)

EXPECTED = (
    "[matrx-orm] Cross-scope FK detected: 'post.author_id' references 'user', which is outside "
    "the current migration scope. The FK constraint will be included in the generated SQL, but "
    "'user' will not be created or managed by this migration set. Ensure it already exists in "
    "the target database."
)


def test_include_and_exclude_are_mutually_exclusive() -> None:
    with pytest.raises(MigrationError) as info:
        TableFilter(include={"a"}, exclude={"b"})
    assert (
        str(info.value.args[0]).count(
            "TableFilter accepts either 'include' or 'exclude', not both."
        )
        == 1
    )


def test_is_included_and_apply() -> None:
    tables = {"a": 1, "b": 2, "c": 3}
    assert TableFilter().apply(tables) == tables
    assert TableFilter(include=["a", "c"]).apply(tables) == {"a": 1, "c": 3}
    assert TableFilter(exclude=("a",)).apply(tables) == {"b": 2, "c": 3}
    assert TableFilter(include=iter(["a"])).include == {"a"}  # iterables become sets
    assert TableFilter().is_included("anything")
    assert not TableFilter(include=set()).is_included("a")


@pytest.mark.parametrize("bad", ["user", {"ok", ""}, {"ok", 3}])
def test_bad_table_lists(bad: object) -> None:
    with pytest.raises(MigrationError, match="TableFilter"):
        TableFilter(include=bad)  # type: ignore[arg-type]


def test_warning_text_is_the_spec_text_once_per_pair() -> None:
    f = TableFilter(include={"post", "comment"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f.warn_cross_references({"post": POST, "comment": COMMENT})
    assert [str(w.message) for w in caught] == [EXPECTED]
    assert caught[0].category is UserWarning
    assert caught[0].filename.endswith("table_filter.py")
    assert (
        CROSS_SCOPE_MESSAGE.format(table="post", column="author_id", ref_table="user") == EXPECTED
    )


def test_no_warning_when_target_in_scope() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TableFilter(include={"post", "user"}).warn_cross_references({"post": POST})
        TableFilter().warn_cross_references({"post": POST})


def test_every_call_warns_again() -> None:
    f = TableFilter(exclude={"user"})
    for _ in range(2):
        with pytest.warns(UserWarning, match="Cross-scope FK detected: 'post.author_id'"):
            f.warn_cross_references({"post": POST})


def test_spec_snippet_suppresses_the_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=UserWarning, module="matrx_orm")
        TableFilter(include={"post"}).warn_cross_references({"post": POST})
    assert caught == []


def test_upstream_style_column_states_are_accepted() -> None:
    column = SimpleNamespace(name="author_id", fk_table="user")
    table = SimpleNamespace(columns={"author_id": column})
    with pytest.warns(UserWarning, match="'post.author_id' references 'user'"):
        TableFilter(include={"post"}).warn_cross_references({"post": table})
