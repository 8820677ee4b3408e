"""Bulk scoring throughput: one process against Ray workers on the same shards (``classifier/sharded.py``).

Usage (repository root, ``pip install -e '.[ray]'``, converted base cached):
    python benchmarks/sharded.py [--headlines 100000] [--shards 10] [--workers 2] [--model default]

Writes ``--headlines`` mixed headlines of ../shared/data (every file in turn; synthetic elsewhere)
as ``--shards`` Parquet shards, then scores them twice, in turns: in this process with one loaded
model on all cores (what ``clickbait score --input shard --output x.parquet`` does shard after
shard), and with ``--runner ray`` (a local cluster of ``--workers`` single-threaded actors, each
loading the model once). Both times are wall time from start to the last shard written, start-up
included (the model's load here, the cluster's start and the actors' loads there). Prints
headlines/s of each and the ratio; the load average beside them, since the cores may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from serve_load import headlines

DATA = sorted(Path("../shared/data").glob("*.jsonl"))


def write_shards(root: Path, texts: list[str], count: int) -> None:
    size = -(-len(texts) // count)
    for shard in range(count):
        part = texts[shard * size : (shard + 1) * size]
        ids = list(range(shard * size, shard * size + len(part)))
        pq.write_table(pa.table({"id": ids, "text": part}), root / f"part-{shard:03d}.parquet")


def one_process(root: Path, out: Path, model: str) -> float:
    from classifier.bulk import score_to_parquet
    from classifier.scorer import Scorer

    started = time.perf_counter()
    scorer = Scorer.load(model)
    out.mkdir()
    for shard in sorted(root.glob("*.parquet")):
        score_to_parquet(scorer, shard, out / shard.name, progress=False)
    return time.perf_counter() - started


def on_ray(root: Path, out: Path, model: str, workers: int) -> float:
    from classifier.sharded import score_shards

    started = time.perf_counter()
    score_shards(str(root), out, model, workers=workers, threads=1, progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--headlines", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default="default")
    parser.add_argument("--rounds", type=int, default=1, help="turns of the two, alternating")
    parser.add_argument("--data", type=Path, nargs="*", default=DATA, help="JSONL files with a text field")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="sharded-bench-") as scratch:
        root = Path(scratch) / "in"
        root.mkdir()
        write_shards(root, headlines(args.data, args.headlines), args.shards)
        for turn in range(args.rounds):
            for name in ("one process", f"ray, {args.workers} workers × 1 thread"):
                load = os.getloadavg()[0]
                out = Path(scratch) / f"out-{turn}-{len(rows)}"
                if name == "one process":
                    seconds = one_process(root, out, args.model)
                else:
                    seconds = on_ray(root, out, args.model, args.workers)
                rows.append(
                    {"runner": name, "seconds": seconds, "rate": args.headlines / seconds, "load": load}
                )
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n{args.headlines} headlines in {args.shards} Parquet shards, {os.cpu_count()} cores\n")
    print("| runner | seconds | headlines/s | load average at start |\n| --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['runner']} | {row['seconds']:.1f} | {row['rate']:.0f} | {row['load']:.1f} |")
    local = [r["rate"] for r in rows if r["runner"] == "one process"]
    ray = [r["rate"] for r in rows if r["runner"] != "one process"]
    print(f"\nray / one process: {sum(ray) / sum(local):.2f}")


if __name__ == "__main__":
    main()
