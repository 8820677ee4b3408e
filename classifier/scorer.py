"""Fast calibrated scoring: headlines in, clickbait probabilities and labels out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

import numpy as np

from classifier.artifact import BAIT, FALLBACK_DIR, ArtifactError, Manifest
from classifier.backend import Backend, load_backend
from classifier.base import load_tokenizer
from classifier.language import UNDETERMINED, headline_languages
from classifier.settings import ClassifierSettings, get_settings
from classifier.text import QUERY_PREFIX, normalise_headline
from classifier.threshold import decision_threshold
from classifier.tokenizer import HeadlineTokenizer

DEFAULT_MODEL = "default"


def logit(p: np.ndarray | float) -> np.ndarray:
    """log(p / (1 − p)), p kept off 0 and 1."""
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def default_model_dir() -> Path:
    """The artifact shipped inside the package."""
    return Path(str(files("classifier") / "default_model"))


def resolve_model_dir(model: str | Path) -> Path:
    return default_model_dir() if str(model) == DEFAULT_MODEL else Path(model)


def calibrated(
    logits: np.ndarray,
    temperature: float,
    below: np.ndarray | float = 1.0,
    above: np.ndarray | float = 1.0,
    offset: np.ndarray | float = 0.0,
    pivot: float = 0.0,
) -> np.ndarray:
    """P(clickbait) = sigmoid(logit / temperature): the global calibration; with a language's
    correction (``LanguageCalibration``: ``below``, ``above``, ``offset`` per headline, hinged at
    ``pivot``, the logit of the engine's threshold) sigmoid(pivot + k · (x − pivot) + offset)."""
    x = logits / temperature
    k = np.where(x >= pivot, above, below).astype(x.dtype, copy=False)
    return 1.0 / (1.0 + np.exp(-(pivot + k * (x - pivot) + offset)))


@dataclass(frozen=True)
class Prediction:
    headline: str
    score: float
    label: str
    lang: str = "und"  # detected (ISO 639-1), or the caller's
    validated: bool = False  # the model's manifest holds a calibration fitted in that language
    kinds: dict[str, float] | None = None  # P(bait), P(tabloid): which kind of teaser (Scorer.kinds)

    def record(self) -> dict[str, str | float | bool]:
        """One JSON object per headline, as ``clickbait score`` prints it and bulk scoring writes it."""
        return {
            "headline": self.headline,
            "score": round(self.score, 6),
            "label": self.label,
            "lang": self.lang,
            "validated": self.validated,
        } | {kind: round(p, 6) for kind, p in (self.kinds or {}).items()}


class Scorer:
    """A loaded model; thread-safe for concurrent ``score`` calls (inference only).

    A routed model (``Manifest.routing``) scores the headlines of its own languages with its
    network and every other headline with ``fallback``, the model it was retrained from; ``logits``
    and ``embeddings`` are its own network's, in every language."""

    def __init__(
        self,
        backend: Backend,
        tokenizer: HeadlineTokenizer,
        manifest: Manifest,
        settings: ClassifierSettings | None = None,
        fallback: Scorer | None = None,
    ) -> None:
        """``manifest``: as ``backend``'s engine calibrates it (``classifier.backend.load_backend``)."""
        self.backend = backend
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.settings = settings or get_settings()
        self.fallback = fallback

    @classmethod
    def load(
        cls,
        model: str | Path = DEFAULT_MODEL,
        settings: ClassifierSettings | None = None,
        trainable: bool = False,
        engine: str | None = None,
    ) -> Scorer:
        """``engine``: this one rather than the settings' (``CLICKBAIT_ENGINE``). ``trainable``:
        torch's fp32 on transformers' encoder, for a network to train further (``load_network``); a
        routed model's fallback is then not loaded."""
        settings = settings or get_settings()
        if engine is not None:
            settings = settings.model_copy(update={"engine": engine})
        model_dir = resolve_model_dir(model)
        backend, manifest, base = load_backend(model_dir, settings, trainable)
        tokenizer = load_tokenizer(base.path)
        if manifest.routing is None or trainable:
            return cls(backend, tokenizer, manifest, settings)
        fallback_dir = model_dir / FALLBACK_DIR
        fallback_backend, fallback_manifest, _ = load_backend(fallback_dir, settings)
        if fallback_manifest.routing is not None or fallback_manifest.base != manifest.base:
            raise ArtifactError(f"{fallback_dir} must be an unrouted model on the same base as {model_dir}")
        if type(backend) is type(fallback_backend):
            backend.share_table(fallback_backend)
        fallback = cls(fallback_backend, tokenizer, fallback_manifest, settings)
        return cls(backend, tokenizer, manifest, settings, fallback)

    @property
    def engine(self) -> str:
        return self.backend.engine

    @property
    def network(self):
        """The torch engines' module (training and quantisation work on it); the others' backend."""
        return getattr(self.backend, "network", self.backend)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def threshold(self) -> float:
        return self.manifest.threshold

    @property
    def routed_languages(self) -> list[str] | None:
        """The languages a routed model scores itself (the fallback scores the rest); ``None``: all."""
        return self.manifest.routing.languages if self.manifest.routing else None

    @property
    def kinds(self) -> list[str]:
        """The kinds of teaser this model scores beside the teaser probability (none: older models):
        bait, which the teaser head itself learnt from the clickbait sets, then each kind head's
        (``Manifest.kinds``; a bait head of models before 20261207 is not read)."""
        return [BAIT, *(k for k in self.manifest.kinds if k != BAIT)] if self.manifest.kinds else []

    def logits(self, headlines: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Raw logits in input order; batches are formed from length-sorted inputs to cut padding."""
        return self.outputs(headlines, batch_size)[:, 0]

    def outputs(self, headlines: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """[n, 1 + kind heads] raw logits in input order: the teaser head's, then each kind head's
        (``Manifest.kinds``)."""
        width = 1 + len(self.manifest.kinds)
        out = np.empty((len(headlines), width), dtype=np.float32)
        for indices, batch in self._batches(headlines, batch_size or self.settings.batch_size):
            # a network being trained may carry kind heads its manifest does not name yet
            out[indices] = self.backend.outputs(*batch)[:, :width]
        return out

    def embeddings(
        self, headlines: Sequence[str], batch_size: int | None = None, layer: int | None = None
    ) -> np.ndarray:
        """The pooled vectors after ``layer`` encoder layers (None: the last, which the teaser head
        reads), in input order (probes of what the model sees)."""
        parts = [
            (indices, self.backend.embed(*batch, layer=layer))
            for indices, batch in self._batches(headlines, batch_size or self.settings.batch_size)
        ]
        out = np.empty((len(headlines), parts[0][1].shape[1] if parts else 0), dtype=np.float32)
        for indices, part in parts:
            out[indices] = part
        return out

    def probabilities(
        self,
        headlines: Sequence[str],
        batch_size: int | None = None,
        langs: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Calibrated P(clickbait): sigmoid(logit / temperature), corrected per language where the
        manifest holds that language (``languages``; a language given in ``langs`` wins over the
        detected one). Without per-language entries, exactly the global calibration. A routed model
        hands the headlines outside its languages to its fallback."""
        return self.scores(headlines, batch_size, langs)[:, 0]

    def scores(
        self,
        headlines: Sequence[str],
        batch_size: int | None = None,
        langs: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """[n, 1 + kinds]: ``probabilities``' calibrated P(teaser), then P(kind) for each of
        ``kinds`` from the same pass (NaN for headlines a routed model's fallback scores without it)."""
        if self.fallback is None:
            return self._own(headlines, batch_size, langs)
        found = self.languages(headlines, langs)
        own = ~np.array([self._handed_on(lang) for lang in found], dtype=bool)
        out = np.full((len(headlines), 1 + len(self.kinds)), np.nan, dtype=np.float32)
        mine, theirs = np.flatnonzero(own), np.flatnonzero(~own)
        out[mine] = self._own([headlines[i] for i in mine], batch_size, [found[i] for i in mine])
        handed = self.fallback.scores([headlines[i] for i in theirs], batch_size, [found[i] for i in theirs])
        shared = [1 + self.fallback.kinds.index(k) if k in self.fallback.kinds else None for k in self.kinds]
        for column, theirs_column in enumerate([0, *shared]):
            if theirs_column is not None:
                out[theirs, column] = handed[:, theirs_column]
        # A warm retrain keeps the fp32 threshold where the int8 check re-fitted the current
        # model's, so the two differ slightly: the fallback's scores move by that gap
        # in logit space, and this model's threshold gives exactly the fallback's decisions.
        gap = logit(self.threshold) - logit(self.fallback.threshold)
        if gap:
            out[theirs, 0] = 1.0 / (1.0 + np.exp(-(logit(out[theirs, 0]) + gap)))
        return out

    def _own(
        self, headlines: Sequence[str], batch_size: int | None, langs: Sequence[str | None] | None
    ) -> np.ndarray:
        """This model's network and calibration, whatever the routing says."""
        by_language = bool(self.manifest.languages or self.manifest.kinds_offsets)
        found = self.languages(headlines, langs) if by_language else None
        outputs = self.centred(self.outputs(headlines, batch_size), found)
        corrections = {} if found is None or not self.manifest.languages else self.corrections(found)
        out = np.empty((len(outputs), 1 + len(self.kinds)), dtype=np.float32)
        out[:, 0] = calibrated(self.teaser_logits(outputs), self.manifest.temperature, **corrections)
        for column, kind in enumerate(self.kinds, start=1):
            if kind == BAIT:  # the teaser head alone, under the same calibration
                out[:, column] = calibrated(outputs[:, 0], self.manifest.temperature, **corrections)
            else:  # each kind head is fitted calibrated, its operating point at 0.5
                out[:, column] = 1.0 / (1.0 + np.exp(-outputs[:, 1 + self.manifest.kinds.index(kind)]))
        return out

    def centred(self, outputs: np.ndarray, langs: Sequence[str] | None) -> np.ndarray:
        """``outputs`` with each kind's logit moved by its headline's language offset
        (``Manifest.kinds_offsets``; None, or a language not listed: the entry for any language)."""
        table = self.manifest.kinds_offsets
        if not table or not len(outputs):
            return outputs
        anyone = table[UNDETERMINED]
        rows = [anyone] * len(outputs) if langs is None else [table.get(lang, anyone) for lang in langs]
        moved = outputs.copy()
        moved[:, 1:] += np.asarray(rows, dtype=np.float32).reshape(len(outputs), -1)
        return moved

    def teaser_logits(self, outputs: np.ndarray) -> np.ndarray:
        """The teaser logit of ``outputs`` rows, before calibration: the teaser head's, raised to
        each kind's in ``Manifest.kinds_in_score``, placed so that the kind's operating point (its
        P = 0.5) falls on the threshold; a language's correction, hinged there, keeps the decision."""
        teaser = outputs[:, 0]
        pivot = float(logit(self.manifest.threshold))
        for kind in self.manifest.kinds_in_score:  # a teaser is any of them
            placed = (outputs[:, 1 + self.manifest.kinds.index(kind)] + pivot) * self.manifest.temperature
            teaser = np.maximum(teaser, placed)
        return teaser

    def languages(self, headlines: Sequence[str], langs: Sequence[str | None] | None = None) -> list[str]:
        """The language of each headline by the one rule (``classifier.language.headline_languages``):
        the caller's where ``langs`` names one, else the settings' ``language``, else detected."""
        return headline_languages(headlines, langs, self.settings.language)

    def validated(self, lang: str) -> bool:
        """Whether the calibration that scores ``lang`` was fitted and measured in it."""
        if self.fallback is not None and self._handed_on(lang):
            return self.fallback.validated(lang)
        return lang in self.manifest.languages

    def _handed_on(self, lang: str) -> bool:
        """Whether a routed model hands ``lang`` to its fallback."""
        own = self.routed_languages
        return self.fallback is not None and own is not None and lang not in own

    def corrections(self, langs: Sequence[str]) -> dict[str, np.ndarray | float]:
        """``calibrated``'s keyword arguments for headlines in ``langs``: each one's language's
        correction (none where the manifest holds no entry), hinged at this engine's threshold."""
        table = self.manifest.languages
        found = [table.get(lang) for lang in langs]
        return {
            name: np.array([getattr(c, name) if c else neutral for c in found], np.float32)
            for name, neutral in (("below", 1.0), ("above", 1.0), ("offset", 0.0))
        } | {"pivot": float(logit(self.threshold))}

    def label(
        self, probability: float, threshold: float | None = None, kinds: dict[str, float] | None = None
    ) -> str:
        """The model's label for one probability, at its own threshold unless told another; where the
        settings' ``teaser_kinds`` leave a kind out, a teaser is labelled only if one of the kinds
        kept reaches its own operating point: bait the threshold (it is the teaser head's calibrated
        probability), a kind head 0.5 (a newsroom that keeps celebrity news filters on bait alone)."""
        news, clickbait = self.manifest.labels
        cut = decision_threshold(self.threshold, threshold)
        if probability < cut:
            return news
        wanted = [k for k in self.kinds if k in self.settings.teaser_kinds]
        if kinds and len(wanted) < len(self.kinds):
            reached = (kinds.get(k, 1.0) >= (cut if k == BAIT else 0.5) for k in wanted)
            return clickbait if any(reached) else news
        return clickbait

    def token_count(self, headline: str) -> int:
        """Tokens the model would read from ``headline`` if it had no cap: the base's special tokens
        and the ``"query: "`` prefix included, as the exported tokenizer counts them."""
        return len(self.tokenizer.encode([QUERY_PREFIX + normalise_headline(headline)], 1 << 30)[0])

    def fit(self, headline: str, side: Literal["left", "right"]) -> str:
        """``headline`` cut on ``side`` so that it fits the model's token cap, or unchanged if it fits.

        The engine cuts token ids on its tokenizer's own side; a request for the other side is met by
        cutting the text before it reaches the engine (and its cache), at a word boundary where one
        falls within the cap, so that the words kept are tokenised as they were in the whole headline.
        """
        text = normalise_headline(headline)
        starts, words = self.tokenizer.spans(text)
        overhead = self.token_count(text) - len(starts)  # the specials and the prefix
        budget = self.manifest.max_length - overhead
        if len(starts) <= budget:
            return headline
        if side == "left":
            start = len(words) - budget
            whole = next((i for i in range(start, len(words)) if words[i] != words[i - 1]), start)
            return text[starts[whole] :].strip()
        end = budget  # the first piece left out; back to the start of its word if that keeps any
        whole = next((i for i in range(end, 0, -1) if words[i] != words[i - 1]), end)
        return text[: starts[whole]].strip()

    def score(
        self,
        headlines: Sequence[str],
        threshold: float | None = None,
        langs: Sequence[str | None] | None = None,
    ) -> list[Prediction]:
        found = self.languages(headlines, langs)
        rows = self.scores(headlines, langs=found)
        predictions = []
        for h, row, lang in zip(headlines, rows, found, strict=True):
            kinds = self.kind_scores(row)
            label = self.label(float(row[0]), threshold, kinds)
            predictions.append(Prediction(h, float(row[0]), label, lang, self.validated(lang), kinds))
        return predictions

    def kind_scores(self, row: np.ndarray) -> dict[str, float] | None:
        """One ``scores`` row's kinds by name (None: the model scores no kinds, or not this headline)."""
        kinds = {k: float(p) for k, p in zip(self.kinds, row[1:], strict=True) if not np.isnan(p)}
        return kinds or None

    def _batches(
        self, headlines: Sequence[str], batch_size: int
    ) -> Iterator[tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]]:
        if not headlines:
            return
        encoded = self.tokenizer.encode(
            [QUERY_PREFIX + normalise_headline(h) for h in headlines], self.manifest.max_length
        )
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            yield indices, self.tokenizer.pad([encoded[i] for i in indices])
