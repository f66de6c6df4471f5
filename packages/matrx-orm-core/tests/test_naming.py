"""Tests for models._naming: table names, junction names and identifier shortening."""

from __future__ import annotations

import hashlib

import pytest

from matrx_orm_core.models._naming import (
    MAX_IDENTIFIER_BYTES,
    junction_columns,
    junction_table_name,
    shorten_identifier,
    snake_case,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("User", "user"),
        ("BlogPost", "blog_post"),
        ("HTTPServer", "h_t_t_p_server"),
        ("user", "user"),
        ("A", "a"),
        ("OrderItem2", "order_item2"),
    ],
)
def test_snake_case_follows_upstream_regex(name: str, expected: str) -> None:
    assert snake_case(name) == expected


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("Post", "Tag", "post_tag"),
        ("Tag", "Post", "post_tag"),
        ("Zebra", "Alpha", "alpha_zebra"),
        ("User", "User", "user_user"),
        ("BlogPost", "Tag", "blogpost_tag"),
    ],
)
def test_junction_table_name_sorts_lower_cased_class_names(
    source: str, target: str, expected: str
) -> None:
    assert junction_table_name(source, target) == expected


def test_junction_table_name_uses_db_table_verbatim() -> None:
    assert junction_table_name("Post", "Tag", "x" * 70) == "x" * 70
    assert junction_table_name("Post", "Tag", "links") == "links"


def test_junction_columns_snake_case_each_side() -> None:
    assert junction_columns("Post", "Tag") == ("post_id", "tag_id")
    assert junction_columns("BlogPost", "Tag") == ("blog_post_id", "tag_id")


def test_self_referential_junction_columns_do_not_collide() -> None:
    assert junction_columns("User", "User") == ("from_user_id", "to_user_id")
    assert junction_columns("BlogPost", "BlogPost") == ("from_blog_post_id", "to_blog_post_id")


def test_shorten_identifier_keeps_names_up_to_63_bytes() -> None:
    name = "a" * MAX_IDENTIFIER_BYTES
    assert shorten_identifier(name) == name


def test_shorten_identifier_hashes_longer_names_to_exactly_63_bytes() -> None:
    name = "b" * 64
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    short = shorten_identifier(name)
    assert short == "b" * 54 + "_" + digest
    assert len(short.encode()) == 63
    assert shorten_identifier(name) == short  # deterministic


def test_shorten_identifier_cuts_at_a_character_boundary() -> None:
    name = "é" * 40  # 80 bytes; 54 bytes would split nothing, 27 characters fit
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    assert shorten_identifier(name) == "é" * 27 + "_" + digest
    odd = "x" + "é" * 40  # the 54-byte cut falls inside a character
    odd_digest = hashlib.sha256(odd.encode()).hexdigest()[:8]
    assert shorten_identifier(odd) == "x" + "é" * 26 + "_" + odd_digest


def test_long_generated_junction_names_are_shortened() -> None:
    source = "A" + "b" * 40
    target = "C" + "d" * 40
    full = f"{source.lower()}_{target.lower()}"
    expected = full[:54] + "_" + hashlib.sha256(full.encode()).hexdigest()[:8]
    assert junction_table_name(source, target) == expected
    long_class = "Very" + "Long" * 20
    source_col, target_col = junction_columns(long_class, "Tag")
    assert len(source_col.encode()) == 63
    assert source_col.startswith("very_long_long")
    assert target_col == "tag_id"
