"""Benchmark: what one distillation step costs on this machine, and what all rounds of all methods add up to.

Usage: python -m soundstep_factory.bench_distill --config small [--steps 10]

Times, on the recipe's trained teacher and real training batches, the three parts of a step:
round 1's targets (two guided teacher steps: 2 x 2B U-Net rows), a later round's targets (two
unguided steps: 2 x B rows) and the student's update (forward, backward, AdamW). Then projects
every method's three rounds at the full step budget (the most a round can take), with round 1's
targets computed once for all methods (distill.SharedTargets) and without. Prints JSON: numbers,
not a pass/fail, since this machine is shared and its timings are noisy.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from . import sampling
from .checkpoint import load_trained
from .config import load_config
from .distill import (
    Conditioning,
    distill_data,
    make_batch,
    step_generator,
    student_steps,
    student_x_hat,
    teacher_target,
    weighted_loss,
)
from .models import build_unet


def seconds_per_call(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--steps", type=int, default=10, help="timed repeats of each part")
    args = ap.parse_args()
    cfg = load_config(args.config)
    d = cfg.distill
    data = distill_data(cfg)
    teacher = load_trained(cfg, "teacher", build_unet(cfg, data["hidden"].shape[-1])).requires_grad_(False)
    student = build_unet(cfg, data["hidden"].shape[-1])
    student.load_state_dict(teacher.state_dict())
    student.train()
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-9)
    abar = sampling.alphas_cumprod()
    n = student_steps(cfg)[0]
    g = step_generator(n, 0)
    rows = torch.randint(0, len(data["x0"]), (d.batch_size,), generator=g)
    z_t, t, path, t_next, h, m = make_batch(data["x0"], data["hidden"], data["mask"], rows, n, g, abar)
    cond = Conditioning(h, m, data["uncond_hidden"], data["uncond_mask"])

    def targets(guidance):
        with torch.no_grad():
            return teacher_target(cond.predictor(teacher, guidance), z_t, t, path, t_next, abar)
    x_target = targets(None)

    def update():
        loss = weighted_loss("bsa", d.gamma, student_x_hat(student, z_t, t, cond, abar), x_target, t, abar)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    guided = seconds_per_call(lambda: targets(cfg.guidance_scale), args.steps)
    unguided = seconds_per_call(lambda: targets(None), args.steps)
    student_update = seconds_per_call(update, args.steps)
    methods, later_rounds, steps = len(d.methods), d.rounds - 1, d.max_steps
    later = methods * later_rounds * steps * (unguided + student_update)
    round1_alone = methods * steps * (guided + student_update)
    round1_shared = steps * guided + methods * steps * student_update
    print(json.dumps({
        "recipe": cfg.recipe, "threads": torch.get_num_threads(), "batch_size": d.batch_size,
        "seconds_per_step": {"round1_targets": round(guided, 3), "later_targets": round(unguided, 3),
                             "student_update": round(student_update, 3)},
        "budget": {"methods": methods, "rounds": d.rounds, "steps_per_round": steps},
        "projected_hours": {"every_method_computes_round1_targets": round((round1_alone + later) / 3600, 2),
                            "round1_targets_shared": round((round1_shared + later) / 3600, 2)},
    }, indent=1))


if __name__ == "__main__":
    main()
