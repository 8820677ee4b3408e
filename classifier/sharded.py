"""Bulk scoring of an archive of shards on a Ray cluster: one output shard per input shard.

``clickbait score --input 'archive/*.parquet' --output out/ --runner ray`` (``pip install
'clickbait-classifier[ray]'``). Ray Data schedules the shards on an actor pool: each actor is a
class-based UDF that loads the model once (the fast engine, as ``clickbait score`` would) with
``threads`` torch threads and one CPU reserved per thread, so actors do not oversubscribe a
machine's cores; each call scores one shard with ``classifier.bulk.score_to_parquet``, streaming it
in chunks into ``<output>/<input stem>.parquet`` (the input's columns and ``bulk.SCORED``), which
appears whole or not at all. So a stopped run resumes by shard: ``--resume`` skips the shards whose
output exists, and no row is scored into two outputs or lost.

Why Ray Data: its ``map_batches`` with a class-based UDF, the model held once per actor, is the
documented pattern for batch inference on it; it runs the same code on one machine (a local
cluster started for the run) or on a cluster at ``address`` (``ray://host:10001`` or
``RAY_ADDRESS``), and installs from PyPI as one wheel. The shards' paths must then be readable and
the output directory writable from every node (a shared filesystem).
"""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from classifier.bulk import BulkError, score_to_parquet
from classifier.scorer import resolve_model_dir

FORMATS = (".parquet", ".jsonl", ".ndjson", ".json", ".csv", ".txt")


def shard_pairs(pattern: str, out_dir: Path) -> list[tuple[Path, Path]]:
    """(input shard, its output) for every file ``pattern`` matches (a glob, a directory or a file)."""
    root = Path(pattern)
    if root.is_dir():
        inputs = sorted(p for p in root.iterdir() if p.suffix.lower() in FORMATS)
    else:
        inputs = sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
    if not inputs:
        raise BulkError(f"{pattern}: no input shards")
    outputs = [out_dir / f"{p.stem}.parquet" for p in inputs]
    if len(set(outputs)) < len(outputs):
        raise BulkError(f"{pattern}: two shards share a name, and so an output (one per name)")
    return list(zip(inputs, outputs, strict=True))


class ShardScorer:
    """Ray Data's class-based UDF: the model, loaded once per actor, scores whole shards."""

    def __init__(self, model: str, threads: int, threshold: float | None) -> None:
        from classifier.scorer import Scorer
        from classifier.settings import get_settings

        self.scorer = Scorer.load(model, get_settings().model_copy(update={"threads": threads}))
        self.threshold = threshold

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        rows = [
            score_to_parquet(self.scorer, Path(source), Path(output), self.threshold, progress=False)
            for source, output in zip(batch["input"], batch["output"], strict=True)
        ]
        return {"input": batch["input"], "rows": rows}


def score_shards(
    pattern: str,
    out_dir: Path,
    model: str = "default",
    resume: bool = False,
    threshold: float | None = None,
    workers: int | None = None,
    threads: int = 1,
    address: str | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Score every shard ``pattern`` matches into ``out_dir`` on Ray; returns shard and row counts.

    ``workers`` actors of ``threads`` threads each (default: as many as the cluster's CPUs allow);
    ``address``: a running cluster's, else ``RAY_ADDRESS``, else a local cluster for this call."""
    pairs = shard_pairs(pattern, out_dir)
    done = [output for _, output in pairs if output.exists()]
    if done and not resume:
        raise BulkError(f"{out_dir} holds {len(done)} scored shards: pass --resume to go on, or remove them")
    todo = [(source, output) for source, output in pairs if not output.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    resolve_model_dir(model)  # a bad model name fails here, not in every actor
    scored = _run(todo, model, threshold, workers, threads, address, progress) if todo else 0
    return {
        "shards": len(pairs),
        "skipped": len(pairs) - len(todo),
        "scored_shards": len(todo),
        "rows": scored,
    }


def _run(
    todo: list[tuple[Path, Path]],
    model: str,
    threshold: float | None,
    workers: int | None,
    threads: int,
    address: str | None,
    progress: bool,
) -> int:
    import ray

    settings = {k: v for k, v in os.environ.items() if k.startswith("CLICKBAIT_")}  # to every node
    settings |= {"OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            runtime_env={"env_vars": settings},
        )
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        actors = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
        shards = ray.data.from_items([{"input": str(s), "output": str(o)} for s, o in todo])
        results = shards.map_batches(
            ShardScorer,
            fn_constructor_kwargs={
                "model": str(resolve_model_dir(model)),
                "threads": threads,
                "threshold": threshold,
            },
            batch_size=1,  # a shard per call: each is streamed in chunks inside
            compute=ray.data.ActorPoolStrategy(size=min(actors, len(todo))),
            num_cpus=threads,
        )
        rows = 0
        with tqdm(total=len(todo), desc="shards", unit=" shards", disable=not progress) as bar:
            for result in results.iter_rows():
                rows += int(result["rows"])
                bar.update(1)
        return rows
    finally:
        if started_here:
            ray.shutdown()
