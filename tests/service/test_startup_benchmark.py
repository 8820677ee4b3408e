"""The start-up and memory benchmark in its short mode: it runs and reports every part (no threshold:
the figures depend on the machine; docs/results holds measured ones)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the benchmark lives in benchmarks/


@pytest.mark.slow
@pytest.mark.multiprocess
def test_short_startup_benchmark_reports_the_breakdown_and_the_served_memory(bundled_base) -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/startup.py", "--short", "--json", "--data"],  # synthetic headlines
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "CLICKBAIT_LANGUAGE"},  # detection loaded
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    steps = [row["step"] for row in report["in_process"]["steps"]]
    assert steps[0] == "import the service (FastAPI, SQLAlchemy, our modules)"  # the onnx engine: no torch
    assert steps[1].startswith("the model in its engine (auto → onnx)") and steps[-2] == "tokenizer"
    assert steps[-1] == "language identification (py3langid, 43 languages)"
    assert report["in_process"]["heavy_imports"] == []  # serving imports no training stack
    assert report["in_process"]["model_tensors_mb"] > 0
    served = report["serve"]["rss_mb"]
    assert {"ready", "after 500", "peak"} <= set(served) and len(report["serve"]["ready_s"]) == 1
