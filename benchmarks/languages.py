"""Languages benchmark (issue 23's groundwork): language identification, and calibration per language.

Usage (from the repository root, ../shared beside it; one thread, as the figures were taken):
    OMP_NUM_THREADS=1 python benchmarks/languages.py [--config training/configs/default.toml]
        [--model default] [--images docs/results/images] [--json figures.json] [--no-detectors]

What it measures, on the recipe's validation split (per language) and on its ``eval_data`` file
(es-ta1c-validation):

1. Language identification by two offline libraries whose model ships in the wheel: ``py3langid``
   (what ``classifier/language.py`` uses) and ``lingua-language-detector`` (the ``bench`` extra),
   each with every language it knows and restricted to fewer; accuracy per language, headlines/s on
   one thread, and what detecting every headline would cost beside scoring it (one thread too).
   A small hand-written set in languages outside the five shows what a restricted detector does to
   the flagging of languages the model was never validated on.
2. Calibration of the served model per language: the standard ECE (15 equal-width bins) with a
   bootstrap interval, macro-F1 at the model's threshold, and reliability diagrams as PNG.
3. Designs of the per-language correction compared, none of them fitted on a judged row: the
   global calibration alone, the affine correction models carried until 2026-11-30 (sigmoid(a · x
   + b), an offset from 500 rows), one scale hinged at the threshold, and the hinge with a scale
   each side of the threshold (what ``training/calibration.py`` fits: from 500 rows, else one).
   Each is fitted on one half of each language's validation rows and judged on the other, both
   ways, for two different halvings (text hashes with two salts: a second scenario); Spanish's
   fit on all of validation/es is judged on es-ta1c-validation, which no fit sees.
4. What the rows allow, for the splits short of ECE 0.03: corrections fitted on the judged split
   itself (never a model's: es-ta1c-validation is an evaluation file), in-sample and cross-fitted
   over ten halvings of it, the hinge and an isotonic map (any monotone shape); and the isotonic
   map and the hinge with a scale each side fitted on validation/es, judged on es-ta1c-validation.
5. After: the model's own per-language calibration (its manifest's ``languages``, applied per
   detected language as ``Scorer.probabilities`` does), ECE and macro-F1 per split beside the
   global calibration alone ("before" above), and what detecting plus correcting costs in scoring
   throughput.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import torch

from classifier.language import LANGUAGES, SAME_AS, UNDETERMINED, detect_language, detect_languages
from classifier.scorer import Scorer, calibrated, logit
from classifier.settings import ClassifierSettings
from training.calibration import (
    MIN_LANGUAGE_ROWS,
    MIN_TWO_SIDED_ROWS,
    fit_hinge,
    row_languages,
)
from training.config import TrainConfig
from training.data import dataset_name, load_dataset, read_file, split_holdout
from training.metrics import classification_metrics, expected_calibration_error

BINS = 15
FIVE = ["en", "es", "id", "ro", "tr"]
BROAD = list(LANGUAGES)  # the restricted set classifier/language.py detects in

# Hand-written headlines in languages outside the five (news-like and teaser-like), to see whether
# a detector still names them; a smoke check of flagging, far too small to be a benchmark.
OUTSIDE = {
    "de": [
        "Bundestag beschließt neues Heizungsgesetz nach langer Debatte",
        "Sie werden nicht glauben, was dieser Nachbar im Garten gefunden hat",
        "Bahnstreik: Was Pendler am Montag wissen müssen",
        "Diese fünf Fehler macht fast jeder beim Kaffeekochen",
    ],
    "fr": [
        "Le gouvernement présente son budget pour l'année prochaine",
        "Vous ne devinerez jamais ce que cette star a fait hier soir",
        "Grève des transports : les lignes perturbées ce jeudi",
        "Ce petit geste du quotidien qui peut sauver votre vie",
    ],
    "it": [
        "Il governo approva la manovra finanziaria in consiglio dei ministri",
        "Non crederai mai a cosa è successo durante il matrimonio",
        "Maltempo in Liguria, scuole chiuse a Genova domani",
        "Ecco perché non dovresti mai lavare il pollo prima di cucinarlo",
    ],
    "pt": [
        "Governo anuncia novo pacote de medidas para a habitação",
        "Você não vai acreditar no que este cão fez pelo dono",
        "Incêndio florestal obriga a evacuar aldeias no interior do país",
        "O segredo dos médicos que ninguém te conta sobre o sono",
    ],
    "hu": [
        "Elfogadta a parlament a jövő évi költségvetést",
        "Nem fogod elhinni, mit talált a padláson ez a nagymama",
        "Útlezárások várhatók a fővárosban a hétvégén",
        "Ez az egyszerű trükk megváltoztatja a reggeleidet",
    ],
    "nl": [
        "Kabinet presenteert plannen voor nieuwe woningbouw",
        "Je gelooft nooit wat deze kat elke ochtend doet",
        "Storing bij NS zorgt voor vertragingen rond Utrecht",
        "Dit is waarom je je telefoon nooit in de slaapkamer moet laden",
    ],
    "pl": [
        "Sejm przyjął ustawę o podatku od nieruchomości",
        "Nie uwierzysz, co ten kierowca zrobił na autostradzie",
        "Silny wiatr w całym kraju, synoptycy ostrzegają",
        "Ten jeden błąd popełnia prawie każdy przy praniu",
    ],
    "ms": [
        "Kerajaan umum bantuan tunai untuk golongan berpendapatan rendah",
        "Anda pasti terkejut dengan apa yang berlaku selepas majlis kahwin ini",
        "Hujan lebat dijangka melanda beberapa negeri minggu ini",
        "Inilah sebab mengapa anda perlu minum air suam setiap pagi",
    ],
}


def rss_of(name: str) -> float:
    """MB a detector adds to a fresh process once built and warmed (lingua keeps freed memory)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, __file__, "--rss-of", name], capture_output=True, text=True, check=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def py3langid_detector(languages: Sequence[str] | None) -> Callable[[Sequence[str]], list[str]]:
    """A py3langid identifier of its own (not classifier/language.py's), with the same ``und``
    rule, restricted to ``languages`` unless None."""
    from py3langid import langid

    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE)
    if languages is not None:
        identifier.set_languages(list(languages))

    def detect(texts: Sequence[str]) -> list[str]:
        return [identifier.classify(t)[0] if any(c.isalpha() for c in t) else UNDETERMINED for t in texts]

    return detect


