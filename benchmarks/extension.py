"""The extension's local model against the service: agreement, speed and size (issue 34's targets).

Usage (from the repository root, `npm ci` done, ../shared beside the checkout):
    python -m benchmarks.extension [--rows 2000] [--json out.json]

Builds the extension as `clickbait extension --out` does, loads the Chromium build in Debian's
headless Chromium (Playwright, as tests/service/test_extension.py drives it), and in one of its
pages imports local-model.js, the module its offscreen document runs. Measured there:
- the model's load (fetching the files, compiling the WebAssembly, creating the session) in fresh
  pages, and a 30-headline wall scored after the load (the median of repeated calls);
- agreement with the service's decisions (a `Scorer` on the default model, the `auto` engine) on
  the seed page's 17 headlines (`../shared/seed-page.txt`, a check only) and on `--rows` mixed
  validation headlines: the recipe's validation split (`training/configs/teaser.toml`, never used to
  choose the kept pieces), drawn with `random_rows`; the languages local-model.js's port of
  py3langid names against the service's, and whether the two agree on `validated`; how many
  headlines the kept pieces segment otherwise than the full
  vocabulary (what pruning the table changes) and the agreement on those;
- the size of each browser's folder and zip;
- for scale, the same wall on the service's own engine in this process, and the load average (the
  machine is shared: both speeds move with it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from benchmarks.teasers import SEED_PAGE, seed_rows
from classifier.scorer import Scorer
from classifier.text import QUERY_PREFIX, normalise_headline
from service.cli.extension_build import write_extension
from service.extension_model import kept_pieces
from tests.support.extension_browser import extension_browser
from training.config import TrainConfig
from training.data import load_dataset, random_rows, split_holdout

RECIPE = Path("training/configs/teaser.toml")
WALL = 30

LOAD = """async () => {
  const started = performance.now();
  const { LocalModel } = await import("/local-model.js");
  window.model = await LocalModel.load();
  return performance.now() - started;
}"""

SCORE = """async ([headlines, langs]) => {
  const started = performance.now();
  const answer = await window.model.score(headlines, langs);
  return { ...answer, ms: performance.now() - started, ids: headlines.map((h) => window.model.encode(h)) };
}"""


def validation_headlines(rows: int) -> list[str]:
    config = TrainConfig.from_sources(RECIPE, {})
    _, validation = split_holdout(
        load_dataset(config.data).examples, config.holdout_fraction, config.holdout_by
    )
    return [e.text for e in random_rows(validation, rows, seed=0)]


def service_side(scorer: Scorer, headlines: list[str]) -> dict:
    """The service's decisions, languages and token ids (in the kept pieces' numbering; -1: a piece
    the extension does not keep)."""
    predictions = scorer.score(headlines)
    renumbered = np.full(len(json.loads((scorer_tokenizer_file(scorer)).read_text())["model"]["vocab"]), -1)
    kept = kept_pieces()
    renumbered[kept] = np.arange(len(kept))
    encoded = scorer.tokenizer.encode(
        [QUERY_PREFIX + normalise_headline(h) for h in headlines], scorer.manifest.max_length
    )
    return {
        "clickbait": [p.label == "clickbait" for p in predictions],
        "scores": [p.score for p in predictions],
        "langs": [p.lang for p in predictions],
        "validated": [p.validated for p in predictions],
        "ids": [[int(renumbered[i]) for i in row] for row in encoded],
    }


def scorer_tokenizer_file(scorer: Scorer) -> Path:
    from classifier.base import resolve_base

    return resolve_base(scorer.manifest.base.name).path / "tokenizer.json"


def compare(service: dict, local: dict, threshold: float) -> dict:
    ours = [s >= threshold for s in local["scores"]]
    agree = np.array(ours) == np.array(service["clickbait"])
    same_ids = np.array([a == b for a, b in zip(local["ids"], service["ids"], strict=True)])
    out = {
        "n": len(ours),
        "decisions_agree": round(float(agree.mean()), 4),
        "disagreements": int((~agree).sum()),
        "score_max_abs_diff": round(
            float(np.max(np.abs(np.subtract(local["scores"], service["scores"])))), 4
        ),
        "segmented_as_service": round(float(same_ids.mean()), 4),
        "resegmented": int((~same_ids).sum()),
        "decisions_agree_resegmented": round(float(agree[~same_ids].mean()), 4)
        if (~same_ids).any()
        else None,
        "decisions_agree_same_segments": round(float(agree[same_ids].mean()), 4),
    }
    if "langs" in local:
        out["lang_agree"] = round(
            float(np.mean([a == b for a, b in zip(local["langs"], service["langs"], strict=True)])), 4
        )
        validated = [not u for u in local["unvalidated"]]
        out["validated_agree"] = round(
            float(np.mean(np.array(validated) == np.array(service["validated"]))), 4
        )
    return out


def sizes(out: Path) -> dict:
    found = {}
    for browser in ("chromium", "firefox"):
        built = write_extension(out, browser)
        folder = sum(p.stat().st_size for p in built.folder.rglob("*") if p.is_file())
        with zipfile.ZipFile(built.zip) as zipped:
            model = sum(
                i.file_size for i in zipped.infolist() if i.filename.startswith(("model/", "vendor/"))
            )
        found[browser] = {
            "folder_mb": round(folder / 1e6, 2),
            "zip_mb": round(built.zip.stat().st_size / 1e6, 2),
            "model_and_runtime_mb": round(model / 1e6, 2),
        }
    return found


def measure(rows: int, loads: int, repeats: int) -> dict:
    scorer = Scorer.load("default")
    seed = [h for h, _ in seed_rows(SEED_PAGE)]
    mixed = validation_headlines(rows)
    wall = mixed[:WALL]
    report: dict = {"engine": scorer.engine, "model": scorer.version}
    with tempfile.TemporaryDirectory() as work:
        report["size"] = sizes(Path(work) / "built")
        folder = Path(work) / "built" / "clickbait-extension-chromium"
        with extension_browser(folder, Path(work) / "profile") as browser:
            page = browser.context.new_page()
            page.goto(browser.url("model/model.json"))  # after the options page the install opens
            load_ms = []
            for _ in range(loads):  # each in a fresh page: files fetched, WebAssembly compiled anew
                page.goto(browser.url("model/model.json"))
                load_ms.append(page.evaluate(LOAD))
            wall_ms = [page.evaluate(SCORE, [wall, None])["ms"] for _ in range(repeats)]
            report["load_ms"] = {
                "median": round(statistics.median(load_ms)),
                "all": [round(x) for x in load_ms],
            }
            report["wall_ms"] = {
                "headlines": WALL,
                "median": round(statistics.median(wall_ms)),
                "all": [round(x) for x in wall_ms],
            }
            # the same wall on the service's engine, in this process, at the same time: what the
            # machine's load leaves of its speed
            native_ms = []
            for _ in range(repeats):
                started = time.perf_counter()
                scorer.score(wall)
                native_ms.append((time.perf_counter() - started) * 1000)
            report["wall_ms"]["service_engine_median"] = round(statistics.median(native_ms))
            report["load_average"] = [round(x, 1) for x in os.getloadavg()]
            for name, headlines in (("seed", seed), ("validation", mixed)):
                service = service_side(scorer, headlines)
                local = page.evaluate(SCORE, [headlines, None])
                report[name] = compare(service, local, local["threshold"])
                given = page.evaluate(SCORE, [headlines, service["langs"]])  # the service's languages
                report[name]["decisions_agree_given_service_langs"] = compare(
                    service, given, given["threshold"]
                )["decisions_agree"]
                report[name]["local_ms"] = round(local["ms"])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="mixed validation headlines")
    parser.add_argument("--loads", type=int, default=3, help="model loads, each in a fresh page")
    parser.add_argument("--repeats", type=int, default=5, help="times the wall is scored")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    report = measure(args.rows, args.loads, args.repeats)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
