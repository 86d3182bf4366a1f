"""The teacher's classifier-free guidance scale w (docs/sampling.md eq. 5), measured: the same
prompts, noise and judge at each scale, on the template test split (Table 1's figures) and on the
free-form prompts (the independent ears: silero-vad, CREPE, loudness).

Usage: python -m soundstep_factory.guidance_sweep --config small-next --pack ../public/models/soundstep-small-next
           [--scales 1 2 3 5 8] [--steps 25] [--seeds 2]

Tango and the pack sample the teacher at w = 3, and the students learn that guided teacher, so
w decides what every student can reach. Nothing here changes a pack: the runs live apart from
evaluate's and prompt_eval's (<work>/eval/guidance/), so pack_metrics never merges them. The
pack's own scale reuses evaluate's and prompt_eval's runs where they exist (same noise rows).
Writes <work>/eval/guidance.json and prints one markdown row per scale.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .config import PackConfig, default_out, load_config
from .eval_data import EvalConfig, eval_dir, test_prompts, waves_to_mel
from .eval_runs import generate_run, generated_path, score_run
from .judge import judge_path, load_judge
from .metrics import summarize_runs
from .prompt_eval import generate, hear_run, judge_run, load_free_form, summarize

TABLE_FIGURES = ("fad_judge", "fd_mel", "adherence", "adherence_single", "adherence_while", "adherence_then")


def run_folder(cfg: PackConfig, kind: str, scale: float, steps: int) -> Path:
    """<work>/eval/guidance/<kind>/w<scale>-<steps>: the runs of one scale (kind: test or free-form)."""
    return eval_dir(cfg) / "guidance" / kind / f"w{scale:g}-{steps}"


def template_split_row(cfg: PackConfig, ecfg: EvalConfig, runner, judge, scale: float, steps: int, seeds: int,
                       real: dict) -> dict:
    """Table 1's figures of the teacher at `scale`, mean and 95% interval over the seeds; `real`:
    test_prompts(cfg, ecfg)."""
    default = runner.guidance_for("teacher")
    per_run = []
    for seed in range(seeds):
        shared = generated_path(cfg, "teacher", steps, seed)  # evaluate's run at the pack's own scale
        path = shared if scale == default and shared.exists() else run_folder(cfg, "test", scale, steps) / f"seed{seed}.pt"
        path = generate_run(cfg, ecfg, runner, "teacher", steps, seed, real, guidance=scale, path=path)
        run = torch.load(path, weights_only=False)
        if run["guidance"] != scale:
            raise RuntimeError(f"{path} was sampled at guidance {run['guidance']}, not {scale}: remove it")
        per_run.append(score_run(judge[0], judge[1], run, real))
    summary = summarize_runs([{k: v for k, v in r.items() if k != "seed"} for r in per_run])
    return {k: summary[k] for k in (*TABLE_FIGURES, "seconds_per_clip") if k in summary}


def free_form_row(cfg: PackConfig, runner, judge, scale: float, steps: int, seeds: int) -> dict:
    """prompt_eval's figures of the teacher at `scale` on the free-form prompts."""
    prompts = load_free_form()
    default = runner.guidance_for("teacher")
    runs = []
    for seed in range(seeds):
        shared = eval_dir(cfg) / "prompts" / "free-form" / f"teacher-{steps}" / f"seed{seed}.npy"
        cache = shared if scale == default else run_folder(cfg, "free-form", scale, steps) / f"seed{seed}.npy"
        wave = generate(runner, "teacher", steps, prompts, seed, cache, scale=scale)
        heard = hear_run(prompts, wave)
        heard.update(judge_run(judge, prompts, waves_to_mel(cfg, torch.from_numpy(wave))))
        runs.append(heard)
    return summarize(prompts, runs)


def markdown_row(scale: float, test: dict, free: dict) -> str:
    def ci(c: dict, digits: int) -> str:
        return f"{c['mean']:.{digits}f} ± {c['ci95']:.{digits}f}" if np.isfinite(c["ci95"]) else f"{c['mean']:.{digits}f}"
    def mix(name: str) -> str:  # a split without such captions (the micro recipe's) has no figure
        return f"{test[name]['mean']:.2f}" if name in test else "—"
    speech = f"{free['speech_present[speaking]']:.0%} / {free['speech_present[no speech]']:.1%}"
    return (f"| {scale:g} | {ci(test['fad_judge'], 2)} | {ci(test['fd_mel'], 2)} | {ci(test['adherence'], 3)} | "
            f"{mix('adherence_single')} / {mix('adherence_while')} / {mix('adherence_then')} | "
            f"{free['known_below_35']} ({free['rms_dbfs_min_known']:.1f}) | "
            f"{speech} | {free['pairs_ordered']:.0%} | {free['judge_adherence']:.3f} |")


HEADER = ("| w | FAD_judge | FD_mel | adherence | single / while / then | free-form: known clips below -35 dBFS "
          "(quietest) | speech: named / not | high/low pairs | free-form judge adherence |\n"
          "|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> None:
    from .generate import PackRunner
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path)
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 3.0, 5.0, 8.0])
    ap.add_argument("--steps", type=int, default=25, help="the teacher's sampling steps (25: its 200-step figures "
                    "within their intervals, at an eighth of the time)")
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    runner = PackRunner(args.pack or default_out(cfg))
    judge = load_judge(judge_path(cfg))
    ecfg = EvalConfig()
    real = test_prompts(cfg, ecfg)
    out_path = eval_dir(cfg) / "guidance.json"
    result = json.loads(out_path.read_text()) if out_path.exists() else {"rows": {}}
    print(HEADER, flush=True)
    for scale in args.scales:
        test = template_split_row(cfg, ecfg, runner, judge, scale, args.steps, args.seeds, real)
        free = free_form_row(cfg, runner, judge, scale, args.steps, args.seeds)
        result["rows"][f"w{scale:g}-{args.steps}"] = {"seeds": args.seeds, "steps": args.steps, "test": test, "free_form": free}
        out_path.write_text(json.dumps(result, indent=1, default=float) + "\n")
        print(markdown_row(scale, test, free), flush=True)


if __name__ == "__main__":
    main()
