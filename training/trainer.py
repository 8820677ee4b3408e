"""Fine-tuning: balanced sampling, LoRA or full fine-tune, early stopping, calibration, artifact."""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from classifier.artifact import (
    FROZEN_PREFIX,
    BaseRef,
    LoraSpec,
    Manifest,
    Routing,
    add_lora,
    dated_version,
    library_versions,
    load_network,
    save_artifact,
)
from classifier.base import ResolvedBase, load_encoder, load_tokenizer, resolve_base
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, calibrated
from classifier.settings import get_settings
from classifier.text import QUERY_PREFIX
from classifier.torch_backend import TorchBackend
from training.calibration import (
    Calibration,
    calibrate_on,
    macro_f1_by_threshold,
    row_languages,
)
from training.card import render_model_card
from training.checkpoint import Checkpoint, checkpoint_path, rng_state, set_rng_state
from training.config import TrainConfig
from training.data import (
    DataError,
    Dataset,
    Example,
    load_dataset,
    random_rows,
    sampling_weights,
    split_holdout,
)
from training.evaluate import model_metrics
from training.parallel import Workers
from training.sources import data_licence

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    out: Path
    manifest: Manifest
    seconds: float
    main: bool = True  # False in the other processes of a launched run (the main one reports)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


Progress = Callable[[int, int], None]  # (steps done, steps planned)


class Objective(Protocol):
    """What a kind of training supplies to the one recipe: its network and what each row is fitted to.

    The trainer owns this extension point, so that variants extend it without the trainer knowing
    them (distillation, ``training/distill.py``, is one); split, early stopping, calibration and
    the artifact stay the trainer's.
    """

    layers: int | None  # encoder layers the network keeps, recorded in the manifest (None: all)

    def build(self, config: TrainConfig) -> tuple[HeadlineClassifier, ResolvedBase]:
        """The network to train and the base it stands on."""
        ...

    def rows_and_targets(
        self, train_rows: list[Example], held_out: list[Example]
    ) -> tuple[list[Example], torch.Tensor | None]:
        """The rows to train on and one target probability per row (None: their labels)."""
        ...

    def record(self) -> dict:
        """What the manifest's ``training`` section keeps about this objective."""
        ...


class Labels:
    """Ordinary training: a fresh network on the base (or ``init_from``'s), fitted to the labels."""

    layers = None

    def build(self, config: TrainConfig) -> tuple[HeadlineClassifier, ResolvedBase]:
        return _build_network(config)

    def rows_and_targets(
        self, train_rows: list[Example], held_out: list[Example]
    ) -> tuple[list[Example], torch.Tensor | None]:
        return train_rows, None

    def record(self) -> dict:
        return {}


def train(
    config: TrainConfig,
    dataset: Dataset | None = None,
    *,
    progress: Progress | None = None,
    version: str | None = None,
    objective: Objective | None = None,
    validation: list[Example] | None = None,
    calibrate: Callable[[Scorer], Calibration] | None = None,
    routing: Routing | None = None,
) -> TrainResult:
    """Run the whole recipe and write the artifact to ``config.out``; returns what was written.

    ``progress`` hears of every step; ``version`` names the artifact (default: date + recipe hash).
    ``objective`` supplies the network and the targets (default: ``Labels``, the rows' own labels);
    split, early stopping, calibration and the artifact are the same for every objective. Launched
    by ``torchrun`` or ``accelerate launch``, every process trains its share and the main one writes
    the artifact (``training/parallel.py``). ``validation``: the rows for early stopping and
    calibration, instead of the recipe's hold-out of ``dataset`` (which is then trained on whole).
    ``calibrate``: the calibration of the trained network (default: fitted on the validation rows,
    ``calibrate_on``), and ``routing`` the manifest's, so that a retrain writes its artifact once,
    measured as it will be served.
    """
    if config.out is None:
        raise DataError("no artifact directory to write: give --out, or `out` in the recipe")
    started = time.perf_counter()
    seed_everything(config.seed)
    workers = Workers.start(config.device)  # first: launched on CPUs, accelerate sets the thread count
    if config.threads:
        torch.set_num_threads(config.threads)
    dataset = dataset or load_dataset(config.data)
    train_rows, val_rows = _split(config, dataset, validation)
    objective = objective or Labels()
    train_rows, targets = objective.rows_and_targets(train_rows, val_rows)
    network, base = objective.build(config)
    network = network.to(workers.device)
    manifest = _new_manifest(config, dataset, base, objective.layers, version)
    scorer = Scorer(TorchBackend(network), load_tokenizer(base.path), manifest)
    early_stop_rows = random_rows(val_rows, config.max_eval_rows, config.seed)
    history = _fit(config, network, scorer, workers, train_rows, early_stop_rows, targets, progress)
    if not workers.is_main:  # the main process calibrates and writes, then sends its manifest
        written = Manifest.model_validate_json(workers.agree(None))
        workers.finish()
        return TrainResult(config.out, written, time.perf_counter() - started, main=False)

    network.eval()
    if config.method == "lora":
        _round_trainable_to_fp16(network)  # the artifact stores fp16: calibrate what is saved
    fitted = calibrate(scorer) if calibrate is not None else calibrate_on(scorer, val_rows)
    manifest.temperature, manifest.threshold = fitted.temperature, fitted.threshold
    manifest.languages, manifest.routing = fitted.languages, routing
    kinds_report = _kind_heads(config, network, scorer, train_rows, val_rows, manifest)
    # as served: this calibration, the kinds too
    manifest.metrics = model_metrics(scorer, val_rows, row_languages(val_rows), config.eval_data)
    manifest.training = {
        "config": config.model_dump(mode="json"),
        "train_rows": len(train_rows),
        "validation_rows": len(val_rows),
        "duplicates_dropped": dataset.duplicates_dropped,
        "conflicts_dropped": dataset.conflicts_dropped,
        "history": history,
        "seconds": round(time.perf_counter() - started, 1),
        "device": str(workers.device),
        "processes": workers.count,
        **objective.record(),
        **({"kinds": kinds_report} if kinds_report else {}),
    }
    network.cpu()
    save_artifact(network, manifest, config.out, render_model_card(manifest))
    checkpoint_path(config.out).unlink(missing_ok=True)  # written: nothing left to go on from
    workers.agree(manifest.model_dump_json())
    workers.finish()
    return TrainResult(config.out, manifest, time.perf_counter() - started)


