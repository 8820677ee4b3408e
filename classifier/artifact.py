"""The trained-classifier artifact: a directory with a manifest, parameters and a model card.

Layout::

    manifest.json        what the model is and how it was made (Manifest below)
    head.safetensors     the linear head
    adapter.safetensors  LoRA weights (method "lora"), or
    encoder.safetensors  every encoder weight except the frozen word embeddings (method "full")
    README.md            model card
    fallback/            a model whose manifest has ``routing``: the artifact that scores every
                         language outside ``routing.languages`` (itself never routed)
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, model_validator

from classifier.base import ResolvedBase, resolve_base
from classifier.errors import ClickbaitError, ErrorType
from classifier.language import UNDETERMINED

if TYPE_CHECKING:  # torch is imported where weights are touched: reading a manifest needs none of it
    import torch

    from classifier.network import HeadlineClassifier

FORMAT_VERSION = 1
LABELS = ("news", "clickbait")
MANIFEST = "manifest.json"
HEAD_FILE = "head.safetensors"
ADAPTER_FILE = "adapter.safetensors"
ENCODER_FILE = "encoder.safetensors"
KINDS_FILE = "kinds.safetensors"  # one linear head per kind of teaser (Manifest.kinds), if any
BAIT = "bait"  # the kind of teaser the teaser head scores itself; kind heads score the others
FROZEN_PREFIX = "embeddings.word_embeddings."
FALLBACK_DIR = "fallback"
PEFT_PREFIX = "base_model.model."  # adapter keys as peft's get_peft_model_state_dict writes them


class ArtifactError(ClickbaitError, ValueError):
    """An artifact directory that cannot be loaded; the message says why."""

    error_type = ErrorType.broken_artifact


class BaseRef(BaseModel):
    name: str
    sha256: str


class LoraSpec(BaseModel):
    r: int
    alpha: int
    target_modules: list[str]
    layers: list[int] | None = None  # the encoder layers adapted; None: all


class DataFile(BaseModel):
    name: str
    sha256: str
    rows: int
    licence: str | None = None  # and origin, where the file is a known public set (training.sources)


class RuntimeCheck(BaseModel):
    """The held-out check of the int8 form as ONNX Runtime runs it (the ``onnx`` engine), at the int8
    form's own temperature and threshold, against the same fp32 figures (``Int8Spec.splits``)."""

    safe: bool  # macro-F1 within Int8Spec.max_drop of fp32 on every split
    runtime: str  # the onnxruntime version measured
    splits: dict[str, float]  # split → macro-F1
    logit_rmse: float  # against fp32 logits over every held-out row


class Int8Spec(BaseModel):
    """The int8 engine's calibration and its held-out check, written by ``clickbait quantize``."""

    safe: bool  # int8 kept macro-F1 within max_drop of fp32 on every split
    alpha: float  # SmoothQuant migration strength of the smoothed Linears' inputs
    temperature: float  # re-fitted on the int8 scores
    threshold: float
    max_drop: float
    full_range: bool = False  # measured with 8-bit activations (VNNI CPUs) rather than torch's 7
    scales_file: str = "int8_scales.safetensors"
    splits: dict[str, dict[str, float]] = {}  # split → {"fp32": macro-F1, "int8": macro-F1}
    logit_rmse: float | None = None  # int8 against fp32 logits over every held-out row
    float_linears: list[str] = []  # encoder Linears left out of int8 (the mixed form), by module name
    float_bf16: bool = False  # those ran in bf16 in the check (CPUs with bf16 arithmetic); elsewhere fp32
    onnx: RuntimeCheck | None = None  # None: not measured, and ``auto`` does not pick the onnx engine


def int8_calibrated(manifest: Manifest) -> Manifest:
    """``manifest`` as its int8 form calibrates it (both int8 engines: torch's and ONNX Runtime's)."""
    spec = manifest.int8
    return manifest.model_copy(update={"temperature": spec.temperature, "threshold": spec.threshold})


