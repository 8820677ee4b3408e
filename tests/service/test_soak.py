"""The soak benchmark in its short mode: mixed traffic, a retraining job and a promotion under load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

ROOT = Path(__file__).resolve().parents[2]  # the soak script lives in benchmarks/


def test_short_soak_passes_with_a_retrain_and_a_promotion_in_the_middle(known_model: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/soak.py",
            "--seconds",
            "20",
            "--concurrency",
            "4",
            "--retrain-steps",
            "4",
            "--model",
            str(known_model),
            "--data",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] and report["errors"] == {}
    routes = {key.split()[0] for key in report["by_route_and_status"]}
    assert {"score", "filter", "labels", "retrain"} <= routes
    assert any("serving" in event for event in report["events"]), report["events"]
    assert sum(w["requests"] for w in report["windows"]) == report["requests"]
