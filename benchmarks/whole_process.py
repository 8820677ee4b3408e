"""Whole-process scoring of a headline file: ``clickbait score`` against a transformers pipeline.

Usage (repository root, ../shared beside it):
    python benchmarks/whole_process.py [--model default] [-n 6000] [--engines onnx int8 numpy]

What a user waits for, start to finish, each in a fresh process on the same file of ``-n`` mixed
validation headlines (six languages of the teaser recipe, in turn): ``clickbait score --input F
--output O`` under each ``CLICKBAIT_ENGINE`` given (interpreter start, imports, model load, scoring,
writing), and a Python process that loads ``transformers.pipeline`` over the exported ``hf`` model
(its defaults, then ``batch_size=64``) and scores the same lines. Ratios are to the pipeline with
its defaults. Prints the load average beside each, since a shared machine's speed drifts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from classifier.export import export
from training.config import TrainConfig
from training.evaluate import held_out_sets

PIPELINE = """
import json, sys
from transformers import pipeline
pipe = pipeline("text-classification", model=sys.argv[1], trust_remote_code=True)
texts = [json.loads(line)["text"] for line in open(sys.argv[2], encoding="utf-8")]
kwargs = {"batch_size": int(sys.argv[3])} if int(sys.argv[3]) > 1 else {}
with open(sys.argv[4], "w", encoding="utf-8") as out:
    for text, answer in zip(texts, pipe(texts, truncation=True, **kwargs)):
        out.write(json.dumps({"text": text, **answer}) + "\\n")
"""


def mixed_file(config: Path, n: int, out: Path) -> Path:
    """``n`` validation headlines, one language after another in turn, as JSONL."""
    _, sets = held_out_sets(TrainConfig.from_sources(config, {}))
    languages = [[e.text for e in rows] for name, rows in sets.items() if name.startswith("validation/")]
    mixed = [row[i] for i in range(max(map(len, languages))) for row in languages if i < len(row)][:n]
    out.write_text(
        "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in mixed), encoding="utf-8"
    )
    return out


def timed(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    load = os.getloadavg()[0]
    began = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, **(env or {})}, capture_output=True)
    return {"seconds": time.perf_counter() - began, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("training/configs/teaser.toml"))
    parser.add_argument("--model", default="default")
    parser.add_argument("-n", type=int, default=6000)
    parser.add_argument("--engines", nargs="*", default=["onnx", "int8", "numpy"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="clickbait-whole-"))
    headlines = mixed_file(args.config, args.n, work / "headlines.jsonl")
    export(args.model, work / "hf", "hf")
    results = {}
    for engine in args.engines:
        command = [sys.executable, "-m", "service.cli", "score", "--model", args.model]
        command += ["--input", str(headlines), "--output", str(work / f"{engine}.jsonl")]
        results[f"clickbait score ({engine})"] = timed(command, {"CLICKBAIT_ENGINE": engine})
    for batch in (1, 64):
        command = [sys.executable, "-c", PIPELINE, str(work / "hf"), str(headlines), str(batch)]
        name = "pipeline, defaults" if batch == 1 else "pipeline, batch_size=64"
        results[name] = timed([*command, str(work / f"pipeline-{batch}.jsonl")])
    base = results["pipeline, defaults"]["seconds"]
    print(f"{args.n} headlines, whole process each\n")
    print("| run | seconds | headlines/s | × pipeline | load |\n| --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(
            f"| {name} | {r['seconds']:.1f} | {args.n / r['seconds']:.0f} | {base / r['seconds']:.1f}× "
            f"| {r['load']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"headlines": args.n, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
