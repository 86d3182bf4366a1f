"""Which known prompts come out quiet, and how loud the training renders of each source are.

Usage: python -m soundstep_factory.loudness --config small-next --pack ../public/models/soundstep-small-next
           [--rows bsa-25:25 snr+1-5:5] [--below -33] [--target -35] [--floor -33]

Issue 17 asks that no clip of an in-vocabulary free-form prompt sit below -35 dBFS RMS. This puts the
generated clips (prompt_eval's cached free-form latents, decoded through the pack) beside the renders
the pack was trained on: per prompt, the quietest and median RMS over the seeds; per source, the
share of its single-source training clips below the target. `--floor F`: the same renders as
DataStageConfig.rms_floor_dbfs = F would make them (the floor is render_clip's last step, a gain per
clip, so it is computed here from the clips as they are). Prints JSON, never pass/fail.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import ears
from .config import load_config
from .data_render import rms_floor_gain


def quiet_prompts(levels: np.ndarray, prompts: list[dict], below: float) -> list[dict]:
    """levels (seeds, P) RMS dBFS -> the known prompts (non-empty sources) whose quietest seed is under `below`."""
    return [{"prompt": p["prompt"], "sources": p["sources"], "min_dbfs": round(float(levels[:, i].min()), 1),
             "median_dbfs": round(float(np.median(levels[:, i])), 1)}
            for i, p in enumerate(prompts) if p["sources"] and levels[:, i].min() < below]


def source_levels(sources: list[list[str]], levels: np.ndarray, target: float) -> dict[str, dict]:
    """Per source, over the clips of that source alone: count, share below `target`, quietest, median;
    the loudest-failing sources first."""
    alone: dict[str, list[float]] = defaultdict(list)
    for clip_sources, level in zip(sources, levels):
        if len(clip_sources) == 1:
            alone[clip_sources[0]].append(float(level))
    rows = {name: {"clips": len(v), "below_target": round(float(np.mean(np.array(v) < target)), 3),
                   "min_dbfs": round(min(v), 1), "median_dbfs": round(float(np.median(v)), 1)}
            for name, v in alone.items()}
    return dict(sorted(rows.items(), key=lambda kv: (-kv[1]["below_target"], kv[0])))


def with_floor(waves: np.ndarray, floor_dbfs: float) -> np.ndarray:
    """waves (N, S) as render_clip makes them with rms_floor_dbfs = floor_dbfs."""
    return np.stack([w * rms_floor_gain(w, floor_dbfs) for w in waves])


def renders_table(sources: list[list[str]], waves: np.ndarray, quiet: np.ndarray, target: float) -> dict:
    """The renders' loudness: share below target, overall and among "quiet" captions (quiet (N,) bool)."""
    levels = ears.rms_dbfs(waves)
    below = levels < target
    return {"clips": len(levels), "below_target": round(float(below.mean()), 3),
            "below_target_quiet_captions": int((below & quiet).sum()), "below_target_other": int((below & ~quiet).sum()),
            "sources_alone": source_levels(sources, levels, target)}


def main(argv: list[str] | None = None) -> None:
    import torch

    from .evaluate import eval_dir
    from .generate import PackRunner
    from .prompt_eval import load_free_form

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small-next")
    ap.add_argument("--pack", type=Path, required=True)
    ap.add_argument("--rows", nargs="*", default=["bsa-25:25"], help="denoiser:steps rows prompt_eval has cached")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--below", type=float, default=-33.0, help="list prompts whose quietest seed is under this")
    ap.add_argument("--target", type=float, default=-35.0)
    ap.add_argument("--floor", type=float, default=None, help="also: the renders with this RMS floor (dBFS)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    prompts, runner = load_free_form(), PackRunner(args.pack)
    out: dict = {"generated": {}}
    for row in args.rows:
        denoiser, steps = row.split(":")
        cache = eval_dir(cfg) / "prompts" / "free-form" / f"{denoiser}-{steps}"
        if not (cache / "seed0.npy").exists():
            raise SystemExit(f"no cached latents in {cache}: run prompt_eval --set free-form --rows {row} first")
        levels = np.stack([ears.rms_dbfs(runner.decode(np.load(cache / f"seed{s}.npy"))) for s in range(args.seeds)])
        out["generated"][row] = quiet_prompts(levels, prompts, args.below)
    feats = torch.load(cfg.work_dir / "features.pt", weights_only=False)
    waves = feats["wave"].numpy()
    index = {row["id"]: row for row in map(json.loads, (cfg.work_dir / "data" / "captions.jsonl").open())}
    quiet = np.array([any(a.get("loudness") == "quiet" for a in index[i]["attrs"]) for i in feats["ids"]])
    out["renders"] = renders_table(feats["sources"], waves, quiet, args.target)
    if args.floor is not None:
        out[f"renders_floor_{args.floor:g}"] = renders_table(feats["sources"], with_floor(waves, args.floor), quiet,
                                                             args.target)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
