"""Does a model catch the teaser wall: bait and tabloid caught, hard news kept (docs/teasers.md)?

Usage (from the repository root, ../shared beside it and the genre sets built into ../data/genre):
    python benchmarks/teasers.py --model default --baseline runs/default-20261128 \
        --config training/configs/teaser.toml [--json out.json]

For each model, at its own threshold (the served engine, as `auto` picks it):
- the seed page's 17 headlines (`../shared/seed-page.txt`, a check only: never trained on, no
  threshold chosen on them) with this file's labels under the definition: the sidebar's 8 teasers
  flagged (target ≥ 6) and the 9 news items flagged (target ≤ 1);
- each genre file held out of training (whole outlets, or sets never trained on): the share of its
  tabloid rows flagged (target ≥ 85 %) and of its news rows flagged (target ≤ 5 %); of the news
  flagged, the share the tabloid head did not call tabloid (so the teaser head raised it); and
  where a bait set's annotators labelled the same headline, news flagged by that label (a
  news-section headline may still be bait);
- the bait sets by their own labels: the recipe's validation split per language and each
  `eval_data` file without a kind column: macro-F1 and ECE (10 bins), and the share of their
  clickbait flagged (bait caught, target ≥ 85 %); the same of the `bait` score alone.
With ``--baseline``, each bait set's macro-F1 gap (model − baseline, teaser score) with its 95 %
paired bootstrap interval: whether a gap of half a point is one the rows can tell from noise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from classifier.artifact import BAIT
from classifier.scorer import Scorer
from training.config import TrainConfig
from training.data import Example, load_dataset, read_file, split_holdout
from training.metrics import classification_metrics
from training.retrain import paired_bootstrap

SEED_PAGE = Path("../shared/seed-page.txt")
# the seed's related headlines and its "Citește și" wall, by their first words: True = a teaser
SEED_LABELS = {
    "Bloomberg: UE se pregătește": False,
    "Volodimir Zelenski face apel": False,
    "Report de peste 1,7 milioane": False,
    "Reacția Chinei după acuzațiile": False,
    "Substanțe afrodisiace, descoperite": True,  # bait: "a turn no one expected"
    "Ioan Andone i-a primit": True,  # tabloid: a celebrity's home
    "Cristi Borcea, ținta ironiilor": True,  # tabloid: gossip
    "Vânt de până la 120 km/h": False,  # service news, loudly written
    "Orașul-minune al României": True,  # bait: a superlative that withholds the city
    "Situație critică în tunelul": False,
    "Ninge 5 zile consecutiv": False,  # a weather forecast, however loud
    "Cum arată acum Cristina Spătar": True,  # tabloid and bait
    "Wow sau Bau?": True,  # tabloid and bait
    "Un radar fix cu inteligență": False,
    "Galerie foto de excepție cu Brigitte Bardot": True,  # tabloid: a celebrity gallery
    "BANCUL ZILEI": True,  # tabloid: the joke of the day
    "Templul culturii din inima": False,
}


def seed_rows(path: Path) -> list[tuple[str, bool]]:
    """(headline, teaser) for each labelled line of the seed page, in page order."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        for start, teaser in SEED_LABELS.items():
            if line.startswith(start) and all(line != h for h, _ in found):
                found.append((line, teaser))
    if len(found) != len(SEED_LABELS):
        sys.exit(f"{path}: found {len(found)} of the {len(SEED_LABELS)} labelled headlines")
    return found


def seed_check(scorer: Scorer, rows: list[tuple[str, bool]]) -> dict:
    predictions = scorer.score([h for h, _ in rows])
    teasers = [p for p, (_, t) in zip(predictions, rows, strict=True) if t]
    news = [p for p, (_, t) in zip(predictions, rows, strict=True) if not t]
    return {
        "teasers_flagged": sum(p.label == "clickbait" for p in teasers),
        "teasers": len(teasers),
        "news_flagged": sum(p.label == "clickbait" for p in news),
        "news": len(news),
        "headlines": [
            {
                "headline": p.headline[:60],
                "teaser": t,
                **{k: round(v, 3) for k, v in p.record().items() if k in ("score", "bait", "tabloid")},
            }
            for p, (_, t) in zip(predictions, rows, strict=True)
        ],
    }


