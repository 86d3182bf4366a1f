"""A pitch track read from the log-mel: the f0 of the vocoder's harmonic path (harmonic.py).

Usage: python -m soundstep_factory.pitch_net --config small-next --stage labels|train|check

  labels  PESTO (Riou et al. 2023, pesto-pitch; its weights ship in its PyPI wheel) reads the f0 and
          its confidence from every rendered clip, and harmonic.harmonicity_db how harmonic the real
          STFT is at that f0 -> <work>/pitch/labels.pt. PESTO, not CREPE: CREPE is the independent
          ear that scores the vocoder (ears.py), so it must not also be its teacher.
  train   PitchNet, log-mel (B, T, mels) -> f0 (B, T), trained on the training split's labels;
          frames count by PESTO's confidence, and only where the real clip is harmonic
          (HARMONIC_DB) -> <work>/pitch/checkpoint.pt (self-describing, resumes).
  check   the test split: share of its harmonic frames within 50 cents of PESTO, and the octave
          errors among the rest.

The net classifies each frame into 20-cent bins from 50 Hz (CREPE's output layout; a Gaussian
target of 25 cents) and reads f0 as the probability-weighted mean of the bins around the most
likely one, so an octave ambiguity picks a side instead of averaging to a pitch nobody sang.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import load, save
from .config import PackConfig, cpu_threads, load_config
from .harmonic import harmonicity_db

HARMONIC_DB = 3.0  # frames whose real STFT is this much louder at f0's harmonics than between them


@dataclass(frozen=True)
class PitchConfig:
    channels: int = 96
    blocks: int = 4
    fmin: float = 50.0
    cents_per_bin: float = 20.0
    bins: int = 320  # 50 Hz .. 2016 Hz, CREPE's top
    target_cents: float = 25.0  # std of the Gaussian target
    read_bins: int = 4  # f0 = weighted mean of the bins within this many of the most likely
    steps: int = 3000
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 0


TINY = PitchConfig(channels=16, blocks=1, steps=20, batch_size=4)


class PitchNet(nn.Module):
    """Dilated 1-D convolutions over time on the log-mel, a bin classifier per frame."""

    def __init__(self, n_mels: int, pcfg: PitchConfig):
        super().__init__()
        self.pcfg = pcfg
        c = pcfg.channels
        self.pre = nn.Conv1d(n_mels, c, 5, padding=2)
        self.blocks = nn.ModuleList(nn.Conv1d(c, c, 3, padding=2 ** i, dilation=2 ** i) for i in range(pcfg.blocks))
        self.norms = nn.ModuleList(nn.GroupNorm(1, c) for _ in range(pcfg.blocks))
        self.head = nn.Conv1d(c, pcfg.bins, 1)
        cents = pcfg.cents_per_bin * torch.arange(pcfg.bins, dtype=torch.float32)
        self.register_buffer("bin_cents", cents, persistent=False)  # above fmin

    def logits(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(B, T, mels) -> (B, bins, T)."""
        x = F.gelu(self.pre(log_mel.transpose(1, 2)))
        for conv, norm in zip(self.blocks, self.norms):
            x = x + F.gelu(norm(conv(x)))
        return self.head(x)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(B, T, mels) -> f0 (B, T) in Hz."""
        probs = torch.softmax(self.logits(log_mel), dim=1)  # (B, bins, T)
        index = torch.arange(self.pcfg.bins, device=probs.device, dtype=probs.dtype).view(1, -1, 1)
        peak = torch.argmax(probs, dim=1, keepdim=True).to(probs.dtype)  # (B, 1, T)
        near = probs * ((index - peak).abs() <= self.pcfg.read_bins).to(probs.dtype)
        cents = (near * self.bin_cents.view(1, -1, 1)).sum(1) / near.sum(1).clamp(min=1e-9)
        return self.pcfg.fmin * torch.pow(2.0, cents / 1200)


def hz_to_bin(f0: torch.Tensor, pcfg: PitchConfig) -> torch.Tensor:
    """f0 in Hz -> fractional bin index of PitchNet's layout."""
    return 1200 * torch.log2(f0.clamp(min=1e-3) / pcfg.fmin) / pcfg.cents_per_bin


