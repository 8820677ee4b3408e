"""Does a tabloid head carry over to a language it has no genre rows for? Centred heads against
uncentred ones, each language's genre rows left out in turn (docs/results/2026-12-06-kinds-centred.md).

Usage (repository root, ../shared beside it and the genre sets built into ../data/genre):
    python benchmarks/kinds_transfer.py --model default --config training/configs/teaser.toml

For each language with genre rows in the recipe's ``kinds_data`` (English aside: every recipe keeps
it), the kind heads are fitted as ``clickbait kinds`` fits them (``training.kinds.fit_kinds``, the
recipe's layer, unit length and operating point) on every other language's genre rows, once
uncentred and once centred, and the tabloid head alone is judged on that language's held-out genre
files in the recipe's ``eval_data``: the share of its tabloid and of its news rows at P(tabloid)
≥ 0.5. The same heads fitted on every language are judged on the languages no genre row is in
(their ``eval_data`` genre files: a check of what the left-out runs predict, never a choice).
Embeddings are taken once, on MODEL's served engine.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.language import UNDETERMINED
from classifier.scorer import Scorer
from training.config import TrainConfig
from training.data import Example, load_dataset, read_file, split_holdout
from training.kinds import KIND_NAMES, fit_kinds, kind_rows

TABLOID = KIND_NAMES.index("tabloid")


class CachedEmbeddings:
    """A scorer's ``embeddings``, each text taken once: every fit below reads the same rows."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer, self.seen = scorer, {}

    def embeddings(self, texts: list[str], layer: int | None = None) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if (t, layer) not in self.seen]
        if todo:
            for text, vector in zip(todo, self.scorer.embeddings(todo, layer=layer), strict=True):
                self.seen[(text, layer)] = vector
        return np.stack([self.seen[(t, layer)] for t in texts]).copy()


def judged(
    embed: CachedEmbeddings, config: TrainConfig, heads, files: Sequence[Path], scorer: Scorer
) -> dict[str, dict]:
    """The tabloid head alone on each genre file: the share of tabloid and of news rows it flags."""
    out = {}
    for path in files:
        rows = read_file(path)
        vectors = embed.embeddings([e.text for e in rows], layer=config.kinds_layer)
        if config.kinds_normalised:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
        logits = vectors @ heads.weight[TABLOID] + heads.bias[TABLOID]
        if heads.offsets:  # by each headline's language as served: detected
            anyone = heads.offsets[UNDETERMINED]
            langs = scorer.languages([e.text for e in rows])
            logits += np.array([heads.offsets.get(lang, anyone)[TABLOID] for lang in langs])
        flags = logits >= 0
        out[path.name.split(".")[0]] = {
            kind: round(float(flags[[e.kind == kind for e in rows]].mean()), 4)
            for kind in ("tabloid", "news")
            if any(e.kind == kind for e in rows)
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--config", type=Path, default=Path("training/configs/teaser.toml"))
    parser.add_argument("--json", type=Path, help="write the whole report here")
    args = parser.parse_args()
    config = TrainConfig.from_sources(args.config, {})
    scorer = Scorer.load(args.model)
    embed = CachedEmbeddings(scorer)
    train_rows, held_out = split_holdout(
        load_dataset(config.data).examples, config.holdout_fraction, config.holdout_by
    )
    rows, checks, _ = kind_rows(config, train_rows, held_out)
    genre_langs = sorted({e.lang for e in rows if e.kind in ("tabloid", "news")} - {"en"})
    genre_files = [p for p in config.eval_data if any(e.kind for e in read_file(p))]
    file_lang = {p: read_file(p)[0].lang for p in genre_files}

    def fitted(keep: Sequence[Example], keep_checks: Sequence[Example], centred: bool):
        return fit_kinds(
            embed,  # type: ignore[arg-type]  # a scorer's embeddings, each text once
            keep,
            seed=config.seed,
            layer=config.kinds_layer,
            normalised=config.kinds_normalised,
            held_out=keep_checks,
            news_flagged=config.kinds_news_flagged,
            centred=centred,
        )

    report: dict = {"model": scorer.version, "engine": scorer.engine, "left_out": {}, "unseen": {}}
    for lang in genre_langs:

        def without(examples: Sequence[Example], lang: str = lang) -> list[Example]:
            return [e for e in examples if not (e.kind in ("tabloid", "news") and e.lang == lang)]

        files = [p for p in genre_files if file_lang[p] == lang]
        for centred in (False, True):
            heads = fitted(without(rows), without(checks), centred)
            report["left_out"][f"{lang}, {'centred' if centred else 'uncentred'}"] = judged(
                embed, config, heads, files, scorer
            )
    unseen = [p for p in genre_files if file_lang[p] not in {*genre_langs, "en"}]
    for centred in (False, True):
        heads = fitted(rows, checks, centred)
        report["unseen"]["centred" if centred else "uncentred"] = judged(embed, config, heads, unseen, scorer)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
