"""The numpy synthesisers: fn(ctx) -> float64 audio of ctx.seconds (beeps, sirens, hum, hiss,
wind, alarms, sweeps, telephone tones, a clock, morse code, a buzzer), by name in SYNTHS.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from .data_recipes import Ctx, spread


def _t(c: Ctx) -> np.ndarray:
    return np.arange(round(c.seconds * c.sr)) / c.sr


def _harmonic(phase: np.ndarray, fmax: float, sr: int, odd_only: bool = False) -> np.ndarray:
    """Band-limited sawtooth (or square with odd_only): harmonics 1/k below Nyquist, no aliasing."""
    out = np.zeros_like(phase)
    k = 1
    while k * fmax < sr * 0.45:
        out += np.sin(k * phase) / k
        k += 2 if odd_only else 1
    return out


def _gate(t: np.ndarray, starts: list[float], dur: float, ramp: float = 0.005) -> np.ndarray:
    """1 inside [start, start + dur) for each start, with short linear ramps against clicks."""
    g = np.zeros_like(t)
    for s in starts:
        g = np.maximum(g, np.clip(np.minimum(t - s, s + dur - t) / ramp, 0.0, 1.0))
    return g


def _smooth_random(rng: np.random.Generator, t: np.ndarray, every: float) -> np.ndarray:
    """A slow random curve in [0, 1]: cosine interpolation between random knots `every` s apart."""
    knots = rng.random(int(t[-1] / every) + 3)
    pos = t / every
    i = pos.astype(int)
    f = (1 - np.cos(np.pi * (pos - i))) / 2
    return knots[i] * (1 - f) + knots[i + 1] * f


def synth_beeps(c: Ctx) -> np.ndarray:
    t = _t(c)
    lo, hi = {"low": (350, 600), "high": (2000, 3200)}.get(str(c.attrs.get("register")), (800, 1500))
    f = c.rng.uniform(lo, hi)
    dur = c.rng.uniform(0.08, 0.18)
    return np.sin(2 * np.pi * f * t) * _gate(t, spread(c.rng, c.count(), c.seconds, c.source.count_period), dur)


def synth_siren(c: Ctx) -> np.ndarray:
    """A wailing siren: a bright tone sweeping up and down every 1.5-3 s."""
    t = _t(c)
    f_lo, f_hi = c.rng.uniform(550, 750), c.rng.uniform(1200, 1600)
    period, phase0 = c.rng.uniform(1.5, 3.0), c.rng.uniform(0, 2 * np.pi)
    f = f_lo + (f_hi - f_lo) * 0.5 * (1 - np.cos(2 * np.pi * t / period + phase0))
    return _harmonic(2 * np.pi * np.cumsum(f) / c.sr, f_hi, c.sr)


def synth_hum(c: Ctx) -> np.ndarray:
    """Mains hum: 50 or 60 Hz with a strong second harmonic and a buzzy tail of harmonics."""
    t = _t(c)
    f0 = float(c.rng.choice([50.0, 60.0]))
    x = np.zeros_like(t)
    for k in range(1, 40):
        if k * f0 > c.sr * 0.45:
            break
        amp = (1.0 if k == 2 else 0.6 / k) * c.rng.uniform(0.5, 1.5)
        x += amp * np.sin(2 * np.pi * k * f0 * t + c.rng.uniform(0, 2 * np.pi))
    return x + 0.01 * c.rng.standard_normal(len(t))


def synth_hiss(c: Ctx) -> np.ndarray:
    return c.rng.standard_normal(len(_t(c)))


def synth_wind(c: Ctx) -> np.ndarray:
    """Wind: noise through a resonant band-pass whose centre and level follow slow gusts."""
    t = _t(c)
    gust = _smooth_random(c.rng, t, every=float(c.rng.uniform(0.4, 0.9)))
    noise = c.rng.standard_normal(len(t))
    out = np.zeros_like(t)
    zi = np.zeros(2)
    block = 160  # recompute the filter every 10 ms: slow enough to sound continuous
    for s in range(0, len(t), block):
        g = gust[s]
        fc = 250 + 900 * g
        b, a = signal.iirpeak(fc, Q=2.0 + 3.0 * g, fs=c.sr)
        out[s : s + block], zi = signal.lfilter(b, a, noise[s : s + block], zi=zi)
    rumble = signal.lfilter(*signal.butter(2, 200, fs=c.sr), noise)
    return out * (0.3 + gust) + 0.5 * rumble


def synth_alarm(c: Ctx) -> np.ndarray:
    """A smoke-alarm style beeper near 3 kHz; fast = rapid beeping, slow = long beeps."""
    t = _t(c)
    on = c.tempo(slow=(0.45, 0.55), normal=(0.2, 0.3), fast=(0.07, 0.1))
    f = c.rng.uniform(2800, 3300)
    starts = list(np.arange(c.rng.uniform(0.0, 0.05), c.seconds, 2 * on))
    return (np.sin(2 * np.pi * f * t) + 0.2 * np.sin(2 * np.pi * 2 * f * t)) * _gate(t, starts, on)


def _sweep(c: Ctx, rising: bool) -> np.ndarray:
    t = _t(c)
    f1, f2 = c.rng.uniform(200, 400), c.rng.uniform(1500, 3000)
    if not rising:
        f1, f2 = f2, f1
    f = f1 * (f2 / f1) ** (t / c.seconds)  # exponential: equal steps in pitch per second
    return np.sin(2 * np.pi * np.cumsum(f) / c.sr)


def synth_tone_up(c: Ctx) -> np.ndarray:
    return _sweep(c, rising=True)


def synth_tone_down(c: Ctx) -> np.ndarray:
    return _sweep(c, rising=False)


def synth_dial_tone(c: Ctx) -> np.ndarray:
    """North American dial tone: 350 + 440 Hz, continuous."""
    t = _t(c)
    return np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t)


def synth_busy_signal(c: Ctx) -> np.ndarray:
    """North American busy signal: 480 + 620 Hz, half a second on, half off."""
    t = _t(c)
    starts = list(np.arange(-c.rng.uniform(0.0, 0.5), c.seconds, 1.0))
    return (np.sin(2 * np.pi * 480 * t) + np.sin(2 * np.pi * 620 * t)) * _gate(t, starts, 0.5)


def synth_clock(c: Ctx) -> np.ndarray:
    """Tick-tock: short decaying resonant clicks, alternating between two pitches."""
    t = _t(c)
    rate = c.tempo(slow=(0.9, 1.1), normal=(1.8, 2.2), fast=(4.5, 5.5))
    f_tick, f_tock = c.rng.uniform(2500, 3500), c.rng.uniform(1500, 2300)
    x = np.zeros_like(t)
    for j, s in enumerate(np.arange(c.rng.uniform(0.02, 0.15), c.seconds - 0.02, 1.0 / rate)):
        d = np.clip(t - s, 0.0, None) * (t >= s)
        f = f_tick if j % 2 == 0 else f_tock
        x += np.exp(-d / 0.006) * np.sin(2 * np.pi * f * d) * (t >= s)
    return x + 0.002 * c.rng.standard_normal(len(t))


MORSE = {
    "a": ".-", "b": "-...", "c": "-.-.", "d": "-..", "e": ".", "f": "..-.", "g": "--.", "h": "....",
    "i": "..", "j": ".---", "k": "-.-", "l": ".-..", "m": "--", "n": "-.", "o": "---", "p": ".--.",
    "q": "--.-", "r": ".-.", "s": "...", "t": "-", "u": "..-", "v": "...-", "w": ".--", "x": "-..-",
    "y": "-.--", "z": "--..",
}
MORSE_WORDS = ("sos", "hello", "radio", "ship", "north", "water", "signal", "help", "storm", "port")


def synth_morse(c: Ctx) -> np.ndarray:
    """Real Morse code for random words (dot = 1.2 / wpm seconds)."""
    t = _t(c)
    unit = 1.2 / c.tempo(slow=(10, 12), normal=(16, 20), fast=(26, 30))
    lo, hi = {"low": (400, 500), "high": (950, 1150)}.get(str(c.attrs.get("register")), (600, 800))
    f = c.rng.uniform(lo, hi)
    starts: list[float] = []
    durs: list[float] = []
    s = float(c.rng.uniform(0.02, 0.1))
    while s < c.seconds:
        for letter in str(c.rng.choice(MORSE_WORDS)):
            for sym in MORSE[letter]:
                d = unit if sym == "." else 3 * unit
                starts.append(s)
                durs.append(d)
                s += d + unit
            s += 2 * unit  # 3 units between letters
        s += 4 * unit  # 7 units between words
    gate = np.zeros_like(t)
    for st, d in zip(starts, durs):
        gate = np.maximum(gate, _gate(t, [st], d))
    return np.sin(2 * np.pi * f * t) * gate


def synth_buzzer(c: Ctx) -> np.ndarray:
    """A harsh buzzer: a 120-220 Hz square wave in bursts of 0.3-0.5 s."""
    t = _t(c)
    f = c.rng.uniform(120, 220)
    dur = c.rng.uniform(0.3, 0.5)
    x = _harmonic(2 * np.pi * f * t, f, c.sr, odd_only=True)
    return x * _gate(t, spread(c.rng, c.count(), c.seconds, c.source.count_period), dur, ramp=0.01)


SYNTHS: dict[str, Callable[[Ctx], np.ndarray]] = {
    "beeps": synth_beeps, "siren": synth_siren, "hum": synth_hum, "hiss": synth_hiss, "wind": synth_wind,
    "alarm": synth_alarm, "tone_up": synth_tone_up, "tone_down": synth_tone_down,
    "dial_tone": synth_dial_tone, "busy_signal": synth_busy_signal, "clock": synth_clock,
    "morse": synth_morse, "buzzer": synth_buzzer,
}