def lingua_detector(
    languages: Sequence[str] | None, low_accuracy: bool
) -> Callable[[Sequence[str]], list[str]]:
    """lingua on one thread (``detect_language_of`` per text), models preloaded so that timing
    measures detection, not lazy loading; ``und`` where it declines to name a language."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if languages is None:
        builder = LanguageDetectorBuilder.from_all_languages()
    else:
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(
            *[
                getattr(IsoCode639_1, code.upper())
                for code in languages
                if hasattr(IsoCode639_1, code.upper())
            ]
        )
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()

    def detect(texts: Sequence[str]) -> list[str]:
        out = []
        for text in texts:
            found = detector.detect_language_of(text)
            out.append(found.iso_code_639_1.name.lower() if found is not None else UNDETERMINED)
        return out

    return detect


def uncached(texts: Sequence[str]) -> list[str]:
    """``detect_languages`` with its memory of seen texts emptied first: every pass detects anew."""
    detect_language.cache_clear()
    return detect_languages(texts)


DETECTORS: dict[str, Callable[[], Callable[[Sequence[str]], list[str]]]] = {
    "py3langid, unrestricted": lambda: py3langid_detector(None),
    f"py3langid as classifier/language.py ({len(BROAD)} languages, ms read as id)": lambda: uncached,
    "py3langid, the five only": lambda: py3langid_detector(FIVE),
    "lingua, all 75, high accuracy": lambda: lingua_detector(None, low_accuracy=False),
    "lingua, all 75, low accuracy": lambda: lingua_detector(None, low_accuracy=True),
    f"lingua, {len(BROAD) - 1} languages (no 'no'), high accuracy": lambda: lingua_detector(
        BROAD, low_accuracy=False
    ),
}


SALTS = ("languages-bench:", "second-halving:")  # two halvings of the validation rows


def half_of(text: str, salt: str = SALTS[0]) -> int:
    """Which half of a language's validation rows a text falls in (a hash of the text, independent
    of the split's); the two salts give two unrelated halvings."""
    return hashlib.sha256(f"{salt}{text}".encode()).digest()[0] & 1


Curves = list[tuple[str, np.ndarray, np.ndarray, str]]  # (legend, probabilities, labels, colour)


