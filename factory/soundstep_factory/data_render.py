"""Rendering one planned clip: each part rendered by its source's recipe, fitted to its length,
and the parts levelled and mixed as the plan's composition says.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .data_catalogue import CATALOGUE, Source
from .data_recipes import Attrs, Ctx, Gm, Kit, Voice, gm_notes, kit_notes, speech
from .data_synth import SYNTHS
from .data_tools import DRUM_CHANNEL, fluidsynth_render

if TYPE_CHECKING:
    from .data import DataConfig


# Peak level of a clip (or of each half of a sequence) after normalisation, by loudness attribute:
# about 18 dB from quiet to loud, and loud stays under 0 dBFS so 16-bit never clips.
LEVELS: dict[object, tuple[float, float]] = {"loud": (0.89, 0.97), None: (0.4, 0.6), "quiet": (0.08, 0.14)}
PEAK_LIMIT = 0.97  # the loudest peak a render may reach (16-bit never clips)


def rms_floor_gain(x: np.ndarray, floor_dbfs: float, peak_limit: float = PEAK_LIMIT) -> float:
    """The gain (>= 1) that raises x's RMS to floor_dbfs, or as far as its peak reaches peak_limit:
    a sparse sound (ticks, strikes) stays under the floor rather than clip."""
    rms_db = 20 * np.log10(max(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))), 1e-12))
    wanted = 10 ** ((floor_dbfs - rms_db) / 20)
    return float(max(1.0, min(wanted, peak_limit / max(float(np.abs(x).max()), 1e-12))))


FADE_S = 0.01


def _fit(x: np.ndarray, n: int, sr: int) -> np.ndarray:
    """Exactly n samples: trim (fading out what was cut) or pad with silence."""
    if len(x) >= n:
        x = x[:n].copy()
        k = min(n, int(FADE_S * sr))
        x[n - k :] *= np.linspace(1.0, 0.0, k)
        return x
    return np.concatenate([x, np.zeros(n - len(x))])


def _active_rms(x: np.ndarray, sr: int) -> float:
    """RMS over the frames that carry the sound (within 30 dB of the loudest 20 ms frame).

    Plain RMS would call a few gunshots in silence "quiet" and over-amplify them in a mix.
    """
    hop = sr // 50
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    rms = np.sqrt((frames**2).mean(axis=1))
    active = rms[rms >= rms.max() * 10 ** (-30 / 20)]
    return float(np.sqrt((active**2).mean())) if active.size else 0.0


def render_part(source: Source, attrs: Attrs, n: int, sr: int, rng: np.random.Generator, tmp: Path) -> np.ndarray:
    """n samples of one source, float64, not yet level-normalised."""
    c = Ctx(rng, n / sr, sr, attrs, source, tmp)
    r = source.recipe
    end = c.seconds + 0.1  # a little past the part: the cut itself is faded by _fit
    if isinstance(r, Gm):
        audio = fluidsynth_render(gm_notes(r, c), {0: (r.bank, r.program)}, sr, tmp, end + r.preroll)
        audio = audio[round(r.preroll * sr) :]
    elif isinstance(r, Kit):
        notes, kit = kit_notes(r, c)
        audio = fluidsynth_render(notes, {DRUM_CHANNEL: (128, kit)}, sr, tmp, end)
    elif isinstance(r, Voice):
        audio = speech(r, c)
    else:
        audio = SYNTHS[r.name](c)
    x = _fit(audio, n, sr)
    x[: int(0.002 * sr)] *= np.linspace(0.0, 1.0, int(0.002 * sr))  # no click at a part's start
    if np.abs(x).max() < 1e-5:
        raise RuntimeError(f"source {source.key!r} rendered silence (attrs {attrs})")
    return x


def render_clip(plan: dict, cfg: DataConfig, tmp: Path) -> np.ndarray:
    """The clip's float32 audio: num_samples long, peak at the loudness level (then raised towards
    cfg.rms_floor_dbfs when set), never clipped."""
    n, sr = cfg.num_samples, cfg.sample_rate
    seeds = np.random.SeedSequence(plan["seed"]).spawn(3)
    rng_level = np.random.default_rng(seeds[2])
    parts = [(CATALOGUE[k], a) for k, a in zip(plan["sources"], plan["attrs"])]

    def level(attrs: Attrs) -> float:
        return float(rng_level.uniform(*LEVELS[attrs.get("loudness")]))

    if plan["mix"] == "single":
        (src, attrs), = parts
        x = render_part(src, attrs, n, sr, np.random.default_rng(seeds[0]), tmp)
        peak = level(attrs)
    elif plan["mix"] == "then":  # each half normalised to its own loudness
        n1 = n // 2
        halves = []
        for (src, attrs), ss, m in zip(parts, seeds, (n1, n - n1)):
            h = render_part(src, attrs, m, sr, np.random.default_rng(ss), tmp)
            halves.append(h / np.abs(h).max() * level(attrs))
        x = np.concatenate(halves)
        peak = float(np.abs(x).max())
    else:  # "while": equal active loudness within 3 dB; the background 10-14 dB under
        (sa, aa), (sb, ab) = parts
        xa = render_part(sa, aa, n, sr, np.random.default_rng(seeds[0]), tmp)
        xb = render_part(sb, ab, n, sr, np.random.default_rng(seeds[1]), tmp)
        db = rng_level.uniform(-14, -10) if plan["template"] == "background" else rng_level.uniform(-3, 3)
        x = xa / _active_rms(xa, sr) + xb / _active_rms(xb, sr) * 10 ** (db / 20)
        peak = level({})
    x = x / np.abs(x).max() * peak
    if cfg.rms_floor_dbfs is not None:  # "quiet" captions too: quiet, but not under the floor
        x = x * rms_floor_gain(x, cfg.rms_floor_dbfs)
    return x.astype(np.float32)