def genre_check(scorer: Scorer, rows: list[Example], bait_labels: dict[str, int]) -> dict:
    """Share flagged of each kind the file says (tabloid, news), overall and per source where the
    file has few enough of them to list; for its news rows, what raised them and what the bait
    sets' annotators said of the same headlines (``bait_labels``)."""
    predictions = scorer.score([e.text for e in rows])
    hits = np.array([p.label == "clickbait" for p in predictions], dtype=bool)
    tabloid = np.array([(p.kinds or {}).get("tabloid", 0.0) >= 0.5 for p in predictions], dtype=bool)
    out: dict = {}
    for kind in ("tabloid", "news"):
        where = [i for i, e in enumerate(rows) if e.kind == kind]
        if where:
            out[kind] = {"n": len(where), "flagged": round(float(hits[where].mean()), 4)}
    news = [i for i, e in enumerate(rows) if e.kind == "news"]
    if news:
        out["news"]["teaser_head_only"] = round(float((hits[news] & ~tabloid[news]).mean()), 4)
        for name, label in (("news_not_bait", 0), ("news_bait", 1)):
            where = [i for i in news if bait_labels.get(rows[i].text) == label]
            if where:
                out[name] = {"n": len(where), "flagged": round(float(hits[where].mean()), 4)}
    sources = defaultdict(list)
    for i, e in enumerate(rows):
        sources[e.source].append(i)
    if 1 < len(sources) <= 12:
        out["sources"] = {str(s): round(float(hits[i].mean()), 4) for s, i in sorted(sources.items())}
    return out


def bait_check(scorer: Scorer, rows: list[Example]) -> dict:
    """The bait set's own labels: macro-F1, ECE and the share of its clickbait flagged, of the
    teaser score and, where the model scores kinds, of its ``bait`` score alone (at the threshold)."""
    scores = scorer.scores([e.text for e in rows])
    labels = np.array([e.label for e in rows])
    out = {"n": len(rows), "labels": labels.tolist(), "decided": (scores[:, 0] >= scorer.threshold).tolist()}
    columns = {"": 0} | ({"bait_": 1 + scorer.kinds.index(BAIT)} if BAIT in scorer.kinds else {})
    for prefix, column in columns.items():
        probs = scores[:, column]
        metrics = classification_metrics(labels, probs, scorer.threshold)
        caught = float((probs[labels == 1] >= scorer.threshold).mean()) if labels.any() else float("nan")
        out |= {
            f"{prefix}macro_f1": round(metrics["macro_f1"], 4),
            f"{prefix}ece": round(metrics["ece"], 4),
            f"{prefix}caught": round(caught, 4),
        }
    return out


def measure(model: str, config: TrainConfig, max_rows: int) -> dict:
    scorer = Scorer.load(model)
    examples = load_dataset(config.data).examples
    _, validation = split_holdout(examples, config.holdout_fraction, config.holdout_by)
    bait_labels = {e.text: e.label for e in examples if e.kind is None}
    by_lang: dict[str, list[Example]] = defaultdict(list)
    for e in validation:
        if e.kind is None:  # the bait sets' rows; the genre rows are judged on held-out outlets below
            by_lang[e.lang].append(e)
    rng = np.random.default_rng(0)
    report: dict = {
        "model": scorer.version,
        "engine": scorer.engine,
        "threshold": scorer.threshold,
        "seed": seed_check(scorer, seed_rows(SEED_PAGE)),
        "genre": {},
        "bait": {},
    }
    for lang, rows in sorted(by_lang.items()):
        picked = rng.choice(len(rows), size=min(max_rows, len(rows)), replace=False)
        report["bait"][f"validation/{lang}"] = bait_check(scorer, [rows[i] for i in sorted(picked)])
    for path in config.eval_data:
        rows = read_file(path)
        name = path.name.split(".")[0]
        if any(e.kind for e in rows):
            report["genre"][name] = genre_check(scorer, rows, bait_labels)
        else:
            report["bait"][name] = bait_check(scorer, rows)
    return report


