"""A second stage for the iSTFT vocoder: its phase advances below ~1.25 kHz, refined by a small
network that reads each bin's neighbourhood along frequency, the trained vocoder frozen beneath it.

log_mel (B, frames, mels) -> waveform (B, frames * hop), as IstftVocoder.

Why there, and why this shape (docs/listening.md, "The low band's phase advances"):
  - The real clip's own phase advances below 1.2 kHz, put into the shipped vocoder with everything
    else its own, take raw pitch accuracy from 0.73 to 0.88 on the test clips; the real advances at
    every bin add nothing more (0.88). The pitch is lost in the low band's advances.
  - Below 1 kHz the front end's Slaney mel is linear (bands 46 Hz apart), so a voice's or an
    instrument's low harmonics are resolved there, and where a partial sits between two bands is
    read from the bands' ratio (tonal_prior.py). But the vocoder's head reads that from a trunk that
    mixes all 64 bands as channels, once per bin: 257 different functions of the band ratios.
  - Here one small 2-D convolution runs along frequency and time over the low bins, the same
    weights at every bin, fed what sets a bin's rotation locally: the vocoder's own advance, the
    tonal prior's nearest tone (its offset from the bin, in bins, and its magnitude), and the
    vocoder's log-magnitudes. It adds a correction to each low bin's advance and scales the
    bin's share of random phase. The correction starts at zero, so the untrained stage is the
    vocoder it refines, output for output (tests/test_low_band.py).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .tonal_prior import TonalPrior
from .vocoder import LRELU_SLOPE, IstftVocoder

FEATURES = 6  # per low bin and frame: see LowBandVocoder.features
# The refiner's input convolution takes the features padded with zero channels to 8. onnxruntime-web
# 1.30's WebGPU Conv gave a 6-input-channel 5 x 3 Conv wrong on SwiftShader (max |webgpu - wasm| 6.9
# where the outputs reach 19.8), while the same weights padded to 8 channels agree within 1e-5.
INPUT_CHANNELS = 8


def wrap(angle: torch.Tensor) -> torch.Tensor:
    """An angle in radians, wrapped to [-pi, pi]."""
    return angle - 2 * math.pi * torch.round(angle / (2 * math.pi))


class LowBandVocoder(nn.Module):
    def __init__(self, vocoder: IstftVocoder, tonal: TonalPrior, channels: int = 16, layers: int = 4,
                 magnitude: bool = False):
        """vocoder: the trained iSTFT vocoder (frozen here: only the refiner trains);
        tonal: the tonal prior at the vocoder's n_fft over the bins to refine (TonalPrior's `bins`:
        the band's upper edge); channels, layers: the refiner's width and its residual layers,
        dilated 1, 2, 4, ... in time; magnitude: also correct the low bins' log-magnitudes (the
        vocoder's magnitudes with the real phases keep RPA at 0.93, not 1: they lose pitch too).
        Measured (docs/listening.md): the magnitude correction and 32 channels x 6 layers each lost
        voicing against the shipped 16 x 4 without it."""
        super().__init__()
        self.vocoder = vocoder.requires_grad_(False)
        self.tonal = tonal
        self.n_fft, self.hop = vocoder.n_fft, vocoder.hop
        self.low_bins = tonal.bins_hz.shape[0]
        self.inp = nn.Conv2d(INPUT_CHANNELS, channels, (5, 3), padding=(2, 1))
        self.body = nn.ModuleList(nn.Conv2d(channels, channels, (5, 3), padding=(2, 2 ** i), dilation=(1, 2 ** i))
                                  for i in range(layers))
        # the advance's correction, the noise share's log-gain and, with magnitude, the log-magnitude's correction
        self.out = nn.Conv2d(channels, 3 if magnitude else 2, 1)
        assert self.out.bias is not None  # nn.Conv2d's bias is on by default
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def features(self, log_mel: torch.Tensor, log_magnitude: torch.Tensor, advance: torch.Tensor,
                 noise: torch.Tensor) -> torch.Tensor:
        """The vocoder's heads below the band edge (each (B, K, T)) -> (B, INPUT_CHANNELS, K, T): its
        advance's deviation from the bin centre, the nearest tone's offset from the bin in bins
        (clamped to +-3) and its log-magnitude, the vocoder's log-magnitude, its noise share, and
        its log-magnitude against the band's loudest bin in the frame (FEATURES), then zero
        channels. Log-magnitudes are divided by 5 to sit near unit scale."""
        k = self.low_bins
        tone_magnitude, tone_hz = self.tonal(log_mel)  # (B, K, T) each
        deviation = wrap(advance - self.vocoder.centre_advance[:, :k])
        return torch.stack([deviation, ((tone_hz - self.tonal.bins_hz.view(1, -1, 1)) / self.tonal.bin_hz).clamp(-3, 3),
                            torch.log(tone_magnitude + 1e-4) / 5, log_magnitude / 5, noise,
                            (log_magnitude - log_magnitude.amax(1, keepdim=True)) / 5,
                            *[torch.zeros_like(noise)] * (INPUT_CHANNELS - FEATURES)], 1)

    def heads(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log_mel (B, T, mels) -> log-magnitude, phase advance and noise share, each (B, bins, T):
        the vocoder's, with the low bins' advances and noise shares refined."""
        log_magnitude, advance, noise = self.vocoder.heads(log_mel)
        k = self.low_bins
        h = F.leaky_relu(self.inp(self.features(log_mel, log_magnitude[:, :k], advance[:, :k], noise[:, :k])),
                         LRELU_SLOPE)  # (B, C, K, T)
        for conv in self.body:
            h = h + conv(F.leaky_relu(h, LRELU_SLOPE))
        correction, noise_gain, *magnitude = self.out(F.leaky_relu(h, LRELU_SLOPE)).unbind(1)  # (B, K, T) each
        advance = torch.cat([wrap(advance[:, :k] + correction), advance[:, k:]], 1)
        if magnitude:
            log_magnitude = torch.cat([log_magnitude[:, :k] + magnitude[0], log_magnitude[:, k:]], 1)
        noise = torch.cat([(noise[:, :k] * 2 * torch.sigmoid(noise_gain)).clamp(max=1.0), noise[:, k:]], 1)
        return log_magnitude, advance, noise

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        return self.vocoder.synthesize(*self.heads(log_mel))

    # The rest of IstftVocoder's interface, for vocoder.training_loss and phase_oracles.py.
    def phase(self, advance: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.vocoder.phase(advance, noise)

    def polar(self, log_magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        return self.vocoder.polar(log_magnitude, phase)

    def analysis(self, wave_with_context: torch.Tensor, frames: int) -> torch.Tensor:
        return self.vocoder.analysis(wave_with_context, frames)
