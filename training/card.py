"""The model card (README.md inside an artifact), written from the manifest alone."""

from __future__ import annotations

from classifier.artifact import BAIT, Manifest
from training.sources import data_licence


def _metric_rows(name: str, metrics: dict) -> list[str]:
    def cells(m: dict) -> str:
        auc = "—" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
        return (
            f"{m['n']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['clickbait_f1']:.4f} "
            f"| {auc} | {m['ece']:.4f}"
        )

    rows = [f"| {name} | {cells(metrics)} |"]
    rows += [
        f"| {name} · {lang} | {cells(m)} |"
        for lang, m in metrics.get("languages", {}).items()
        if len(metrics["languages"]) > 1
    ]
    return rows


LANGUAGE_LINE = "Calibrated per language"  # how the card's line on languages begins


def language_line(manifest: Manifest) -> str:
    """The validated languages, as the model card lists them."""
    fitted = ", ".join(
        f"{lang} ({c.rows} rows"
        + (
            f", ECE {c.ece_before:.3f} → {c.ece_after:.3f})"
            if c.ece_before is not None and c.ece_after is not None
            else ")"
        )
        for lang, c in manifest.languages.items()
    )
    return (
        f"{LANGUAGE_LINE} (a correction on top of the temperature, hinged at the threshold so that "
        f"it moves no decision) and so validated in: {fitted}; "
        "a headline in any other language is scored, flagged `validated: false`."
    )


def _method(manifest: Manifest) -> str:
    """The base encoder and how it was trained on top of."""
    lora = manifest.lora
    adapter = (
        f" (LoRA r={lora.r}, alpha={lora.alpha}, "
        f"on {', '.join(lora.target_modules)}"
        + (f" of layers {', '.join(map(str, lora.layers))}" if lora.layers else "")
        + ")"
        if lora
        else ""
    )
    return (
        f"Base encoder: `{manifest.base.name}` (sha256 {manifest.base.sha256[:16]}…), "
        f"method: {manifest.method}" + adapter + ", mean pooling, linear head."
    )


def _kinds_line(manifest: Manifest) -> str:
    """What the teaser-kind heads read and whether they move the teaser score."""
    source = (
        "the same pooled vector"
        if manifest.kinds_layer is None
        else f"the pooled vector after layer {manifest.kinds_layer}"
        + (" (unit length)" if manifest.kinds_normalised else "")
        + (
            ", less its language's mean (offsets for " + ", ".join(sorted(manifest.kinds_offsets)) + ")"
            if manifest.kinds_offsets
            else ""
        )
    )
    effect = (
        "the teaser score is the highest of the teaser head's and "
        + ", ".join(f"P({kind})" for kind in manifest.kinds_in_score)
        + "."
        if manifest.kinds_in_score
        else "they say which kind of teaser, and change no score."
    )
    return (
        "Kinds: beside the teaser score, P(bait) is the teaser head's own calibrated probability, "
        "and heads on "
        + source
        + " give "
        + " and ".join(f"P({kind})" for kind in manifest.kinds if kind != BAIT)
        + " (docs/teasers.md); "
        + effect
    )


def _routing_line(manifest: Manifest) -> str:
    routing = manifest.routing
    return (
        f"Routed: this model scores headlines in {', '.join(routing.languages)}; every "
        f"other headline is scored by `fallback/`, version {routing.fallback_version}, "
        "the model it was retrained from."
    )


def _summary(manifest: Manifest) -> list[str]:
    """The heading and the paragraph on what the model is."""
    return [
        f"# Clickbait classifier {manifest.version}",
        "",
        "Scores how likely a news headline is a tabloid/clickbait teaser rather than a real news item.",
        _method(manifest),
        (
            f"Calibration temperature {manifest.temperature:.4f}; "
            f"decision threshold {manifest.threshold:.3f} (chosen for validation macro-F1)."
        ),
        *([language_line(manifest)] if manifest.languages else []),
        *([_kinds_line(manifest)] if manifest.kinds else []),
        *([_routing_line(manifest)] if manifest.routing else []),
    ]


def _training_data(manifest: Manifest) -> list[str]:
    """The data files, and what de-duplication and training made of them."""
    training = manifest.training
    lines = [
        "",
        "## Training data",
        "",
        "| file | rows | sha256 | licence / origin |",
        "| --- | --- | --- | --- |",
    ]
    for file in manifest.data:
        licence = file.licence or data_licence(file.name) or "see data owner"
        lines.append(f"| {file.name} | {file.rows} | {file.sha256[:12]}… | {licence} |")
    lines += [
        "",
        (
            f"Rows after de-duplication: train {training.get('train_rows')}, validation "
            f"{training.get('validation_rows')} "
            f"(hold-out by {training.get('config', {}).get('holdout_by')} hash); "
            f"{training.get('conflicts_dropped', 0)} rows with conflicting labels dropped. "
            f"Training took {training.get('seconds')} s on {training.get('device')}, seed {manifest.seed}."
        ),
    ]
    return lines


def _quality(manifest: Manifest) -> list[str]:
    """The metrics table, and the sources measured on but never trained on."""
    lines = [
        "",
        "## Measured quality",
        "",
        "| set | n | accuracy | macro-F1 | clickbait-F1 | ROC AUC | ECE |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    metrics = manifest.metrics
    if "validation" in metrics:
        lines += _metric_rows("validation split", metrics["validation"])
    for name, file_metrics in metrics.get("eval_files", {}).items():
        lines += _metric_rows(name, file_metrics)
    measured_on = [n for n in metrics.get("eval_files", {}) if data_licence(n)]
    if measured_on:
        lines += ["", "Measured on, never trained on:"]
        lines += [f"- {name}: {data_licence(name)}" for name in measured_on]
    return lines


LIMITS = [
    "",
    "## Limits",
    "",
    (
        "Labels in several sources follow the publisher, not the wording, and the Romanian set is a "
        "noisy mix of scraped, translated and generated lines: expect lower quality on sites and "
        "styles far from these. Attribution: the datasets above (CC BY / CC BY-SA require it)."
    ),
    "",
]


def render_model_card(manifest: Manifest) -> str:
    """The card: what the model is, what it was trained on, how well it did, and its limits."""
    return "\n".join([*_summary(manifest), *_training_data(manifest), *_quality(manifest), *LIMITS])
