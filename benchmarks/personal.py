"""Personal layers benchmark: readers with their own taste label a few of their headlines, a layer is
fitted over the shared model for each, and it is measured on that reader's OTHER headlines.

Usage (from the repository root, ../shared beside it, the genre sets in ../data/genre or --genre):
    python benchmarks/personal.py                       # every reader, every candidate
    python benchmarks/personal.py --json personal.json  # also write the report

Readers, all on rows the default model never trained on (its recipe's validation hold-out, and
sets it only evaluates on):
- ``quotes`` (a house rule): es-ta1c-validation, where every quoted statement is a teaser to them.
- ``ro-quotes``, ``id-colons``, ``tr-digits`` (house rules, to check a design on more than one):
  1,200 rows each of the default recipe's Romanian, Indonesian and Turkish hold-outs, where a quoted
  statement (ro) or a colon (id) makes a teaser, and a headline with a number is news (tr).
- ``tech`` (a topic they consider bait): 1,500 rows of en-uci-genre-heldout by hash, where every
  headline about tech companies and gadgets is a teaser to them, the rest as the set labels it.
- ``celebrity`` (tolerates celebrity news): the same 1,500 rows with every tabloid item news to
  them, beside 700 rows of the default recipe's English hold-out (en-chakraborty2016), bait as labelled.
- ``ta1c``, ``detik``, ``catweb`` (natural): es-ta1c-validation, id-detik-genre and ro-catweb-genre
  as their annotators labelled them (sites and annotators the model was not fitted to).

Each reader labels 5, 10, 20, 50 and 100 of their rows, drawn by a hash of the headline (``--draws``
independent draws, averaged); the gain is macro-F1 on the rest of their rows, in points, against
the shared model at its own threshold. Candidates, all over the shared model's pooled vector (unit
length) and calibrated score: a logistic regression with the shared logit as offset and an L2
penalty (``logistic``, ``classifier/personal.py``; several penalties), the same without the offset
(``logistic-alone``: no shrinkage towards the shared score), nearest labelled neighbours shrunk
towards the shared score (``neighbours``) and a reader's own threshold alone (``bias``). Other
readers: every other reader's rows are scored through the same lookup with this reader's layer in
it, and the largest change of a score is reported. Fit time: the median of the fit on 100 labels,
and one shared-model pass over 100 headlines (vectors and scores), which a service fit adds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.personal import PersonalLayer, centred_logits, fit_kernel_logistic, spread, unit
from classifier.scorer import Scorer
from classifier.settings import get_settings
from service.settings import ServiceSettings
from training.config import TrainConfig
from training.data import hashed_rows, read_file, split_holdout, unit_hash
from training.metrics import classification_metrics

QUOTE = re.compile(r'["“”«»]')
TECH = re.compile(
    r"\b(apple|google|microsoft|samsung|iphone|ipad|android|facebook|twitter|amazon|galaxy|"
    r"smartphone|windows|apps?|tesla|netflix|xbox|playstation|sony|intel|yahoo)\b",
    re.IGNORECASE,
)
COLON = re.compile(r":")
DIGIT = re.compile(r"\d")
COUNTS = (5, 10, 20, 50, 100)


@dataclass
class Reader:
    name: str
    kind: str  # house rule, topic, tolerant, natural
    texts: list[str]
    labels: np.ndarray


def readers(shared: Path, genre: Path, config: Path) -> list[Reader]:
    ta1c = read_file(shared / "es-ta1c-validation.jsonl")
    uci = hashed_rows(read_file(genre / "en-uci-genre-heldout.jsonl"), 1500, "personal-uci:")
    recipe = TrainConfig.from_sources(config, {})
    _, english_held = split_holdout(
        read_file(shared / "en-chakraborty2016.jsonl"), recipe.holdout_fraction, recipe.holdout_by
    )
    english = hashed_rows(english_held, 700, "personal-en:")
    held = {}
    for lang, file in (("ro", "ro-mixed"), ("id", "id-click-id"), ("tr", "tr-clickbaittr")):
        _, rows = split_holdout(
            read_file(shared / f"{file}.jsonl"), recipe.holdout_fraction, recipe.holdout_by
        )
        held[lang] = hashed_rows(rows, 1200, f"personal-{lang}:")

    def make(name: str, kind: str, rows: list, rule: Callable) -> Reader:
        return Reader(name, kind, [e.text for e in rows], np.array([rule(e) for e in rows], dtype=int))

    return [
        make("quotes", "house rule", ta1c, lambda e: 1 if QUOTE.search(e.text) else e.label),
        make("ro-quotes", "house rule", held["ro"], lambda e: 1 if QUOTE.search(e.text) else e.label),
        make("id-colons", "house rule", held["id"], lambda e: 1 if COLON.search(e.text) else e.label),
        make("tr-digits", "house rule", held["tr"], lambda e: 0 if DIGIT.search(e.text) else e.label),
        make("tech", "topic", uci, lambda e: 1 if TECH.search(e.text) else e.label),
        make("celebrity", "tolerant", uci + english, lambda e: 0 if e.kind == "tabloid" else e.label),
        make("ta1c", "natural", ta1c, lambda e: e.label),
        make("detik", "natural", read_file(genre / "id-detik-genre.jsonl"), lambda e: e.label),
        make("catweb", "natural", read_file(genre / "ro-catweb-genre.jsonl"), lambda e: e.label),
    ]


def shared_outputs(scorer: Scorer, texts: list[str], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(P(teaser), pooled vectors) of ``texts`` by the shared model, kept in ``cache`` between runs."""
    digest = hashlib.sha256("\n".join([scorer.version, scorer.engine, *texts]).encode()).hexdigest()[:16]
    path = cache / f"personal-bench-{digest}.npz"
    if path.is_file():
        found = np.load(path)
        return found["probs"], found["vectors"]
    probs = scorer.probabilities(texts)
    vectors = scorer.embeddings(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, probs=probs, vectors=vectors)
    return probs, vectors


