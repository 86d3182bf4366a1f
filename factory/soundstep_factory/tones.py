"""Pitched signals for the vocoder: the tone test any vocoder must pass, and pitched clips to train on.

The tone test (`tone_test`): steady sines from 100 Hz to 4 kHz and a chord go through
wave -> the pack's log-mel -> vocoder -> wave. A vocoder passes a signal when every expected
partial comes back within PEAK_TOLERANCE of its frequency and nothing else in the spectrum
(sidebands from a frame-rate modulation, partials at bin centres, harmonics) comes within
SIDEBAND_DB of the strongest expected partial.

The training clips (`pitched_clips`): our rendered data holds few steady tones and few low
voices, so a vocoder trained on it alone learns to smear them (issue 17: a 1 kHz sine came back
as two partials near 920 and 1020 Hz, a male voice unvoiced). These clips add single sines at any
frequency, harmonic tones with a voice's or an instrument's F0, and chords, with glides and
vibrato, so every frequency and every F0 in range is seen.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
TEST_SINES_HZ = (100.0, 155.0, 220.0, 347.0, 500.0, 733.0, 968.0, 1000.0, 1480.0, 2093.0, 3011.0, 4000.0)
TEST_CHORD_HZ = (261.63, 329.63, 392.0)  # C major, equal temperament
PEAK_TOLERANCE = 0.01  # of the expected frequency (17 cents), or one analysis bin, whichever is larger
SIDEBAND_DB = -20.0
GUARD = 0.03  # around each expected partial, of its frequency (at least 15 Hz): its own main lobe


def sine(freqs_hz: tuple[float, ...], seconds: float, sr: int = SAMPLE_RATE, peak: float = 0.5) -> np.ndarray:
    """Equal-amplitude sines summed to `peak`, with 10 ms fades: (samples,) float32."""
    t = np.arange(round(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs_hz) * (peak / len(freqs_hz))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)
    return (x * fade).astype(np.float32)


def spectrum_db(wave: np.ndarray, sr: int = SAMPLE_RATE, skip_s: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and magnitude (dB) of the steady middle of a clip (skip_s cut from both
    ends), Hann-windowed and zero-padded to 2^16 points (0.24 Hz per bin at 16 kHz)."""
    middle = wave[round(skip_s * sr):len(wave) - round(skip_s * sr)].astype(np.float64)
    mag = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), 1 << 16))
    return np.fft.rfftfreq(1 << 16, 1 / sr), 20 * np.log10(np.maximum(mag, 1e-12))


@dataclass
class ToneResult:
    expected_hz: tuple[float, ...]
    found_hz: tuple[float, ...]  # the strongest frequency near each expected partial
    sideband_db: float  # the strongest component away from every expected partial, re the strongest partial
    passed: bool


def check_tone(wave: np.ndarray, expected_hz: tuple[float, ...], sr: int = SAMPLE_RATE) -> ToneResult:
    """Are the expected partials where they belong, and everything else SIDEBAND_DB down?"""
    freqs, db = spectrum_db(wave, sr)
    bin_hz = freqs[1]
    away = freqs > 20.0  # below 20 Hz: a DC offset or a fade's spread is no sideband
    found, levels, ok = [], [], True
    for f in expected_hz:
        guard = max(15.0, GUARD * f)
        near = np.abs(freqs - f) <= guard
        k = np.flatnonzero(near)[np.argmax(db[near])]
        found.append(float(freqs[k]))
        levels.append(float(db[k]))
        ok &= abs(freqs[k] - f) <= max(PEAK_TOLERANCE * f, 4 * bin_hz)
        away &= ~near
    top = max(levels)
    sideband = float(db[away].max() - top)
    # Every partial must also stand out: a chord that came back as one note fails.
    ok &= all(level - top > SIDEBAND_DB for level in levels) and sideband <= SIDEBAND_DB
    return ToneResult(tuple(expected_hz), tuple(found), sideband, bool(ok))


def tone_test(vocode: Callable[[np.ndarray], np.ndarray], seconds: float = 2.56) -> list[ToneResult]:
    """vocode: waveforms (N, samples) -> their resynthesis through log-mel and a vocoder (N, samples).
    Every test sine and the chord, in one batch."""
    signals = [(f,) for f in TEST_SINES_HZ] + [TEST_CHORD_HZ]
    out = vocode(np.stack([sine(s, seconds) for s in signals]))
    return [check_tone(y, s) for y, s in zip(out, signals)]


# ---------------------------------------------------------------- training clips
def _phase(f_hz: np.ndarray, sr: int) -> np.ndarray:
    """Instantaneous frequency (samples,) -> phase, so glides and vibrato stay continuous."""
    return 2 * np.pi * np.cumsum(f_hz) / sr


def _contour(rng: np.random.Generator, f0: float, t: np.ndarray) -> np.ndarray:
    """A steady, gliding or vibrato pitch around f0 (one of the three, at random)."""
    kind = rng.integers(3)
    if kind == 1:  # a glide of up to two semitones either way
        return f0 * 2 ** (rng.uniform(-2, 2) / 12 * t / t[-1])
    if kind == 2:  # vibrato: 4-7 Hz, up to half a semitone
        return f0 * 2 ** (rng.uniform(0, 0.5) / 12 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
    return np.full_like(t, f0)


def _harmonic_tone(rng: np.random.Generator, f0: float, t: np.ndarray, sr: int) -> np.ndarray:
    """Partials k * f(t) up to 7.5 kHz with a random spectral tilt (a voice's or an instrument's)."""
    f = _contour(rng, f0, t)
    phase, tilt = _phase(f, sr), rng.uniform(3, 12)  # dB per octave
    x = np.zeros_like(t)
    for k in range(1, int(7500 / f.max()) + 1):
        x += 10 ** (-tilt * np.log2(k) / 20) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return x


def pitched_clip(rng: np.random.Generator, seconds: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """One clip: a sine (60 Hz - 6 kHz), a harmonic tone (F0 50-500 Hz) or a chord of 2-3 of
    either, in notes separated by silences or held, at -30 to -6 dBFS peak. (samples,) float32."""
    t = np.arange(round(seconds * sr)) / sr
    kind = rng.choice(["sine", "harmonic", "chord"], p=[0.35, 0.45, 0.2])
    voices = 1 if kind != "chord" else int(rng.integers(2, 4))
    x = np.zeros_like(t)
    for _ in range(voices):
        if kind == "sine" or (kind == "chord" and rng.random() < 0.5):
            x += np.sin(_phase(_contour(rng, np.exp(rng.uniform(np.log(60), np.log(6000))), t), sr))
        else:
            x += _harmonic_tone(rng, np.exp(rng.uniform(np.log(50), np.log(500))), t, sr)
    # Notes: 1-4 onsets with 5-40 ms attacks and releases, or one held tone.
    gate = np.zeros_like(t)
    for _ in range(int(rng.integers(1, 5))):
        start, length = rng.uniform(0, seconds * 0.8), rng.uniform(0.2, seconds)
        ramp = rng.uniform(0.005, 0.04)
        gate = np.maximum(gate, np.clip(np.minimum(t - start, start + length - t) / ramp, 0, 1))
    x *= gate
    peak = np.abs(x).max()
    return (x / max(peak, 1e-9) * 10 ** (rng.uniform(-30, -6) / 20)).astype(np.float32)


def pitched_clips(count: int, seconds: float, sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """`count` pitched_clip()s from one seed: (count, samples) float32."""
    rng = np.random.default_rng(seed)
    return np.stack([pitched_clip(rng, seconds, sr) for _ in range(count)])
