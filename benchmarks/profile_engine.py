"""Where an engine's scoring time goes, by torch operator: what to work on next for speed.

Usage (repository root, ../shared beside it):
    python benchmarks/profile_engine.py --model runs/student4 [--engine auto] [-n 2000] [--rows 12]

Scores the same headlines as ``benchmarks/throughput.py`` (Romanian and English alternating, from
the default recipe's validation hold-out) in 64-headline calls under ``torch.profiler`` and prints
the operators by their own CPU time, with their share. The int8 matrix products show as
``quantized::linear_dynamic``; what is not in the table (tokenising, Python) is the rest of the
wall time, printed too.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from throughput import BATCH, sample_headlines
from torch.profiler import ProfilerActivity, profile

from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from training.config import TrainConfig
from training.evaluate import held_out_sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--engine", default="auto", choices=["auto", "fp32", "int8"])
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("-n", type=int, default=2000, help="headlines scored")
    parser.add_argument("--rows", type=int, default=12, help="operators listed")
    args = parser.parse_args()

    _, sets = held_out_sets(TrainConfig.from_sources(args.config, {}))
    headlines = sample_headlines(sets, args.n)
    scorer = Scorer.load(args.model, ClassifierSettings(engine=args.engine))
    scorer.probabilities(headlines[:BATCH])  # warm-up
    began = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for start in range(0, len(headlines), BATCH):
            scorer.probabilities(headlines[start : start + BATCH])
    wall = time.perf_counter() - began
    events = sorted(profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    print(f"{args.model} ({scorer.engine}), {len(headlines)} headlines in {wall:.2f} s under the profiler")
    print("| operator | calls | own CPU ms | share of wall time |")
    print("| --- | --- | --- | --- |")
    for event in events[: args.rows]:
        own_ms = event.self_cpu_time_total / 1000
        print(f"| {event.key} | {event.count} | {own_ms:.0f} | {own_ms / 1000 / wall:.0%} |")
    listed = sum(e.self_cpu_time_total for e in events[: args.rows]) / 1e6
    print(
        f"| everything else (other operators, tokenising, Python) | | {1000 * (wall - listed):.0f} | "
        f"{(wall - listed) / wall:.0%} |"
    )


if __name__ == "__main__":
    main()