Apply = Callable[[np.ndarray, np.ndarray, list[str]], np.ndarray]  # vectors, centred logits, texts
Fit = Callable[[np.ndarray, np.ndarray, np.ndarray, list[str]], Apply]  # ... and the reader's labels


def layer(penalty: float, bias_penalty: float, words: float, marks: float) -> Fit:
    """The shipped layer (``classifier/personal.py``): the shared logit as offset, an L2 penalty,
    over the vector, the headline's tokens (``words`` > 0) and its marks (``marks`` > 0); in centred
    logits (threshold 0.5)."""

    def fit(vectors: np.ndarray, centred: np.ndarray, y: np.ndarray, texts: list[str]) -> Apply:
        fitted = PersonalLayer.fit(
            "", vectors, sigmoid(centred), y, texts, 0.5, penalty, bias_penalty, words, marks
        )
        return lambda v, c, t: c + fitted.shift(v, t)

    return fit


def alone(penalty: float) -> Fit:
    """A logistic regression on the vector alone, no offset: the reader's labels without the shared score."""

    def fit(vectors: np.ndarray, centred: np.ndarray, y: np.ndarray, texts: list[str]) -> Apply:
        centre = vectors.mean(axis=0)
        scale = spread(vectors - centre)
        features = (vectors - centre) / scale
        alpha, b = fit_kernel_logistic(features @ features.T, np.zeros(len(y)), y, penalty, 1.0)
        return lambda v, c, t: (v - centre) / scale @ (features.T @ alpha) + b

    return fit


def neighbours(strength: float, k: int = 10, temperature: float = 0.05) -> Fit:
    """P = (strength·σ(shared) + Σ wᵢ yᵢ) / (strength + Σ wᵢ) over the k nearest labelled headlines,
    wᵢ = exp((cosᵢ − 1) / temperature): the shared score, pulled towards the labels near it."""

    def fit(vectors: np.ndarray, centred: np.ndarray, y: np.ndarray, texts: list[str]) -> Apply:
        def apply(v: np.ndarray, c: np.ndarray, t: list[str]) -> np.ndarray:
            similarity = v @ vectors.T
            near = np.argsort(-similarity, axis=1)[:, :k]
            w = np.exp((np.take_along_axis(similarity, near, axis=1) - 1) / temperature)
            p = (strength * sigmoid(c) + (w * y[near]).sum(axis=1)) / (strength + w.sum(axis=1))
            p = np.clip(p, 1e-6, 1 - 1e-6)
            return np.log(p / (1 - p))

        return apply

    return fit


def bias(prior: float) -> Fit:
    """A reader's own threshold: the shared logit plus one fitted constant (a prior towards 0)."""

    def fit(vectors: np.ndarray, centred: np.ndarray, y: np.ndarray, texts: list[str]) -> Apply:
        _, b = fit_kernel_logistic(np.zeros((len(y), len(y))), centred, y, 1.0, prior)
        return lambda v, c, t: c + b

    return fit


def candidates(
    penalties: list[float], bias_penalties: list[float], words: list[float], marks: list[float]
) -> dict[str, Fit]:
    found: dict[str, Fit] = {
        f"layer λ={p:g} λb={q:g} words={w:g} marks={m:g}": layer(p, q, w, m)
        for p in penalties
        for q in bias_penalties
        for w in words
        for m in marks
    }
    found["vector alone λ=1"] = alone(1.0)
    for strength in (1.0, 3.0):
        found[f"neighbours λ={strength:g}"] = neighbours(strength)
    for prior in bias_penalties:
        found[f"bias λb={prior:g}"] = bias(prior)
    return found


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x, -50, 50)))


def macro_f1(y: np.ndarray, centred: np.ndarray) -> float:
    return classification_metrics(y, sigmoid(centred), 0.5)["macro_f1"]


