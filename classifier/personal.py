"""A reader's personal layer: their own taste on top of the shared model, learnt from their labels.

The layer reads what the shared model already computes for a headline, its calibrated P(teaser) and
its pooled vector (``Scorer.embeddings``), and moves the teaser logit by a small linear term of the
vector: a logistic regression whose offset is the shared logit (centred on the threshold), with a
strong L2 penalty, so that with few labels it stays near the shared score and moves only where the
reader's labels pull it (benchmarks/personal.py chose it over nearest neighbours and a bias alone:
docs/results/2026-12-06-personal.md). Beside the vector it reads the headline's words, and its
marks (quotes, questions, exclamations, colons, digits, capitals…) each as a feature of its own:
a house rule is often about form, which a mean-pooled vector barely carries and a bag of a dozen
words dilutes (docs/results/2026-12-07-personal-marks.md). Fitting is a handful of Newton steps on a
few hundred numbers, no training stack; the fitted layer keeps its labelled headlines' vectors so
that an answer it moved can name the nearest of them (why).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifier.scorer import logit
from classifier.text import normalise_headline

NEWTON_STEPS = 25


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (the cosine geometry of E5's pooled vectors)."""
    v = np.asarray(vectors, dtype=np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def spread(centred: np.ndarray) -> float:
    """The root mean square length of centred vectors: features are divided by it, so that the
    penalty means the same whatever the model's geometry (E5's vectors sit close together)."""
    found = float(np.sqrt(np.mean(np.sum(np.square(centred), axis=1)))) if len(centred) else 0.0
    return found if found > 1e-6 else 1.0


def centred_logits(probs: np.ndarray, threshold: float) -> np.ndarray:
    """logit(P) − logit(threshold): 0 on the shared model's decision boundary."""
    return logit(np.asarray(probs, dtype=np.float64)) - float(logit(threshold))


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per label, n / (2 · its class's count): both classes weigh the same in the fit, so that its
    decision at P = 0.5 is the balanced one the shared threshold was chosen for (macro-F1), not the
    likelihood's lean towards whichever class the reader happened to label more."""
    y = np.asarray(y)
    counts = {c: int((y == c).sum()) for c in (0, 1)}
    return np.array([len(y) / (2 * counts[int(c)]) for c in y]) if all(counts.values()) else np.ones(len(y))


def fit_kernel_logistic(
    kernel: np.ndarray, offset: np.ndarray, y: np.ndarray, penalty: float, bias_penalty: float
) -> tuple[np.ndarray, float]:
    """(α, b) of the logistic regression with ``offset`` whose weights are w = Σ αᵢ·xᵢ, ``kernel``
    = [xᵢ·xⱼ]: it minimises Σ cᵢ·logloss(yᵢ, σ(offsetᵢ + w·xᵢ + b)) + penalty/2·|w|² +
    bias_penalty/2·b² (cᵢ: ``balanced_weights``) by Newton's method, in as many unknowns as there are
    labels, whatever the number of features (the loss is convex; a few steps reach it)."""
    n = len(y)
    c = balanced_weights(y)
    alpha, b = np.zeros(n), 0.0
    ones = np.ones(n)

    def objective(a: np.ndarray, bias: float) -> float:
        z = offset + kernel @ a + bias
        loss = c * (np.logaddexp(0, z) - y * z)
        return float(loss.sum() + penalty / 2 * a @ kernel @ a + bias_penalty / 2 * bias**2)

    current = objective(alpha, b)
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(offset + kernel @ alpha + b, -50, 50)))
        s = c * p * (1 - p)
        # The Newton system with the kernel factored out of the weights' rows (valid for any
        # kernel the labels span): (S·K + λ)·Δα + S·1·Δb = c(p − y) + λα, and for the bias its row.
        system = np.zeros((n + 1, n + 1))
        system[:n, :n] = s[:, None] * kernel + penalty * np.eye(n)
        system[:n, n] = s
        system[n, :n] = s @ kernel
        system[n, n] = s @ ones + bias_penalty
        rhs = np.append(c * (p - y) + penalty * alpha, c @ (p - y) + bias_penalty * b)
        step = np.linalg.lstsq(system, rhs, rcond=None)[0]
        size = 1.0  # halved until the objective falls: a full step can overshoot on separable labels
        while size > 1e-4 and objective(alpha - size * step[:n], b - size * step[n]) > current:
            size /= 2
        alpha, b = alpha - size * step[:n], b - size * float(step[n])
        previous, current = current, objective(alpha, b)
        if previous - current < 1e-9 * max(1.0, abs(current)):
            break
    return alpha, b