class LanguageCalibration(BaseModel):
    """A correction for one language on top of the global calibration, hinged at the decision
    threshold: with x = z/T the logit over the engine's own temperature (fp32's or int8's) and c the
    logit of the engine's own threshold, P = sigmoid(c + k · (x − c) + offset), k = ``below`` for
    x < c and ``above`` from c up. A fit leaves ``offset`` at 0, so the correction never carries a
    headline across the threshold: decisions (and macro-F1) are the global calibration's, in every
    engine. Fitted by likelihood on ``rows`` held-out headlines of the language
    (``training/calibration.py``); a language with an entry is *validated* for this model."""

    below: float = 1.0
    above: float = 1.0
    offset: float = 0.0  # 0 for every fit; the affine corrections of older artifacts keep theirs
    rows: int
    ece_before: float | None = None  # on those rows, global calibration only (15 bins)
    ece_after: float | None = None  # with the correction (on the rows it was fitted on)


def _hinged(languages: dict[str, Any], threshold: float) -> dict[str, Any]:
    """Older artifacts' affine corrections, P = sigmoid(scale · x + offset), as hinged ones:
    k = scale on both sides and the offset moved by (scale − 1) · c, exact where c is the manifest's
    own threshold (fp32; int8's re-fitted threshold differs slightly, and there the offset is off by
    (scale − 1) times that gap in logits)."""
    pivot = math.log(threshold / (1 - threshold))
    out = {}
    for lang, entry in languages.items():
        if isinstance(entry, dict) and "scale" in entry:
            entry = dict(entry)
            scale = entry.pop("scale")
            entry.update(below=scale, above=scale, offset=entry.get("offset", 0.0) + (scale - 1) * pivot)
        out[lang] = entry
    return out


class Routing(BaseModel):
    """Which headlines this artifact's own network scores: those in ``languages``. Every other
    headline is scored by the artifact in ``fallback/``, as that model scored it (a retrain on one
    language's labels changes that language only: ``docs/design/retrain-gate.md``)."""

    languages: list[str]
    fallback_version: str


