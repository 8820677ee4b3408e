"""The editor's workflow end to end on a real server: label, retrain in a separate process, the
gate decides, the service swaps versions under load, rollback."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from scipy.special import logit

from service.store.db import make_engine
from service.store.headline_pool import HeadlinePool
from tests.support.data import labelled_rows, write_jsonl
from tests.support.models import TRIGGER
from training.config import RetrainSettings, TrainConfig
from training.trainer import train

pytestmark = pytest.mark.slow

KEY = "s3cret-editor-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WORDS = [
    "mayor",
    "river",
    "budget",
    "city",
    "storm",
    "school",
    "minister",
    "bridge",
    "market",
    "court",
    "train",
    "harbour",
    "festival",
    "council",
    "hospital",
    "farm",
]
MARKER = "zorbly"  # the new kind of teaser the editor teaches the model
PROBE = "The council approves the harbour budget"


@pytest.fixture(scope="module")
def weak_model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A barely trained LoRA model on the tiny BERT: it knows nothing of MARKER."""
    root = tmp_path_factory.mktemp("weak")
    data = write_jsonl(root / "seed.jsonl", labelled_rows(copies=4))
    config = TrainConfig(
        data=[data],
        out=root / "model",
        base=str(tiny_base),
        epochs=1,
        samples_per_epoch=64,
        batch_size=16,
        max_length=32,
        holdout_fraction=0.25,
        seed=3,
        eval_every=4,
    )
    return train(config).out


def _headline(rng: random.Random, i: int, marker: bool) -> str:
    words = rng.sample(WORDS, 4)
    if marker:
        words.insert(rng.randrange(5), MARKER)
    return f"{' '.join(words).capitalize()} {i}"


def _settings(**extra) -> dict:
    """A fresh install's retrain (no replay or evaluation files: the shipped reference headlines and
    the pool stand in), sized for the tiny model. That model has no judgement on real languages to
    keep, so the per-language checks only report here (tests/training/test_retrain.py tests them)."""
    retrain = RetrainSettings(
        steps=60,
        passes=30,
        batch_size=16,
        lr=5e-3,
        label_share=0.7,
        holdout=0.4,
        min_labels=10,
        max_length=32,
        max_language_drop=1.0,
        min_agreement=0.0,
        pool_replay_rows=200,
        seed=5,
    )
    return {"admin_keys": f"editor:{KEY}", "registry_poll_s": 0.3, "retrain": retrain, **extra}