def save_grid(
    splits: Sequence[str], panel: Callable[[str], tuple[Curves, str]], title: str, path: Path
) -> None:
    """A 2×3 grid of reliability diagrams, one per split (``panel`` gives its curves and title),
    with the title and shared axis labels, as a PNG. Needs matplotlib (the ``bench`` extra)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(9, 6.2))
    for ax, split in zip(axes.flat, splits, strict=True):
        reliability(ax, *panel(split))
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("mean predicted P(clickbait)", fontsize=8)
    fig.supylabel("observed clickbait share", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def chance_ece(probs: np.ndarray, rounds: int = 300) -> tuple[float, float]:
    """The ECE a perfectly calibrated model would show by chance on these rows: labels drawn from
    the probabilities themselves (seeded); (mean, 95th percentile). Binned ECE is biased upwards
    on few rows, so a split's ECE means little below this floor."""
    rng = np.random.default_rng(0)
    draws = [
        expected_calibration_error(probs, (rng.random(len(probs)) < probs).astype(float), BINS)
        for _ in range(rounds)
    ]
    return float(np.mean(draws)), float(np.percentile(draws, 95))


def reliability(ax, curves: Curves, title: str) -> None:
    """Observed clickbait rate against mean predicted probability per bin (bins with ≥ 5 rows)."""
    ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--")
    for label, probs, labels, colour in curves:
        which = np.minimum((probs * BINS).astype(int), BINS - 1)
        counts = np.bincount(which, minlength=BINS)
        keep = counts >= 5
        mean_p = np.bincount(which, probs, BINS)[keep] / counts[keep]
        rate = np.bincount(which, labels, BINS)[keep] / counts[keep]
        ax.plot(mean_p, rate, marker="o", markersize=3, linewidth=1.2, color=colour, label=label)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="upper left")


Fit = Callable[[np.ndarray, np.ndarray, int], Callable[[np.ndarray], np.ndarray]]


def fit_affine(scaled: np.ndarray, labels: np.ndarray, offset: bool) -> tuple[float, float]:
    """(a, b) minimising the NLL of sigmoid(a · x + b): the correction models carried until the
    hinge (kept here as the baseline it is compared with)."""
    x, y = torch.as_tensor(scaled, dtype=torch.float64), torch.as_tensor(labels, dtype=torch.float64)
    params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([params], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            params[0] * x + (params[1] if offset else 0.0), y
        )
        loss.backward()
        return loss

    optimiser.step(closure)
    a, b = params.detach().tolist()
    return a, b if offset else 0.0


def designs(pivot: float) -> dict[str, Fit]:
    """Each design: (x = logit/T of one language's fitting rows, labels, the row count that decides
    its form) → the correction it applies to other rows' x."""

    def affine(x, y, rows):
        a, b = fit_affine(x, y, offset=rows >= MIN_TWO_SIDED_ROWS)
        return lambda v: calibrated(v, 1.0, a, a, b)

    def hinge(two_sided: Callable[[int], bool]) -> Fit:
        def fit(x, y, rows):
            below, above = fit_hinge(x, y, pivot, two_sided(rows))
            return lambda v: calibrated(v, 1.0, below, above, pivot=pivot)

        return fit

    return {
        "global calibration alone": lambda x, y, rows: lambda v: calibrated(v, 1.0),
        "affine, offset from 500 rows (until 2026-11-30)": affine,
        "one scale, hinged at the threshold": hinge(lambda rows: False),
        "hinge, a scale each side from 500 rows (adopted)": hinge(lambda rows: rows >= MIN_TWO_SIDED_ROWS),
        "hinge, a scale each side always": hinge(lambda rows: True),
    }


def cross_fitted(
    fit: Fit, x: np.ndarray, labels: np.ndarray, declared, detected, validation, halves
) -> np.ndarray:
    """Probabilities of every row from a correction that never saw it: each language's correction
    fitted on one half of its validation rows (half the row counts for each form) and applied to
    the other half's rows detected in it, both ways; Spanish's fitted on all of validation/es and
    applied to the rows outside the validation split (es-ta1c-validation) detected as Spanish."""
    out = calibrated(x, 1.0)
    fittings = [(validation & (halves == h), validation & (halves != h), 2) for h in (0, 1)]
    for fit_on, judge, shrink in [*fittings, (validation, ~validation, 1)]:
        for lang in FIVE:
            rows = fit_on & (declared == lang)
            if rows.sum() * shrink < MIN_LANGUAGE_ROWS or (shrink == 1 and lang != "es"):
                continue
            apply = fit(x[rows], labels[rows], int(rows.sum()) * shrink)
            target = judge & (detected == lang)
            out[target] = apply(x[target])
    return out


