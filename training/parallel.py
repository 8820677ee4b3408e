"""Training on several processes: one per GPU (or CPU worker) under ``torchrun`` / ``accelerate launch``.

The same command runs alone or launched. Launched (WORLD_SIZE > 1), ``accelerate`` reads the
launcher's environment, joins the process group (NCCL on GPUs, gloo on CPUs) and wraps the network
in DistributedDataParallel. Every process draws the same seeded sample of rows; each step's global
batch of ``batch_size`` rows is split evenly between the processes (``shard``) and DDP averages
their gradients, so a launched run takes the same steps as a lone one, only faster. The main
process alone evaluates, decides early stopping for all (``agree``), calibrates and writes the
artifact. A lone run uses plain PyTorch: accelerate's state is one per process and would pin the
first run's device for every later ``train()`` in it (tests, the retraining service).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import torch

if TYPE_CHECKING:
    from accelerate import Accelerator

T = TypeVar("T")


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(choice)


def launched() -> bool:
    """Whether a launcher started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass
class Workers:
    """This process's place among the training processes (alone: ``accelerator`` is None)."""

    device: torch.device
    accelerator: Accelerator | None = None

    @classmethod
    def start(cls, device_choice: str) -> Workers:
        device = pick_device(device_choice)
        if not launched():
            return cls(device)
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        # accelerate forms a CPU process group only when told the run is on CPU; no buffer changes
        # in training, so DDP need not re-send them (the fp16 embedding table is one) every step
        ddp = DistributedDataParallelKwargs(broadcast_buffers=False)
        accelerator = Accelerator(cpu=device.type == "cpu", kwargs_handlers=[ddp])
        return cls(accelerator.device, accelerator)

    @property
    def count(self) -> int:
        return self.accelerator.num_processes if self.accelerator else 1

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process if self.accelerator else True

    def prepare(
        self, network: torch.nn.Module, optimiser: torch.optim.Optimizer
    ) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        """The model to call in training (DDP-wrapped when launched) and its optimiser."""
        if self.accelerator is None:
            return network, optimiser
        return self.accelerator.prepare(network, optimiser)

    def check_batch(self, batch_size: int) -> None:
        """Equal shards, or the averaged gradients would not be the whole batch's."""
        if batch_size % self.count:
            raise ValueError(
                f"batch_size {batch_size} does not split evenly over {self.count} training processes"
            )

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's share of a global batch of row indices."""
        if self.accelerator is None:
            return batch
        return batch[self.accelerator.process_index :: self.count]

    def backward(self, loss: torch.Tensor) -> None:
        if self.accelerator is None:
            loss.backward()
        else:
            self.accelerator.backward(loss)

    def clip(self, parameters: list[torch.nn.Parameter], max_norm: float) -> None:
        if self.accelerator is None:
            torch.nn.utils.clip_grad_norm_(parameters, max_norm)
        else:
            self.accelerator.clip_grad_norm_(parameters, max_norm)

    def agree(self, value: T) -> T:
        """The main process's ``value``, on every process."""
        if self.accelerator is None:
            return value
        from accelerate.utils import broadcast_object_list

        box = [value]
        broadcast_object_list(box, from_process=0)
        return box[0]

    def finish(self) -> None:
        """Leave the process group once every process is done (a lone run has none)."""
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()
            torch.distributed.destroy_process_group()