class Manifest(BaseModel):
    """Everything needed to rebuild and to judge a model; written as manifest.json."""

    format_version: int = FORMAT_VERSION
    version: str
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    base: BaseRef
    method: Literal["lora", "full"]
    layers: int | None = None  # encoder layers kept, counted from the input (distilled students)
    lora: LoraSpec | None = None
    labels: tuple[str, str] = LABELS
    threshold: float = 0.5
    temperature: float = 1.0
    max_length: int = 64
    seed: int = 0
    data: list[DataFile] = []
    metrics: dict[str, Any] = {}
    training: dict[str, Any] = {}
    library_versions: dict[str, str] = {}
    int8: Int8Spec | None = None
    # validated languages (ISO 639-1, as classifier.language names them) → their correction; empty:
    # every language scores with the global calibration alone and none is validated
    languages: dict[str, LanguageCalibration] = {}
    routing: Routing | None = None
    # the kind heads (docs/teasers.md), one logit each from kinds.safetensors; bait is the teaser
    # head's own (Scorer.kinds), so models since 20261207 fit tabloid alone
    kinds: list[str] = []
    # the pooled vector the kind heads read: after this many encoder layers (None: the last, the
    # teaser head's); layers below the adapted ones keep the base's multilingual sense of genre
    kinds_layer: int | None = Field(default=None, ge=0)
    kinds_normalised: bool = False  # the kind heads read that vector scaled to unit length
    # kinds whose probability the teaser score rises to where it is higher: a teaser is bait or
    # tabloid, and a head that learnt bait from clickbait sets leaves tabloid to its kind head
    kinds_in_score: list[str] = []
    # language → a number per kind added to its logit: the heads were fitted on the vector less its
    # language's mean, so that mean's share (-weight · mean) comes off by language; UNDETERMINED's
    # entry serves every language not listed (empty: no offsets). docs/teasers.md
    kinds_offsets: dict[str, list[float]] = {}

    @model_validator(mode="after")
    def _scored_kinds_exist(self) -> Manifest:
        if unknown := set(self.kinds_in_score) - set(self.kinds):
            raise ValueError(f"kinds_in_score names kinds the model lacks: {sorted(unknown)}")
        if BAIT in self.kinds_in_score:
            raise ValueError("kinds_in_score cannot name bait: the teaser head scores it")
        if self.kinds_offsets and (
            UNDETERMINED not in self.kinds_offsets
            or any(len(o) != len(self.kinds) for o in self.kinds_offsets.values())
        ):
            raise ValueError(
                f"kinds_offsets needs one number per kind for each language and for {UNDETERMINED!r}"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _older_corrections(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("languages"):
            return {**data, "languages": _hinged(data["languages"], data.get("threshold", 0.5))}
        return data


def dated_version(digest: hashlib._Hash) -> str:
    """A model's name: today's date and the start of ``digest`` (of what makes it this model)."""
    return f"{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}"


def library_versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}


def save_artifact(network: HeadlineClassifier, manifest: Manifest, out_dir: Path, model_card: str) -> None:
    """Write atomically: the directory appears complete or not at all."""
    from safetensors.torch import save_file

    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        head = {k: v.detach().contiguous() for k, v in network.head.state_dict().items()}
        save_file(head, str(staging / HEAD_FILE))
        if manifest.kinds and network.kinds is not None:
            kinds = {k: v.detach().contiguous() for k, v in network.kinds.state_dict().items()}
            save_file(kinds, str(staging / KINDS_FILE))
        if manifest.method == "lora":
            from peft import get_peft_model_state_dict

            adapter = get_peft_model_state_dict(network.encoder)  # fp16 halves the file
            save_file({k: v.half().contiguous() for k, v in adapter.items()}, str(staging / ADAPTER_FILE))
        else:
            encoder = {
                k: v.detach().contiguous()
                for k, v in network.encoder.state_dict().items()
                if not k.startswith(FROZEN_PREFIX)
            }
            save_file(encoder, str(staging / ENCODER_FILE))
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2))
        (staging / "README.md").write_text(model_card)
        for file in staging.iterdir():
            file.chmod(0o644)
        staging.chmod(0o755)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.rename(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_manifest(model_dir: Path, manifest: Manifest) -> None:
    """Replace an artifact's manifest atomically (a reader sees the old one or the new one)."""
    staging = model_dir / f".{MANIFEST}.tmp"
    staging.write_text(manifest.model_dump_json(indent=2))
    staging.chmod(0o644)
    os.replace(staging, model_dir / MANIFEST)


def read_manifest(model_dir: Path) -> Manifest:
    path = model_dir / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{model_dir} is not a classifier artifact: {MANIFEST} is missing")
    try:
        manifest = Manifest.model_validate_json(path.read_text())
    except ValueError as exc:
        raise ArtifactError(f"{path} is not a valid manifest: {exc}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format version {manifest.format_version} is not supported "
            f"(this release reads {FORMAT_VERSION})"
        )
    return manifest


def load_network(
    model_dir: Path, merge: bool = True, trainable: bool = False
) -> tuple[HeadlineClassifier, Manifest, ResolvedBase]:
    """Rebuild the network in eval mode, LoRA adapters merged into the weights; on the lean
    inference encoder unless ``trainable`` (transformers' encoder: dropout, gradients, peft) — as it
    is when ``merge=False`` keeps the adapters apart, so that training can go on from them."""
    from classifier.base import load_encoder, load_inference_encoder
    from classifier.network import HeadlineClassifier

    manifest = read_manifest(model_dir)
    base = checked_base(model_dir, manifest)
    encoder = load_encoder(base.path) if trainable or not merge else load_inference_encoder(base.path)
    if manifest.layers is not None:
        keep_layers(encoder, manifest.layers)
    try:
        if manifest.method == "lora":
            adapter = _load_tensors(model_dir / ADAPTER_FILE)
            encoder = (
                _merge_lora(encoder, manifest, adapter) if merge else _attach_lora(encoder, manifest, adapter)
            )
        else:
            missing, unexpected = encoder.load_state_dict(
                _load_tensors(model_dir / ENCODER_FILE), strict=False
            )
            if unexpected or any(not k.startswith(FROZEN_PREFIX) for k in missing):
                raise ArtifactError(f"{model_dir}: encoder weights do not match the base model")
        network = HeadlineClassifier(
            encoder,
            kinds=len(manifest.kinds),
            kinds_layer=manifest.kinds_layer,
            kinds_normalised=manifest.kinds_normalised,
        )
        network.head.load_state_dict(_load_tensors(model_dir / HEAD_FILE))
        if network.kinds is not None:
            network.kinds.load_state_dict(_load_tensors(model_dir / KINDS_FILE))
    except RuntimeError as exc:  # shape mismatches from load_state_dict
        raise ArtifactError(f"{model_dir}: parameters do not fit the base model: {exc}") from exc
    return network.eval(), manifest, base


def checked_base(model_dir: Path, manifest: Manifest) -> ResolvedBase:
    """The installed base ``manifest`` names, refused where it is not the one the model was trained on."""
    base = resolve_base(manifest.base.name)
    if base.sha256 != manifest.base.sha256:
        raise ArtifactError(
            f"{model_dir} was trained on base {manifest.base.name} with hash "
            f"{manifest.base.sha256[:12]}, but the installed base hashes to {base.sha256[:12]}"
        )
    return base


def keep_layers(encoder, layers: int) -> None:
    """Drop every transformer layer after the first ``layers``, in place (a student's encoder)."""
    blocks = encoder.encoder.layer
    if not 1 <= layers <= len(blocks):
        raise ArtifactError(f"cannot keep {layers} layers of a {len(blocks)}-layer encoder")
    encoder.encoder.layer = blocks[:layers]
    encoder.config.num_hidden_layers = layers


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not path.is_file():
        raise ArtifactError(f"{path.parent}: {path.name} is missing")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ArtifactError(f"{path} is corrupt or truncated: {exc}") from exc


def add_lora(encoder, spec: LoraSpec, dropout: float = 0.0):  # -> peft.PeftModel
    """Wrap ``encoder`` with fresh LoRA adapters on ``spec.target_modules``."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=dropout,
        target_modules=spec.target_modules,
        layers_to_transform=spec.layers,
    )
    with warnings.catch_warnings():  # peft reads a property that transformers 5 deprecates
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(encoder, config)


def _attach_lora(encoder, manifest: Manifest, adapter: dict[str, torch.Tensor]):
    """The adapter kept apart (peft), so that training can go on from it."""
    from peft import set_peft_model_state_dict

    if manifest.lora is None:
        raise ArtifactError("manifest says method 'lora' but has no 'lora' section")
    peft_model = add_lora(encoder, manifest.lora)
    result = set_peft_model_state_dict(peft_model, {k: v.float() for k, v in adapter.items()})
    if result.unexpected_keys:
        raise ArtifactError(f"adapter holds unexpected weights: {result.unexpected_keys[:3]}")
    return peft_model


def lora_deltas(manifest: Manifest, adapter: dict) -> dict[str, tuple[float, Any, Any]]:
    """Per adapted Linear (its name in the encoder): (alpha/r, A, B), so that W += (B·A)·alpha/r.
    Checked once for every engine that merges (torch's here, ``classifier.numpy_bert``); the
    matrices are the adapter's own (torch tensors or numpy arrays)."""
    if manifest.lora is None:
        raise ArtifactError("manifest says method 'lora' but has no 'lora' section")
    pairs: dict[str, dict[str, Any]] = {}
    for key, tensor in adapter.items():
        name, _, part = key.removeprefix(PEFT_PREFIX).rpartition(".lora_")
        if part not in ("A.weight", "B.weight") or not name.endswith(tuple(manifest.lora.target_modules)):
            raise ArtifactError(f"adapter holds unexpected weights: {key}")
        pairs.setdefault(name, {})[part[0]] = tensor
    for name, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            raise ArtifactError(f"adapter for {name} lacks its A or B matrix")
    scaling = manifest.lora.alpha / manifest.lora.r
    return {name: (scaling, pair["A"], pair["B"]) for name, pair in pairs.items()}


def _merge_lora(encoder, manifest: Manifest, adapter: dict[str, torch.Tensor]):
    """W += (B·A)·alpha/r for every adapted Linear — what peft's merge_and_unload computes, without
    importing peft or wrapping the model (seconds of every start-up)."""
    import torch

    with torch.no_grad():
        for name, (scaling, a, b) in lora_deltas(manifest, adapter).items():
            try:
                linear = encoder.get_submodule(name)
            except AttributeError as exc:
                raise ArtifactError(f"adapter weights for {name}, which the base model lacks") from exc
            linear.weight += (b.float() @ a.float()) * scaling
    return encoder
