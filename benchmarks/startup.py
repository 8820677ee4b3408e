"""Where ``clickbait serve``'s start-up time and resident memory go, step by step, in one process.

Usage (repository root, converted base already cached):
    python benchmarks/startup.py [--model default] [--engine auto]

Each line: the step, its wall time and the resident memory (VmRSS) it added. The steps are those
the service takes before /ready answers 200: imports, the model's weights and engine, the tokenizer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from serve_load import resident_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--engine", default="auto", choices=["auto", "fp32", "int8"])
    args = parser.parse_args()

    rows: list[tuple[str, float, float]] = []
    clock, memory = time.perf_counter(), resident_mb(os.getpid())

    def step(name: str) -> None:
        nonlocal clock, memory
        now, rss = time.perf_counter(), resident_mb(os.getpid())
        rows.append((name, now - clock, rss - memory))
        clock, memory = now, rss

    import torch  # noqa: F401 - timed on purpose

    step("import torch")
    import service.app  # noqa: F401

    step("import the service (FastAPI, SQLAlchemy, Alembic, our modules)")
    from classifier.artifact import load_network
    from classifier.base import load_tokenizer
    from classifier.engine import build_engine
    from classifier.scorer import resolve_model_dir

    model_dir = resolve_model_dir(args.model)
    network, manifest, base = load_network(model_dir)
    step("base weights into the lean encoder (fp16 table read a slice at a time), LoRA merged")
    _, _, engine = build_engine(network, manifest, model_dir, args.engine)
    step(
        f"engine ({args.engine} → {engine}): weights copied out of the file map"
        + (", smoothed and quantised" if engine == "int8" else "")
    )
    load_tokenizer(base.path)
    step("tokenizer")

    print("| step | seconds | resident MB added |\n| --- | --- | --- |")
    for name, seconds, added in rows:
        print(f"| {name} | {seconds:.2f} | {added:+.0f} |")
    print(f"| total | {sum(r[1] for r in rows):.2f} | {resident_mb(os.getpid()):.0f} resident |")
    print(f"transformers imported: {'transformers' in sys.modules}")


if __name__ == "__main__":
    main()