def table(reports: list[dict]) -> str:
    lines = [
        "| check | " + " | ".join(r["model"] for r in reports) + " |",
        "| --- |" + " --- |" * len(reports),
    ]
    seed = [
        f"{r['seed']['teasers_flagged']}/{r['seed']['teasers']} teasers, "
        f"{r['seed']['news_flagged']}/{r['seed']['news']} news"
        for r in reports
    ]
    lines.append("| seed page flagged | " + " | ".join(seed) + " |")
    rows = (("tabloid", "tabloid"), ("news", "news"), ("news_not_bait", "news, not bait by a bait set"))
    for name in reports[0]["genre"]:
        for key, what in rows:
            if key in reports[0]["genre"][name]:
                cells = [f"{r['genre'][name][key]['flagged']:.1%}" for r in reports]
                if key == "news":  # what the tabloid head did not call tabloid: the teaser head's
                    cells = [
                        f"{c} ({r['genre'][name][key]['teaser_head_only']:.1%})"
                        for c, r in zip(cells, reports, strict=True)
                    ]
                lines.append(
                    f"| {name}: {what} flagged (n {reports[0]['genre'][name][key]['n']}) | "
                    + " | ".join(cells)
                    + " |"
                )
    for name in reports[0]["bait"]:
        cells = [
            f"F1 {r['bait'][name]['macro_f1']:.4f}, ECE {r['bait'][name]['ece']:.3f}, "
            f"caught {r['bait'][name]['caught']:.1%}"
            + (
                f"; bait alone: F1 {r['bait'][name]['bait_macro_f1']:.4f}, "
                f"ECE {r['bait'][name]['bait_ece']:.3f}"
                if "bait_ece" in r["bait"][name]
                else ""
            )
            for r in reports
        ]
        lines.append(f"| {name} (n {reports[0]['bait'][name]['n']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gaps(baseline: dict, model: dict, rounds: int = 2000) -> str:
    """Each bait set's teaser-score macro-F1, model − baseline, with its 95 % paired bootstrap
    interval over the same rows (each model at its own threshold)."""
    lines = [f"\nmacro-F1 gap, {model['model']} − {baseline['model']} (95 % paired bootstrap):"]
    for name, ours in model["bait"].items():
        theirs = baseline["bait"][name]
        truth = np.array(ours["labels"])
        spread = paired_bootstrap(truth, np.array(ours["decided"]), np.array(theirs["decided"]), rounds, 0)
        lo, hi = np.percentile(spread, [2.5, 97.5])
        gap = ours["macro_f1"] - theirs["macro_f1"]
        lines.append(f"  {name}: {gap:+.4f} [{lo:+.4f}, {hi:+.4f}]")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--baseline", help="a second model, measured the same way")
    parser.add_argument("--config", type=Path, default=Path("training/configs/teaser.toml"))
    parser.add_argument("--max-rows", type=int, default=1000, help="validation rows per language")
    parser.add_argument("--json", type=Path, help="write the whole report here")
    args = parser.parse_args()
    config = TrainConfig.from_sources(args.config, {})
    models = [args.baseline, args.model] if args.baseline else [args.model]
    reports = [measure(m, config, args.max_rows) for m in models]
    print(table(reports))
    if args.baseline:
        print(gaps(*reports))
    for report in reports:
        print(f"\n{report['model']} on the seed page:")
        for row in report["seed"]["headlines"]:
            print(
                f"  {'T' if row['teaser'] else 'N'} {row['score']:.3f} "
                f"{row.get('bait', ''):>6} {row.get('tabloid', ''):>6}  {row['headline']}"
            )
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
