"""Stage: adversarial fine-tuning of the vocoder, with HiFi-GAN's discriminators at a small width.

Usage: python -m soundstep_factory.train --config small --stage vocoder-gan

Trained on spectral losses alone, the vocoder learns noise-like sources (applause, hiss,
gunshots: output RMS 0.9-1.0 of the real clip's) but hardly produces sustained pitched sound
(clarinet, oboe, sirens, beeps: RMS 0.01-0.2), the over-smoothing HiFi-GAN's multi-period
discriminator was designed to remove. This stage starts from the spectral-loss vocoder and adds
HiFi-GAN's losses (Kong et al. 2020, eqs. 1-6): least-squares adversarial terms from a
multi-period (periods 2, 3, 5, 7, 11) and a multi-scale (3 scales) discriminator, feature
matching (x2) and mel L1 (x45). Only the generator ships; the discriminators stay in the
checkpoint so the stage resumes.
Output: <work>/vocoder-gan/checkpoint.pt.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from . import checkpoint
from .config import PackConfig
from .mel import MelFrontEnd
from .vocoder import build_vocoder

LRELU_SLOPE = 0.1
PERIODS = (2, 3, 5, 7, 11)
# Period discriminators' widths: small enough for the CPU; HiFi-GAN's own, (32, 128, 512, 1024), on a GPU
DISC_WIDTHS = (16, 32, 64, 128)


def run_stack(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Convs with leaky ReLU, then the 1-channel output conv: (logits (B, *), every layer's features)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """Looks at every p-th sample: waveform (B, S) folded to (B, 1, S/p, p), 2-D convs along time."""

    def __init__(self, period: int, widths: tuple[int, ...] = DISC_WIDTHS):
        super().__init__()
        self.period = period
        chans = (1,) + widths
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(chans[i], chans[i + 1], (5, 1), (3, 1) if i < len(widths) - 1 else 1, padding=(2, 0)))
            for i in range(len(widths)))
        self.post = weight_norm(nn.Conv2d(chans[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, s = wave.shape
        pad = (-s) % self.period
        x = F.pad(wave, (0, pad), mode="reflect").view(b, 1, (s + pad) // self.period, self.period)
        return run_stack(self.convs, self.post, x)


class ScaleDiscriminator(nn.Module):
    """Strided grouped 1-D convs over the waveform (after `pool` average-poolings of 2)."""

    def __init__(self, pool: int):
        super().__init__()
        self.pool = pool
        spec = [(1, 16, 15, 1, 1), (16, 32, 41, 4, 4), (32, 64, 41, 4, 16), (64, 128, 41, 4, 16), (128, 128, 5, 1, 1)]
        self.convs = nn.ModuleList(weight_norm(nn.Conv1d(i, o, k, s, groups=g, padding=k // 2)) for i, o, k, s, g in spec)
        self.post = weight_norm(nn.Conv1d(128, 1, 3, padding=1))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = wave.unsqueeze(1)
        for _ in range(self.pool):
            x = F.avg_pool1d(x, 4, 2, padding=2)
        return run_stack(self.convs, self.post, x)


class Discriminators(nn.Module):
    def __init__(self, widths: tuple[int, ...] = DISC_WIDTHS):
        super().__init__()
        self.widths = tuple(widths)
        self.all = nn.ModuleList([PeriodDiscriminator(p, self.widths) for p in PERIODS]
                                 + [ScaleDiscriminator(k) for k in range(3)])

    def forward(self, wave: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [d(wave) for d in self.all]


def discriminator_loss(real: list, fake: list) -> torch.Tensor:
    """LSGAN: sum_k E[(D_k(x) - 1)^2] + E[D_k(G(s))^2] (HiFi-GAN eq. 1)."""
    return sum(((r - 1) ** 2).mean() + (f ** 2).mean() for (r, _), (f, _) in zip(real, fake))


def generator_adversarial_loss(fake: list) -> torch.Tensor:
    """sum_k E[(D_k(G(s)) - 1)^2] (HiFi-GAN eq. 2)."""
    return sum(((f - 1) ** 2).mean() for f, _ in fake)


def feature_matching_loss(real: list, fake: list) -> torch.Tensor:
    """sum_k sum_i mean |D_k^i(x) - D_k^i(G(s))| (HiFi-GAN eq. 4)."""
    return sum((rf.detach() - ff).abs().mean() for (_, rfs), (_, ffs) in zip(real, fake) for rf, ff in zip(rfs, ffs))


class GanTrainer:
    """One generator, its discriminators and both optimizers; `step` is one HiFi-GAN update of
    each on a batch of (mel segments, the real waveform under them). gan.py's stage runs it on
    the CPU, gpu_vocoder.py on a lent GPU."""

    def __init__(self, cfg: PackConfig, generator: nn.Module, widths: tuple[int, ...] = DISC_WIDTHS):
        self.generator, self.disc = generator.train(), Discriminators(widths)
        lr, betas = cfg.vocoder.gan_lr, (0.8, 0.99)
        self.g_opt = torch.optim.AdamW(self.generator.parameters(), lr=lr, betas=betas, weight_decay=0.0)
        self.d_opt = torch.optim.AdamW(self.disc.parameters(), lr=lr, betas=betas, weight_decay=0.0)
        self.mel_fe = MelFrontEnd(cfg.audio)

    def to(self, device: str) -> GanTrainer:
        for module in (self.generator, self.disc, self.mel_fe):
            module.to(device)
        return self

    def step(self, mel: torch.Tensor, real: torch.Tensor) -> list[float]:
        """mel (B, seg, mels), real (B, seg * hop) -> [D loss, adversarial, feature matching, mel L1]."""
        fake = self.generator(mel)
        d_loss = discriminator_loss(self.disc(real), self.disc(fake.detach()))
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_opt.step()

        out_real, out_fake = self.disc(real), self.disc(fake)
        mel_l1 = (self.mel_fe(fake) - self.mel_fe(real)).abs().mean()
        adv, fm = generator_adversarial_loss(out_fake), feature_matching_loss(out_real, out_fake)
        g_loss = adv + 2.0 * fm + 45.0 * mel_l1
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        return [d_loss.item(), adv.item(), fm.item(), mel_l1.item()]

    def state(self) -> dict:
        """What checkpoint.save keeps beside the generator, so the stage resumes."""
        return {"discriminators": self.disc.state_dict(), "d_optimizer": self.d_opt.state_dict(),
                "disc_widths": list(self.disc.widths)}


def segment_batch(wave: torch.Tensor, mel: torch.Tensor, batch: int, seg: int, hop: int,
                  g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random rows and start frames: mel (B, seg, mels) and the waveform under it (B, seg * hop)."""
    rows = torch.randint(0, len(mel), (batch,), generator=g)
    starts = torch.randint(0, mel.shape[1] - seg + 1, (batch,), generator=g)
    m = torch.stack([mel[r, s:s + seg] for r, s in zip(rows, starts)])
    real = torch.stack([wave[r, s * hop:(s + seg) * hop] for r, s in zip(rows, starts)])
    return m, real