TOKEN = re.compile(r"\w+|[^\w\s]")
QUOTES = str.maketrans(dict.fromkeys("“”„‟«»‹›〝〞＂", '"'))  # one mark, however a site types it


def tokens(headline: str) -> set[str]:
    """The words and marks of a headline, case-folded (a reader's taste is often in them)."""
    return set(TOKEN.findall(normalise_headline(headline).casefold().translate(QUOTES)))


def token_kernel(a: Sequence[set[str]], b: Sequence[set[str]]) -> np.ndarray:
    """[|Aᵢ ∩ Bⱼ| / √(|Aᵢ|·|Bⱼ|)]: dot products of unit-length bags of tokens."""
    out = np.zeros((len(a), len(b)))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            if x and y:
                out[i, j] = len(x & y) / np.sqrt(len(x) * len(y))
    return out


# Marks of a headline's form, each read as present or not: shared by every language, so that a
# reader's few labels about one of them carry to all their headlines.
MARKS: dict[str, re.Pattern[str]] = {
    "quote": re.compile(r'["“”„«»]'),
    "question": re.compile(r"[?¿]"),
    "exclamation": re.compile(r"[!¡]"),
    "colon": re.compile(r":"),
    "ellipsis": re.compile(r"\.\.\.|…"),
    "digit": re.compile(r"\d"),
    "leading digit": re.compile(r"^\W*\d"),
    "capitals": re.compile(r"\b[^\W\d_a-z]{3,}\b"),  # a word of three or more capitals
    "bracket": re.compile(r"[(\[]"),
}


def mark_features(headlines: Sequence[str]) -> np.ndarray:
    """[n, len(MARKS)]: 1 where the headline has the mark."""
    return np.array([[float(p.search(h) is not None) for p in MARKS.values()] for h in headlines]).reshape(
        len(headlines), len(MARKS)
    )


