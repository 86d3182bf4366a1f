"""Phase locking for an inverse-STFT vocoder: the phase of every bin follows the spectral peak it
belongs to, at the frequency the peak's shape says, with no training.

Why: the iSTFT head (vocoder.py) accumulates a phase per bin. A steady sinusoid lights two to
four neighbouring bins (the window's main lobe), and unless all of them rotate at exactly the
sinusoid's frequency they drift apart and beat: the shipped vocoder turns a 1 kHz sine into two
partials near 920 and 1020 Hz, and a low voice into noise that CREPE calls unvoiced.
A phase vocoder has the same problem and its classic answer is identity phase locking (Laroche
and Dolson 1999): the bins around a peak take the peak's phase. Here the peak's frequency comes
from the magnitudes alone, by the parabola through the peak's log-magnitude and its two
neighbours (Smith and Serra's quadratic interpolation; the idea behind phase reconstruction from
magnitude, as in PGHI, Prusa et al. 2017).

Shapes: (B, bins, T) throughout, bins = n_fft / 2 + 1. Only operations ONNX Runtime Web runs
(Pad, Slice, ArgMax, GatherElements, CumSum, Floor): the vocoder graph carries them.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

VERY_QUIET = -1e4  # log-magnitude padding below any real bin, so an edge never wins a peak


def uphill(log_magnitude: torch.Tensor) -> torch.Tensor:
    """Offset (int64, -1, 0 or 1) from each bin to the loudest of itself and its two neighbours."""
    bins = log_magnitude.shape[1]
    padded = F.pad(log_magnitude, (0, 0, 1, 1), value=VERY_QUIET)  # (B, bins + 2, T)
    window = torch.stack([padded[:, i:i + bins] for i in range(3)], dim=1)  # (B, 3, bins, T)
    return window.argmax(dim=1) - 1


def peak_of(log_magnitude: torch.Tensor, climbs: int) -> torch.Tensor:
    """(B, bins, T) index of the peak each bin belongs to: `climbs` steps uphill from the bin, so
    a bin reaches a peak up to `climbs` bins away and never crosses a valley (two partials two
    bins apart, a chord's notes at n_fft 512, keep their own bins)."""
    step = uphill(log_magnitude)
    peak = torch.arange(log_magnitude.shape[1], device=log_magnitude.device).view(1, -1, 1).expand_as(step)
    for _ in range(climbs):
        peak = peak + torch.gather(step, 1, peak)
    return peak


def interpolated_bin(log_magnitude: torch.Tensor) -> torch.Tensor:
    """Fractional bin position k + delta of the parabola through each bin's log-magnitude and its
    neighbours', delta = (a - c) / (2 (a - 2b + c)) clamped to +-0.5: at a peak, the sinusoid's
    frequency in bins (exact for a Gaussian window, within a few cents for Hann)."""
    bins = log_magnitude.shape[1]
    padded = F.pad(log_magnitude.unsqueeze(1), (0, 0, 1, 1), mode="replicate").squeeze(1)
    a, b, c = padded[:, :bins], log_magnitude, padded[:, 2:]
    curvature = a - 2 * b + c
    safe = torch.where(curvature.abs() < 1e-6, torch.full_like(curvature, -1e-6), curvature)
    delta = (0.5 * (a - c) / safe).clamp(-0.5, 0.5)
    k = torch.arange(bins, dtype=log_magnitude.dtype, device=log_magnitude.device).view(1, -1, 1)
    return k + delta


def locked_phase(log_magnitude: torch.Tensor, hop: int, n_fft: int, climbs: int = 3,
                 advance: torch.Tensor | None = None) -> torch.Tensor:
    """(B, bins, T) log-magnitudes -> (B, bins, T) phases of the STFT frames, centred framing.

    Each bin advances per frame by its peak's interpolated frequency, 2 pi f hop / n_fft with f in
    bins (the phase vocoder's rule), summed over frames; then every bin takes its peak's summed
    phase plus pi k, the phase a centred sinusoid puts on bin k (vocoder.py's `centring`), so the
    bins of one main lobe add up instead of beating. A peak that stays on its bin keeps one phase
    track; a gliding one hands over to a neighbour whose track followed the same peak."""
    peak = peak_of(log_magnitude, climbs)  # (B, bins, T), inside 0..bins-1 (edges are padded VERY_QUIET)
    k = torch.arange(log_magnitude.shape[1], device=log_magnitude.device).view(1, -1, 1)
    if advance is None:
        frequency = torch.gather(interpolated_bin(log_magnitude), 1, peak)  # in bins
        cycles = frequency * (hop / n_fft)  # turns per frame, reduced before the radians: the cumsum stays small
        advance = 2 * math.pi * (cycles - torch.floor(cycles + 0.5))
    else:
        advance = torch.gather(advance, 1, peak)
    track = torch.cumsum(advance, dim=2)
    return torch.gather(track, 1, peak) + math.pi * k.to(log_magnitude.dtype)