def history_row(step: int, window: list[list[float]]) -> dict:
    d, a, f, ml = np.mean(window, axis=0)
    return {"step": step, "loss": float(a + 2 * f + 45 * ml), "d_loss": float(d), "adv": float(a),
            "fm": float(f), "mel_l1": float(ml)}


def resumed_disc_widths(state: dict | None) -> tuple[int, ...]:
    """The discriminators' widths for a run resuming from `state`: the stored widths only when the
    discriminators themselves are stored. A checkpoint that gpu_vocoder restores records the GPU
    run's full widths (13 M parameters) but no discriminator weights, and the fresh ones this CPU
    then trains should be the small ones."""
    if state is None or "discriminators" not in state["extra"]:
        return DISC_WIDTHS
    return tuple(state["extra"].get("disc_widths", DISC_WIDTHS))


def train_vocoder_gan(cfg: PackConfig) -> None:
    from .checkpoint import load_features, load_trained

    v = cfg.vocoder
    path = cfg.work_dir / "vocoder-gan" / "checkpoint.pt"
    feats = load_features(cfg)
    wave, mel = feats["wave"], feats["mel"]  # (N, S), (N, frames, mels)
    state = checkpoint.load(path)
    gan = GanTrainer(cfg, load_trained(cfg, "vocoder", build_vocoder(cfg, calibrated=False)), resumed_disc_widths(state))
    step, history = 0, []
    if state is not None:
        gan.generator.load_state_dict(state["model"])
        if "discriminators" in state["extra"]:  # an imported or GPU-restored one has none: fresh ones
            gan.g_opt.load_state_dict(state["optimizer"])
            gan.disc.load_state_dict(state["extra"]["discriminators"])
            gan.d_opt.load_state_dict(state["extra"]["d_optimizer"])
        step, history = state["step"], state["history"]
        print(f"[vocoder-gan] resumed at step {step}", flush=True)
    g = torch.Generator().manual_seed(7 + step)
    started, window = time.time(), []
    while step < v.gan_steps:
        window.append(gan.step(*segment_batch(wave, mel, v.batch_size, v.segment_frames, cfg.audio.hop_length, g)))
        step += 1
        if step % 50 == 0 or step == v.gan_steps:
            history.append(row := history_row(step, window))
            print(f"[vocoder-gan] step {step}/{v.gan_steps} D {row['d_loss']:.3f} adv {row['adv']:.3f} "
                  f"fm {row['fm']:.3f} mel {row['mel_l1']:.3f} ({len(window) / (time.time() - started):.2f} steps/s)",
                  flush=True)
            started, window = time.time(), []
        if step % cfg.checkpoint_every == 0 or step == v.gan_steps:
            checkpoint.save(path, cfg=cfg, stage="vocoder-gan", step=step, model=gan.generator, optimizer=gan.g_opt,
                            history=history, extra=gan.state())
