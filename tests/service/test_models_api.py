"""The registry through the API: replicas sharing a registry follow a promotion; broken versions
are refused or skipped while the last good version keeps serving."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from classifier.registry import ModelRegistry

KEY = "registry-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _served(url: str) -> str:
    return httpx.post(f"{url}/v1/score", json={"headlines": ["a headline"]}).json()["model"]


@pytest.fixture()
def registry_dir(tmp_path: Path, known_model: Path) -> Path:
    """A registry holding the known model (current) and the same weights as version known-2."""
    registry = ModelRegistry(tmp_path / "shared-registry")
    registry.seed(known_model)
    second = tmp_path / "known-2"
    shutil.copytree(known_model, second)
    manifest = json.loads((second / "manifest.json").read_text())
    (second / "manifest.json").write_text(json.dumps({**manifest, "version": "known-2"}))
    registry.add(second)
    return registry.root


def test_every_replica_sharing_the_registry_follows_a_promotion(
    make_server, registry_dir: Path, tmp_path: Path
) -> None:
    replicas = [
        make_server(
            admin_keys=KEY,
            registry_dir=str(registry_dir),
            registry_poll_s=0.2,
            data_dir=str(tmp_path / f"replica{i}"),
        )
        for i in range(2)
    ]
    assert [_served(r.url) for r in replicas] == ["known-1", "known-1"]
    promoted = httpx.post(f"{replicas[0].url}/v1/models/known-2/promote", headers=AUTH).json()
    assert promoted["current"] == promoted["serving"] == "known-2"  # the replica asked swaps before answering
    deadline = time.monotonic() + 5
    while _served(replicas[1].url) != "known-2":
        assert time.monotonic() < deadline, "the other replica did not follow within 5 s"
        time.sleep(0.1)
    listing = httpx.get(f"{replicas[1].url}/v1/models").json()
    assert {m["version"]: m["status"] for m in listing["models"]} == {
        "known-1": "previous",
        "known-2": "current",
    }
    assert httpx.post(f"{replicas[1].url}/v1/models/nope/promote", headers=AUTH).status_code == 404


def test_a_broken_version_is_refused_or_skipped_and_the_last_good_one_serves(
    make_server, registry_dir: Path
) -> None:
    server = make_server(admin_keys=KEY, registry_dir=str(registry_dir), registry_poll_s=0.2)
    broken = registry_dir / "versions" / "known-2"
    (broken / "manifest.json").write_text("{ not json")
    refused = httpx.post(f"{server.url}/v1/models/known-2/promote", headers=AUTH)
    assert refused.status_code == 409 and "manifest" in refused.json()["error"]

    (broken / "manifest.json").write_text(
        (registry_dir / "versions" / "known-1" / "manifest.json")
        .read_text()
        .replace('"known-1"', '"known-2"')
    )
    (broken / "head.safetensors").write_bytes(b"truncated")
    ModelRegistry(registry_dir).promote("known-2", by="test")  # promoted elsewhere, weights broken
    time.sleep(1.0)
    assert _served(server.url) == "known-1"
    assert httpx.get(f"{server.url}/ready").status_code == 200
