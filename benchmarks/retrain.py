"""Retraining benchmark: an editor labels some of their sites' headlines, a retrain runs with the
defaults of a fresh install, and the model is measured on the rest of those headlines and on every
other language, before and after: macro-F1, and on the editor's other headlines the calibration
(ECE) of the current model, of the candidate, and of the candidate with the current model's
per-language corrections (what it would carry if its editor's languages were not refitted).

Usage (from the repository root, ../shared beside it):
    python benchmarks/retrain.py --scenario es-ta1c            # the outlets of es-ta1c-validation
    python benchmarks/retrain.py --scenario id-holdout         # the default's unseen Indonesian rows
    python benchmarks/retrain.py --scenario ro-holdout         # ... Romanian rows
    python benchmarks/retrain.py --scenario es-ta1c-quotes     # an editor's house rule on quotes
    python benchmarks/retrain.py --scenario ro-holdout-quotes  # the same rule, Romanian sites
    python benchmarks/retrain.py --scenario es-ta1c --shuffle  # the same labels, shuffled: noise
    python benchmarks/retrain.py --scenario en-uci-outlets     # English outlets never seen, by section
    python benchmarks/retrain.py --scenario id-detik           # detik.com's titles, by channel

Scenarios (the default model never trained on any of their rows; their sizes, and how many labels
the house rule flips, are in docs/results/2026-11-29-retrain-scenarios.md):
- ``es-ta1c``: ``es-ta1c-validation.jsonl`` (headlines of Spanish-language outlets).
- ``es-ta1c-quotes``: the same headlines, labelled by an editor whose house rule makes every quoted
  statement a teaser, where TA1C's annotators called many of them news: labels that carry
  something the model does not know. ``ro-holdout-quotes``: the same rule on ``ro-holdout``,
  another language and other sites.
- ``id-holdout``, ``ro-holdout``: the default recipe's Indonesian (Romanian) validation hold-out,
  less the rows that ship as the gate's check rows (no Romanian row ships: its set has no licence).
- ``en-uci-outlets``, ``id-detik``: natural labels from sites the shared model never trained on,
  the outlets' own sections mapped to the product's definition (``training/genre.py``; the genre
  files built beside the checkout, ``--genre``): 1,500 headlines of the UCI aggregator's held-out
  outlets by hash (showbiz is a teaser to their editor; business and technology are news), and
  detik.com's titles by channel (celebrity against politics, economy and technology).
The editor labels ``--labelled`` of them (fixed by a hash of each headline); the rest are only ever
measured. Before the retrain the service has scored ``--pool`` headlines per language taken from the
recipe's *training* split (what a running service would have seen; never a measured row). Other
languages are measured on the recipe's validation hold-out less the shipped check rows, so that
no figure comes from a row the gate saw. Everything runs in a temporary data directory with its
own label database and registry, through the job runner the service uses, with default settings.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from classifier.registry import ModelRegistry
from classifier.scorer import Scorer, default_model_dir
from service.runtime.retrain_job import job_params
from service.runtime.retrain_job import run as run_job
from service.settings import ServiceSettings
from service.store.db import make_engine, migrate
from service.store.headline_pool import HeadlinePool
from service.store.job_store import JobStore
from service.store.label_store import LabelStore, NewLabel
from service.store.tables import Job
from training.config import TrainConfig
from training.data import LABELS, Example, hashed_rows, load_dataset, read_file, split_holdout
from training.metrics import classification_metrics, expected_calibration_error
from training.reference_set import load_reference

SCENARIO_SALT = "scenario:"
QUOTE = re.compile(r'["“”«»]')


GENRE_SCENARIOS = {  # scenario -> (genre file, rows at most)
    "en-uci-outlets": ("en-uci-genre-heldout.jsonl", 1500),
    "id-detik": ("id-detik-genre.jsonl", 1500),
}


def scenario_rows(name: str, recipe: TrainConfig, held: list[Example], genre: Path) -> list[Example]:
    source = name.removesuffix("-quotes")
    if source in GENRE_SCENARIOS:
        file, limit = GENRE_SCENARIOS[source]
        rows = hashed_rows(read_file(genre / file), limit, "scenario-rows:")
    elif source == "es-ta1c":
        path = next(p for p in recipe.eval_data if p.name == "es-ta1c-validation.jsonl")
        rows = read_file(path)
    else:
        shipped = {r.example.text for r in load_reference() if r.role == "check"}
        lang = source.removesuffix("-holdout")
        rows = [e for e in held if e.lang == lang and e.text not in shipped]
    if name.endswith("-quotes"):  # the editor's house rule: a quoted statement is a teaser
        rows = [replace(e, label=1) if QUOTE.search(e.text) else e for e in rows]
    return rows


def macro_f1(scorer: Scorer, rows: list[Example]) -> float:
    truth = np.array([e.label for e in rows])
    return classification_metrics(truth, scorer.probabilities([e.text for e in rows]), scorer.threshold)[
        "macro_f1"
    ]


def ece(scorer: Scorer, rows: list[Example]) -> float:
    """ECE (15 bins, as the languages benchmark) of the scores on ``rows`` against their labels."""
    truth = np.array([e.label for e in rows])
    return round(expected_calibration_error(scorer.probabilities([e.text for e in rows]), truth, 15), 4)


def with_languages(scorer: Scorer, languages: dict) -> Scorer:
    """The same loaded model with other per-language corrections (its network and fallback shared)."""
    manifest = scorer.manifest.model_copy(update={"languages": languages})
    return Scorer(scorer.backend, scorer.tokenizer, manifest, scorer.settings, scorer.fallback)


def measure(scorer: Scorer, rest: list[Example], languages: dict[str, list[Example]]) -> dict[str, float]:
    return {
        "editor_rest": round(macro_f1(scorer, rest), 4),
        **{f"validation/{lang}": round(macro_f1(scorer, rows), 4) for lang, rows in languages.items()},
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario",
        choices=[
            "es-ta1c",
            "es-ta1c-quotes",
            "id-holdout",
            "ro-holdout",
            "ro-holdout-quotes",
            *GENRE_SCENARIOS,
        ],
        default="es-ta1c",
    )
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--genre", type=Path, default=Path("../data/genre"), help="the genre files' folder")
    parser.add_argument(
        "--labelled", type=float, default=0.4, help="share of the editor's headlines labelled"
    )
    parser.add_argument("--pool", type=int, default=300, help="scored headlines per language in the pool")
    parser.add_argument("--shuffle", action="store_true", help="shuffle the labels: the gate must refuse")
    parser.add_argument(
        "--per-language", type=int, default=1000, help="rows measured per other language, at most"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", type=Path, help="copy the candidate's artifact here, to inspect it")
    return parser


@dataclass
class Scenario:
    """The rows of one run: the editor's labelled ones, the rest measured, the other languages'
    measured rows, and the pool of headlines the service has scored."""

    rows: list[Example]
    editor: list[Example]
    rest: list[Example]
    languages: dict[str, list[Example]]
    pool: list[str]


def scenario(args: argparse.Namespace) -> Scenario:
    recipe = TrainConfig.from_sources(args.config, {})
    train_rows, held = split_holdout(
        load_dataset(recipe.data).examples, recipe.holdout_fraction, recipe.holdout_by
    )
    rows = scenario_rows(args.scenario, recipe, held, args.genre)
    rest, editor = split_holdout(rows, args.labelled, "text", salt=SCENARIO_SALT)
    if args.shuffle:
        shuffled = [e.label for e in editor]
        random.Random(args.seed).shuffle(shuffled)
        editor = [replace(e, label=y) for e, y in zip(editor, shuffled, strict=True)]
    shipped = {r.example.text for r in load_reference() if r.role == "check"}
    measured_elsewhere = shipped | {e.text for e in rows}
    languages: dict[str, list[Example]] = defaultdict(list)
    for e in held:
        if e.text not in measured_elsewhere:
            languages[e.lang].append(e)
    rng = random.Random(args.seed)
    sampled = {
        lang: rng.sample(found, min(args.per_language, len(found))) for lang, found in languages.items()
    }
    by_lang: dict[str, list[str]] = defaultdict(list)
    for e in train_rows:
        by_lang[e.lang].append(e.text)
    pool = [
        h for lang in sorted(by_lang) for h in rng.sample(by_lang[lang], min(args.pool, len(by_lang[lang])))
    ]
    return Scenario(rows, editor, rest, dict(sorted(sampled.items())), pool)


def candidate_figures(current: Scorer, retrained: Scorer, run: Scenario) -> tuple[dict, dict]:
    """The candidate's macro-F1, and the calibration on the editor's other headlines: with the
    corrections it carries (refitted on the editor's held-out labels where a language has enough of
    them) and with the current model's, which it would carry without that refit."""
    after = measure(retrained, run.rest, run.languages)
    kept = with_languages(retrained, current.manifest.languages)
    calibration = {
        "candidate, current's corrections": ece(kept, run.rest),
        "candidate": ece(retrained, run.rest),
        "refitted": sorted(
            lang
            for lang, entry in retrained.manifest.languages.items()
            if entry != current.manifest.languages.get(lang)
        ),
    }
    return after, calibration