def _packed(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode("ascii")


def _unpacked(text: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32).reshape(shape).astype(np.float64)


@dataclass(frozen=True)
class PersonalLayer:
    """One reader's layer, fitted on the vectors of ``model`` (a new shared model needs a refit).

    Its features are the headline's unit vector, less ``centre`` and divided by ``scale``, beside
    its bag of tokens (unit length, times ``words``) and its ``MARKS`` (times ``marks``); the shift
    of the teaser logit is ``weights``·vector + the ``token_weights`` of the headline's tokens /
    √(its tokens) + the ``mark_weights`` of its marks + ``bias``."""

    model: str  # the shared model version whose vectors and scores it was fitted on
    centre: np.ndarray  # [hidden] the mean of the labelled unit vectors
    scale: float  # their spread about it (``spread``)
    weights: np.ndarray  # [hidden]
    token_weights: dict[str, float]
    mark_weights: dict[str, float]
    bias: float
    anchors: np.ndarray  # [labels, hidden] the labelled headlines' unit vectors (who is nearest)
    headlines: tuple[str, ...]
    labels: tuple[int, ...]  # 1 = clickbait

    @classmethod
    def fit(
        cls,
        model: str,
        embeddings: np.ndarray,
        probs: Sequence[float],
        labels: Sequence[int],
        headlines: Sequence[str],
        threshold: float,
        penalty: float,
        bias_penalty: float,
        words: float,
        marks: float,
    ) -> PersonalLayer:
        """The layer for a reader's labelled headlines: their vectors, their shared P(teaser) (at the
        shared ``threshold``) and the reader's labels; ``words`` and ``marks``: the weights of the
        tokens and of the marks beside the vector (0: left out)."""
        vectors = unit(embeddings)
        centre = vectors.mean(axis=0)
        scale = spread(vectors - centre)
        features = (vectors - centre) / scale
        bags = [tokens(h) for h in headlines]
        offset = centred_logits(np.asarray(probs), threshold)
        found = mark_features(headlines)
        kernel = features @ features.T + words**2 * token_kernel(bags, bags) + marks**2 * found @ found.T
        y = np.asarray(labels, dtype=np.float64)
        alpha, b = fit_kernel_logistic(kernel, offset, y, penalty, bias_penalty)
        token_weights: dict[str, float] = {}
        for a, bag in zip(alpha, bags, strict=True):
            for token in bag:
                token_weights[token] = token_weights.get(token, 0.0) + words**2 * a / np.sqrt(len(bag))
        return cls(
            model,
            centre,
            scale,
            features.T @ alpha,
            token_weights,
            dict(zip(MARKS, (marks**2 * found.T @ alpha).tolist(), strict=True)),
            b,
            vectors,
            tuple(headlines),
            tuple(int(v) for v in labels),
        )

    def shift(self, embeddings: np.ndarray, headlines: Sequence[str]) -> np.ndarray:
        """How far the layer moves each headline's teaser logit."""
        by_vector = (unit(embeddings) - self.centre) / self.scale @ self.weights
        by_tokens = [
            sum(self.token_weights.get(t, 0.0) for t in bag) / np.sqrt(len(bag)) if bag else 0.0
            for bag in map(tokens, headlines)
        ]
        by_marks = mark_features(headlines) @ np.array([self.mark_weights.get(m, 0.0) for m in MARKS])
        return by_vector + np.array(by_tokens) + by_marks + self.bias

    def apply(self, probs: np.ndarray, embeddings: np.ndarray, headlines: Sequence[str]) -> np.ndarray:
        """The reader's P(teaser): the shared logit moved by ``shift`` (the threshold is unchanged)."""
        moved = logit(np.asarray(probs, dtype=np.float64)) + self.shift(embeddings, headlines)
        return 1.0 / (1.0 + np.exp(-np.clip(moved, -50, 50)))

    def nearest(self, embeddings: np.ndarray, k: int) -> list[list[int]]:
        """For each headline, the indices of the ``k`` labelled headlines nearest to it (cosine)."""
        similarity = unit(embeddings) @ self.anchors.T
        order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        return [list(map(int, row)) for row in order]

    def record(self) -> dict:
        """The layer as JSON (stored with the reader's labels; exported to the reader)."""
        return {
            "model": self.model,
            "hidden": int(self.weights.shape[0]),
            "centre": _packed(self.centre),
            "scale": self.scale,
            "weights": _packed(self.weights),
            "token_weights": self.token_weights,
            "mark_weights": self.mark_weights,
            "bias": self.bias,
            "anchors": _packed(self.anchors),
            "headlines": list(self.headlines),
            "labels": list(self.labels),
        }

    @classmethod
    def from_record(cls, record: dict) -> PersonalLayer:
        hidden, n = int(record["hidden"]), len(record["labels"])
        return cls(
            record["model"],
            _unpacked(record["centre"], (hidden,)),
            float(record["scale"]),
            _unpacked(record["weights"], (hidden,)),
            {str(t): float(w) for t, w in record["token_weights"].items()},
            {
                str(m): float(w) for m, w in record.get("mark_weights", {}).items()
            },  # fitted before marks: none
            float(record["bias"]),
            _unpacked(record["anchors"], (n, hidden)),
            tuple(record["headlines"]),
            tuple(int(v) for v in record["labels"]),
        )
