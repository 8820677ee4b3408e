"""Throughput benchmark: our engines against the Hugging Face pipeline, on the same headlines.

Usage (repository root, ../shared beside it):
    python benchmarks/throughput.py --model default --student runs/student4 runs/student3

In one run, on the same machine and the same headlines (Romanian and English, alternating, from
the default recipe's validation hold-out), the engines taking turns for ``--rounds`` passes
(``interleaved``): headlines/s (median of the passes) and p50/p99 latency per 64-headline batch of
(a) ``transformers.pipeline`` over the exported ``hf`` model with its default settings (and with
``batch_size=64``), (b) our fp32 engine (default settings, as the service runs it), (b') the same
network in numpy (``CLICKBAIT_ENGINE=numpy``), (c) the int8 form in torch (``int8``), (e) the same
int8 form in ONNX Runtime (``onnx``), (d) each distilled student given with ``--student``
(``auto``); then macro-F1 of each on every held-out split of the recipe, and cold start, resident
memory and 64-headline request throughput of ``clickbait serve`` with the default model (its
requests taking turns with the bare engine ``auto`` picks). Ratios are to (a).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import numpy as np
import torch
from serve_load import resident_mb, served, wait_ready
from tqdm.auto import tqdm

from classifier.export import export
from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from training.config import TrainConfig
from training.evaluate import held_out_sets
from training.metrics import classification_metrics

BATCH = 64


def sample_headlines(sets: dict[str, list], n: int) -> list[str]:
    """``n`` headlines alternating Romanian and English validation rows."""
    ro, en = [e.text for e in sets["validation/ro"]], [e.text for e in sets["validation/en"]]
    mixed = [h for pair in zip(ro, en, strict=False) for h in pair]
    return mixed[:n]


def timed(score: Callable[[list[str]], object], headlines: Sequence[str]) -> list[float]:
    """Seconds per BATCH-headline call, over all of ``headlines``, after one warm-up call."""
    score(list(headlines[:BATCH]))
    took = []
    for start in range(0, len(headlines), BATCH):
        began = time.perf_counter()
        score(list(headlines[start : start + BATCH]))
        took.append(time.perf_counter() - began)
    return took


def interleaved(
    engines: dict[str, Callable[[list[str]], object]], headlines: Sequence[str], rounds: int
) -> dict[str, dict[str, float]]:
    """Each engine's headlines/s (the median over ``rounds``) and p50/p99 latency per call (all rounds).

    The engines take turns, a whole pass over ``headlines`` each per round, because a shared
    machine's speed drifts over tens of seconds (each pass's figure is kept, ``rounds_headlines_s``,
    to show by how much): engines timed one after the other would carry that drift into their
    ratios, engines timed in turns share it.
    """
    calls: dict[str, list[list[float]]] = {name: [] for name in engines}
    for _ in tqdm(range(rounds), desc="rounds", unit="round"):
        for name, score in engines.items():
            calls[name].append(timed(score, headlines))
    return {
        name: {
            "headlines_s": float(np.median([len(headlines) / sum(r) for r in runs])),
            "rounds_headlines_s": [round(len(headlines) / sum(r), 1) for r in runs],
            "p50_ms": 1000 * float(np.percentile(np.concatenate(runs), 50)),
            "p99_ms": 1000 * float(np.percentile(np.concatenate(runs), 99)),
        }
        for name, runs in calls.items()
    }


def quality(scorer: Scorer, sets: dict[str, list]) -> dict[str, float]:
    return {
        name: classification_metrics(
            np.array([e.label for e in rows]), scorer.probabilities([e.text for e in rows]), scorer.threshold
        )["macro_f1"]
        for name, rows in sets.items()
    }


def serve_figures(model: str, bare: Scorer, headlines: list[str], rounds: int) -> dict[str, float]:
    """Cold start to /ready, resident memory, and sequential 64-headline requests taking turns with
    the bare engine in this process (``interleaved``); ``share`` is the median of the rounds'
    served / bare ratios."""
    began = time.perf_counter()
    with served(model, "--cache-size", "0", env={"PYTHONPATH": os.getcwd()}) as (url, server):
        wait_ready(url, server)
        ready_s = time.perf_counter() - began
        rss_ready = resident_mb(server.pid)
        with httpx.Client(base_url=url, timeout=120) as client:
            figures = interleaved(
                {
                    "served": lambda batch: client.post(
                        "/v1/score", json={"headlines": batch}
                    ).raise_for_status(),
                    "bare": bare.probabilities,
                },
                headlines,
                rounds,
            )
        ratios = np.divide(figures["served"]["rounds_headlines_s"], figures["bare"]["rounds_headlines_s"])
        return {
            "ready_s": ready_s,
            "rss_ready_mb": rss_ready,
            "rss_after_mb": resident_mb(server.pid),
            "peak_rss_mb": resident_mb(server.pid, "VmHWM"),
            "share": float(np.median(ratios)),
            "bare_headlines_s": figures["bare"]["headlines_s"],
            "bare_rounds_headlines_s": figures["bare"]["rounds_headlines_s"],
            **figures["served"],
        }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--model", default="default")
    parser.add_argument(
        "--student", nargs="*", default=[], help="distilled student artifacts (clickbait distill)"
    )
    parser.add_argument("--hf", type=Path, help="exported hf directory (default: export to a temporary one)")
    parser.add_argument("-n", type=int, default=2000, help="headlines timed per engine")
    parser.add_argument("--rounds", type=int, default=3, help="turns each engine takes (median reported)")
    parser.add_argument("--no-quality", action="store_true", help="skip the held-out macro-F1")
    parser.add_argument("--no-serve", action="store_true", help="skip the service figures")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser


def our_scorers(model: str, students: Sequence[str]) -> dict[str, Scorer]:
    """(b)-(e), by the name the tables give them."""
    scorers = {
        "(b) fp32 engine": Scorer.load(model, ClassifierSettings(engine="fp32")),
        "(b') numpy engine (fp32, no torch)": Scorer.load(model, ClassifierSettings(engine="numpy")),
        "(c) torch int8 engine": Scorer.load(model, ClassifierSettings(engine="int8")),
        "(e) onnx engine (int8 in ONNX Runtime, no torch)": Scorer.load(
            model, ClassifierSettings(engine="onnx")
        ),
    }
    for student in students:
        scorer = Scorer.load(student, ClassifierSettings(engine="auto"))
        scorers[f"(d) student {student} ({scorer.manifest.layers} layers)"] = scorer
    return scorers


def pipeline_gap(pipe: Callable[..., list], fp32: Scorer, headlines: list[str]) -> float:
    """The largest difference between the pipeline's and the fp32 engine's P(clickbait) on a probe
    of the headlines; printed with what was timed."""
    probe = headlines[:50]
    theirs = np.array(
        [
            next(d["score"] for d in r if d["label"] == "clickbait")
            for r in pipe(probe, top_k=None, truncation=True)
        ]
    )
    gap = float(np.abs(theirs - fp32.probabilities(probe)).max())
    lengths = [len(ids) for ids in fp32.tokenizer.encode(headlines, fp32.manifest.max_length)]
    print(
        f"{len(headlines)} headlines (ro+en, mean {np.mean(lengths):.0f} tokens), torch threads "
        f"{torch.get_num_threads()}, load {os.getloadavg()[0]:.2f}; "
        f"pipeline vs fp32 engine max |Δp| {gap:.1e}"
    )
    return gap


def quality_table(scorers: dict[str, Scorer], sets: dict[str, list]) -> dict[str, dict[str, float]]:
    """Macro-F1 of every scorer on every held-out set, printed as a table."""
    found = {name: quality(scorer, sets) for name, scorer in scorers.items()}
    print("\n| set | n | " + " | ".join(found) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in found) + " |")
    for split in sets:
        cells = " | ".join(f"{found[s][split]:.3f}" for s in found)
        print(f"| {split} | {len(sets[split])} | {cells} |")
    return found


def main() -> None:
    args = _parser().parse_args()
    config = TrainConfig.from_sources(args.config, {})
    _, sets = held_out_sets(config)
    headlines = sample_headlines(sets, args.n)
    hf_dir = args.hf or Path(tempfile.mkdtemp(prefix="clickbait-hf-"))
    if args.hf is None:
        export(args.model, hf_dir, "hf")

    from transformers import pipeline

    engines: dict[str, Callable[[list[str]], object]] = {}
    pipe = pipeline("text-classification", model=str(hf_dir), trust_remote_code=True)
    engines["(a) pipeline, defaults"] = pipe
    engines["(a') pipeline, batch_size=64"] = lambda batch: pipe(batch, batch_size=BATCH)
    scorers = our_scorers(args.model, args.student)
    engines.update({name: scorer.probabilities for name, scorer in scorers.items()})
    gap = pipeline_gap(pipe, scorers["(b) fp32 engine"], headlines)
    results = interleaved(engines, headlines, args.rounds)
    base = results["(a) pipeline, defaults"]["headlines_s"]
    print("| engine | engine used | headlines/s | × pipeline | p50 ms / 64 | p99 ms / 64 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        used = scorers[name].engine if name in scorers else "transformers"
        print(
            f"| {name} | {used} | {r['headlines_s']:.0f} | {r['headlines_s'] / base:.1f}× "
            f"| {r['p50_ms']:.0f} | {r['p99_ms']:.0f} |"
        )

    report = {
        "headlines": len(headlines),
        "threads": torch.get_num_threads(),
        "pipeline_gap": gap,
        "throughput": results,
    }
    if not args.no_quality:
        report["macro_f1"] = quality_table(scorers, sets)
    if not args.no_serve:
        default = Scorer.load(args.model, ClassifierSettings(engine="auto"))  # what the server runs
        serve = serve_figures(args.model, default, headlines, args.rounds)
        report["serve"] = serve
        print(
            f"\nclickbait serve: ready in {serve['ready_s']:.1f} s; "
            f"RSS {serve['rss_ready_mb']:.0f} MB at ready, "
            f"{serve['rss_after_mb']:.0f} MB after the load (peak {serve['peak_rss_mb']:.0f} MB); "
            f"64-headline requests {serve['headlines_s']:.0f} headlines/s, "
            f"{serve['share']:.0%} of the bare {default.engine} engine's {serve['bare_headlines_s']:.0f} "
            f"in the same rounds (p50 {serve['p50_ms']:.0f} ms, p99 {serve['p99_ms']:.0f} ms)"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
