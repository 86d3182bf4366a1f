"""The mel front end, with Tango's settings (AudioLDM's log-magnitude mel).

waveform (B, samples) at 16 kHz -> log_mel (B, frames, n_mels), frames = samples / hop.
log_mel = log(max(mel_filterbank @ |STFT|, log_floor)); slaney mel scale and norm, as librosa.
"""
from __future__ import annotations

import torch
from transformers.audio_utils import mel_filter_bank

from .config import AudioConfig


def mel_filters(cfg: AudioConfig, n_fft: int | None = None) -> torch.Tensor:
    """(n_fft/2+1, n_mels) slaney filterbank of the pack's mel scale, for an STFT of n_fft
    (default: the front end's own)."""
    return torch.tensor(mel_filter_bank(
        num_frequency_bins=(n_fft or cfg.n_fft) // 2 + 1,
        num_mel_filters=cfg.n_mels,
        min_frequency=cfg.f_min,
        max_frequency=cfg.f_max,
        sampling_rate=cfg.sample_rate,
        norm="slaney",
        mel_scale="slaney",
    ), dtype=torch.float32)


class MelFrontEnd(torch.nn.Module):
    def __init__(self, cfg: AudioConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("filters", mel_filters(cfg), persistent=False)  # (n_fft/2+1, n_mels)
        self.register_buffer("window", torch.hann_window(cfg.win_length), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        frames = waveform.shape[-1] // cfg.hop_length
        spec = torch.stft(
            waveform, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
            window=self.window, center=True, pad_mode="reflect", return_complex=True,
        ).abs()  # (B, n_fft/2+1, frames+1)
        mel = torch.einsum("bft,fm->btm", spec, self.filters)  # (B, frames+1, n_mels)
        # center=True yields one frame too many; drop it so frames * hop == samples exactly.
        return torch.log(mel[:, :frames].clamp(min=cfg.log_floor))  # (B, frames, n_mels)
