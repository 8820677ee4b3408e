"""Crashes and a full disk: no acknowledged work lost, no half-written model visible, the last good
model keeps serving."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from classifier.registry import ModelRegistry
from classifier.scorer import default_model_dir
from service.runtime.retrain_job import job_params, run
from service.settings import ServiceSettings
from service.store.db import make_engine, migrate
from service.store.job_store import JobStore
from service.store.label_store import LabelStore, NewLabel
from tests.support.data import CLICKBAIT, NEWS
from tests.support.processes import free_port, serve, wait_ready
from training.config import RetrainSettings

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]
KEY = "faults-key"

LABELS = [
    NewLabel(f"{text} ({i})", label)
    for i in range(3)
    for texts, label in ((NEWS, "news"), (CLICKBAIT, "clickbait"))
    for text in texts
]


def _job_pids(job_id: str) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-f", f"service.runtime.retrain_job {job_id}"], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def test_sigkill_of_server_and_job_mid_retrain_leaves_the_registry_and_the_old_model(
    known_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLICKBAIT_RETRAIN_STEPS", "20000")  # still training when it is killed
    monkeypatch.setenv("CLICKBAIT_RETRAIN_MIN_LABELS", "10")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {KEY}"}
    jobs: list[str] = []
    server = serve(known_model, port, CLICKBAIT_DATA_DIR=str(tmp_path), CLICKBAIT_ADMIN_KEYS=KEY)
    try:
        labels = [{"headline": item.headline, "label": item.label} for item in LABELS]
        assert httpx.post(f"{url}/v1/labels", json={"labels": labels}, headers=auth).status_code == 200
        jobs.append(httpx.post(f"{url}/v1/retrain", json={}, headers=auth).json()["id"])
        deadline = time.monotonic() + 120
        while (job := httpx.get(f"{url}/v1/jobs/{jobs[0]}").json())["progress"] == 0:
            assert time.monotonic() < deadline and job["state"] in ("queued", "running"), job["message"]
            time.sleep(0.2)
        _kill(server.pid, *_job_pids(jobs[0]))
        killed = time.monotonic()
        server.wait(10)

        server = serve(
            known_model,
            port,
            CLICKBAIT_DATA_DIR=str(tmp_path),
            CLICKBAIT_ADMIN_KEYS=KEY,
            CLICKBAIT_JOB_STALE_S="2",
        )  # the killed job's last heartbeat is older than that, once 2 s have passed since the kill
        time.sleep(max(0.0, killed + 2.5 - time.monotonic()))  # a quick start-up can come sooner
        job = httpx.get(f"{url}/v1/jobs/{jobs[0]}").json()
        assert job["state"] == "failed" and "stopped" in job["message"]
        models = httpx.get(f"{url}/v1/models").json()
        assert [m["version"] for m in models["models"]] == ["known-1"]
        assert sorted(p.name for p in (tmp_path / "registry" / "versions").iterdir()) == ["known-1"]
        wait_ready(url)
        assert httpx.post(f"{url}/v1/score", json={"headlines": ["x"]}).json()["model"] == "known-1"
        again = httpx.post(f"{url}/v1/retrain", json={}, headers=auth)  # the dead job no longer blocks
        assert again.status_code == 202
        jobs.append(again.json()["id"])
    finally:
        _kill(server.pid, *(pid for job_id in jobs for pid in _job_pids(job_id)))
        server.wait(10)


def _kill(*pids: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


PROMOTER = """
import sys
from classifier.registry import ModelRegistry
registry = ModelRegistry(sys.argv[1])
while True:
    for version in ("a", "b"):
        registry.promote(version, by="loop")
"""


def test_sigkill_mid_promotion_never_leaves_a_broken_registry(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    for version in ("a", "b"):
        copy = tmp_path / version
        copy.mkdir()
        for file in default_model_dir().iterdir():
            (copy / file.name).write_bytes(file.read_bytes())
        manifest = json.loads((copy / "manifest.json").read_text())
        (copy / "manifest.json").write_text(json.dumps({**manifest, "version": version}))
        registry.add(copy)
    for attempt in range(5):
        before = len(registry.state().history)
        promoter = subprocess.Popen([sys.executable, "-c", PROMOTER, str(registry.root)])
        deadline = time.monotonic() + 120
        while len(registry.state().history) < before + 2:  # this process is promoting, fast
            assert time.monotonic() < deadline and promoter.poll() is None
            time.sleep(0.01)
        time.sleep(0.05 * attempt)
        promoter.send_signal(signal.SIGKILL)
        promoter.wait(10)
        state = registry.state()  # parses: the state file is replaced whole
        assert state.current in ("a", "b") and state.stack[-1] == state.current
        registry.promote("a", by="test")  # the lock died with its holder
        assert registry.current() == "a"


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A 4 MB tmpfs: room for the registry's first model, not for a candidate beside it."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("needs root and tmpfs to make a full disk")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_job_cleanly(small_disk: Path, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'labels.db'}"  # the job's record lives on a disk with room
    settings = ServiceSettings(
        data_dir=small_disk,
        database_url=database,
        retrain=RetrainSettings(steps=2, batch_size=8, min_labels=10, holdout=0.3),
    )
    engine = make_engine(database)
    migrate(engine)
    LabelStore(engine).add(LABELS, "ana")
    registry = ModelRegistry(settings.registry_path)
    current = registry.seed(default_model_dir())

    job = JobStore(engine, settings.job_stale_s).create(job_params(settings, from_base=False), "ana")
    finished = run(job.id, settings)
    assert finished.state == "failed" and "No space left" in finished.message
    assert registry.current() == current
    assert [p.name for p in registry.versions.iterdir()] == [current]
    assert not (small_disk / "jobs" / job.id / "candidate").exists()
    leftovers = [p for p in (small_disk / "jobs" / job.id).iterdir() if p.name.startswith(".candidate")]
    assert leftovers == []
