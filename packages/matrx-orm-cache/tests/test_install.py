"""Tests for matrx_orm_cache._install: idempotent, warns on a version mismatch with core."""

from __future__ import annotations

import importlib.metadata
import warnings

import pytest

import matrx_orm_cache
import matrx_orm_core

pytestmark = pytest.mark.level1


def test_installed_at_import() -> None:
    assert matrx_orm_cache._installed is True


def test_version_is_the_distribution_version() -> None:
    assert matrx_orm_cache.__version__ == importlib.metadata.version("matrx-orm-cache")
    assert matrx_orm_cache.__version__ == matrx_orm_core.__version__


def test_install_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrx_orm_cache, "_installed", False)
    monkeypatch.setattr(matrx_orm_cache, "__version__", "0.0.0-mismatch")
    with pytest.warns(RuntimeWarning):
        matrx_orm_cache._install()
    assert matrx_orm_cache._installed is True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matrx_orm_cache._install()
        matrx_orm_cache._install()
    assert caught == []


def test_matching_version_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrx_orm_cache, "_installed", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matrx_orm_cache._install()
    assert caught == []
    assert matrx_orm_cache._installed is True


def test_mismatch_warns_naming_both_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrx_orm_cache, "_installed", False)
    monkeypatch.setattr(matrx_orm_core, "__version__", "9.9.9")
    with pytest.warns(RuntimeWarning) as record:
        matrx_orm_cache._install()
    assert len(record) == 1
    message = str(record[0].message)
    version = matrx_orm_cache.__version__
    expected = f"matrx-orm-cache {version} is installed with matrx-orm-core 9.9.9;"
    assert message.startswith(expected)
    assert "pip install 'matrx-orm-cache==9.9.9'" in message


def test_reexports_are_core_objects() -> None:
    assert "CachePolicy" in matrx_orm_cache.__all__
    assert matrx_orm_cache.CachePolicy is matrx_orm_core.CachePolicy


def test_installed_into_core_hook() -> None:
    from matrx_orm_core import hooks

    previous = hooks.set_model_cache(None)
    try:
        matrx_orm_cache._installed = False
        matrx_orm_cache._install()
        assert hooks.get_model_cache() is matrx_orm_cache.StateManager.cache_hook()
    finally:
        hooks.set_model_cache(previous)