def retrain(args: argparse.Namespace, current: Scorer, run: Scenario) -> tuple[Job, float, dict, dict]:
    """A retraining job, as the service runs it, in a data directory of its own: (the job, its
    seconds, the candidate's macro-F1, the calibration on the editor's other headlines)."""
    with tempfile.TemporaryDirectory(prefix="retrain-bench-") as tmp:
        settings = ServiceSettings(data_dir=Path(tmp), model=str(default_model_dir()))
        engine = make_engine(settings.database)
        migrate(engine)
        LabelStore(engine).add(
            [NewLabel(e.text, LABELS[e.label], e.lang, e.source) for e in run.editor], "editor"
        )
        headline_pool = HeadlinePool(engine, settings.retrain.pool_size)
        headline_pool.queue(run.pool)
        headline_pool.flush()
        job = JobStore(engine, settings.job_stale_s).create(job_params(settings, False), "benchmark")
        started = time.perf_counter()
        job = run_job(job.id, settings)
        seconds = time.perf_counter() - started
        registry = ModelRegistry(settings.registry_path)
        candidate = (job.result or {}).get("candidate", {}).get("version")
        after, calibration = {}, {"current": ece(current, run.rest)}
        if candidate:
            found, candidate_calibration = candidate_figures(
                current, Scorer.load(registry.path(candidate)), run
            )
            after, calibration = found, calibration | candidate_calibration
        if candidate and args.keep:
            shutil.copytree(registry.path(candidate), args.keep, dirs_exist_ok=True)
    return job, seconds, after, calibration


def main() -> None:
    args = _parser().parse_args()
    run = scenario(args)
    current = Scorer.load("default")
    before = measure(current, run.rest, run.languages)
    job, seconds, after, calibration = retrain(args, current, run)
    report = {
        "scenario": args.scenario + (" (labels shuffled)" if args.shuffle else ""),
        "editor_language": run.rows[0].lang,
        "labels": len(run.editor),
        "measured_rows": len(run.rest),
        "pool": len(run.pool),
        "seconds": round(seconds, 1),
        "state": job.state,
        "message": job.message,
        "macro_f1": {k: {"before": before[k], "after": after.get(k)} for k in before},
        "ece_editor_rest": calibration,
        "gain_points": round(
            100 * (after.get("editor_rest", before["editor_rest"]) - before["editor_rest"]), 2
        ),
        "result": job.result,
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
