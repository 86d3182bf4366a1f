"""The judge, the reconstruction floor, and the evaluation of every denoiser of a pack (Table 1).

Usage: python -m soundstep_factory.evaluate --config small --stage judge|floor|vae|generate|decode|table|seen|captions

This is the command line over the evaluation's modules, and the names other modules import:
  metrics.py      the figures as pure functions: FAD_judge, FD_mel, adherence, mean_ci95, ...
  judge.py        the judge CNN, its training and loading, and score_mels (a judge's figures)
  eval_data.py    the real clips and the test prompts, EvalConfig
  eval_runs.py    generated runs: sample, decode, store and score one (denoiser, steps, seed)
  eval_stages.py  the stages, each writing one JSON file of figures into the recipe's work dir

Every figure is reported as the mean of several runs with different seeds and a Student-t 95%
interval (`mean_ci95`). For the judge, a run is a judge trained with seed JudgeConfig.seed + k.
For generated clips a run is one sampling seed of the generator (stage generate, the pack's own
ONNX graphs with the app's sampler), scored by one fixed judge (stage table).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from .config import cpu_threads, default_out, load_config
from .eval_data import EvalConfig, eval_dir, load_real, reconstruction_errors, split_rows, test_prompts, waves_to_mel
from .eval_runs import (decode_run, decoders_id, evaluate_generated, evaluate_generated_runs, generate_run,
                        generated_path, redecode_runs, sample_latents, score_decoded, score_run, vae_log_mel)
from .eval_stages import (CAPTION_TIMESTEPS, stage_captions, stage_floor, stage_judge, stage_seen, stage_table,
                          stage_vae)
from .judge import (Judge, JudgeConfig, build_vocab, compose, judge_outputs, judge_path, load_judge, order_adherence,
                    score_mels, train_judge)
from .metrics import (MIXES, adherence, adherence_by_mix, clips_found, embedding_stats, fad_judge, fd_mel,
                      frechet_distance, judge_accuracy, mean_ci95, mel_stats_embedding, paired_found, source_recall,
                      sources_to_targets, summarize_runs)

__all__ = [  # re-exported: tests, diagnose, report, prompt_eval and vocoder_eval import them from here
    "CAPTION_TIMESTEPS", "MIXES", "EvalConfig", "Judge", "JudgeConfig", "adherence", "adherence_by_mix",
    "build_vocab", "clips_found", "compose", "decode_run", "decoders_id", "embedding_stats", "eval_dir",
    "evaluate_generated", "evaluate_generated_runs", "fad_judge", "fd_mel", "frechet_distance", "generate_run",
    "generated_path", "judge_accuracy", "judge_outputs", "judge_path", "load_judge", "load_real", "main",
    "mean_ci95", "mel_stats_embedding", "order_adherence", "paired_found", "reconstruction_errors",
    "redecode_runs", "sample_latents", "score_decoded", "score_mels", "score_run", "source_recall",
    "sources_to_targets", "split_rows", "stage_captions", "stage_floor", "stage_judge", "stage_seen",
    "stage_table", "stage_vae", "summarize_runs", "test_prompts", "train_judge", "vae_log_mel", "waves_to_mel",
]

torch.set_num_threads(cpu_threads())


STAGES = ("judge", "floor", "vae", "generate", "decode", "table", "seen", "captions")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--stage", choices=STAGES, required=True)
    ap.add_argument("--runs", type=int, default=None, help="judge: judges trained with seeds seed..seed+runs-1; "
                    "generate: sampling seeds 0..runs-1 (default 1 judge, 5 seeds)")
    ap.add_argument("--steps", type=int, default=None, help="judge: override JudgeConfig.steps")
    ap.add_argument("--seed", type=int, default=None, help="judge: override JudgeConfig.seed")
    ap.add_argument("--pack", type=Path, default=None, help="pack folder (default: the recipe's)")
    ap.add_argument("--denoiser", action="append", help="generate: a denoiser id of the pack (repeatable; default all)")
    ap.add_argument("--sampling-steps", type=int, action="append",
                    help="generate: step counts (repeatable; default: every count the denoiser supports); "
                    "seen: the teacher's step count (default 50)")
    ap.add_argument("--prompts", type=int, default=None, help="override EvalConfig.num_prompts")
    ap.add_argument("--against", default=None, help="vae: another recipe to compare with clip by clip")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    ecfg = EvalConfig()
    if args.prompts is not None:
        ecfg = dataclasses.replace(ecfg, num_prompts=args.prompts)
    pack_dir = args.pack or default_out(cfg)
    if args.stage == "judge":
        jcfg = JudgeConfig()
        if args.steps is not None:
            jcfg = dataclasses.replace(jcfg, steps=args.steps)
        if args.seed is not None:
            jcfg = dataclasses.replace(jcfg, seed=args.seed)
        result = stage_judge(cfg, jcfg, runs=args.runs or 1)
    elif args.stage == "floor":
        result = stage_floor(cfg, ecfg, pack_dir)
    elif args.stage == "vae":
        result = stage_vae(cfg, ecfg, against=args.against)
        result = {k: v for k, v in result.items() if k not in ("clip_ids", "found")}  # per clip: in vae.json
    elif args.stage == "generate":
        from .generate import PackRunner
        runner = PackRunner(pack_dir)
        real, done = test_prompts(cfg, ecfg), []
        for entry in runner.manifest["denoisers"]:
            if args.denoiser and entry["id"] not in args.denoiser:
                continue
            for n in entry["steps"]:
                if args.sampling_steps and n not in args.sampling_steps:
                    continue
                for seed in range(args.runs or ecfg.runs):
                    done.append(str(generate_run(cfg, ecfg, runner, entry["id"], n, seed, real)))
        result = {"stage": "generate", "runs": done}
    elif args.stage == "decode":
        result = {"stage": "decode", "runs": redecode_runs(cfg, ecfg, pack_dir)}
    elif args.stage == "captions":
        result = stage_captions(cfg)
        result = {k: v for k, v in result.items() if k != "v_mse"}
    elif args.stage == "seen":
        result = stage_seen(cfg, ecfg, pack_dir, steps=(args.sampling_steps or [50])[0])
    else:
        result = stage_table(cfg, ecfg)
    print(json.dumps(result, indent=1, default=str))

if __name__ == "__main__":
    main()