def _split(
    config: TrainConfig, dataset: Dataset, validation: list[Example] | None
) -> tuple[list[Example], list[Example]]:
    """(training rows, validation rows): the recipe's hold-out of ``dataset``, or ``validation``
    beside all of it; each needs both labels."""
    if validation is None:
        train_rows, val_rows = split_holdout(dataset.examples, config.holdout_fraction, config.holdout_by)
    else:
        train_rows, val_rows = dataset.examples, validation
    if len({e.label for e in train_rows}) < 2 or len({e.label for e in val_rows}) < 2:
        raise DataError("training and validation splits each need both labels; add data")
    log.info(
        "%d rows after de-duplication (%d duplicates, %d conflicting rows dropped); %d train / %d validation",
        len(dataset.examples),
        dataset.duplicates_dropped,
        dataset.conflicts_dropped,
        len(train_rows),
        len(val_rows),
    )
    return train_rows, val_rows


def _new_manifest(
    config: TrainConfig, dataset: Dataset, base: ResolvedBase, layers: int | None, version: str | None
) -> Manifest:
    """The manifest of the network about to be trained; calibration and metrics come after."""
    return Manifest(
        version=version or _version_id(config, dataset),
        base=BaseRef(name=base.name, sha256=base.sha256),
        method=config.method,
        layers=layers,
        lora=_lora_spec(config),
        max_length=config.max_length,
        seed=config.seed,
        data=[f.model_copy(update={"licence": data_licence(f.name)}) for f in dataset.files],
        library_versions=library_versions(),
    )


def _kind_heads(
    config: TrainConfig,
    network: HeadlineClassifier,
    scorer: Scorer,
    rows: list[Example],
    held_out: list[Example],
    manifest: Manifest,
) -> dict | None:
    """Fit the kind heads where the rows say those kinds (``training/kinds.py``); a model
    gone on from one that has them keeps its heads otherwise. Returns the fit's report."""
    from classifier.artifact import read_manifest
    from training.kinds import KIND_NAMES, fit_kinds, has_kinds, kind_options, kind_rows, with_files

    rows, held_out, files = kind_rows(config, rows, held_out)
    if has_kinds(rows):
        heads = fit_kinds(scorer, rows, seed=config.seed, **kind_options(config, held_out))
        network.kinds = torch.nn.Linear(heads.weight.shape[1], len(KIND_NAMES)).to(
            next(network.parameters()).device
        )
        with torch.no_grad():
            network.kinds.weight.copy_(torch.from_numpy(heads.weight))
            network.kinds.bias.copy_(torch.from_numpy(heads.bias))
        network.kinds_layer = manifest.kinds_layer = config.kinds_layer
        network.kinds_normalised = manifest.kinds_normalised = config.kinds_normalised
        manifest.kinds = list(KIND_NAMES)
        manifest.kinds_in_score, manifest.kinds_offsets = config.kinds_in_score, heads.offsets
        manifest.data = with_files(manifest.data, files)
        return heads.report
    if network.kinds is not None and config.init_from is not None:  # kept as they read: same layer, same rule
        kept = read_manifest(config.init_from)
        manifest.kinds, manifest.kinds_layer = kept.kinds, kept.kinds_layer
        manifest.kinds_normalised, manifest.kinds_in_score = kept.kinds_normalised, kept.kinds_in_score
        manifest.kinds_offsets = kept.kinds_offsets
    return None


