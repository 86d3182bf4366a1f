"""What quality longer latents keep: a pack trained on 2.56 s clips, sampled at 2, 4 (or more) times
its latent length, heard by the independent ears (ears.py) on the free-form prompts.

The U-Net is convolutional in time, so a longer latent runs through the same graphs (their time
axis freed by time_axis.py); whether the sound stays what the prompt asked for is what this
measures. The judge of the shipped pack is not kept (its work/ is gone, and training one is a
factory job), so the figures here are the ears' and two that need no trained weights:

  speech / quiet / pitch   prompt_eval's figures on whole clips (speech heard when named / not,
                           known sounds below -35 dBFS, high/low pairs in order)
  window level             RMS dBFS of each 2.56 s window: does a long clip fade or fall silent later
  quiet windows            windows of known-sound prompts below -35 dBFS
  FD_mel vs 2.56 s         FD_mel (metrics.fd_mel: mel statistics, no learned weights) between the
                           2.56 s windows of the longer clips and the 2.56 s clips of the same prompts:
                           0 when a window looks like what the pack makes at its own length
  FD_mel, other seed       its yardstick, on the pack-length row: the same prompts at the pack's
                           length drawn with the next seed (how far two draws of one prompt set lie)

    SOUNDSTEP_THREADS=1 python -m soundstep_factory.long_clips --rows snr+1-25:25 --seconds 2.56 5.12 10.24
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from . import ears
from .config import REPO_DIR, load_config
from .eval_data import eval_dir, waves_to_mel
from .eval_runs import sample_latents
from .evaluate import EvalConfig
from .generate import PackRunner, Timing
from .metrics import fd_mel
from .prompt_eval import hear_run, load_free_form, summarize
from .time_axis import free_pack


def latent_frames(seconds: float, clip_seconds: float, frames: int) -> int:
    """Latent frames for `seconds`: a whole multiple of the pack's own length (the U-Net halves
    the time axis at each level, so a multiple of the pack's frames always divides)."""
    k = round(seconds / clip_seconds)
    if k < 1 or abs(k * clip_seconds - seconds) > 1e-6:
        raise ValueError(f"{seconds} s is not a whole multiple of the pack's {clip_seconds} s clips")
    return k * frames


def windows(wave: np.ndarray, window: int) -> np.ndarray:
    """(N, k * window) -> (N, k, window): the clip's consecutive windows of the pack's length."""
    n, samples = wave.shape
    return wave[:, : samples - samples % window].reshape(n, -1, window)


def window_figures(prompts: list[dict], wave: np.ndarray, short_mel: torch.Tensor, window: int, cfg) -> dict:
    """Level per window position, quiet windows of known sounds, FD_mel of the windows against the
    pack-length clips."""
    w = windows(wave, window)  # (N, k, window)
    level = ears.rms_dbfs(w)  # (N, k)
    known = np.array([bool(p["sources"]) for p in prompts])
    mel = waves_to_mel(cfg, torch.from_numpy(w.reshape(-1, window).astype(np.float32)))
    return {"window_rms_dbfs": [float(x) for x in level.mean(axis=0)],
            "quiet_windows_known": float((level[known] < -35).mean()),
            "fd_mel_vs_short": fd_mel(mel.numpy(), short_mel.numpy())}


def measure(pack: Path, rows: list[str], seconds: list[float], seed: int, prompts: list[dict], cfg) -> dict:
    """Figures per row and duration, one seed; the pack's graphs freed in a temporary copy."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        free = Path(tmp) / pack.name
        free_pack(pack, free)
        manifest = json.loads((free / "manifest.json").read_text())
        clip_s, window = manifest["audio"]["clip_seconds"], manifest["audio"]["num_samples"]
        for row in rows:
            denoiser, steps = row.split(":")
            short_mel = None
            for s in sorted(seconds):
                runner = PackRunner(free)
                c, t, f = runner.latent_shape
                runner.latent_shape = (c, latent_frames(s, clip_s, t), f)
                timing = Timing()
                z0 = sample_latents(EvalConfig(), runner, denoiser, int(steps), [p["prompt"] for p in prompts], seed, timing)
                wave = runner.decode(z0)
                assert wave.shape[1] == round(s / clip_s) * window, wave.shape
                figures = {}
                if short_mel is None:  # the pack's own length comes first: the windows' reference
                    short_mel = waves_to_mel(cfg, torch.from_numpy(wave[:, :window].astype(np.float32)))
                    # the yardstick for fd_mel_vs_short: the same prompts, pack length, the next seed
                    other = runner.decode(sample_latents(EvalConfig(), runner, denoiser, int(steps),
                                                         [p["prompt"] for p in prompts], seed + 1, Timing()))
                    other_mel = waves_to_mel(cfg, torch.from_numpy(other[:, :window].astype(np.float32)))
                    figures["fd_mel_other_seed"] = fd_mel(other_mel.numpy(), short_mel.numpy())
                figures.update(summarize(prompts, [hear_run(prompts, wave)]))
                figures.update(window_figures(prompts, wave, short_mel, window, cfg))
                figures["denoise_s_per_clip"] = timing.denoise_s / max(1, timing.clips)
                out[f"{row} @ {s:g} s"] = figures
                print(f"[long] {row} {s:g} s: {json.dumps(figures)}", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path, default=REPO_DIR / "public" / "models" / "soundstep-small")
    ap.add_argument("--rows", nargs="*", default=["snr+1-25:25"], help="denoiser:steps")
    ap.add_argument("--seconds", nargs="*", type=float, default=[2.56, 5.12, 10.24])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    prompts = load_free_form()
    result = {"pack": str(args.pack), "prompts": len(prompts), "seed": args.seed,
              "rows": measure(args.pack, args.rows, args.seconds, args.seed, prompts, cfg)}
    path = eval_dir(cfg) / f"long-clips-{args.pack.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"[long] wrote {path}")


if __name__ == "__main__":
    main()
