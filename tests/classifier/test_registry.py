"""The on-disk model registry: versions, promotion, rollback, atomic state."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from classifier.artifact import read_manifest
from classifier.registry import ModelRegistry, RegistryError


def _copy_as(source: Path, tmp_path: Path, version: str) -> Path:
    """The same weights under another version id."""
    out = tmp_path / version
    shutil.copytree(source, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = version
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.fixture()
def artifact() -> Path:
    from classifier.scorer import default_model_dir

    return default_model_dir()


def test_seed_promote_rollback(tmp_path: Path, artifact: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    assert registry.current() is None and registry.list() == []
    first = registry.seed(artifact)
    assert first == read_manifest(artifact).version == registry.current()
    assert registry.seed(_copy_as(artifact, tmp_path, "ignored")) == first  # only an empty registry is seeded

    second = registry.add(_copy_as(artifact, tmp_path, "v2"), {"job": "j1"})
    assert [(i.version, i.status) for i in registry.list() if i.version == "v2"] == [("v2", "candidate")]
    registry.promote("v2", by="alice", reason="better")
    assert registry.current() == second == "v2"
    assert {i.version: i.status for i in registry.list()} == {first: "previous", "v2": "current"}
    assert registry.state().notes["v2"] == {"job": "j1"}

    assert registry.rollback(by="bob") == first and registry.current() == first
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback(by="bob")
    assert [e.action for e in registry.state().history] == ["seed", "promote", "rollback"]


def test_promotion_is_refused_for_unknown_broken_or_outdated_versions(tmp_path: Path, artifact: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    first = registry.seed(artifact)
    with pytest.raises(RegistryError, match="no version"):
        registry.promote("nope", by="a")
    with pytest.raises(RegistryError, match="no version"):
        registry.promote("../escape", by="a")
    registry.add(_copy_as(artifact, tmp_path, "v2"))
    registry.add(_copy_as(artifact, tmp_path, "v3"))
    registry.promote("v2", by="a")
    with pytest.raises(RegistryError, match="promoted meanwhile"):  # v3 was judged against the first
        registry.promote("v3", by="job", replacing=first)
    assert registry.current() == "v2"


def test_state_is_replaced_whole_and_staging_leftovers_are_invisible(tmp_path: Path, artifact: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    registry.seed(artifact)
    (registry.versions / ".v9-half-written").mkdir()  # what a crash during add leaves behind
    assert [i.version for i in registry.list()] == [registry.current()]
    assert sorted(p.name for p in registry.root.iterdir()) == [".lock", "state.json", "versions"]
