"""_execution.copy_records: names are checked before a connection is taken."""

from __future__ import annotations

import pytest

from matrx_orm_core import FieldError, _execution
from matrx_orm_core.testing import Recorder

pytestmark = pytest.mark.level1


async def test_invalid_name_is_refused_before_anything_is_sent(recording_db: Recorder) -> None:
    with pytest.raises(FieldError) as caught:
        await _execution.copy_records("recorded", "ec_item", ["id", "bad\x00name"], [(1, 2)])
    assert caught.value.__context__ is None  # raised once, not while handling another error
    assert recording_db.sql == []
