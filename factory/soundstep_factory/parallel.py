"""Data parallelism for the teacher and distillation loops: `accelerate launch` (DDP), or one process.

Usage: accelerate launch --num_processes N --multi_gpu -m soundstep_factory.distill --config small
       ACCELERATE_USE_CPU=true CUDA_VISIBLE_DEVICES= accelerate launch --multi_gpu --num_processes 2 \
           -m soundstep_factory.distill --config micro   (2 CPU processes, gloo: tests/test_parallel.py)
       (the same for `-m soundstep_factory.train --stage teacher`). A plain `python -m ...` is one
       process, and `Parallel` below then does exactly what the loops did before it existed.

Every process draws the same global batch from the step's CPU generator (rows, t, noise) and trains
on its own equal, contiguous shard of the rows; DDP averages the gradients, so an update equals one
process's update on the whole batch up to float summation order (tests/test_parallel.py measures
how close). Only the main process logs and writes checkpoints; a value that steers the loop (the
validation loss) is computed on the main process and handed to the others.
"""
from __future__ import annotations

import os

import torch


class Parallel:
    """One plain process: every operation is the single-process one (no accelerate import)."""

    world_size, rank, is_main = 1, 0, True

    def __init__(self, device: str = "cpu"):
        self.device = device

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to train through (DDP's wrapper under accelerate); `model` stays the weights."""
        return model

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def clip_grad_norm_(self, parameters, max_norm: float) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    def shard(self, tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """This process's rows of a global batch (B, ...) -> (B / world_size, ...), on its device."""
        size = len(tensors[0])
        if size % self.world_size:
            raise ValueError(f"a batch of {size} rows does not split into {self.world_size} equal shards: "
                             f"choose a batch size that the number of processes divides")
        per = size // self.world_size
        return tuple(x[self.rank * per:(self.rank + 1) * per].to(self.device) for x in tensors)

    def gather(self, shard: torch.Tensor) -> torch.Tensor:
        """Every process's shard (B / world_size, ...) -> the global batch (B, ...), in rank order."""
        return shard

    def mean(self, value: float) -> float:
        """The mean of a per-process number (a shard's loss) over the processes."""
        return value

    def from_main(self, values: tuple) -> tuple:
        """The main process's `values` on every process (others may pass placeholders)."""
        return values

    def all_agree(self, flag: bool) -> bool:
        """True on every process when `flag` is true on every process, else False on every one."""
        return flag

    def wait(self) -> None:
        """Block until every process reaches this point."""


class Accelerated(Parallel):
    """Several processes under `accelerate launch`: DDP through accelerate's Accelerator."""

    def __init__(self):
        from accelerate import Accelerator  # only here: a plain run needs no accelerate

        self.accelerator = Accelerator()
        state = self.accelerator.state
        super().__init__(str(self.accelerator.device))
        self.world_size, self.rank, self.is_main = state.num_processes, state.process_index, state.is_main_process

    def prepare(self, model):
        return self.accelerator.prepare(model)

    def backward(self, loss):
        self.accelerator.backward(loss)

    def clip_grad_norm_(self, parameters, max_norm):
        return self.accelerator.clip_grad_norm_(parameters, max_norm)

    def gather(self, shard):
        return self.accelerator.gather(shard.contiguous())

    def mean(self, value):
        return float(self.accelerator.reduce(torch.tensor([value], dtype=torch.float64, device=self.device),
                                             reduction="mean"))

    def from_main(self, values):
        from accelerate.utils import broadcast_object_list

        return tuple(broadcast_object_list(list(values), from_process=0))

    def all_agree(self, flag):
        votes = self.accelerator.reduce(torch.tensor([int(flag)], device=self.device), reduction="sum")
        return int(votes) == self.world_size

    def wait(self):
        self.accelerator.wait_for_everyone()


def from_env(device: str = "cpu") -> Parallel:
    """Accelerated when launched as one of several processes (accelerate sets WORLD_SIZE), else a
    plain Parallel on `device`."""
    return Accelerated() if int(os.environ.get("WORLD_SIZE", "1")) > 1 else Parallel(device)
