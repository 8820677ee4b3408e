"""The reference headlines that ship with the package, so that a retrain works after a plain install.

Two roles, one file (``training/reference/headlines.jsonl``):

- ``replay``: headlines from the default recipe's *training* split. A retrain does not use their
  labels: it fits the candidate to the current model's own scores on them, so that what the
  editor's labels do not touch stays as the current model judges it (learning without forgetting).
- ``check``: labelled headlines from the default recipe's *validation* split, which the default
  model never trained on. The retrain gate measures every language's macro-F1 on them, before and
  after; no retrain trains on them.

Only sets whose licence allows redistribution are drawn from (``LICENCES``); the Romanian set states
none, so Romanian has no rows here and the gate falls back on agreement with the current model.
Rebuild (from the repository root, ``../shared`` beside it)::

    python -m training.reference_set
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

from classifier.artifact import LABELS
from training.data import Example, load_dataset, split_holdout

Role = Literal["replay", "check"]
LICENCES = {
    "en-chakraborty2016": "MIT",
    "es-ta1c-train": "MIT",
    "id-click-id": "CC BY 4.0",
    "tr-clickbaittr": "CC BY-SA 4.0",
}
PER_LANGUAGE = {"replay": 250, "check": 500}


@dataclass(frozen=True)
class ReferenceHeadline:
    example: Example
    role: Role
    licence: str


def reference_file() -> Path:
    return Path(str(files("training") / "reference" / "headlines.jsonl"))


def load_reference(path: Path | None = None) -> list[ReferenceHeadline]:
    """The shipped rows (``path``: another file of the same format)."""
    rows = []
    with (path or reference_file()).open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            example = Example(row["text"], LABELS.index(row["label"]), row["lang"], None, row["file"])
            rows.append(ReferenceHeadline(example, row["role"], row["licence"]))
    return rows


def build(recipe: Path, out: Path, seed: int = 13) -> dict[str, dict[str, int]]:
    """Draw the rows from the recipe's data files (licensed ones only), split as the recipe splits."""
    from training.config import TrainConfig

    config = TrainConfig.from_sources(recipe, {})
    licensed = [p for p in config.data if p.name.split(".")[0] in LICENCES]
    examples = load_dataset(licensed).examples
    training_part, validation_part = split_holdout(examples, config.holdout_fraction, config.holdout_by)
    parts = {"replay": training_part, "check": validation_part}
    rng = random.Random(seed)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    with out.open("w", encoding="utf-8") as handle:
        for role, rows in parts.items():
            by_lang: dict[str, list[Example]] = defaultdict(list)
            for example in rows:
                by_lang[example.lang].append(example)
            for lang, pool in sorted(by_lang.items()):
                # half of a small validation split stays out, so that benchmarks keep rows the gate never saw
                take = min(PER_LANGUAGE[role], len(pool) if role == "replay" else len(pool) // 2)
                for example in rng.sample(pool, take):
                    row = {
                        "text": example.text,
                        "label": LABELS[example.label],
                        "lang": lang,
                        "role": role,
                        "file": example.file,
                        "licence": LICENCES[example.file],
                    }
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                counts[role][lang] = take
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--out", type=Path, default=reference_file())
    args = parser.parse_args()
    print(json.dumps(build(args.recipe, args.out), indent=2))


if __name__ == "__main__":
    main()
