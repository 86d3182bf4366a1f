"""Data parallelism (parallel.py): the micro recipe's distillation round under `accelerate launch`
with 2 CPU processes (gloo) gives the student that one plain process gives on the same global batch.

The work dir is made here, not by the micro build (two minutes): random latents and text states of
the micro recipe's shapes, and a micro teacher trained on them for its 8 steps. Both runs are
subprocesses, as a user would start them: `python -m soundstep_factory.distill` (one process, two
threads) and `accelerate launch --multi_gpu --num_processes 2 -m soundstep_factory.distill` with no visible GPU
(one thread each; the `runs` fixture says why not --cpu).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from soundstep_factory.config import FACTORY_DIR

ACCELERATE = Path(sys.executable).parent / "accelerate"
# The round: 4 steps of a global batch of 4 (2 rows per process), round 1 (guided teacher, shared targets);
# the teacher trains for 4 steps of batch 4.
ROUND = {"methods": ["bsa"], "rounds": 1, "max_steps": 4, "eval_every": 2, "patience": 10, "val_size": 4,
         "batch_size": 4}


def _micro_work(root: Path, recipe: str) -> Path:
    """root/<recipe>.json (micro with ROUND) and its work dir with synthetic features and latents."""
    micro = json.loads((FACTORY_DIR / "configs" / "micro.json").read_text())
    (root / f"{recipe}.json").write_text(json.dumps({**micro, "unet": {**micro["unet"], "steps": 4},
                                                     "distill": {**micro["distill"], **ROUND}}))
    work = root / recipe
    work.mkdir()
    g = torch.Generator().manual_seed(0)
    n, length, width = 16, 8, 32  # clips, tokens, text width (the U-Net's cross-attention sizes itself to it)
    mask = torch.ones(n, length, dtype=torch.int64)
    mask[:, 5:] = 0
    torch.save({"hidden": torch.randn(n, length, width, generator=g), "mask": mask,  # (N, L, H), (N, L)
                "uncond_hidden": torch.randn(length, width, generator=g), "uncond_mask": mask[0],
                "captions": [f"clip {i}" for i in range(n)], "split": ["train"] * n}, work / "features.pt")
    torch.save({"latents": torch.randn(n, 4, 64, 16, generator=g), "scale": 1.0}, work / "latents.pt")  # (N, C, T, F)
    return root / f"{recipe}.json"


def _run(command: list[str], root: Path, threads: int, env: dict | None = None) -> tuple[str, float]:
    env = {**os.environ, "SOUNDSTEP_WORK": str(root), "SOUNDSTEP_THREADS": str(threads), **(env or {})}
    started = time.time()
    run = subprocess.run(command, cwd=FACTORY_DIR, env=env, capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout, time.time() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same round (same teacher, data and global batch) in one process and in two."""
    if not ACCELERATE.exists():
        pytest.skip("accelerate is not installed (scripts/setup-factory.sh)")
    root = tmp_path_factory.mktemp("ddp")
    one, two = _micro_work(root, "one"), _micro_work(root, "two")
    # accelerate 1.2's `--cpu` starts several processes on one machine only through mpirun (a hostfile);
    # its torchrun launcher (--multi_gpu) with no visible GPU and ACCELERATE_USE_CPU gives gloo on the CPU.
    launch = [str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port())]
    on_cpu = {"CUDA_VISIBLE_DEVICES": "", "ACCELERATE_USE_CPU": "true"}
    # The micro teacher (4 of its 8 steps, batch 4) in one process and in two.
    _, teacher_one = _run([sys.executable, "-m", "soundstep_factory.train", "--stage", "teacher", "--config", str(one)],
                          root, threads=2)
    log_teacher, teacher_two = _run([*launch, "-m", "soundstep_factory.train", "--stage", "teacher", "--config", str(two)],
                          root, threads=1, env=on_cpu)
    (root / "two" / "teacher").rename(root / "teacher-of-two-processes")
    shutil.copytree(root / "one" / "teacher", root / "two" / "teacher")  # both rounds distill one teacher
    distill = ["-m", "soundstep_factory.distill", "--method", "bsa", "--device", "cpu", "--config"]
    log_one, seconds_one = _run([sys.executable, *distill, str(one)], root, threads=2)
    log_two, seconds_two = _run([*launch, *distill, str(two)], root, threads=1, env=on_cpu)
    pace = [re.findall(r"([\d.]+) s/step", log)[-1] for log in (log_one, log_two)]  # the round's steps, no start-up
    print(f"wall seconds with start-up, one process / two: teacher {teacher_one:.1f} / {teacher_two:.1f}, "
          f"distillation round {seconds_one:.1f} / {seconds_two:.1f} ({pace[0]} / {pace[1]} s a step)")
    return {"root": root, "logs": (log_one, log_two), "teacher_log": log_teacher}


