"""NOTIFY payloads: the format, the 8,000-byte limit, merging, and reading them back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from matrx_orm_cache._coherence import MAX_CHUNKS, MAX_PAYLOAD, SENDER, Coherence, encode, merge

pytestmark = pytest.mark.level1


def decoded(payloads: list[str]) -> list[dict[str, Any]]:
    assert all(len(p.encode()) < MAX_PAYLOAD < 8000 for p in payloads)
    return [json.loads(p) for p in payloads]


def test_keys_database_and_table_messages() -> None:
    assert decoded(encode("public.t", [1, "a", (1, 2)])) == [
        {"v": 1, "s": SENDER, "t": "public.t", "k": [1, "a", [1, 2]]}
    ]
    assert decoded(encode("t", None)) == [{"v": 1, "s": SENDER, "t": "t"}]
    assert decoded(encode(None, None)) == [{"v": 1, "s": SENDER}]


def test_many_keys_are_split_under_the_limit() -> None:
    keys = [f"{i:036d}" for i in range(400)]  # uuid-sized strings, about 16 kB in all
    messages = decoded(encode("t", keys))
    assert 1 < len(messages) <= MAX_CHUNKS
    assert [k for m in messages for k in m["k"]] == keys


def test_too_many_keys_or_inexact_keys_flush_the_table() -> None:
    huge = [f"{i:036d}" for i in range(MAX_CHUNKS * 200)]
    assert decoded(encode("t", huge)) == [{"v": 1, "s": SENDER, "t": "t"}]
    assert decoded(encode("t", [1.5])) == [{"v": 1, "s": SENDER, "t": "t"}]
    assert decoded(encode("t", [True])) == [{"v": 1, "s": SENDER, "t": "t"}]
    assert decoded(encode("t", ["x" * 9000])) == [{"v": 1, "s": SENDER, "t": "t"}]


def test_merge_unions_keys_per_table_and_lets_flushes_win() -> None:
    assert decoded(merge([("a", [1, 2]), ("a", [2, 3]), ("b", [9])])) == [
        {"v": 1, "s": SENDER, "t": "a", "k": [1, 2, 3]},
        {"v": 1, "s": SENDER, "t": "b", "k": [9]},
    ]
    assert decoded(merge([("a", [1]), ("a", None), ("a", [2])])) == [
        {"v": 1, "s": SENDER, "t": "a"}
    ]
    assert decoded(merge([("a", [1]), (None, None)])) == [{"v": 1, "s": SENDER}]


def test_receive_applies_others_and_skips_its_own() -> None:
    applied: list[tuple[str, str | None, Any]] = []
    flushed: list[str] = []
    hub = Coherence(lambda db, t, k: applied.append((db, t, k)), flushed.append)
    hub.receive("db", encode("t", [1])[0])  # this process's own message
    assert applied == []
    hub.receive("db", json.dumps({"v": 1, "s": "other", "t": "t", "k": [[1, 2]]}))
    hub.receive("db", json.dumps({"v": 1, "s": "other", "t": "t"}))
    hub.receive("db", json.dumps({"v": 1, "s": "other"}))
    assert applied == [("db", "t", [[1, 2]]), ("db", "t", None), ("db", None, None)]
    hub.receive("db", "not json")
    hub.receive("db", "[1]")
    assert flushed == ["db", "db"]
