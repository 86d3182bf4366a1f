"""The real clips the evaluation compares with: every rendered clip's log-mel (`load_real`), and
the first prompts of a split with their clips, mixes and VAE latents (`test_prompts`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import PackConfig


@dataclass
class EvalConfig:
    """What the table's runs generate (the paper's Table 1: 5 runs, mean and 95% interval)."""
    runs: int = 5  # sampling seeds 0 .. runs-1
    num_prompts: int = 100  # the first test clips' captions (their order is random at render time)
    batch_size: int = 50
    examples: int = 4  # waveforms kept per run, for the report's pictures


def eval_dir(cfg: PackConfig) -> Path:
    return cfg.work_dir / "eval"


def load_real(cfg: PackConfig) -> dict:
    """Log-mels (N, frames, mels), sources, split and ids of every rendered clip: from
    <work>/features.pt when the features stage has run, else straight from <work>/data."""
    feats_path = cfg.work_dir / "features.pt"
    if feats_path.exists():
        f = torch.load(feats_path, weights_only=False)
        return {"mel": f["mel"], "sources": f["sources"], "split": f["split"], "ids": f["ids"]}
    from .data import load_audio, load_clips
    clips = load_clips(cfg.work_dir / "data")
    wave = torch.stack([torch.from_numpy(load_audio(cfg.work_dir / "data" / c["file"])) for c in clips])
    return {"mel": waves_to_mel(cfg, wave), "sources": [c["sources"] for c in clips],
            "split": [c["split"] for c in clips], "ids": [c["id"] for c in clips]}


def waves_to_mel(cfg: PackConfig, wave: torch.Tensor) -> torch.Tensor:
    """Waveforms (N, S) -> log-mels (N, frames, mels) with the pack's front end."""
    from .mel import MelFrontEnd
    fe = MelFrontEnd(cfg.audio)
    with torch.no_grad():
        return torch.cat([fe(wave[i:i + 64].float()) for i in range(0, len(wave), 64)])


def split_rows(real: dict, split: str) -> dict:
    keep = [i for i, s in enumerate(real["split"]) if s == split]
    return {"mel": real["mel"][keep], "sources": [real["sources"][i] for i in keep],
            "ids": [real["ids"][i] for i in keep]}



def test_prompts(cfg: PackConfig, ecfg: EvalConfig, split: str = "test") -> dict:
    """The first prompts of a split (the held-out test split unless told) and their real clips:
    captions, sources, mixes (single/while/then, from the data set's captions.jsonl; None without
    it), wave (P, S), mel (P, frames, mels), and the VAE posterior means (P, C, T, F) (unscaled)
    for the reconstruction floor."""
    f = torch.load(cfg.work_dir / "features.pt", weights_only=False)
    latents_path = cfg.work_dir / "latents.pt"  # absent before the latents stage (stage_vae needs none)
    lat = torch.load(latents_path, weights_only=False)["latents"] if latents_path.exists() else None
    rows = [i for i, s in enumerate(f["split"]) if s == split][: ecfg.num_prompts]
    if not rows:
        raise ValueError(f"no {split!r} clips in {cfg.work_dir / 'features.pt'}")
    ids = [f["ids"][i] for i in rows]
    mixes = None
    if (cfg.work_dir / "data" / "captions.jsonl").exists():
        from .data import load_clips
        mix_of = {c["id"]: c["mix"] for c in load_clips(cfg.work_dir / "data")}
        mixes = [mix_of[i] for i in ids]
    return {"captions": [f["captions"][i] for i in rows], "sources": [f["sources"][i] for i in rows],
            "mixes": mixes, "ids": ids, "wave": f["wave"][rows], "mel": f["mel"][rows],
            "latents": None if lat is None else lat[rows]}


def reconstruction_errors(cfg: PackConfig, wave: torch.Tensor, real_wave: torch.Tensor, real_mel: torch.Tensor) -> dict:
    """mel_l1: mean |log-mel(wave) - log-mel(real)|; mrstft: the vocoder's multi-resolution STFT loss."""
    from .train import stft_loss
    mel = waves_to_mel(cfg, wave)
    with torch.no_grad():
        mrstft = float(np.mean([float(stft_loss(wave[i:i + 32].float(), real_wave[i:i + 32].float()))
                                for i in range(0, len(wave), 32)]))
    return {"mel_l1": float((mel - real_mel).abs().mean()), "mrstft": mrstft}
