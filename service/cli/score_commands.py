"""``clickbait score``: headlines from arguments or standard input, or a file in bulk (here or on Ray)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from classifier.flags import add_flags
from classifier.settings import ClassifierSettings
from service.cli.arguments import CliError, probability


def _score(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer

    if args.input or args.output:
        _score_file(args)
        return
    headlines = args.headlines or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not headlines:
        raise CliError("no headlines: pass them as arguments or as lines on standard input")
    scorer = Scorer.load(args.model)
    langs = [args.lang] * len(headlines) if args.lang else None
    for prediction in scorer.score(headlines, threshold=args.threshold, langs=langs):
        print(json.dumps(prediction.record(), ensure_ascii=False))


def _score_file(args: argparse.Namespace) -> None:
    from classifier.bulk import score_file
    from classifier.scorer import Scorer

    if not (args.input and args.output) or args.headlines:
        raise CliError("bulk scoring takes --input FILE and --output FILE, and no headline arguments")
    if args.runner == "ray":
        from classifier.sharded import score_shards

        summary = score_shards(
            str(args.input),
            args.output,
            args.model,
            args.resume,
            args.threshold,
            args.workers,
            args.threads_per_worker,
            args.address,
        )
        print(json.dumps({"output": str(args.output), **summary}), file=sys.stderr)
        return
    skipped, scored = score_file(
        Scorer.load(args.model), args.input, args.output, args.resume, args.threshold
    )
    print(
        json.dumps({"output": str(args.output), "resumed_after": skipped, "scored": scored}), file=sys.stderr
    )


def add_score(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser("score", help="score headlines (arguments or stdin lines)")
    score.add_argument("headlines", nargs="*")
    add_flags(score, ClassifierSettings, ["model"])
    score.add_argument("--threshold", type=probability, help="override the model's threshold")
    score.add_argument(
        "--lang",
        help="the headlines' language (ISO 639-1), if you know it: it wins over detection "
        "(bulk input: a 'lang' field or column per record)",
    )
    score.add_argument(
        "--input", type=Path, help="bulk: a JSONL, CSV, Parquet (text/headline field) or text file"
    )
    score.add_argument(
        "--output",
        type=Path,
        help="bulk: JSONL here, one line per input record (.parquet: the input's columns, score, label)",
    )
    score.add_argument("--resume", action="store_true", help="bulk: continue an interrupted --output")
    score.add_argument(
        "--runner",
        choices=["local", "ray"],
        default="local",
        help="bulk: this process, or Ray workers (pip install '.[ray]'): --input a glob, directory or file "
        "of shards, --output a directory, one Parquet shard per input shard",
    )
    score.add_argument("--workers", type=int, help="ray: actors, each loading the model once [all CPUs]")
    score.add_argument(
        "--threads-per-worker", type=int, default=1, help="ray: torch threads (and CPUs) per actor"
    )
    score.add_argument(
        "--address", help="ray: a running cluster's address [RAY_ADDRESS, else a local cluster]"
    )
    score.set_defaults(handler=_score)
