"""A training run's checkpoint, so that a run stopped part-way (a killed process, a closed laptop)
goes on from its last validation check when the same command runs again.

It lies beside the artifact directory (``OUT.checkpoint.pt``: writing the artifact replaces that
directory whole), is written at every check by the main process, and is removed once the artifact
is written. It holds what the loop needs to go on as if it had never stopped: the trained
parameters, the optimiser's and the schedule's state, the early-stopping state, the smoothed loss
and the random generator's state (dropout). A recipe, data or step count that differs from the
checkpoint's makes a fresh start, logged: a checkpoint never goes on under another recipe.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from training.config import TrainConfig
from training.data import Example

log = logging.getLogger(__name__)


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint.pt")


class Checkpoint:
    """The checkpoint of one run: its path beside ``config.out`` and a fingerprint of what it trains
    (the recipe, every training row and its target, the step count)."""

    def __init__(
        self, config: TrainConfig, rows: Sequence[Example], targets: torch.Tensor, steps: int
    ) -> None:
        if config.out is None:
            raise ValueError("a checkpoint needs the run's artifact directory")
        self.path = checkpoint_path(config.out)
        digest = hashlib.sha256(f"{config.model_dump_json()}|steps={steps}".encode())
        for example in rows:
            digest.update(f"{example.text}\t{example.lang}\n".encode())
        digest.update(targets.numpy().tobytes())
        self.fingerprint = digest.hexdigest()

    def load(self) -> dict[str, Any] | None:
        """The saved state of this very run, or None (no checkpoint, or another run's)."""
        if not self.path.is_file():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        if state.get("fingerprint") != self.fingerprint:
            log.warning("%s is another recipe's checkpoint: starting afresh", self.path)
            return None
        log.info("going on from %s: step %d", self.path, state["step"])
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` whole or not at all (a run killed while writing keeps the previous one).
        One that cannot be written (a full disk) is logged and skipped: the run goes on, and would
        go on from the previous checkpoint, if any, were it stopped."""
        partial = self.path.with_name(self.path.name + ".partial")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({**state, "fingerprint": self.fingerprint}, partial)
            os.replace(partial, self.path)
        except (OSError, RuntimeError) as exc:  # torch reports a short write as a RuntimeError
            with contextlib.suppress(OSError):  # nothing written, or nowhere to write it
                partial.unlink()
            log.warning("no checkpoint written to %s: %s", self.path, exc)


def rng_state() -> dict[str, Any]:
    """The random generators dropout draws from (CPU, and every GPU where there are any)."""
    return {
        "cpu": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
