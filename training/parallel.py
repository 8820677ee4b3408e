"""Training on several processes: one per GPU (or CPU worker) under ``torchrun`` / ``accelerate launch``.

The same command runs alone or launched: ``accelerate`` reads the launcher's environment (RANK,
WORLD_SIZE, …), joins the process group (NCCL on GPUs, gloo on CPUs) and wraps the network in
DistributedDataParallel. Every process draws the same seeded sample of rows; each step's global
batch of ``batch_size`` rows is split between the processes (``shard``) and DDP averages their
gradients, so a launched run takes the same steps as a lone one, only faster. The main process
alone evaluates, decides early stopping for all (``agree``), calibrates and writes the artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, broadcast_object_list

T = TypeVar("T")


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(choice)


@dataclass
class Workers:
    """This process's place among the training processes (one process when not launched)."""

    accelerator: Accelerator

    @classmethod
    def start(cls, device_choice: str) -> Workers:
        # accelerate forms a CPU process group only when told the run is on CPU; no buffer changes
        # in training, so DDP need not re-send them (the fp16 embedding table is one) every step
        ddp = DistributedDataParallelKwargs(broadcast_buffers=False)
        return cls(Accelerator(cpu=pick_device(device_choice).type == "cpu", kwargs_handlers=[ddp]))

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def count(self) -> int:
        return self.accelerator.num_processes

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's share of a global batch of row indices."""
        if len(batch) < self.count:
            raise ValueError(f"batch_size {len(batch)} is smaller than the {self.count} training processes")
        return batch[self.accelerator.process_index :: self.count]

    def agree(self, value: T) -> T:
        """The main process's ``value``, on every process."""
        if self.count == 1:
            return value
        box = [value]
        broadcast_object_list(box, from_process=0)
        return box[0]

    def finish(self) -> None:
        """Leave the process group once every process is done (a lone run has none)."""
        self.accelerator.wait_for_everyone()
        if self.count > 1:
            torch.distributed.destroy_process_group()