def pitch_loss(logits: torch.Tensor, f0: torch.Tensor, weight: torch.Tensor, pcfg: PitchConfig) -> torch.Tensor:
    """Cross-entropy against a Gaussian around each label (CREPE's), per frame weight (B, T).
    logits (B, bins, T); f0 (B, T) Hz."""
    index = torch.arange(pcfg.bins, dtype=logits.dtype, device=logits.device).view(1, -1, 1)
    sigma = pcfg.target_cents / pcfg.cents_per_bin
    target = torch.exp(-0.5 * ((index - hz_to_bin(f0, pcfg).unsqueeze(1)) / sigma) ** 2)  # (B, bins, T)
    target = target / target.sum(1, keepdim=True).clamp(min=1e-9)
    per_frame = -(target * torch.log_softmax(logits, dim=1)).sum(1)  # (B, T)
    return (per_frame * weight).sum() / weight.sum().clamp(min=1e-9)


def pitch_dir(cfg: PackConfig):
    return cfg.work_dir / "pitch"


# ---------------------------------------------------------------- labels
def pesto_track(wave: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, samples) at 16 kHz -> PESTO's f0 (N, frames) in Hz and confidence (N, frames), frame t
    centred on sample t * 160 as the log-mel's."""
    import pesto
    f0s, confs = [], []
    for start in range(0, len(wave), 32):
        _, f0, confidence, _ = pesto.predict(wave[start:start + 32], 16000, step_size=10.0)
        f0s.append(f0.reshape(-1, f0.shape[-1])[:, :frames])
        confs.append(confidence.reshape(-1, f0.shape[-1])[:, :frames])
    return torch.cat(f0s).float(), torch.cat(confs).float()


def stage_labels(cfg: PackConfig) -> dict:
    from .data import load_audio, load_clips
    clips = load_clips(cfg.work_dir / "data")
    wave = torch.stack([torch.from_numpy(load_audio(cfg.work_dir / "data" / c["file"])) for c in clips]).float()
    frames = cfg.audio.frames
    started = time.time()
    f0, confidence = pesto_track(wave, frames)
    window = torch.hann_window(512)
    magnitude = torch.stft(wave, 512, cfg.audio.hop_length, window=window, return_complex=True).abs()[:, :, :frames]
    harmonicity = harmonicity_db(magnitude, f0, cfg.audio.sample_rate)
    labels = {"ids": [c["id"] for c in clips], "split": [c["split"] for c in clips], "f0": f0,
              "confidence": confidence, "harmonicity_db": harmonicity}
    pitch_dir(cfg).mkdir(parents=True, exist_ok=True)
    torch.save(labels, pitch_dir(cfg) / "labels.pt")
    return {"clips": len(clips), "seconds": round(time.time() - started, 1),
            "harmonic_share": float((harmonicity > HARMONIC_DB).float().mean())}


def labelled_set(cfg: PackConfig, split: str) -> dict:
    """Log-mels (N, T, mels) of one split beside their labels, matched by clip id."""
    from .checkpoint import load_features
    feats = load_features(cfg, split)
    labels = torch.load(pitch_dir(cfg) / "labels.pt", weights_only=False)
    row = {clip_id: i for i, clip_id in enumerate(labels["ids"])}
    index = torch.tensor([row[clip_id] for clip_id in feats["ids"]])
    frames = feats["mel"].shape[1]
    weight = labels["confidence"][index] * (labels["harmonicity_db"][index] > HARMONIC_DB).float()
    return {"mel": feats["mel"].float(), "f0": labels["f0"][index][:, :frames], "weight": weight[:, :frames]}