def measure(
    reader: Reader, probs: np.ndarray, vectors: np.ndarray, threshold: float, fits: dict[str, Fit], draws: int
) -> dict:
    centred = centred_logits(probs, threshold)
    out: dict = {"kind": reader.kind, "rows": len(reader.texts), "teasers": int(reader.labels.sum())}
    gains: dict[str, dict[int, float]] = {name: {} for name in fits}
    shared_f1: dict[int, float] = {}
    for n in COUNTS:
        per: dict[str, list[float]] = {name: [] for name in fits}
        base: list[float] = []
        for draw in range(draws):
            order = np.argsort([unit_hash(f"personal:{draw}:{t}") for t in reader.texts], kind="stable")
            mine, rest = order[:n], order[n:]
            before = macro_f1(reader.labels[rest], centred[rest])
            base.append(before)
            for name, fit in fits.items():
                texts = [reader.texts[i] for i in mine]
                apply = fit(vectors[mine], centred[mine], reader.labels[mine].astype(float), texts)
                answers = apply(vectors[rest], centred[rest], [reader.texts[i] for i in rest])
                per[name].append(macro_f1(reader.labels[rest], answers) - before)
        shared_f1[n] = round(statistics.mean(base), 4)
        for name in fits:
            gains[name][n] = round(100 * statistics.mean(per[name]), 2)
    out["shared_macro_f1_rest"] = shared_f1
    out["gain_points"] = gains
    return out


def fit_seconds(reader: Reader, probs: np.ndarray, vectors: np.ndarray, threshold: float, fits: dict) -> dict:
    """Median seconds of each candidate's fit on 100 labels (then applied to them once)."""
    mine = np.arange(100)
    centred = centred_logits(probs, threshold)
    out = {}
    for name, fit in fits.items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            texts = reader.texts[:100]
            fit(vectors[mine], centred[mine], reader.labels[mine].astype(float), texts)(
                vectors[mine], centred[mine], texts
            )
            times.append(time.perf_counter() - started)
        out[name] = round(statistics.median(times), 4)
    return out


def shared_pass_seconds(scorer: Scorer, texts: list[str]) -> dict[int, float]:
    """The median seconds of the shared model's pass a service fit adds (scores and vectors) over
    20 and 100 labelled headlines, once warm."""
    scorer.probabilities(texts[:8])
    scorer.embeddings(texts[:8])
    out = {}
    for n in (20, 100):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            scorer.probabilities(texts[:n])
            scorer.embeddings(texts[:n])
            times.append(time.perf_counter() - started)
        out[n] = round(statistics.median(times), 3)
    return out


def other_readers_change(readers_: list[Reader], outputs: dict, scorer: Scorer) -> float:
    """The largest change of any score of any other reader while each reader's layer (the shipped
    one, ``PersonalLayer``, on 20 labels) is in the table: the lookup is by reader."""
    layers = {}
    for r in readers_:
        probs, vectors = outputs[r.name]
        layers[r.name] = PersonalLayer.fit(
            scorer.version,
            vectors[:20],
            probs[:20],
            r.labels[:20],
            r.texts[:20],
            scorer.threshold,
            *SHIPPED,
        )
    worst = 0.0
    for owner in readers_:
        for other in readers_:
            if other is owner:
                continue
            probs, vectors = outputs[other.name]
            table = {owner.name: layers[owner.name]}
            layer = table.get(other.name)
            answered = probs if layer is None else layer.apply(probs, vectors, other.texts)
            worst = max(worst, float(np.max(np.abs(answered - probs))))
    return worst


SHIPPED = tuple(  # the service's defaults
    ServiceSettings.model_fields[name].default
    for name in ("personal_penalty", "personal_bias_penalty", "personal_words", "personal_marks")
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--genre", type=Path, default=Path("../data/genre"))
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--penalty", type=float, nargs="+", default=[0.3, 1.0])
    parser.add_argument("--bias-penalty", type=float, nargs="+", default=[10.0])
    parser.add_argument("--words", type=float, nargs="+", default=[0.0, 2.0, 4.0])
    parser.add_argument("--marks", type=float, nargs="+", default=[0.0, 2.0, 3.0, 4.0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    scorer = Scorer.load("default")
    found = readers(args.shared, args.genre, args.config)
    outputs = {}
    for r in found:
        outputs[r.name] = shared_outputs(scorer, r.texts, get_settings().cache_dir)
    fits = candidates(args.penalty, args.bias_penalty, args.words, args.marks)
    report: dict = {
        "model": scorer.version,
        "engine": scorer.engine,
        "draws": args.draws,
        "shipped": "layer λ={:g} λb={:g} words={:g} marks={:g}".format(*SHIPPED),
        "readers": {},
    }
    for r in found:
        probs, vectors = outputs[r.name]
        print(f"measuring {r.name}", file=sys.stderr, flush=True)
        report["readers"][r.name] = measure(r, probs, unit(vectors), scorer.threshold, fits, args.draws)
    probs, vectors = outputs["quotes"]
    report["fit_seconds_100_labels"] = fit_seconds(found[0], probs, unit(vectors), scorer.threshold, fits)
    report["shared_pass_seconds"] = shared_pass_seconds(scorer, found[0].texts)
    report["other_readers_max_change"] = other_readers_change(found, outputs, scorer)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