def _round(root: Path, recipe: str) -> dict:
    return torch.load(root / recipe / "distill" / "bsa" / "n100" / "checkpoint.pt", weights_only=False)


def test_two_processes_train_the_student_of_one(runs):
    one, two = _round(runs["root"], "one"), _round(runs["root"], "two")
    assert one["extra"]["processes"] == 1 and two["extra"]["processes"] == 2
    assert "world size 2: 2 of each step's 4 rows per process" in runs["logs"][1]
    assert "world size" not in runs["logs"][0]
    assert one["extra"]["steps_trained"] == two["extra"]["steps_trained"] == 4
    teacher = torch.load(runs["root"] / "one" / "teacher" / "checkpoint.pt", weights_only=False)["ema"]
    moved = torch.cat([(one["model"][k] - teacher[k]).flatten() for k in teacher])  # what 4 steps changed
    diff = torch.cat([(one["model"][k] - two["model"][k]).flatten() for k in teacher])
    # Measured on 2 cores: max abs difference 5.3e-5, relative to the change 0.0020, against a mean
    # change of 1.6e-4 per weight. Adam moves a weight by up to lr (1e-4) a step whatever its gradient's
    # size, so the largest differences sit where the gradient is float noise (biases whose channel a
    # GroupNorm of one channel per group recentres: they do not change the output); 99.8% agree to 1e-6.
    assert float(moved.abs().mean()) > 1e-5
    assert float(diff.abs().max()) <= 2e-4, float(diff.abs().max())
    assert float(diff.norm() / moved.norm()) <= 0.01, float(diff.norm() / moved.norm())
    assert float((diff.abs() > 1e-6).float().mean()) <= 0.01
    for a, b in zip(one["history"], two["history"]):  # the main process's validation, and the mean train loss
        assert a["step"] == b["step"]  # measured: relative differences up to 2e-6
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=2e-5)
        if "train_loss" in a:
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=2e-5)


def test_the_gathered_round1_targets_are_the_whole_batch_in_row_order(runs):
    """The main process writes every process's targets as one (chunk, B, ...) file: either run's
    chunks serve the other, whatever its number of processes."""
    chunks = [sorted((runs["root"] / r / "distill" / "round1-targets").glob("*/steps-*.pt")) for r in ("one", "two")]
    assert [p.name for p in chunks[0]] == [p.name for p in chunks[1]] == ["steps-00000.pt", "steps-00002.pt"]
    for a, b in zip(*chunks):
        ta, tb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
        assert ta.shape == tb.shape == (2, 4, 4, 64, 16)  # (chunk, B, C, T, F)
        # Measured 1e-4: the top step's target divides by ~0.004 (distill.teacher_target), and a batch
        # of 2 rows on one thread sums in another order than a batch of 4 on two.
        assert torch.allclose(ta, tb, atol=5e-4, rtol=0)


def test_the_teacher_of_two_processes_is_the_teacher_of_one(runs):
    """train --stage teacher under accelerate: the same global batches of 4, 2 rows per process."""
    one = torch.load(runs["root"] / "one" / "teacher" / "checkpoint.pt", weights_only=False)
    two = torch.load(runs["root"] / "teacher-of-two-processes" / "checkpoint.pt", weights_only=False)
    assert one["step"] == two["step"] == 4
    assert runs["teacher_log"].count("[teacher] step 4/4") == 1  # the main process logs, the other does not
    diff = torch.cat([(one["model"][k] - two["model"][k]).flatten() for k in one["model"]])
    # Measured: max abs difference 1.4e-5, 0.08% of the weights differ by more than 1e-6, the same mean
    # loss to 1e-16 (see the student's test for why Adam's lr-sized steps set the largest differences).
    assert float(diff.abs().max()) <= 1e-4, float(diff.abs().max())
    assert float((diff.abs() > 1e-6).float().mean()) <= 0.01
    assert one["history"][-1]["loss"] == pytest.approx(two["history"][-1]["loss"], rel=1e-5)