def compare_designs(
    scorer: Scorer,
    rows: list,
    logits: np.ndarray,
    labels: np.ndarray,
    where: dict[str, np.ndarray],
    figures: dict,
) -> None:
    """ECE and macro-F1 per split of every design, cross-fitted, for each halving."""
    x = logits / scorer.manifest.temperature
    pivot = float(logit(scorer.threshold))
    detected = np.array(scorer.languages([e.text for _, e in rows]))
    declared = np.array(row_languages([e for _, e in rows]))
    validation = np.array([s.startswith("validation/") for s, _ in rows])
    figures["designs"] = {}
    splits = list(where)
    print(
        "\n| design | halving | "
        + " | ".join(f"ECE {s}" for s in splits)
        + " | "
        + " | ".join(f"macro-F1 {s}" for s in splits)
        + " |"
    )
    print("| --- " * (2 + 2 * len(splits)) + "|")
    for name, fit in designs(pivot).items():
        figures["designs"][name] = {}
        for salt in SALTS:
            halves = np.array([half_of(e.text, salt) for _, e in rows])
            p = cross_fitted(fit, x, labels, declared, detected, validation, halves)
            entry = {
                split: {
                    "ece": expected_calibration_error(p[idx], labels[idx], BINS),
                    "macro_f1": classification_metrics(labels[idx], p[idx], scorer.threshold)["macro_f1"],
                }
                for split, idx in where.items()
            }
            figures["designs"][name][salt] = entry
            print(
                f"| {name} | {salt.rstrip(':')} | "
                + " | ".join(f"{entry[s]['ece']:.3f}" for s in splits)
                + " | "
                + " | ".join(f"{entry[s]['macro_f1']:.4f}" for s in splits)
                + " |"
            )


def what_the_rows_allow(
    scorer: Scorer, logits: np.ndarray, labels: np.ndarray, where: dict[str, np.ndarray], figures: dict
) -> None:
    """ECE of corrections fitted on the judged split itself (an upper bound on what any correction
    fitted elsewhere can do on it), and of flexible maps fitted on validation/es for es-ta1c."""
    from sklearn.isotonic import IsotonicRegression

    x = logits / scorer.manifest.temperature
    pivot = float(logit(scorer.threshold))

    def isotonic(xf, yf):
        return IsotonicRegression(out_of_bounds="clip", y_min=1e-3, y_max=1 - 1e-3).fit(xf, yf).predict

    def hinge(xf, yf):
        below, above = fit_hinge(xf, yf, pivot)
        return lambda v: calibrated(v, 1.0, below, above, pivot=pivot)

    figures["ceiling"] = {}
    print(
        "\n| split | n | chance ECE | fitted on itself: hinge in-sample "
        "| hinge, cross-fitted (10 halvings: mean, range) | isotonic, cross-fitted |"
    )
    print("| --- " * 6 + "|")
    for split in ("validation/es", "validation/id", "es-ta1c-validation"):
        idx = where[split]
        xs, ys = x[idx], labels[idx]
        own = hinge(xs, ys)(xs)
        crossed: dict[str, list[float]] = {"hinge": [], "isotonic": []}
        for halving in range(10):
            halves = np.array([half_of(str(i), f"ceiling-{halving}:") for i in range(len(idx))])
            for name, fit in (("hinge", hinge), ("isotonic", isotonic)):
                p = np.empty(len(idx))
                for h in (0, 1):
                    p[halves != h] = fit(xs[halves == h], ys[halves == h])(xs[halves != h])
                crossed[name].append(expected_calibration_error(p, ys, BINS))
        entry = {
            "chance_ece": chance_ece(own)[0],
            "hinge_in_sample": expected_calibration_error(own, ys, BINS),
            **{f"{name}_cross_fitted": values for name, values in crossed.items()},
        }
        figures["ceiling"][split] = entry
        cells = " | ".join(
            f"{np.mean(v):.3f} ({min(v):.3f}-{max(v):.3f})" for v in (crossed["hinge"], crossed["isotonic"])
        )
        print(
            f"| {split} | {len(idx)} | {entry['chance_ece']:.3f} | {entry['hinge_in_sample']:.3f} | {cells} |"
        )
    es, target = where["validation/es"], where["es-ta1c-validation"]
    for name, fit in (("isotonic", isotonic), ("hinge, a scale each side", hinge)):
        ece = expected_calibration_error(fit(x[es], labels[es])(x[target]), labels[target], BINS)
        figures["ceiling"][f"{name} on validation/es, judged on es-ta1c-validation"] = ece
        print(f"{name} fitted on validation/es, judged on es-ta1c-validation: ECE {ece:.3f}")


