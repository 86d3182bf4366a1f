"""Where an iSTFT vocoder loses pitch: its magnitudes or its phases. Each row here swaps one of the
two for the real clip's own (an oracle) or for phase locking (phase_lock.py, no training).

Usage: python -m soundstep_factory.vocoder_eval --config small-next --decompose small-next --no-judge

Every candidate is a resynthesis, waveform (N, S) -> waveform (N, S) at 16 kHz: the real STFT is
read from the waveform in the vocoder's own framing (n_fft 512, hop 160, centred), and the
vocoder's heads from the waveform's log-mel (the pack's front end). So the same function runs on
the real test clips and on the tone test's sines.

  real magnitudes, locked phases        no network: how far phase locking alone gets
  real magnitudes, <vocoder> phases     the vocoder's phases (accumulated advances, noise) on true magnitudes
  <vocoder> magnitudes, real phases     the vocoder's magnitudes with the true phases: the ceiling of
                                        any phase fix on top of these magnitudes
  <vocoder> magnitudes, locked phases   phase locking on the vocoder's magnitudes
  <vocoder>, harmonics of PESTO's pitch the vocoder with the harmonic path (harmonic.py), its f0 read
                                        by PESTO from the real clip: the ceiling of a pitch net
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .config import PackConfig
from .phase_lock import locked_phase
from .vocoder import IstftVocoder

Resynth = Callable[[np.ndarray], np.ndarray]


def real_stft(vocoder: IstftVocoder, wave: torch.Tensor) -> torch.Tensor:
    """(N, frames * hop) -> (N, bins, frames) complex, the clip reflected at its ends for context."""
    half = vocoder.n_fft // 2
    padded = F.pad(wave.unsqueeze(1), (half, half), mode="reflect").squeeze(1)
    return vocoder.analysis(padded, wave.shape[1] // vocoder.hop)


def decomposition(cfg: PackConfig, vocoder: IstftVocoder, name: str) -> dict[str, Resynth]:
    """The four rows above for one trained vocoder (eval mode), named with `name`."""
    from .eval_data import waves_to_mel

    def resynth(magnitude_from: str, phase_from: str) -> Resynth:
        def run(wave: np.ndarray) -> np.ndarray:
            w = torch.from_numpy(wave).float()
            with torch.no_grad():
                real = real_stft(vocoder, w)
                log_magnitude, advance, noise = vocoder.heads(waves_to_mel(cfg, w))
                if magnitude_from == "real":
                    log_magnitude = torch.log(real.abs().clamp(min=1e-6))
                phase = {"real": lambda: torch.angle(real),
                         "vocoder": lambda: vocoder.phase(advance, noise),
                         "locked": lambda: locked_phase(log_magnitude, vocoder.hop, vocoder.n_fft)}[phase_from]()
                return vocoder.polar(log_magnitude, phase).numpy()
        return run

    def harmonics_of_pesto(wave: np.ndarray) -> np.ndarray:
        from .harmonic import HarmonicVocoder
        from .pitch_net import pesto_track
        w = torch.from_numpy(wave).float()
        log_mel = waves_to_mel(cfg, w)
        f0, _ = pesto_track(w, log_mel.shape[1])
        with torch.no_grad():
            oracle = HarmonicVocoder(vocoder, lambda _: f0, cfg.audio.sample_rate, cfg.vocoder.harmonic_voiced_db)
            return oracle(log_mel).numpy()

    return {"real magnitudes, locked phases": resynth("real", "locked"),
            f"real magnitudes, {name} phases": resynth("real", "vocoder"),
            f"{name} magnitudes, real phases": resynth("vocoder", "real"),
            f"{name} magnitudes, locked phases": resynth("vocoder", "locked"),
            f"{name}, harmonics of PESTO's pitch": harmonics_of_pesto}