def _wait_for_job(url: str, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/v1/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {job}")


class Scorer(threading.Thread):
    """A client scoring the same headlines without pause, remembering every answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.answers, self.errors = url, threading.Event(), [], []

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                response = client.post(f"{self.url}/v1/score", json={"headlines": [PROBE, f"{MARKER} river"]})
                if response.status_code != 200:
                    self.errors.append((response.status_code, response.text))
                else:
                    body = response.json()
                    self.answers.append((body["model"], tuple(r["score"] for r in body["results"])))
                time.sleep(0.02)


def test_editor_labels_retrains_and_the_service_swaps_without_a_failed_or_mixed_request(
    make_server, weak_model: Path
) -> None:
    server = make_server(model=str(weak_model), **_settings())
    url = server.url
    before = httpx.post(f"{url}/v1/score", json={"headlines": [PROBE]}).json()["model"]
    elsewhere = {"headlines": ["Guvernul a aprobat bugetul pe anul viitor"], "lang": "ro"}
    other_before = httpx.post(f"{url}/v1/score", json=elsewhere).json()["results"][0]

    rng = random.Random(7)
    labels = [
        {
            "headline": _headline(rng, i, i % 2 == 0),
            "label": "clickbait" if i % 2 == 0 else "news",
            "lang": "en",
        }
        for i in range(200)
    ]
    assert httpx.post(f"{url}/v1/labels", json={"labels": labels}).status_code == 401
    wrong = httpx.post(f"{url}/v1/labels", json={"labels": labels}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    stored = httpx.post(f"{url}/v1/labels", json={"labels": labels}, headers=AUTH)
    assert stored.status_code == 200 and stored.json()["added"] == 200 and stored.json()["conflicts"] == []
    assert httpx.get(f"{url}/v1/labels", params={"limit": 5}).json()["labels"][0]["by"] == "editor"

    client = Scorer(url)
    client.start()
    assert httpx.post(f"{url}/v1/retrain", json={}).status_code == 401
    started = httpx.post(f"{url}/v1/retrain", json={}, headers=AUTH)
    assert started.status_code == 202, started.text
    assert httpx.post(f"{url}/v1/retrain", json={}, headers=AUTH).status_code == 409  # one at a time
    job = _wait_for_job(url, started.json()["id"])
    assert job["state"] == "promoted", (job["message"], job["result"])
    result = job["result"]
    assert result["labels"]["fixed"] > result["labels"]["broken"] and result["labels"]["mcnemar_p"] <= 0.1
    assert {"en", "es", "id", "tr"} <= set(result["languages"])  # the shipped check rows, judged
    assert result["rows"]["check_rows"] > 0 and result["candidate"]["version"] != before

    deadline = time.monotonic() + 10
    while httpx.post(f"{url}/v1/score", json={"headlines": [PROBE]}).json()["model"] == before:
        assert time.monotonic() < deadline, "the promoted version was not picked up"
        time.sleep(0.1)
    time.sleep(0.5)
    client.stop.set()
    client.join(30)
    assert client.errors == []
    # each version answers alike, within the int8 engine's jitter (its activations are quantised
    # per batch, so a headline batched beside another request's moves a little), and the two
    # versions differ on the taught headline by far more: a response that mixed them would show
    seen: dict[str, list] = {}
    for model, scores in client.answers:
        seen.setdefault(model, []).append(scores)
    assert set(seen) == {before, result["candidate"]["version"]}
    spread = {model: np.ptp(np.array(scores), axis=0).max() for model, scores in seen.items()}
    assert all(s < 0.01 for s in spread.values()), f"a response mixed two versions' scores: {spread}"
    taught = [np.mean([scores[1] for scores in seen[v]]) for v in (before, result["candidate"]["version"])]
    assert abs(taught[0] - taught[1]) > 0.05

    models = httpx.get(f"{url}/v1/models").json()
    assert models["current"] == models["serving"] == result["candidate"]["version"]
    # the labels were English: the candidate scores English, and Romanian as the model before it
    assert result["candidate"]["routed_languages"] == ["en"]
    assert [m["routed_languages"] for m in models["models"] if m["status"] == "current"] == [["en"]]
    other_after = httpx.post(f"{url}/v1/score", json=elsewhere).json()["results"][0]
    assert other_after["label"] == other_before["label"]
    # the fallback's own score, moved in logit space by the gap between the two thresholds
    gap = logit(result["candidate"]["threshold"]) - logit(result["current"]["threshold"])
    assert abs(logit(other_after["score"]) - logit(other_before["score"]) - gap) < 1e-2
    assert httpx.post(f"{url}/v1/models/rollback", headers=AUTH).json()["serving"] == before
    assert httpx.post(f"{url}/v1/score", json={"headlines": [PROBE]}).json()["model"] == before


def test_a_candidate_that_gains_nothing_stays_a_candidate(make_server) -> None:
    server = make_server(**_settings())  # the known model: right about every headline below
    url = server.url
    rng = random.Random(11)
    headlines = [_headline(rng, i, False) + (f" {TRIGGER}" if i % 3 == 0 else "") for i in range(60)]
    scored = httpx.post(f"{url}/v1/score", json={"headlines": headlines}).json()
    # the editor agrees with every answer: nothing left for a candidate to get right
    labels = [{"headline": r["headline"], "label": r["label"]} for r in scored["results"]]
    assert {label["label"] for label in labels} == {"news", "clickbait"}
    assert httpx.post(f"{url}/v1/labels", json={"labels": labels}, headers=AUTH).status_code == 200

    job = _wait_for_job(url, httpx.post(f"{url}/v1/retrain", json={}, headers=AUTH).json()["id"])
    assert job["state"] == "rejected", job
    assert "McNemar" in job["message"]  # no decision fixed: nothing to trust
    models = httpx.get(f"{url}/v1/models").json()
    assert models["current"] == scored["model"]
    candidate = next(m for m in models["models"] if m["version"] == job["result"]["candidate"]["version"])
    assert candidate["status"] == "candidate" and candidate["note"]["judgement"]["promote"] is False
    promoted = httpx.post(
        f"{url}/v1/models/{candidate['version']}/promote", headers=AUTH
    )  # an editor may insist
    assert promoted.status_code == 200 and promoted.json()["serving"] == candidate["version"]


def test_a_candidate_trained_on_shuffled_labels_is_refused(make_server, weak_model: Path) -> None:
    server = make_server(model=str(weak_model), **_settings())
    rng = random.Random(13)
    labels = [
        {"headline": _headline(rng, i, i % 2 == 0), "label": rng.choice(["news", "clickbait"])}
        for i in range(80)
    ]
    assert httpx.post(f"{server.url}/v1/labels", json={"labels": labels}, headers=AUTH).status_code == 200
    job = _wait_for_job(
        server.url, httpx.post(f"{server.url}/v1/retrain", json={}, headers=AUTH).json()["id"]
    )
    assert job["state"] == "rejected", job
    assert not job["result"]["labels"]["ok"]


def test_the_pool_of_scored_headlines_is_bounded_and_survives_a_restart(make_server, tmp_path: Path) -> None:
    settings = {"data_dir": tmp_path / "data", "retrain": RetrainSettings(pool_size=30)}
    server = make_server(**settings)
    for start in (0, 25):
        headlines = [f"Council meets about the bridge number {i}" for i in range(start, start + 25)]
        assert httpx.post(f"{server.url}/v1/score", json={"headlines": headlines}).status_code == 200
    server.stop()  # shutdown writes what is still queued
    pool = HeadlinePool(make_engine(f"sqlite:///{tmp_path / 'data' / 'labels.db'}"), 30)
    assert set(pool.headlines()) == {f"Council meets about the bridge number {i}" for i in range(20, 50)}

    again = make_server(**settings)
    assert (
        httpx.post(
            f"{again.url}/v1/score", json={"headlines": ["One more headline about the bridge"]}
        ).status_code
        == 200
    )
    again.stop()
    assert pool.count() == 30 and "One more headline about the bridge" in pool.headlines()
    off = make_server(data_dir=tmp_path / "off", retrain=RetrainSettings(pool_size=0))
    httpx.post(f"{off.url}/v1/score", json={"headlines": ["Nothing is kept of this one"]})
    off.stop()
    assert HeadlinePool(make_engine(f"sqlite:///{tmp_path / 'off' / 'labels.db'}"), 0).count() == 0
