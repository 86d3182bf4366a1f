"""Where a log-mel puts its tones: a deterministic spectrum and per-bin frequencies for the vocoder.

A 64-band mel cannot say which linear bin holds a tone, but for one tone it says exactly where:
between two neighbouring band centres c_m < f < c_m+1 the tone excites only those two
triangles, with responses proportional to their slopes, so (slaney triangles of height h_m)

    a_m = M_m / h_m,    f = c_m + (c_m+1 - c_m) * a_m+1 / (a_m + a_m+1),    A = (a_m + a_m+1) * 2 / N_mel

(A: the tone's amplitude; a Hann window of N_mel samples gives a peak of A * N_mel / 4 whose
main lobe sums to about A * N_mel / 2.) Each band pair ("region") is read this way; a region
whose energy a_m + a_m+1 is not a local maximum over its neighbours is the skirt of a tone next
door, and is dropped (soft: (energy / local max)^SHARPNESS). Every kept region's tone is drawn
into the vocoder's own STFT as a Hann main lobe at f (cos^2 over +-2 bins: 1, 0.5, 0 at 0, 1,
2 bins, as Hann's), and each bin takes the frequency of the tones that reach it.

With the vocoder's phase advance set to 2 pi f hop / sr in every bin of a tone's lobe, the bins
rotate together (a phase vocoder's "phase locking"), so a steady tone is resynthesised as one
partial at f, with no partials at bin centres and no frame-rate ripple. Noise reads as many weak
"tones"; the vocoder's gate decides per bin how much of this prior to trust (vocoder.py).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SHARPNESS = 8.0


def slaney_points(n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """(n_mels + 2,) the triangle corners in Hz (centres are [1:-1]), as the front end's filterbank."""
    # Imported here: the teacher stage imports models (hence this module) without transformers.
    from transformers.audio_utils import hertz_to_mel, mel_to_hertz
    lo, hi = hertz_to_mel(f_min, mel_scale="slaney"), hertz_to_mel(f_max, mel_scale="slaney")
    return mel_to_hertz(np.linspace(lo, hi, n_mels + 2), mel_scale="slaney")


def hann_lobe(x: torch.Tensor) -> torch.Tensor:
    """Hann main lobe over bin offsets x, normalised to 1 at 0: cos^2(pi x / 4) for |x| < 2, else 0."""
    return torch.where(x.abs() < 2, torch.cos(math.pi / 4 * x).pow(2), torch.zeros_like(x))


class TonalPrior(nn.Module):
    def __init__(self, n_mels: int, f_min: float, f_max: float, mel_n_fft: int, n_fft: int, sample_rate: int,
                 log_floor: float = 1e-5, bins: int | None = None):
        """mel_n_fft: the front end's STFT size; n_fft: the vocoder's synthesis STFT size;
        log_floor: the front end's floor, which is no signal (silence would read as a comb of tones);
        bins: only the lowest this many bins of the synthesis STFT (default: all n_fft / 2 + 1)."""
        super().__init__()
        self.floor = log_floor * 1.001  # exp(log(floor)) in float32 lands a hair either side of it
        points = slaney_points(n_mels, f_min, f_max)
        centres, heights = points[1:-1], 2.0 / (points[2:] - points[:-2])
        t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)
        self.register_buffer("heights", t(heights), persistent=False)  # (M,)
        self.register_buffer("lower", t(centres[:-1]), persistent=False)  # (R,) R = M - 1 regions
        self.register_buffer("width", t(np.diff(centres)), persistent=False)  # (R,)
        self.sample_rate, self.bin_hz = sample_rate, sample_rate / n_fft
        bins = n_fft // 2 + 1 if bins is None else bins
        self.register_buffer("bins_hz", torch.arange(bins, dtype=torch.float32) * self.bin_hz,
                             persistent=False)  # (bins,)
        self.amplitude_scale = 2.0 / mel_n_fft  # region energy -> tone amplitude A
        self.peak_scale = n_fft / 4  # tone amplitude -> its peak in the synthesis STFT
        # A region's tone lies inside it, and its lobe reaches 2 bins further: so each bin can only
        # hear the few regions listed here (padded with region R, which never holds a tone). Gathering
        # them keeps the work at (B, T, bins, reach) instead of (B, T, regions, bins).
        bins_hz = np.arange(bins) * self.bin_hz
        reach = [np.flatnonzero((centres[:-1] - 2 * self.bin_hz < f) & (f < centres[1:] + 2 * self.bin_hz))
                 for f in bins_hz]
        width = max(len(r) for r in reach)
        table = np.full((len(bins_hz), width), len(centres) - 1)
        for k, r in enumerate(reach):
            table[k, :len(r)] = r
        self.register_buffer("reach", torch.tensor(table.ravel(), dtype=torch.long), persistent=False)  # (bins * W,)
        self.reach_width = width

    def forward(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log_mel (B, T, M) -> the tones' magnitude spectrum (B, bins, T) and each bin's frequency
        in Hz (B, bins, T): the tones' magnitude-weighted frequency, the bin's own without one."""
        a = (log_mel.exp() - self.floor).clamp(min=0) / self.heights  # (B, T, M)
        energy = a[..., :-1] + a[..., 1:]  # (B, T, R)
        freq = self.lower + self.width * a[..., 1:] / energy.clamp(min=1e-12)  # (B, T, R)
        b, t, r = energy.shape
        local_max = F.max_pool1d(energy.reshape(b * t, 1, r), 3, 1, 1).reshape(b, t, r)
        kept = (energy / local_max.clamp(min=1e-12)).pow(SHARPNESS)  # 1 at a local maximum
        peak = kept * energy * self.amplitude_scale * self.peak_scale  # (B, T, R)
        pad = torch.zeros_like(peak[..., :1])
        bins = self.bins_hz.shape[0]
        near_freq = torch.cat([freq, pad], -1).index_select(2, self.reach).reshape(b, t, bins, self.reach_width)
        near_peak = torch.cat([peak, pad], -1).index_select(2, self.reach).reshape(b, t, bins, self.reach_width)
        contribution = near_peak * hann_lobe((self.bins_hz.unsqueeze(-1) - near_freq) / self.bin_hz)  # (B, T, bins, W)
        magnitude = contribution.sum(-1)  # (B, T, bins)
        # A bin no tone reaches keeps its own frequency (eps: the weight of that fallback).
        eps = 1e-6
        bin_freq = ((contribution * near_freq).sum(-1) + eps * self.bins_hz) / (magnitude + eps)
        return magnitude.transpose(1, 2), bin_freq.transpose(1, 2)