def _build_network(config: TrainConfig) -> tuple[HeadlineClassifier, ResolvedBase]:
    """A fresh network on the base, or the ``init_from`` artifact's (LoRA kept apart) to go on from."""
    if config.init_from is not None:
        network, manifest, base = load_network(config.init_from, merge=False)
        if manifest.method != config.method or manifest.base.name != config.base:
            raise DataError(
                f"init_from {config.init_from} is a {manifest.method} model on "
                f"{manifest.base.name}; this recipe trains {config.method} on {config.base}"
            )
        network.dropout.p = config.head_dropout
    else:
        base = resolve_base(config.base, get_settings().cache_dir)
        encoder = load_encoder(base.path)
        if config.method == "lora":
            encoder = add_lora(encoder, _lora_spec(config), config.lora_dropout)
        network = HeadlineClassifier(encoder, dropout=config.head_dropout)
    if config.method == "full":
        for name, parameter in network.encoder.named_parameters():
            parameter.requires_grad = not name.startswith(FROZEN_PREFIX)
    return network, base


def _lora_spec(config: TrainConfig) -> LoraSpec | None:
    if config.method != "lora":
        return None
    return LoraSpec(
        r=config.lora_r,
        alpha=config.lora_alpha,
        target_modules=config.lora_targets,
        layers=config.lora_layers,
    )


def _version_id(config: TrainConfig, dataset: Dataset) -> str:
    """Readable and unique: date plus a hash of the recipe and the data."""
    digest = hashlib.sha256(config.model_dump_json(exclude={"out"}).encode())
    for file in dataset.files:
        digest.update(file.sha256.encode())
    return dated_version(digest)


def _fit(
    config: TrainConfig,
    network: HeadlineClassifier,
    scorer: Scorer,
    workers: Workers,
    train_rows: list[Example],
    check_rows: list[Example],
    targets: torch.Tensor | None = None,
    progress: Progress | None = None,
) -> list[dict]:
    """The optimisation loop; leaves the best-scoring parameters in ``network``.

    ``targets`` (one probability per training row) replace the labels: soft scores to distil.
    Each process trains on its shard of every batch; the main one scores the check rows.
    """
    device = next(network.parameters()).device
    encoded = scorer.tokenizer.encode([QUERY_PREFIX + e.text for e in train_rows], config.max_length)
    labels = targets if targets is not None else torch.tensor([float(e.label) for e in train_rows])
    total_steps, order = _draws(config, train_rows)
    trained, optimiser, schedule = _optimiser(config, network, total_steps)
    checkpoint = Checkpoint(config, train_rows, labels, total_steps) if config.checkpoints else None
    saved = checkpoint.load() if checkpoint is not None else None
    best, best_state, stale, history, smoothed_loss, start = -np.inf, None, 0, [], None, 0
    if saved is not None:  # before the workers wrap them: every process goes on from the same state
        network.load_state_dict(saved["trained"], strict=False)
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        best, best_state, stale = saved["best"], saved["best_state"], saved["stale"]
        history, smoothed_loss = saved["history"], saved["loss"]
        start = total_steps if stale >= config.patience else saved["step"]  # an early stop is done
    workers.check_batch(config.batch_size)
    model, optimiser = workers.prepare(network, optimiser)
    if saved is not None:  # the generators as they were at that check, whatever preparing drew
        set_rng_state(saved["rng"])
    check_texts, check_labels = [e.text for e in check_rows], np.array([e.label for e in check_rows])
    started, signal = time.perf_counter(), f"val_{config.stop_on}"

    def check() -> float:
        network.eval()
        return workers.agree(
            _check(scorer, check_texts, check_labels, config.stop_on) if workers.is_main else None
        )

    if config.init_from is not None and saved is None:  # the start is a candidate too: a run that
        best = check()  # never beats it keeps it
        best_state = copy.deepcopy(_trainable_state(network))
        history.append({"step": 0, signal: round(best, 4)})

    bar = tqdm(
        range(start, total_steps),
        desc="training",
        unit="step",
        initial=start,
        total=total_steps,
        dynamic_ncols=True,
        disable=not workers.is_main,
    )

    def say(message: str) -> None:
        if workers.is_main:
            bar.write(message, sys.stderr)

    def keep(step: int) -> None:
        if workers.is_main and checkpoint is not None:
            checkpoint.save(
                {
                    "step": step,
                    "trained": _trainable_state(network),
                    "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(),
                    "best": best,
                    "best_state": best_state,
                    "stale": stale,
                    "history": history,
                    "loss": smoothed_loss,
                    "rng": rng_state(),
                }
            )

    for step in bar:
        network.train()
        batch = workers.shard(order[step * config.batch_size : (step + 1) * config.batch_size])
        input_ids, mask = scorer.tokenizer.pad([encoded[i] for i in batch])
        target = labels[batch] * (1 - config.label_smoothing) + 0.5 * config.label_smoothing
        logits = model(torch.from_numpy(input_ids).to(device), torch.from_numpy(mask).to(device))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target.to(device))
        optimiser.zero_grad(set_to_none=True)
        workers.backward(loss)
        workers.clip(trained, 1.0)
        optimiser.step()
        schedule.step()
        smoothed_loss = loss.item() if smoothed_loss is None else 0.95 * smoothed_loss + 0.05 * loss.item()
        rate = (step + 1 - start) * config.batch_size / (time.perf_counter() - started)
        bar.set_postfix(loss=f"{smoothed_loss:.4f}", headlines_s=f"{rate:.0f}")
        if progress is not None:
            progress(step + 1, total_steps)

        if (step + 1) % config.eval_every == 0 or step + 1 == total_steps:
            value = check()
            history.append({"step": step + 1, "loss": round(smoothed_loss, 4), signal: round(value, 4)})
            say(f"step {step + 1}: loss {smoothed_loss:.4f}, validation {config.stop_on} {value:.4f}")
            if value > best:
                best, stale = value, 0
                best_state = copy.deepcopy(_trainable_state(network))
            else:
                stale += 1
            keep(step + 1)
            if stale >= config.patience:
                say(f"early stop: no gain in {stale} checks")
                break
    bar.close()
    if best_state is not None:
        network.load_state_dict(best_state, strict=False)
    return history


