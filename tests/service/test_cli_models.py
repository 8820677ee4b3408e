"""``clickbait retrain`` and ``clickbait models`` with the real default model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.artifact import read_manifest
from classifier.scorer import default_model_dir
from service.store.db import make_engine, migrate
from service.store.label_store import LabelStore, NewLabel
from tests.support.data import CLICKBAIT, NEWS
from tests.support.processes import clickbait

pytestmark = pytest.mark.slow


def test_retrain_from_the_command_line_then_list_promote_and_roll_back(
    isolated_data: Path, monkeypatch
) -> None:
    engine = make_engine(f"sqlite:///{isolated_data / 'labels.db'}")
    migrate(engine)
    LabelStore(engine).add(
        [
            NewLabel(f"{text} ({i})", label)
            for i in range(6)
            for texts, label in ((NEWS, "news"), (CLICKBAIT, "clickbait"))
            for text in texts
        ],
        "ana",
    )
    small = {"STEPS": "4", "BATCH_SIZE": "8", "MIN_LABELS": "10", "HOLDOUT": "0.4", "QUANTIZE": "0"}
    for name, value in small.items():
        monkeypatch.setenv(f"CLICKBAIT_RETRAIN_{name}", value)

    result = clickbait("retrain")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["state"] in ("promoted", "rejected") and outcome["message"]
    default = read_manifest(default_model_dir()).version
    candidate = outcome["result"]["candidate"]["version"]
    assert outcome["result"]["current"]["version"] == default
    assert outcome["result"]["rows"]["judge_labels"] > 0 and outcome["result"]["languages"]

    def statuses() -> dict[str, str]:
        listing = clickbait("models", "list")
        assert listing.returncode == 0, listing.stderr
        return {line.split()[0]: line.split()[1] for line in listing.stdout.splitlines()}

    assert statuses()[default] == ("previous" if outcome["state"] == "promoted" else "current")
    if outcome["state"] == "rejected":
        assert clickbait("models", "promote", candidate).returncode == 0
    assert statuses()[candidate] == "current"
    assert clickbait("models", "rollback").returncode == 0
    assert statuses()[default] == "current"
    failed = clickbait("models", "rollback")
    assert failed.returncode == 2 and "nothing to roll back" in failed.stderr
    assert clickbait("models", "promote", "no-such-version").returncode == 2


def test_retrain_refuses_to_run_as_one_of_several_launched_processes(
    isolated_data: Path, monkeypatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun / accelerate launch set
    result = clickbait("retrain")
    assert result.returncode == 2
    assert "retrain runs as one process" in result.stderr
    assert not (isolated_data / "labels.db").exists()  # refused before any job was made