def after_per_language(
    scorer: Scorer,
    rows: list,
    logits: np.ndarray,
    labels: np.ndarray,
    where: dict[str, np.ndarray],
    figures: dict,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """ECE and macro-F1 per split with the manifest's corrections applied per detected language (on
    the validation split that is in-sample: the designs' table has the held-out figures)."""
    temperature = scorer.manifest.temperature
    detected = scorer.languages([e.text for _, e in rows])
    p_before = calibrated(logits, temperature)
    p_after = calibrated(logits, temperature, **scorer.corrections(detected))
    figures["after"], curves = {}, {}
    print("\n| split | n | chance ECE (mean, p95) | ECE before | ECE after | macro-F1 before | after |")
    print("| --- " * 7 + "|")
    cut = scorer.threshold
    for split, idx in where.items():
        y = labels[idx]
        entry = {
            "n": len(idx),
            "chance_ece": chance_ece(p_after[idx]),
            **{
                f"ece_{name}": expected_calibration_error(p[idx], y, BINS)
                for name, p in (("before", p_before), ("after", p_after))
            },
            **{
                f"macro_f1_{name}": classification_metrics(y, p[idx], cut)["macro_f1"]
                for name, p in (("before", p_before), ("after", p_after))
            },
        }
        figures["after"][split] = entry
        curves[split] = (y, p_before[idx], p_after[idx])
        print(
            f"| {split} | {len(idx)} | {entry['chance_ece'][0]:.3f}, {entry['chance_ece'][1]:.3f} "
            f"| {entry['ece_before']:.3f} | {entry['ece_after']:.3f} "
            f"| {entry['macro_f1_before']:.4f} | {entry['macro_f1_after']:.4f} |"
        )
    return curves


def throughput_cost(scorer: Scorer, texts: list[str], count: int = 2000, rounds: int = 5) -> dict:
    """What the per-language calibration costs ``Scorer.probabilities`` on one thread, two ways over
    the same ``count`` distinct texts: whole calls with it and without it (the same model, its
    manifest's languages emptied), alternating, median of ``rounds``; and the added work alone
    (detection with an empty memory, the corrections) against the fastest call without it, which
    the other benchmarks sharing these cores disturb far less."""
    sample = list(dict.fromkeys(texts))[:count]
    empty = scorer.manifest.model_copy(update={"languages": {}})
    plain = Scorer(scorer.backend, scorer.tokenizer, empty, scorer.settings)
    seconds: dict[str, list[float]] = {"without": [], "with": [], "added": []}
    logits = plain.logits(sample)
    for _ in range(rounds):
        for name, model in (("without", plain), ("with", scorer)):
            detect_language.cache_clear()
            started = time.perf_counter()
            model.probabilities(sample)
            seconds[name].append(time.perf_counter() - started)
        detect_language.cache_clear()
        started = time.perf_counter()
        calibrated(logits, scorer.manifest.temperature, **scorer.corrections(scorer.languages(sample)))
        seconds["added"].append(time.perf_counter() - started)
    rates = {name: len(sample) / statistics.median(seconds[name]) for name in ("without", "with")}
    whole = 1 - rates["with"] / rates["without"]
    added = min(seconds["added"]) / (min(seconds["without"]) + min(seconds["added"]))
    print(
        f"\nthroughput, {len(sample)} headlines, median of {rounds}: without per-language calibration "
        f"{rates['without']:.1f}/s, with {rates['with']:.1f}/s ({whole:.1%} slower; spread without "
        f"{min(seconds['without']):.2f}-{max(seconds['without']):.2f} s); the added work alone "
        f"{min(seconds['added']):.3f} s against {min(seconds['without']):.2f} s: {added:.1%}"
    )
    return {"headlines_per_s": rates, "seconds": seconds, "cost_whole": whole, "cost_added": added}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--images", type=Path, default=Path("docs/results/images"))
    parser.add_argument("--stamp", default=str(date.today()), help="the date in the diagram's file name")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes of each detector")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--rss-of", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-detectors", action="store_true", help="skip the comparison of language identifiers (minutes)"
    )
    return parser


