"""The training loop a distillation round and a compression run share: train until the validation
loss stops improving or the step budget ends, keep the best weights, checkpoint as it goes.

distill.distill_round (a student of the teacher's own U-Net, matching `factor` teacher steps) and
compress.compress (a smaller U-Net matching one step of a finished student) differ in what a step
computes and what the checkpoint's `extra` says; the schedule, the plateau rule (`patience`
validations without a new best), the resume and the pacing are this module's.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .parallel import Parallel


@dataclass(frozen=True)
class LoopPlan:
    """How long and how fast: max_steps, the validation interval and the plateau rule (patience
    validations without a new best), and lr_at(step), the learning rate for each step."""
    max_steps: int
    eval_every: int
    patience: int
    lr_at: Callable[[int], float]
    label: str  # for the progress lines, e.g. "distill bsa N=25"


@dataclass
class LoopResult:
    """Where the loop stopped: the step, the history of validations, the best validation loss,
    and whether it stopped on the plateau rule ("converged") or the step budget ("budget")."""
    step: int
    history: list[dict]
    best: float
    stopped: str
    seconds: float  # of this call (a resumed run counts its last session)


def train_until_plateau(student: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict | None,
                        plan: LoopPlan, train_step: Callable[[int], torch.Tensor],
                        validate: Callable[[], tuple[float, float]],
                        save: Callable[[int, list[dict], dict], None], par: Parallel | None = None) -> LoopResult:
    """Train `student` from `state` (an unfinished checkpoint: its weights, optimizer, step, history
    and extra's best, best_state and stale; None: from the start) and leave its best weights in it.

    train_step(step): one optimizer step on that step's batch (its lr already set), returns the loss;
    validate(): (weighted validation loss, x-space MSE) of `student` as it is now;
    save(step, history, extra): write the unfinished checkpoint (extra: best, best_state, stale, done).
    Under `par` of several processes the loss is averaged and only the main process prints and saves."""
    par = par or Parallel()
    if state is not None:  # resume mid-run
        student.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        best, best_state, stale = state["extra"]["best"], state["extra"]["best_state"], state["extra"]["stale"]
    else:
        step, stale = 0, 0
        best, _ = validate()
        best_state, history = copy.deepcopy(student.state_dict()), [{"step": 0, "val_loss": best}]
    started = time.time()
    paced_from = started, step  # the pace printed is the last interval's: a paused run does not smear it
    while step < plan.max_steps and stale < plan.patience:
        for group in optimizer.param_groups:
            group["lr"] = plan.lr_at(step)
        loss = train_step(step)
        step += 1
        if step % plan.eval_every == 0 or step == plan.max_steps:
            val, val_mse = validate()
            improved = val < best
            if improved:
                best, best_state, stale = val, copy.deepcopy(student.state_dict()), 0
            else:
                stale += 1
            history.append({"step": step, "train_loss": par.mean(float(loss)), "val_loss": val, "val_x_mse": val_mse})
            if not par.is_main:
                continue
            now = time.time()
            print(f"[{plan.label}] step {step} val {val:.5f} (x-mse {val_mse:.5f}){' *' if improved else ''} "
                  f"{(now - paced_from[0]) / (step - paced_from[1]):.2f} s/step", flush=True)
            paced_from = now, step
            save(step, history, {"best": best, "best_state": best_state, "stale": stale, "done": False})
    student.load_state_dict(best_state)
    return LoopResult(step, history, best, "converged" if stale >= plan.patience else "budget",
                      round(time.time() - started, 1))