def _draws(config: TrainConfig, train_rows: list[Example]) -> tuple[int, torch.Tensor]:
    """(steps, the row of every batch place): ``samples_per_epoch`` rows an epoch (all, by
    default), drawn with replacement by ``sampling_weights`` with the recipe's seed."""
    samples = config.samples_per_epoch or len(train_rows)
    total_steps = max(1, round(config.epochs * samples / config.batch_size))
    generator = torch.Generator().manual_seed(config.seed)
    weights = torch.as_tensor(
        sampling_weights(
            train_rows, config.lang_alpha, config.lang_weights, config.file_shares, config.source_alpha
        )
    )
    return total_steps, torch.multinomial(weights, total_steps * config.batch_size, True, generator=generator)


def _optimiser(
    config: TrainConfig, network: HeadlineClassifier, total_steps: int
) -> tuple[list[torch.nn.Parameter], torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """(the parameters trained, AdamW with the body's and the head's learning rates, its linear
    warm-up and decay over ``total_steps``)."""
    head_params = list(network.head.parameters())
    body_params = [p for p in network.encoder.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [{"params": body_params, "lr": config.lr}, {"params": head_params, "lr": config.head_lr}],
        weight_decay=config.weight_decay,
    )
    schedule = get_linear_schedule_with_warmup(optimiser, int(config.warmup_ratio * total_steps), total_steps)
    return body_params + head_params, optimiser, schedule


def _check(scorer: Scorer, texts: list[str], labels: np.ndarray, signal: str) -> float:
    """The early-stopping signal of the model as it stands, higher is better: macro-F1 at 0.5, or
    the negated log-loss of its raw probabilities (smoother on a few dozen rows)."""
    logits = scorer.logits(texts)
    if signal == "neg_log_loss":
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            torch.as_tensor(logits, dtype=torch.float64), torch.as_tensor(labels, dtype=torch.float64)
        )
        return -float(loss)
    return float(macro_f1_by_threshold(calibrated(logits, 1.0), labels, np.array([0.5]))[0])


def _round_trainable_to_fp16(network: torch.nn.Module) -> None:
    with torch.no_grad():
        for parameter in network.encoder.parameters():
            if parameter.requires_grad:
                parameter.copy_(parameter.half().float())


def _trainable_state(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    trainable = {name for name, p in network.named_parameters() if p.requires_grad}
    return {k: v for k, v in network.state_dict().items() if k in trainable}
