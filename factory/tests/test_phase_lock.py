"""Phase locking from magnitudes (phase_lock.py) and the magnitude/phase oracles built on it
(phase_oracles.py): peaks found without crossing valleys, a sinusoid's frequency read from its
lobe, every test sine resynthesised from its true magnitudes alone, and the oracle that keeps the
vocoder's phases equal to the vocoder itself."""
import math

import numpy as np
import torch

from soundstep_factory import tones
from soundstep_factory.config import AudioConfig, PackConfig
from soundstep_factory.mel import mel_filters
from soundstep_factory.phase_lock import interpolated_bin, locked_phase, peak_of
from soundstep_factory.phase_oracles import decomposition, real_stft
from soundstep_factory.vocoder import IstftVocoder

AUDIO = AudioConfig()
SR, HOP = AUDIO.sample_rate, AUDIO.hop_length


def vocoder() -> IstftVocoder:
    torch.manual_seed(0)
    return IstftVocoder(mel_filters(AUDIO, 512), HOP, channels=8, blocks=1, noise_frames=16).eval()


def test_each_bin_climbs_to_its_own_peak_and_not_across_a_valley():
    # two peaks three bins apart (at 4 and 7), a valley at 5 that leans to 4; the louder peak (7)
    # does not take bins across the valley, and bin 0, four bins out, gets three climbs up
    column = torch.tensor([-9.0, -8, -5, -2, 0, -4, -1, 2, -1, -6, -9])
    peaks = peak_of(column.view(1, -1, 1), climbs=3)[0, :, 0].tolist()
    assert peaks == [3, 4, 4, 4, 4, 4, 7, 7, 7, 7, 7]


def test_the_parabola_through_a_hann_lobe_finds_the_sinusoid_within_a_tenth_of_a_bin():
    v = vocoder()
    for true_bin in (20.0, 30.37, 61.8):
        n = torch.arange(8 * HOP + v.n_fft, dtype=torch.float64)
        x = torch.sin(2 * math.pi * true_bin / v.n_fft * n).float()
        magnitude = v.analysis(x.unsqueeze(0), 8).abs()
        log_magnitude = magnitude.clamp(min=1e-9).log()
        k = int(magnitude[0, :, 4].argmax())
        assert abs(float(interpolated_bin(log_magnitude)[0, k, 4]) - true_bin) < 0.1, true_bin


def locked_resynthesis(wave: np.ndarray) -> np.ndarray:
    """The true magnitudes of `wave` with phases from phase locking alone."""
    v = vocoder()
    with torch.no_grad():
        log_magnitude = real_stft(v, torch.from_numpy(wave).float()).abs().clamp(min=1e-6).log()
        phase = locked_phase(log_magnitude, v.hop, v.n_fft)
        return v.overlap_add(log_magnitude.exp() * torch.cos(phase), log_magnitude.exp() * torch.sin(phase)).numpy()


def test_locked_phases_make_every_test_sine_from_its_true_magnitudes():
    """100 Hz to 4 kHz: each comes back within 1% with nothing else within 20 dB. (The chord
    does not: at n_fft 512 its notes sit two bins apart and their lobes merge.)"""
    results = tones.tone_test(locked_resynthesis)
    sines = [r for r in results if len(r.expected_hz) == 1]
    assert len(sines) == 12 and all(r.passed for r in sines), [(r.expected_hz, r.found_hz, r.sideband_db) for r in sines]


def test_the_oracles_swap_one_half_each():
    v = vocoder()
    cfg = PackConfig()
    wave = tones.sine((440.0,), 0.64)[None, :].repeat(2, axis=0)
    rows = decomposition(cfg, v, "tiny")
    assert set(rows) == {"real magnitudes, locked phases", "real magnitudes, tiny phases",
                         "tiny magnitudes, real phases", "tiny magnitudes, locked phases",
                         "tiny, harmonics of PESTO's pitch"}
    # the true magnitudes with locked phases keep the sine's level; an untrained vocoder's
    # magnitudes or phases do not give the clip back
    level = lambda x: float(np.sqrt(np.mean(x[:, 2000:-2000] ** 2)))
    locked = rows["real magnitudes, locked phases"](wave)
    assert locked.shape == wave.shape and abs(level(locked) / level(wave) - 1) < 0.05
    for name in ("real magnitudes, tiny phases", "tiny magnitudes, real phases"):
        out = rows[name](wave)
        assert out.shape == wave.shape and np.isfinite(out).all() and not np.allclose(out, wave, atol=1e-2), name
