"""Label-store commands: ``clickbait labels import|export`` and ``clickbait retrain`` (a job on the stored
labels, run in this process)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from service.cli.arguments import CliError
from service.settings import ServiceSettings


def _retrain(args: argparse.Namespace) -> None:
    from service.runtime.retrain_job import job_params, run
    from service.store.db import make_engine, migrate
    from service.store.job_store import JobStore
    from training.parallel import launched

    if launched():  # every process would judge and promote its own candidate
        raise CliError(
            "retrain runs as one process; launch `clickbait train` on several and promote its model"
        )
    settings = ServiceSettings()
    engine = make_engine(settings.database)
    migrate(engine)
    job = JobStore(engine, settings.job_stale_s).create(job_params(settings, args.from_base), author="cli")
    job = run(job.id, settings)
    print(
        json.dumps(
            {"job": job.id, "state": job.state, "message": job.message, "result": job.result},
            indent=2,
            ensure_ascii=False,
        )
    )
    if job.state == "failed":
        raise CliError(job.message)


def _labels(args: argparse.Namespace) -> None:
    from service.store.db import make_engine, migrate
    from service.store.label_files import import_labels
    from service.store.label_store import LabelStore

    settings = ServiceSettings()
    engine = make_engine(settings.database)
    migrate(engine)
    store = LabelStore(engine)
    if args.action == "import":
        if args.file is None:
            raise CliError("import needs a FILE (JSONL or CSV: text or headline, label[, lang, source])")
        stored, conflicts = import_labels(store, args.file, args.author, settings.max_chars)
        print(json.dumps({"stored": stored, "conflicts": conflicts, "file": str(args.file)}))
        return
    out = sys.stdout if args.file is None or str(args.file) == "-" else args.file.open("w", encoding="utf-8")
    with out if out is not sys.stdout else contextlib.nullcontext():
        for line in store.training_rows():
            out.write(line)


def add_retrain(commands: argparse._SubParsersAction) -> None:
    retrain = commands.add_parser(
        "retrain", help="train a candidate on the stored labels; promote it if it beats the current model"
    )
    retrain.add_argument(
        "--from-base", action="store_true", help="start from the base model (a full retrain)"
    )
    retrain.set_defaults(handler=_retrain)


def add_labels(commands: argparse._SubParsersAction) -> None:
    labels = commands.add_parser(
        "labels", help="import a labelled file into the label store (all or nothing), or export the labels"
    )
    labels.add_argument("action", choices=["import", "export"])
    labels.add_argument(
        "file", nargs="?", type=Path, help="import: JSONL/CSV to read; export: file to write (default stdout)"
    )
    labels.add_argument("--author", default="import", help="who the imported labels are recorded as by")
    labels.set_defaults(handler=_labels)