# ---------------------------------------------------------------- training
def stage_train(cfg: PackConfig, pcfg: PitchConfig) -> dict:
    torch.manual_seed(pcfg.seed)
    data = labelled_set(cfg, "train")
    model = PitchNet(data["mel"].shape[2], pcfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=pcfg.lr)
    path, step, history = pitch_dir(cfg) / "checkpoint.pt", 0, []
    state = load(path)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / pcfg.steps, 1.0))), last_epoch=step - 1)
    generator = torch.Generator().manual_seed(pcfg.seed + step)
    started = time.time()
    while step < pcfg.steps:
        rows = torch.randint(len(data["mel"]), (pcfg.batch_size,), generator=generator)
        gain = torch.empty(pcfg.batch_size, 1, 1).uniform_(-0.7, 0.7, generator=generator)  # +-6 dB in log-mel
        loss = pitch_loss(model.logits(data["mel"][rows] + gain), data["f0"][rows], data["weight"][rows], pcfg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        step += 1
        if step % 250 == 0 or step == pcfg.steps:
            history.append({"step": step, "loss": float(loss)})
            print(f"[pitch] step {step} loss {float(loss):.3f} {(time.time() - started) / 250:.2f} s/step", flush=True)
            started = time.time()
            save(path, cfg=cfg, stage="pitch", step=step, model=model, optimizer=optimizer, history=history,
                 extra={"pitch_config": dataclasses.asdict(pcfg)})
    return {"steps": step, "loss": history[-1]["loss"] if history else None}


def load_pitch_net(cfg: PackConfig) -> PitchNet:
    state = load(pitch_dir(cfg) / "checkpoint.pt")
    if state is None:
        raise FileNotFoundError(f"no pitch net in {pitch_dir(cfg)}: run pitch_net --stage labels, then --stage train")
    pcfg = PitchConfig(**state["extra"]["pitch_config"])
    model = PitchNet(cfg.audio.n_mels, pcfg)
    model.load_state_dict(state["model"])
    return model.eval()


def shipped_vocoder(cfg: PackConfig) -> nn.Module:
    """The vocoder the recipe's pack ships, trained, in eval mode: its iSTFT vocoder, with the
    harmonic path (harmonic.HarmonicVocoder) and the pitch net when VocoderConfig.harmonic."""
    from .checkpoint import load_trained
    from .harmonic import HarmonicVocoder
    from .train import vocoder_stage
    from .vocoder import build_vocoder
    vocoder = load_trained(cfg, vocoder_stage(cfg), build_vocoder(cfg))
    if not cfg.vocoder.harmonic:
        return vocoder
    return HarmonicVocoder(vocoder, load_pitch_net(cfg), cfg.audio.sample_rate, cfg.vocoder.harmonic_voiced_db).eval()


def stage_check(cfg: PackConfig) -> dict:
    """How the trained net reads the test split's harmonic frames, against PESTO on the real clips."""
    data = labelled_set(cfg, "test")
    model = load_pitch_net(cfg)
    with torch.no_grad():
        f0 = torch.cat([model(data["mel"][i:i + 32]) for i in range(0, len(data["mel"]), 32)])
    keep = data["weight"] > 0.5
    cents = 1200 * torch.log2(f0[keep] / data["f0"][keep])
    within = cents.abs() <= 50
    octave = ((cents.abs() - 1200).abs() <= 100) & ~within
    return {"frames": int(keep.sum()), "within_50_cents": float(within.float().mean()),
            "octave_errors": float(octave.float().mean()), "median_abs_cents": float(cents.abs().median())}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--stage", choices=("labels", "train", "check"), required=True)
    ap.add_argument("--tiny", action="store_true", help="the tiny PitchConfig (tests)")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="train: override PitchConfig fields")
    args = ap.parse_args(argv)
    torch.set_num_threads(cpu_threads())
    cfg = load_config(args.config)
    pcfg = TINY if args.tiny else PitchConfig()
    fields = {f.name: f.type for f in dataclasses.fields(PitchConfig)}
    overrides: dict[str, Any] = {}
    for item in args.set:
        name, value = item.split("=", 1)
        if name not in fields:
            raise SystemExit(f"--set {item}: PitchConfig has no field {name!r} (it has {', '.join(fields)})")
        overrides[name] = (float if fields[name] == "float" else int)(value)
    pcfg = dataclasses.replace(pcfg, **overrides)
    result = {"labels": lambda: stage_labels(cfg), "train": lambda: stage_train(cfg, pcfg),
              "check": lambda: stage_check(cfg)}[args.stage]()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
