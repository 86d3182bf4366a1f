"""Where along the trajectory a student loses to its teacher.

Usage: python -m soundstep_factory.diagnose --config small --student bsa-100 [--pack DIR] [--seeds 0 1]

Samples the held-out prompts on the student's grid with the student on some steps and the guided
teacher on the others ("teacher-first-10": the teacher takes the 10 noisiest steps, the student
the rest), and scores the VAE log-mel with the judge (FAD_judge, as in Table 1's log-mel column).
Each plan's gap is taken seed by seed against the teacher alone, so a plan that closes most of
the student's gap shows which noise levels the student gets wrong. Writes <work>/eval/diagnose-<student>.json.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .config import default_out, load_config
from .evaluate import EvalConfig, eval_dir, judge_path, load_judge, mean_ci95, score_mels, test_prompts, vae_log_mel
from .generate import PackRunner, noise_for

Plan = Callable[[int], tuple[str, float | None]]  # step index (0 = noisiest) -> (denoiser, guidance)


def switch(first: tuple[str, float | None], then: tuple[str, float | None], k: int) -> Plan:
    """`first` for the first k steps, `then` after them."""
    return lambda i: first if i < k else then


def plans(student: str, steps: int, teacher_guidance: float | None) -> dict[str, Plan]:
    """Each model alone, and each one taking the first 10% or half of the steps before the other."""
    teacher: tuple[str, float | None] = ("teacher", teacher_guidance)
    alone: tuple[str, float | None] = (student, None)
    plans: dict[str, Plan] = {"student": lambda i: alone, "teacher": lambda i: teacher}
    for k in sorted({max(1, steps // 10), steps // 2}):
        plans[f"teacher-first-{k}"] = switch(teacher, alone, k)
        plans[f"student-first-{k}"] = switch(alone, teacher, k)
    return plans


def log_mel_fad(runner: PackRunner, judge, vocab, real: dict, z0: np.ndarray) -> float:
    """FAD_judge of the VAE decoder's log-mel of scaled latents z0 against the real test clips."""
    mel = torch.from_numpy(vae_log_mel(runner, z0)[:, 0])
    return score_mels(judge, vocab, mel, real["sources"], real["mel"])["fad_judge"]


def diagnose(runner: PackRunner, judge, vocab, real: dict, student: str, seeds: list[int], batch: int = 50) -> dict:
    steps = runner.entries[student]["steps"][0]
    hidden, mask = runner.encode(real["captions"])
    fad: dict[str, list[float]] = {}
    for name, plan in plans(student, steps, runner.guidance_for("teacher")).items():
        for seed in seeds:
            noise = noise_for(seed, len(hidden), runner.latent_shape)
            z0 = np.concatenate([runner.sample_mixed(plan, steps, hidden[i:i + batch], mask[i:i + batch],
                                                     noise[i:i + batch]) for i in range(0, len(hidden), batch)])
            fad.setdefault(name, []).append(log_mel_fad(runner, judge, vocab, real, z0))
        print(f"[diagnose] {student} {name}: {[round(v, 2) for v in fad[name]]}", flush=True)
    gap = {}
    for name, values in fad.items():
        mean, half = mean_ci95([v - t for v, t in zip(values, fad["teacher"])])
        gap[name] = {"mean": mean, "ci95": None if np.isnan(half) else half}
    return {"student": student, "steps": steps, "seeds": seeds, "num_prompts": len(hidden),
            "fad_judge_vae_mel": fad, "gap_to_teacher": gap}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--student", required=True, help="a student denoiser id of the pack, e.g. bsa-100")
    ap.add_argument("--pack", type=Path, default=None, help="pack folder (default: the recipe's)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--prompts", type=int, default=None, help="override EvalConfig.num_prompts")
    args = ap.parse_args()
    cfg = load_config(args.config)
    ecfg = EvalConfig() if args.prompts is None else EvalConfig(num_prompts=args.prompts)
    runner = PackRunner(args.pack or default_out(cfg))
    judge, vocab = load_judge(judge_path(cfg))
    result = diagnose(runner, judge, vocab, test_prompts(cfg, ecfg), args.student, args.seeds)
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / f"diagnose-{args.student}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["gap_to_teacher"], indent=1))


if __name__ == "__main__":
    main()