def recipe_splits(config: Path) -> dict[str, list]:
    """The recipe's validation split per language, then each of its ``eval_data`` files."""
    recipe = TrainConfig.from_sources(config, {})
    _, validation = split_holdout(
        load_dataset(recipe.data).examples, recipe.holdout_fraction, recipe.holdout_by
    )
    splits = {f"validation/{lang}": [e for e in validation if e.lang == lang] for lang in FIVE}
    for path in recipe.eval_data:
        splits[dataset_name(Path(path))] = read_file(Path(path))
    return splits


def scoring_rate(scorer: Scorer, texts: list[str], figures: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """The logits and the global calibration alone ("before") of ``texts``, kept for the fits, and
    the headlines/s of computing them on one thread (after a warm-up batch)."""
    scorer.logits(texts[:64])
    started = time.perf_counter()
    logits = scorer.logits(texts)
    probs = calibrated(logits, scorer.manifest.temperature)
    score_rate = len(texts) / (time.perf_counter() - started)
    figures["scoring"] = {
        "model": scorer.version,
        "engine": scorer.engine,
        "temperature": scorer.manifest.temperature,
        "threshold": scorer.threshold,
        "headlines_per_s": score_rate,
    }
    print(f"model {scorer.version}, engine {scorer.engine}: {score_rate:.1f} headlines/s on 1 thread")
    return logits, probs, score_rate


def judge_detector(name: str, rows: list, names_in_order: list[str], rounds: int, score_rate: float) -> dict:
    """One detector's accuracy per split, on the five languages and outside them, its speed, and
    what it would cost scoring; printed as a table row."""
    texts, truth = [e.text for _, e in rows], [e.lang for _, e in rows]
    outside_texts = [t for ts in OUTSIDE.values() for t in ts]
    outside_truth = [lang for lang, ts in OUTSIDE.items() for _ in ts]
    memory = rss_of(name)
    detect = DETECTORS[name]()
    detect(texts[:20])
    seconds, guesses = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        guesses = detect(texts)
        seconds.append(time.perf_counter() - started)
    rate = len(texts) / statistics.median(seconds)
    per_split, confusions = {}, {}
    for split in names_in_order:
        idx = [i for i, (s, _) in enumerate(rows) if s == split]
        per_split[split] = sum(guesses[i] == truth[i] for i in idx) / len(idx)
        confusions[split] = Counter(guesses[i] for i in idx if guesses[i] != truth[i]).most_common(4)
    val_idx = [i for i, (s, _) in enumerate(rows) if s.startswith("validation/")]
    five = sum(guesses[i] == truth[i] for i in val_idx) / len(val_idx)
    merged = sum(SAME_AS.get(guesses[i], guesses[i]) == truth[i] for i in val_idx) / len(val_idx)
    outside = detect(outside_texts)
    outside_right = sum(g == t for g, t in zip(outside, outside_truth, strict=True)) / len(outside_truth)
    # the share of scoring time that detecting every headline would add, both on one thread
    drop = (1 / rate) / (1 / rate + 1 / score_rate)
    cells = " | ".join(f"{per_split[s]:.1%}" for s in names_in_order)
    print(
        f"| {name} | {cells} | {five:.1%} | {merged:.1%} | {outside_right:.0%} "
        f"| {rate:,.0f} | {drop:.1%} | {memory:.0f} |"
    )
    return {
        "accuracy": per_split,
        "five_languages": five,
        "five_languages_ms_as_id": merged,
        "outside_five": outside_right,
        "outside_guesses": dict(zip(outside_texts, outside, strict=True)),
        "headlines_per_s": rate,
        "seconds": seconds,
        "scoring_drop": drop,
        "rss_mb": memory,
        "confusions": confusions,
    }


def compare_detectors(
    rows: list, names_in_order: list[str], rounds: int, score_rate: float, figures: dict
) -> None:
    """Every detector of ``DETECTORS`` judged on the rows (``judge_detector``), then its misses."""
    outside_texts = [t for ts in OUTSIDE.values() for t in ts]
    outside_truth = [lang for lang, ts in OUTSIDE.items() for _ in ts]
    figures["lid"] = {}
    print(
        "\n| detector | "
        + " | ".join(names_in_order)
        + " | five languages | five, ms read as id | outside five | headlines/s | scoring drop | RSS MB |"
    )
    print("| --- " * (len(names_in_order) + 7) + "|")
    for name in DETECTORS:
        figures["lid"][name] = judge_detector(name, rows, names_in_order, rounds, score_rate)
    for name, entry in figures["lid"].items():
        print(f"  {name}: misses {json.dumps(entry['confusions'])}")
        wrong = {
            t: g for t, g in entry["outside_guesses"].items() if g != outside_truth[outside_texts.index(t)]
        }
        print(f"    outside the five, named wrong: {Counter(wrong.values()).most_common()}")


def calibration_before(
    scorer: Scorer, probs: np.ndarray, labels: np.ndarray, where: dict[str, np.ndarray], figures: dict
) -> None:
    """ECE and macro-F1 per split, and ECE over the whole validation split, of the global
    calibration alone."""
    figures["calibration"] = {}
    print(
        f"\n| split | n | clickbait share | mean P | ECE ({BINS} bins) | chance ECE (mean, p95) | macro-F1 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for split, idx in where.items():
        metrics = classification_metrics(labels[idx], probs[idx], scorer.threshold)
        ece = expected_calibration_error(probs[idx], labels[idx], BINS)
        low, high = chance_ece(probs[idx])
        figures["calibration"][split] = {
            "ece": ece,
            "chance_ece": [low, high],
            "macro_f1": metrics["macro_f1"],
        }
        print(
            f"| {split} | {len(idx)} | {labels[idx].mean():.3f} | {probs[idx].mean():.3f} | {ece:.3f} "
            f"| {low:.3f}, {high:.3f} | {metrics['macro_f1']:.3f} |"
        )
    val_all = np.concatenate([where[f"validation/{lang}"] for lang in FIVE])
    overall = expected_calibration_error(probs[val_all], labels[val_all], BINS)
    figures["calibration"]["validation"] = {"ece": overall}
    print(f"whole validation split: ECE {overall:.3f} ({BINS} bins)")


def after_diagrams(
    scorer: Scorer,
    after: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    figures: dict,
    names_in_order: list[str],
    path: Path,
) -> None:
    """Reliability diagrams per split, the global calibration alone beside the per-language one."""
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no diagrams")
        return
    path.parent.mkdir(parents=True, exist_ok=True)

    def corrected(split: str) -> tuple[Curves, str]:
        y, p_before, p_after = after[split]
        e = figures["after"][split]
        curves = [
            (f"global only, {e['ece_before']:.3f}", p_before, y, "tab:blue"),
            (f"per language, {e['ece_after']:.3f}", p_after, y, "tab:orange"),
        ]
        return curves, f"{split} (n={len(y)})"

    title = f"{scorer.version} ({scorer.engine}), per-language calibration, {BINS} bins with ≥ 5 rows"
    save_grid(names_in_order, corrected, title, path)
    print(f"\nwrote {path}")


def main() -> None:
    args = _parser().parse_args()
    if args.rss_of:
        before = rss_mb()
        DETECTORS[args.rss_of]()(OUTSIDE["de"] + OUTSIDE["fr"])
        print(rss_mb() - before)
        return
    torch.set_num_threads(1)

    splits = recipe_splits(args.config)
    rows = [(name, e) for name, part in splits.items() for e in part]
    texts = [e.text for _, e in rows]
    figures: dict = {"rows": {name: len(part) for name, part in splits.items()}}
    print("rows:", figures["rows"])

    scorer = Scorer.load(args.model, ClassifierSettings(threads=1))
    logits, probs, score_rate = scoring_rate(scorer, texts, figures)
    names_in_order = list(splits)
    if args.no_detectors:
        figures["lid"] = {}
    else:
        compare_detectors(rows, names_in_order, args.rounds, score_rate, figures)

    labels = np.array([e.label for _, e in rows], dtype=int)
    where = {split: np.array([i for i, (s, _) in enumerate(rows) if s == split]) for split in names_in_order}
    calibration_before(scorer, probs, labels, where, figures)

    # designs of the correction, cross-fitted; then the model's own, as served
    compare_designs(scorer, rows, logits, labels, where, figures)
    what_the_rows_allow(scorer, logits, labels, where, figures)
    after = after_per_language(scorer, rows, logits, labels, where, figures)
    figures["throughput"] = throughput_cost(scorer, texts)
    after_diagrams(scorer, after, figures, names_in_order, args.images / f"{args.stamp}-languages-after.png")

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
