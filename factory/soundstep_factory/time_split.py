"""Prompts that name two sounds in order ("a phone rings followed by a man talking", "piano music
and then a woman talks", "a bell rings, then a man speaks") sampled in two halves.

The small U-Net hears "X followed by Y" as "X and Y": on the free-form prompts the varied-caption
student puts the speech mostly in the second half in 7 of 15 clips (docs/listening.md). Here the
prompt is split at the sequence word, each half is encoded, and at every step the denoiser is run
once per half on the same z; v is blended along the latent's time axis, the first part's v in the
first half of the clip and the second's in the second, crossfaded over a few frames around the
middle (MultiDiffusion's idea, Bar-Tal et al. 2023, with time instead of image regions). Guidance
(E20) is linear in v, so blending the two guided v equals guiding the blended conditional v: the
unconditional row is run once. The app does the same (src/engine/time-split.ts).
"""
from __future__ import annotations

import re

import numpy as np
import torch

# the sequence word, with an optional comma before it; "first X, then Y" drops its "first"
SEQUENCE = re.compile(r"\s*,?\s*\b(?:followed by|and then|then|before)\b\s*", re.IGNORECASE)
# "Y after X" names the same order backwards (the data's "... after ..." captions)
AFTER = re.compile(r"\s*,?\s*\bafter\b\s*", re.IGNORECASE)
FIRST = re.compile(r"^first\s+", re.IGNORECASE)
# the crossfade's width: the sigmoid's scale in latent frames, as a fraction of the clip
CROSSFADE = 1 / 16


def split_in_time(prompt: str) -> tuple[str, str] | None:
    """("X", "Y") for "X followed by Y" / "X, then Y" / "X and then Y" / "first X, then Y" /
    "X before Y" / "Y after X"; None when the prompt names no order (or one side is empty)."""
    text = prompt.strip()
    parts = SEQUENCE.split(text, maxsplit=1)
    if len(parts) == 2:
        first, second = parts
    else:
        parts = AFTER.split(text, maxsplit=1)
        if len(parts) != 2:
            return None
        second, first = parts
    first, second = FIRST.sub("", first.strip(" ,.")), second.strip(" ,.")
    return (first, second) if first and second else None


def first_part_weight(frames: int, crossfade: float = CROSSFADE) -> torch.Tensor:
    """(1, 1, frames, 1): how much of frame f is the first part's, 1 -> 0 around the middle."""
    f = torch.arange(frames, dtype=torch.float32)
    return torch.sigmoid((frames / 2 - 0.5 - f) / (frames * crossfade)).view(1, 1, frames, 1)


def blend(v_first: torch.Tensor, v_second: torch.Tensor) -> torch.Tensor:
    """v (N, C, T, F) of the first part in the clip's first half, the second's in the second."""
    w = first_part_weight(v_first.shape[2])
    return w * v_first + (1 - w) * v_second


def sample_split(runner, denoiser: str, steps: int, halves: list[tuple[str, str]], noise: np.ndarray,
                 guidance: float | None) -> np.ndarray:
    """Scaled latents (N, C, T, F) for N prompts split in time (`halves`), from `noise` (N, C, T, F)."""
    from . import sampling
    first, first_mask = runner.encode([a for a, _ in halves])
    second, second_mask = runner.encode([b for _, b in halves])
    text = np.concatenate([first, second]), np.concatenate([first_mask, second_mask])
    uncond, uncond_mask = runner.with_unconditional(first, first_mask)
    n = len(halves)

    def denoise(z: torch.Tensor, t: int) -> torch.Tensor:  # (N or 2N, C, T, F): 2N = prompts, then ""
        z_cond = z[:n].numpy()
        v = torch.from_numpy(runner.velocity(denoiser, np.concatenate([z_cond, z_cond]), t, *text))
        v_cond = blend(v[:n], v[n:])
        if len(z) == n:
            return v_cond
        v_uncond = runner.velocity(denoiser, z[n:].numpy(), t, uncond[n:], uncond_mask[n:])
        return torch.cat([v_cond, torch.from_numpy(v_uncond)])

    grid = sampling.trailing_grid(steps)
    return sampling.sample(denoise, torch.from_numpy(noise.astype(np.float32)), grid, sampling.alphas_cumprod(),
                           guidance).numpy()


def sample_latents_split(runner, denoiser: str, steps: int, prompts: list[str], seed: int,
                         noise_rows: list[int] | None = None, noise_count: int | None = None) -> np.ndarray:
    """As eval_runs.sample_latents (the same noise row per prompt), with every prompt that names an
    order sampled in two halves; the others as before. `noise_rows` of `noise_count`: the prompts are
    those rows of a larger set (their noise is that set's)."""
    from .generate import noise_for
    noise = noise_for(seed, noise_count or len(prompts), runner.latent_shape)
    if noise_rows is not None:
        noise = noise[noise_rows]
    guidance = runner.guidance_for(denoiser)
    out = np.empty_like(noise, dtype=np.float32)
    halves = {i: h for i, h in enumerate(map(split_in_time, prompts)) if h is not None}
    split = sorted(halves)
    whole = [i for i in range(len(prompts)) if i not in halves]
    if split:
        out[split] = sample_split(runner, denoiser, steps, [halves[i] for i in split], noise[split], guidance)
    if whole:
        hidden, mask = runner.encode([prompts[i] for i in whole])
        out[whole] = runner.sample(denoiser, steps, hidden, mask, noise[whole], guidance)
    return out
