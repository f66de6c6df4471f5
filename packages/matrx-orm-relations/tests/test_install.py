"""Tests for matrx_orm_relations._install: idempotent, warns on a version mismatch with core."""

from __future__ import annotations

import importlib.metadata
import warnings

import pytest

import matrx_orm_core
import matrx_orm_relations
from matrx_orm_core import hooks

pytestmark = pytest.mark.level1


def test_installed_at_import() -> None:
    assert matrx_orm_relations._installed is True


def test_version_is_the_distribution_version() -> None:
    assert matrx_orm_relations.__version__ == importlib.metadata.version("matrx-orm-relations")
    assert matrx_orm_relations.__version__ == matrx_orm_core.__version__


def test_install_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrx_orm_relations, "_installed", False)
    monkeypatch.setattr(matrx_orm_relations, "__version__", "0.0.0-mismatch")
    with pytest.warns(RuntimeWarning):
        matrx_orm_relations._install()
    assert matrx_orm_relations._installed is True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matrx_orm_relations._install()
        matrx_orm_relations._install()
    assert caught == []


def test_matching_version_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrx_orm_relations, "_installed", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matrx_orm_relations._install()
    assert caught == []
    assert matrx_orm_relations._installed is True


def test_mismatch_warns_naming_both_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrx_orm_relations, "_installed", False)
    monkeypatch.setattr(matrx_orm_core, "__version__", "9.9.9")
    with pytest.warns(RuntimeWarning) as record:
        matrx_orm_relations._install()
    assert len(record) == 1
    message = str(record[0].message)
    version = matrx_orm_relations.__version__
    assert message.startswith(
        f"matrx-orm-relations {version} is installed with matrx-orm-core 9.9.9;"
    )
    assert "pip install 'matrx-orm-relations==9.9.9'" in message


def test_reexports_are_core_objects() -> None:
    reexported = [
        "ForeignKeyReference",
        "InverseForeignKeyReference",
        "ManyToManyField",
        "ManyToManyReference",
    ]
    assert [name for name in matrx_orm_relations.__all__ if name in reexported] == reexported
    for name in reexported:
        assert getattr(matrx_orm_relations, name) is getattr(matrx_orm_core, name)


def test_import_installs_the_relation_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(hooks.get_relation_loader(), matrx_orm_relations.RelationLoader)
    previous = hooks.set_relation_loader(None)
    try:
        monkeypatch.setattr(matrx_orm_relations, "_installed", False)
        matrx_orm_relations._install()
        assert isinstance(hooks.get_relation_loader(), matrx_orm_relations.RelationLoader)
    finally:
        hooks.set_relation_loader(previous)
