"""Shards scored on a local Ray cluster started by the test: the single process's scores row for row,
one Parquet output per shard with the input's columns, and a killed run that resumes by shard."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from classifier.bulk import BulkError, score_to_parquet
from classifier.scorer import Scorer
from classifier.sharded import score_shards, shard_pairs
from tests.support.data import CLICKBAIT, NEWS

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _headlines(shard: int, count: int) -> list[str]:
    pool = NEWS + CLICKBAIT
    return [f"{pool[i % len(pool)]} ({shard}.{i})" for i in range(count)]


def _shards(root: Path, per_shard: int, formats: tuple[str, ...]) -> list[Path]:
    root.mkdir()
    paths = []
    for shard, fmt in enumerate(formats):
        texts, path = _headlines(shard, per_shard), root / f"part-{shard}.{fmt}"
        ids = [shard * per_shard + i for i in range(per_shard)]
        if fmt == "parquet":
            pq.write_table(pa.table({"id": ids, "text": texts, "site": ["a.example"] * per_shard}), path)
        elif fmt == "csv":
            with path.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["id", "headline"])
                writer.writerows(zip(ids, texts, strict=True))
        else:
            path.write_text(
                "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, texts, strict=True))
            )
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def scorer(bundled_base) -> Scorer:
    return Scorer.load("default")


def test_distributed_scores_equal_the_single_process_row_for_row(scorer: Scorer, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    shards = _shards(tmp_path / "in", 40, ("parquet", "jsonl", "csv"))
    summary = score_shards(str(tmp_path / "in" / "part-*"), tmp_path / "out", workers=2, progress=False)
    assert summary == {"shards": 3, "skipped": 0, "scored_shards": 3, "rows": 120}
    for shard in shards:
        expected = tmp_path / f"{shard.stem}-local.parquet"
        score_to_parquet(scorer, shard, expected, progress=False)
        ours, theirs = pq.read_table(tmp_path / "out" / f"{shard.stem}.parquet"), pq.read_table(expected)
        assert ours.column_names == theirs.column_names  # the input's columns, score, label
        floats = ["score", *scorer.kinds]  # probabilities: equal to float rounding across processes
        assert ours.drop_columns(floats).equals(theirs.drop_columns(floats))
        for name in floats:
            assert ours.column(name).to_pylist() == pytest.approx(theirs.column(name).to_pylist(), abs=2e-6)
    assert pq.read_table(tmp_path / "out" / "part-0.parquet").column_names == [
        "id",
        "text",
        "site",
        "score",
        "label",
        "lang",
        "validated",
        "bait",  # the default model says which kind of teaser (docs/teasers.md)
        "tabloid",
    ]
    with pytest.raises(BulkError, match="--resume"):
        score_shards(str(tmp_path / "in"), tmp_path / "out", progress=False)
    again = score_shards(str(tmp_path / "in"), tmp_path / "out", resume=True, progress=False)
    assert again == {"shards": 3, "skipped": 3, "scored_shards": 0, "rows": 0}


def test_a_killed_run_resumes_without_duplicate_or_missing_rows(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    shards = _shards(tmp_path / "in", 150, ("jsonl",) * 6)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "service.cli",
        "score",
        "--input",
        str(tmp_path / "in"),
        "--output",
        str(out),
    ]
    command += ["--runner", "ray", "--workers", "1"]  # one actor: shards finish one after another
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not list(out.glob("*.parquet")) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
    finally:
        _kill_tree(driver.pid)  # the driver, its local cluster and the actors, at once
    finished = list(out.glob("*.parquet"))
    assert 1 <= len(finished) < len(shards), "not stopped part-way: make the shards larger"
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=900, check=False)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads(resumed.stderr.strip().splitlines()[-1])
    assert summary["skipped"] == len(finished) and summary["scored_shards"] == len(shards) - len(finished)
    ids = [
        i
        for pair in shard_pairs(str(tmp_path / "in"), out)
        for i in pq.read_table(pair[1]).column("id").to_pylist()
    ]
    assert ids == list(range(150 * len(shards)))  # every row once, in shard order
    assert not [p.name for p in out.iterdir() if p.suffix != ".parquet"]  # no torn or staging file is left


def _kill_tree(pid: int) -> None:
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    processes = [root, *root.children(recursive=True)]
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=30)
