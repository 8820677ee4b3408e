"""Retraining benchmark: an editor labels a few hundred headlines the default model never saw; a
warm-started retrain runs as the service runs it, and the gate compares candidate and current.

Usage (from the repository root, ../shared beside it):
    python benchmarks/retrain.py --language ro --labels 200 --select misses

The labels come from the default recipe's own validation hold-out (rows the shipped model was
never trained on) in one language: either the headlines the default model gets wrong (``misses``,
what an editor marks) or a random sample (``random``). The recipe's files are the replay data;
its ``eval_data`` plus the rest of that hold-out are the evaluation files. Everything happens in a
temporary data directory with its own label database and registry. Prints the job's outcome and
the candidate's int8 check (``CLICKBAIT_RETRAIN_QUANTIZE=0`` leaves it out).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from classifier.artifact import read_manifest
from classifier.registry import ModelRegistry
from classifier.scorer import Scorer
from service.db import make_engine, migrate
from service.jobs import JobStore
from service.label_store import LabelStore, NewLabel
from service.retrain_job import job_params, run
from service.settings import ServiceSettings
from training.config import RetrainSettings, TrainConfig
from training.data import load_dataset, split_holdout

LABELS = ("news", "clickbait")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--language", default="ro")
    parser.add_argument("--labels", type=int, default=300, help="headlines the editor labels")
    defaults = RetrainSettings()
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--label-share", type=float, default=defaults.label_share)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--from-base", action="store_true")
    parser.add_argument("--select", choices=["misses", "random"], default="misses")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    recipe = TrainConfig.from_sources(args.config, {})
    held = split_holdout(load_dataset(recipe.data).examples, recipe.holdout_fraction, recipe.holdout_by)[1]
    pool = [e for e in held if e.lang == args.language]
    random.Random(args.seed).shuffle(pool)
    if args.select == "misses":
        scorer = Scorer.load("default")
        wrong = (scorer.probabilities([e.text for e in pool]) >= scorer.threshold) != [e.label for e in pool]
        pool = [e for e, miss in zip(pool, wrong, strict=True) if miss] + [
            e for e, miss in zip(pool, wrong, strict=True) if not miss
        ]
    editor, rest = pool[: args.labels], pool[args.labels :]

    with tempfile.TemporaryDirectory(prefix="retrain-bench-") as tmp:
        rest_file = Path(tmp) / f"{args.language}-holdout-rest.jsonl"
        rest_file.write_text(
            "".join(
                json.dumps({"text": e.text, "label": LABELS[e.label], "lang": e.lang}, ensure_ascii=False)
                + "\n"
                for e in rest
            ),
            encoding="utf-8",
        )
        retrain = RetrainSettings(
            replay_data=[str(p) for p in recipe.data],
            steps=args.steps,
            lr=args.lr,
            label_share=args.label_share,
            eval_data=[str(p) for p in recipe.eval_data] + [str(rest_file)],
        )
        settings = ServiceSettings(data_dir=Path(tmp), retrain=retrain)
        engine = make_engine(settings.database)
        migrate(engine)
        LabelStore(engine).add(
            [NewLabel(e.text, LABELS[e.label], e.lang, e.source) for e in editor], "editor"
        )
        job = JobStore(engine, settings.job_stale_s).create(job_params(settings, args.from_base), "benchmark")
        started = time.perf_counter()
        job = run(job.id, settings)
        seconds = time.perf_counter() - started
        candidate = (job.result or {}).get("candidate", {}).get("version")
        int8 = candidate and read_manifest(ModelRegistry(settings.registry_path).path(candidate)).int8
    print(
        json.dumps(
            {
                "labels": len(editor),
                "select": args.select,
                "language": args.language,
                "steps": args.steps,
                "label_share": args.label_share,
                "lr": args.lr,
                "seconds": round(seconds, 1),
                "state": job.state,
                "message": job.message,
                "result": job.result,
                "candidate_int8": int8 and int8.model_dump(mode="json"),
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
