"""Round 1's distillation targets, computed once and read back by every weighting (distill.py).

Under `accelerate launch` each process computes the targets of its shard of the batch; the main
process gathers the whole batch's and writes them, so a chunk holds the same (B, ...) targets
whatever the number of processes, and any later run, of any size, can read it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch


class SharedTargets:
    """Round 1's x_target for each training step, computed once for every weighting.

    Round 1 distills the same guided teacher on the same batches whatever the weighting, and its
    targets (two guided teacher steps: four U-Net passes per latent) cost more than the student's
    update, so the first method stores them in chunks and the others read them back.
    The folder is named after a hash of everything the targets depend on, so a new teacher or
    new data never reads stale targets. Chunks are written atomically: a killed run, or several
    runs at once (the GPU script), leave only whole chunks.
    """

    def __init__(self, folder: Path, chunk: int):
        self.folder, self.chunk = folder, chunk
        self.pending: dict[int, torch.Tensor] = {}  # computed targets of a chunk not yet written
        self.read: tuple[int, torch.Tensor] | None = None  # (first step, targets) of the chunk last read

    @staticmethod
    def key(teacher: torch.nn.Module, data: dict, guidance: float, n_student: int, batch_size: int) -> str:
        h = hashlib.sha256(json.dumps([guidance, n_student, batch_size]).encode())
        tensors = [v for _, v in sorted(teacher.state_dict().items())]
        tensors += [data[k] for k in ("x0", "hidden", "mask", "uncond_hidden", "uncond_mask")]
        for t in tensors:
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def _path(self, first_step: int) -> Path:
        return self.folder / f"steps-{first_step:05d}.pt"

    def get(self, step: int) -> torch.Tensor | None:
        first = step - step % self.chunk
        if (self.read is None or self.read[0] != first) and self._path(first).exists():
            self.read = first, torch.load(self._path(first), weights_only=True)  # (chunk, B, C, T, F)
        return self.read[1][step - first] if self.read is not None and self.read[0] == first else None

    def put(self, step: int, x_target: torch.Tensor) -> None:
        """Keep the target of `step`; write a chunk once all its steps are in."""
        self.pending[step] = x_target.detach().cpu()
        first = step - step % self.chunk
        if all(s in self.pending for s in range(first, first + self.chunk)):
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._path(first).with_suffix(f".tmp{id(self)}")
            torch.save(torch.stack([self.pending.pop(s) for s in range(first, first + self.chunk)]), tmp)
            tmp.replace(self._path(first))
