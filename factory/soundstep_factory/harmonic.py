"""Harmonics that stay periodic by construction: a source-filter path beside an iSTFT vocoder.

docs/listening.md measured where the iSTFT vocoder loses pitch: its per-bin phases, not its
magnitudes. Here the voiced part of a frame is synthesized as a bank of sinusoids whose phase is
accumulated from a pitch track (DDSP's harmonic oscillator, Engel et al. 2020; NSF's sine source),
so a steady tone or a low voice keeps one period whatever the phases of the STFT frames:

  1. each STFT bin of a voiced frame belongs to its nearest harmonic k f0 when it lies within
     LOBE_BINS of it (a Hann window's main lobe);
  2. harmonic k's amplitude carries the energy of its bins (`harmonic_amplitudes`), and those bins
     are taken out of the iSTFT's magnitudes (`notch`), so energy moves, it is not added;
  3. the oscillator bank (`harmonic_bank`) plays the harmonics with amplitudes and f0 interpolated
     to samples; the iSTFT plays what is left (noise, transients, a second source).

Every function is pure, batch-first, and built from ops ONNX exports (cumsum, round, sin, matmul).
Shapes: f0 and voiced (B, T) per STFT frame (frame t centred on sample t * hop); magnitudes
(B, bins, T) at n_fft = 2 (bins - 1).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

LOBE_BINS = 2.0  # a Hann window's main lobe reaches 2 bins either side of a sinusoid
MAX_HARMONICS = 64
NYQUIST_SHARE = 0.95  # no harmonic above 0.95 of Nyquist (it would alias once interpolated)


def nearest_harmonic(f0: torch.Tensor, bins: int, bin_hz: float) -> tuple[torch.Tensor, torch.Tensor]:
    """f0 (B, T) in Hz -> the nearest harmonic number of every bin (B, bins, T), at least 1, and
    the distance to it in bins."""
    f0 = f0.clamp(min=1.0).unsqueeze(1)  # (B, 1, T)
    bin_freq = torch.arange(bins, dtype=f0.dtype, device=f0.device).view(1, -1, 1) * bin_hz
    k = torch.round(bin_freq / f0).clamp(min=1.0)
    return k, (bin_freq - k * f0).abs() / bin_hz


def harmonic_bins(f0: torch.Tensor, voiced: torch.Tensor, bins: int, sample_rate: int,
                  max_harmonics: int = MAX_HARMONICS) -> tuple[torch.Tensor, torch.Tensor]:
    """Which bins the harmonics take (step 1): a 0/1 mask (B, bins, T) and each bin's harmonic
    number k (B, bins, T)."""
    bin_hz = sample_rate / (2 * (bins - 1))
    k, distance = nearest_harmonic(f0, bins, bin_hz)
    audible = k * f0.unsqueeze(1) < NYQUIST_SHARE * sample_rate / 2
    taken = (distance <= LOBE_BINS) & audible & (k <= max_harmonics) & voiced.unsqueeze(1)
    return taken.to(f0.dtype), k


def unit_sine_energy(n_fft: int) -> float:
    """Energy over one main lobe (|bin - f| <= LOBE_BINS) of a unit-amplitude sine at a bin
    centre, in a Hann-windowed frame of n_fft: the yardstick that turns bin energy into amplitude.
    A unit sine puts (sum w / 2)^2 on its own bin and a quarter of that on either neighbour."""
    peak = n_fft / 4  # a periodic Hann window sums to n_fft / 2
    return peak ** 2 * 1.5


def harmonic_amplitudes(magnitude: torch.Tensor, taken: torch.Tensor, k: torch.Tensor,
                        max_harmonics: int = MAX_HARMONICS) -> torch.Tensor:
    """Step 2: amplitude (B, K, T) of each harmonic from the energy of the bins it takes.
    magnitude (B, bins, T) linear; taken and k from harmonic_bins."""
    n_fft = 2 * (magnitude.shape[1] - 1)
    harmonics = torch.arange(1, max_harmonics + 1, dtype=k.dtype, device=k.device).view(1, 1, 1, -1)
    owner = (k.unsqueeze(-1) == harmonics).to(magnitude.dtype).permute(0, 2, 1, 3)  # (B, T, bins, K)
    bin_energy = (magnitude.square() * taken).permute(0, 2, 1).unsqueeze(2)  # (B, T, 1, bins)
    energy = torch.matmul(bin_energy, owner).squeeze(2).transpose(1, 2)  # (B, K, T)
    return torch.sqrt(energy / unit_sine_energy(n_fft) + 1e-12) * (energy > 0).to(energy.dtype)


def notch(log_magnitude: torch.Tensor, taken: torch.Tensor, floor: float = 1e-6) -> torch.Tensor:
    """The iSTFT's log-magnitudes with the harmonics' bins at the floor (step 2)."""
    return log_magnitude + torch.log(1 - taken * (1 - floor))


def frames_to_samples(x: torch.Tensor, hop: int) -> torch.Tensor:
    """(B, C, T) per frame (frame t centred on sample t * hop) -> (B, C, T * hop), linear between
    frame centres and held after the last one."""
    padded = torch.cat([x, x[:, :, -1:]], dim=2)  # (B, C, T + 1)
    return F.interpolate(padded, scale_factor=float(hop), mode="linear", align_corners=False)[
        :, :, hop // 2: hop // 2 + x.shape[2] * hop]


def phase_turns(cycles: torch.Tensor, hop: int) -> torch.Tensor:
    """Running phase in turns, reduced to [0, 1), of per-sample frequencies in cycles per sample
    (B, 1, T * hop). Summed within each hop, then over the hops' fractional totals: float32 keeps
    it to about 1e-5 turn over a clip, and ONNX Runtime's cumsum agrees with PyTorch's (one cumsum
    over 40960 samples drifts 1e-4 turn, which the 60th harmonic makes 0.04 rad)."""
    batch, frames = cycles.shape[0], cycles.shape[2] // hop
    within = torch.cumsum(cycles.reshape(batch, frames, hop), dim=2)  # (B, T, hop)
    totals = within[:, :, -1:]
    totals = totals - torch.floor(totals)
    start = torch.cumsum(totals, dim=1) - totals  # each hop's starting phase, exclusive
    turns = (start - torch.floor(start)) + within - cycles.reshape(batch, frames, hop)
    turns = turns.reshape(batch, 1, frames * hop)
    return turns - torch.floor(turns)


def harmonic_bank(f0: torch.Tensor, amplitudes: torch.Tensor, hop: int, sample_rate: int) -> torch.Tensor:
    """Step 3: f0 (B, T) Hz and amplitudes (B, K, T) per frame -> waveform (B, T * hop).
    The phase is accumulated in turns (phase_turns) and in [0, 1) when the harmonic number
    multiplies it."""
    f0_s = frames_to_samples(f0.unsqueeze(1), hop)  # (B, 1, S)
    turns = phase_turns(f0_s / sample_rate, hop)
    harmonics = torch.arange(1, amplitudes.shape[1] + 1, dtype=f0.dtype, device=f0.device).view(1, -1, 1)
    amp_s = frames_to_samples(amplitudes, hop)  # (B, K, S)
    audible = (harmonics * f0_s < NYQUIST_SHARE * sample_rate / 2).to(f0.dtype)
    return (amp_s * audible * torch.sin(2 * math.pi * harmonics * turns)).sum(dim=1)


def harmonicity_db(magnitude: torch.Tensor, f0: torch.Tensor, sample_rate: int, harmonics: int = 20) -> torch.Tensor:
    """How harmonic each frame is at f0 (B, T): energy at the first `harmonics` multiples of f0
    over the energy halfway between them, in dB, read from linear magnitudes (B, bins, T)."""
    bins = magnitude.shape[1]
    bin_hz = sample_rate / (2 * (bins - 1))
    k = torch.arange(1, harmonics + 1, dtype=f0.dtype, device=f0.device).view(1, -1, 1)
    at_harmonic = k * f0.clamp(min=1.0).unsqueeze(1) / bin_hz  # (B, H, T) in bins
    between = at_harmonic - 0.5 * f0.clamp(min=1.0).unsqueeze(1) / bin_hz
    inside = (at_harmonic < bins - 1).to(f0.dtype)
    power = magnitude.square()

    def read(position: torch.Tensor) -> torch.Tensor:
        index = torch.round(position).clamp(0, bins - 1).long()
        return torch.gather(power, 1, index) * inside

    return 10 * torch.log10((read(at_harmonic).sum(1) + 1e-9) / (read(between).sum(1) + 1e-9))


class HarmonicVocoder(nn.Module):
    """log-mel (B, T, mels) -> waveform (B, T * hop): an iSTFT vocoder (vocoder.IstftVocoder) whose
    harmonic bins, in frames at least `voiced_db` harmonic (harmonicity_db of its own magnitudes at
    the pitch net's f0), are played by the oscillator bank instead. pitch: log-mel -> f0 (B, T), the
    pitch net (pitch_net.PitchNet) or, for an oracle, any function."""

    def __init__(self, istft: nn.Module, pitch: Callable[[torch.Tensor], torch.Tensor], sample_rate: int,
                 voiced_db: float = 6.0):
        super().__init__()
        self.istft, self.pitch = istft, pitch
        self.sample_rate, self.voiced_db = sample_rate, voiced_db

    def parts(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The harmonic waveform and the iSTFT's rest, each (B, T * hop)."""
        log_magnitude, advance, noise = self.istft.heads(log_mel)  # (B, bins, T) each
        magnitude = log_magnitude.exp()
        f0 = self.pitch(log_mel)  # (B, T)
        voiced = harmonicity_db(magnitude, f0, self.sample_rate) > self.voiced_db
        taken, k = harmonic_bins(f0, voiced, magnitude.shape[1], self.sample_rate)
        harmonic = harmonic_bank(f0, harmonic_amplitudes(magnitude, taken, k), self.istft.hop, self.sample_rate)
        rest = self.istft.polar(notch(log_magnitude, taken), self.istft.phase(advance, noise))
        return harmonic, rest

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        harmonic, rest = self.parts(log_mel)
        return harmonic + rest
