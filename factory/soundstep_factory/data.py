"""The factory's data stage: a captioned sound-clip data set rendered offline from Debian tools.

Usage: python -m soundstep_factory.data --out DIR --num-train N --num-test M
              [--clip-seconds 2.56] [--seed 0] [--workers 2]

Nothing is downloaded (../shared/design/ENVIRONMENT.md, "Sound sources"). Every clip is made here:
  - fluidsynth + FluidR3_GM.sf2 play General MIDI instruments, the drum channel and the GM sound
    effects (programs 122-127) from .mid files written by `write_midi` below;
  - espeak-ng speaks short English sentences in male, female and whispering voices;
  - numpy synthesises beeps, sirens, hum, hiss, wind, alarms, sweeps, telephone tones, ...
A clip is one source, two sources heard at once ("X while Y") or one after the other
("X followed by Y"), captioned in plain AudioCaps-style English from several templates.

Stages, all deterministic from DataConfig.seed:
  1. plan: every clip's sources, audible attributes (loudness, register, tempo, count), caption
     template and render seed (`plan_clips`). Clip i depends only on (seed, split, i), so a
     bigger data set starts with the clips of a smaller one.
  2. render: worker processes turn plans into out_dir/clips/<id>.wav (mono, 16-bit, exact length).
     The id carries a hash of the plan, so an existing file of the right length is the same clip
     and is skipped (resume).
  3. index: out_dir/captions.jsonl, one clip per line.

Splits are by caption combination: TEST_PAIRS (about 10% of source pairs, fixed by a hash of the
pair's keys, not by the seed) and TEST_TEMPLATES occur only in the test split.

Determinism: fluidsynth's samples are identical run to run (checked: raw float output of repeated
runs is bit-equal; only a timestamp in libsndfile's float-WAV PEAK chunk differs, which is why we
ask it for headerless raw output). espeak-ng and numpy are deterministic for fixed inputs. Chorus
is off and reverb uses fixed default settings, so same seed -> byte-identical wav files.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Union

import numpy as np
import soundfile as sf
from scipy import signal

from .config import AudioConfig, DataStageConfig, PackConfig

log = logging.getLogger(__name__)

# Bump when rendering changes what a plan sounds like: it is part of every clip id, so old
# renders in an output folder are not mistaken for new ones on resume.
RENDER_VERSION = 1

# ----------------------------------------------------------------------------------------------
# 1. Configuration
# ----------------------------------------------------------------------------------------------


@dataclass
class DataConfig(DataStageConfig):
    """What the data stage renders: a recipe's DataStageConfig (seed, clips per split; its defaults)
    and the clip format of its AudioConfig (2.56 s = 256 mel frames at hop 160 / 16 kHz)."""
    clip_seconds: float = AudioConfig.clip_seconds
    sample_rate: int = AudioConfig.sample_rate

    @classmethod
    def for_pack(cls, cfg: PackConfig) -> DataConfig:
        """The data set a recipe trains on: its `data` fields with its audio's clip length and rate."""
        return cls(**asdict(cfg.data), clip_seconds=cfg.audio.clip_seconds, sample_rate=cfg.audio.sample_rate)

    @property
    def num_samples(self) -> int:
        return round(self.clip_seconds * self.sample_rate)


# ----------------------------------------------------------------------------------------------
# 2. External tools
# ----------------------------------------------------------------------------------------------

SOUNDFONT = Path(os.environ.get("SOUNDSTEP_SOUNDFONT", "/usr/share/sounds/sf2/FluidR3_GM.sf2"))
TOOL_HINTS = {
    "fluidsynth": "apt-get install fluidsynth fluid-soundfont-gm",
    "espeak-ng": "apt-get install espeak-ng",
}
TOOL_TIMEOUT_S = 60


class ToolError(RuntimeError):
    """An external renderer is missing or failed; the message says which and how to fix it."""


def check_tools() -> None:
    """Fail early, before any worker starts, with the apt-get line that fixes a missing tool."""
    for tool, hint in TOOL_HINTS.items():
        if shutil.which(tool) is None:
            raise ToolError(f"{tool} not found: {hint}")
    if not SOUNDFONT.is_file():
        raise ToolError(f"soundfont {SOUNDFONT} not found: {TOOL_HINTS['fluidsynth']} (or set SOUNDSTEP_SOUNDFONT)")


def _run_tool(args: list[str]) -> None:
    """Run one external renderer with explicit arguments and a timeout; raise with its stderr."""
    try:
        proc = subprocess.run(args, capture_output=True, timeout=TOOL_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ToolError(f"{args[0]} not found: {TOOL_HINTS.get(args[0], 'install it')}") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{args[0]} timed out after {TOOL_TIMEOUT_S} s: {' '.join(args)}") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip()[-500:]
        raise ToolError(f"{args[0]} failed with exit code {proc.returncode}: {tail}")


# ----------------------------------------------------------------------------------------------
# 3. A tiny Standard MIDI File writer (format 0, one track)
# ----------------------------------------------------------------------------------------------

TICKS_PER_BEAT = 480
MIDI_TEMPO_US = 500_000  # 120 bpm, so one second is exactly 960 ticks and times stay in seconds
TICKS_PER_SECOND = TICKS_PER_BEAT * 1_000_000 // MIDI_TEMPO_US
DRUM_CHANNEL = 9  # "channel 10" in GM's 1-based numbering


@dataclass(frozen=True)
class Note:
    start: float  # seconds
    dur: float  # seconds
    pitch: int  # MIDI note; on the drum channel, the drum (36 kick, 38 snare, 39 clap, ...)
    velocity: int = 100
    channel: int = 0


def _vlq(n: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(path: Path, notes: list[Note], programs: dict[int, tuple[int, int]], end: float | None = None) -> None:
    """Write notes as a format-0 .mid; programs maps channel -> (bank, program).

    With `end` (seconds), every channel is silenced then ("all sound off"), cutting release
    tails we would trim anyway: a struck bell otherwise rings, and renders, for 20 s.
    """
    events: list[tuple[int, int, bytes]] = []  # (tick, order, message); order puts offs before ons
    for ch, (bank, program) in sorted(programs.items()):
        if ch != DRUM_CHANNEL:  # the drum channel picks its kit by program number alone
            events.append((0, 0, bytes([0xB0 | ch, 0, bank])))  # bank select MSB (FluidR3 variations)
            events.append((0, 0, bytes([0xB0 | ch, 32, 0])))  # bank select LSB
        events.append((0, 0, bytes([0xC0 | ch, program])))
        events.append((0, 0, bytes([0xB0 | ch, 7, 100])))  # channel volume
        events.append((0, 0, bytes([0xB0 | ch, 91, 30])))  # reverb send: a little room, fixed
        events.append((0, 0, bytes([0xB0 | ch, 93, 0])))  # chorus send: none
    for n in notes:
        on = max(1, round(n.start * TICKS_PER_SECOND))  # after the program changes
        off = max(on + 1, round((n.start + n.dur) * TICKS_PER_SECOND))
        vel = int(np.clip(n.velocity, 1, 127))
        events.append((on, 2, bytes([0x90 | n.channel, n.pitch, vel])))
        events.append((off, 1, bytes([0x80 | n.channel, n.pitch, 0])))
    if end is not None:
        tick = max(1, round(end * TICKS_PER_SECOND))
        events += [(tick, 3, bytes([0xB0 | ch, 120, 0])) for ch in sorted(programs)]
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray(_vlq(0) + b"\xff\x51\x03" + MIDI_TEMPO_US.to_bytes(3, "big"))
    last = 0
    for tick, _, msg in events:
        track += _vlq(tick - last) + msg
        last = tick
    track += _vlq(0) + b"\xff\x2f\x00"  # end of track
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
    header += TICKS_PER_BEAT.to_bytes(2, "big")
    path.write_bytes(header + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track))


def fluidsynth_render(
    notes: list[Note], programs: dict[int, tuple[int, int]], sr: int, tmp: Path, end: float | None = None
) -> np.ndarray:
    """Play notes through FluidR3_GM; returns mono float64 audio from t = 0 (until `end` if given)."""
    mid, raw = tmp / "part.mid", tmp / "part.raw"
    write_midi(mid, notes, programs, end)
    _run_tool([
        "fluidsynth", "-n", "-i", "-q",
        "-f", os.devnull,  # no ~/.fluidsynth or system config: the same settings on every machine
        "-R", "1", "-C", "0",  # fixed reverb, no chorus
        "-g", "0.5", "-r", str(sr),
        "-o", "synth.cpu-cores=1",
        "-o", "synth.lock-memory=0",  # mlock of the 148 MB font costs more than the render
        "-o", "synth.dynamic-sample-loading=1",  # load only the instruments used: 0.2 s -> 0.1 s
        "-o", "synth.midi-bank-select=gs",
        "-T", "raw", "-O", "float", "-E", "little",  # headerless float: no timestamps, no dither
        "-F", str(raw), str(SOUNDFONT), str(mid),
    ])
    stereo = np.fromfile(raw, dtype="<f4").reshape(-1, 2)
    return stereo.mean(axis=1, dtype=np.float64)


ESPEAK_RATE = 22050


def espeak_render(text: str, voice: str, wpm: int, pitch: int, sr: int, tmp: Path) -> np.ndarray:
    """Speak text with espeak-ng; returns mono float64 audio resampled from 22.05 kHz to sr."""
    wav = tmp / "speech.wav"
    _run_tool(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-a", "120", "-w", str(wav), text])
    x, rate = sf.read(wav, dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    g = math.gcd(sr, rate)
    return signal.resample_poly(x, sr // g, rate // g)


# ----------------------------------------------------------------------------------------------
# 4. Render recipes: how each kind of source becomes audio
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gm:
    """A General MIDI program on channel 1 (bank > 0: FluidR3's variation presets)."""

    program: int
    # melody | chords | arpeggio | strum | riff | bassline: music; hits | strikes: struck instruments;
    # sustain | tweets | ring | shots: the GM effects
    style: str
    lo: int = 48  # playable range (MIDI notes); "low"/"high" registers come from its ends
    hi: int = 84
    bank: int = 0
    preroll: float = 0.0  # seconds cut from the start: the slow fade-in of some effect samples


@dataclass(frozen=True)
class Kit:
    """The GM drum channel: a pattern over some drum notes."""

    pattern: str  # beat | roll | pulse | strikes | bongos
    notes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Voice:
    """espeak-ng speaking random short sentences."""

    voice: str


@dataclass(frozen=True)
class Synth:
    """A numpy synthesiser from SYNTHS."""

    name: str


Recipe = Union[Gm, Kit, Voice, Synth]
Attrs = dict[str, Union[str, int]]


@dataclass
class Ctx:
    """Everything a recipe needs to render one part of a clip."""

    rng: np.random.Generator
    seconds: float  # length of this part
    sr: int
    attrs: Attrs
    source: "Source"
    tmp: Path

    def tempo(self, slow: tuple[float, float], normal: tuple[float, float], fast: tuple[float, float]) -> float:
        """A rate drawn from the range the tempo attribute asks for."""
        lo, hi = {"slow": slow, "fast": fast}.get(str(self.attrs.get("tempo")), normal)
        return float(self.rng.uniform(lo, hi))

    def count(self) -> int:
        """How many events: the captioned count, else any count that fits the part."""
        if "count" in self.attrs:
            return int(self.attrs["count"])
        return int(self.rng.choice(self.source.counts_for(self.seconds)))


SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "pentatonic": (0, 2, 4, 7, 9)}


def _register_range(recipe: Gm, attrs: Attrs) -> tuple[int, int]:
    """The sub-range of an instrument for its register attribute: bottom/top 40% or middle 60%."""
    span = recipe.hi - recipe.lo
    reg = attrs.get("register")
    if reg == "low":
        return recipe.lo, recipe.lo + round(span * 0.4)
    if reg == "high":
        return recipe.hi - round(span * 0.4), recipe.hi
    return recipe.lo + round(span * 0.2), recipe.hi - round(span * 0.2)


def _scale_notes(rng: np.random.Generator, lo: int, hi: int) -> list[int]:
    scale = SCALES[str(rng.choice(list(SCALES)))]
    root = int(rng.integers(12))
    return [p for p in range(lo, hi + 1) if (p - root) % 12 in scale]


def _spread(rng: np.random.Generator, count: int, seconds: float, period: float) -> list[float]:
    """Start times of `count` events, at least `period` apart, all well inside the part."""
    first = float(rng.uniform(0.02, 0.12))
    if count == 1:
        return [first + float(rng.uniform(0.0, max(0.0, seconds * 0.3)))]
    room = (seconds - 0.2 - first) / (count - 1)  # the last event must start 0.2 s before the end
    p = min(float(rng.uniform(period, period * 2.0)), room)
    return [first + i * p for i in range(count)]


def _gm_notes(r: Gm, c: Ctx) -> list[Note]:
    """The notes a GM recipe plays, generated to fill c.seconds (+ preroll)."""
    rng, end = c.rng, c.seconds + r.preroll
    t = float(rng.uniform(0.0, 0.08))
    if r.style != "sustain":  # a sustained note starts inside the preroll, so its fade-in is cut
        t += r.preroll
    notes: list[Note] = []
    lo, hi = _register_range(r, c.attrs)
    if r.style in ("melody", "chords", "arpeggio", "strum", "riff", "bassline"):
        step = c.tempo(slow=(0.45, 0.6), normal=(0.22, 0.32), fast=(0.1, 0.14))
        pool = _scale_notes(rng, lo, hi)
        i = len(pool) // 2
        while t < end:
            if r.style == "melody":  # a random walk on the scale, mostly steps, some leaps
                i = int(np.clip(i + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), 0, len(pool) - 1))
                d = step * float(rng.choice([1, 1, 1, 2, 0.5]))
                notes.append(Note(t, d * 0.92, pool[i], int(rng.integers(75, 112))))
            elif r.style == "chords":  # block chords from the scale: root, third, fifth, octave
                i = int(rng.integers(0, max(1, len(pool) - 5)))
                d = step * 4
                for k in (0, 2, 4, 7):
                    if i + k < len(pool):
                        notes.append(Note(t, d * 0.97, pool[i + k], int(rng.integers(70, 100))))
            elif r.style == "arpeggio":  # broken chords that ring on (harp)
                i = int(rng.integers(0, max(1, len(pool) - 7)))
                d = step * 4
                for j, k in enumerate((0, 2, 4, 7)):
                    if i + k < len(pool):
                        notes.append(Note(t + j * step, d, pool[i + k], int(rng.integers(70, 105))))
            elif r.style == "strum":  # a chord strummed low to high, 15-30 ms between strings
                i = int(rng.integers(0, max(1, len(pool) - 7)))
                d = step * 2
                gap = float(rng.uniform(0.015, 0.03))
                for j, k in enumerate((0, 2, 4, 7)):
                    if i + k < len(pool):
                        notes.append(Note(t + j * gap, d * 0.95, pool[i + k], int(rng.integers(70, 105))))
            elif r.style == "riff":  # power chords (root, fifth, octave), short and accented
                root = pool[int(rng.integers(0, max(1, len(pool) // 2)))]
                d = step
                for k in (0, 7, 12):
                    notes.append(Note(t, d * float(rng.choice([0.5, 0.9])), root + k, int(rng.integers(85, 120))))
            else:  # bassline: roots and octaves of a slow progression
                i = int(np.clip(i + rng.choice([-3, -1, 0, 1, 3]), 0, len(pool) - 1))
                d = step * float(rng.choice([1, 2]))
                notes.append(Note(t, d * 0.9, pool[i], int(rng.integers(85, 115))))
            t += d
    elif r.style == "hits":  # timpani: two pitches, a fifth apart, at the tempo's rate
        rate = c.tempo(slow=(1.0, 1.4), normal=(2.0, 3.0), fast=(5.0, 7.0))
        root = int(rng.integers(lo, max(lo + 1, hi - 7)))
        while t < end:
            notes.append(Note(t, 0.6, root + int(rng.choice([0, 7])), int(rng.integers(80, 120))))
            t += 1.0 / rate
    elif r.style == "strikes":  # a bell struck `count` times
        pitch = int(rng.integers(lo, hi + 1))
        for s in _spread(rng, c.count(), c.seconds, c.source.count_period):
            notes.append(Note(r.preroll + s, 1.5, pitch, int(rng.integers(95, 120))))
    elif r.style == "sustain":  # one long effect note (waves, helicopter, applause)
        notes.append(Note(t, end + 0.5, int(rng.integers(lo, hi + 1)), int(rng.integers(100, 120))))
    elif r.style == "tweets":  # birds: short calls at random times and pitches
        while t < end:
            pitch, vel = int(rng.integers(lo, hi + 1)), int(rng.integers(80, 120))
            notes.append(Note(t, float(rng.uniform(0.2, 0.5)), pitch, vel))
            t += float(rng.exponential(0.3)) + 0.08
    elif r.style == "ring":  # a telephone: rings of about a second with short gaps
        pitch = int(rng.integers(lo, hi + 1))
        while t < end:
            d = float(rng.uniform(0.9, 1.4))
            notes.append(Note(t, d, pitch, 110))
            t += d + float(rng.uniform(0.3, 0.5))
    elif r.style == "shots":
        for s in _spread(rng, c.count(), c.seconds, c.source.count_period):
            notes.append(Note(r.preroll + s, 0.5, int(rng.integers(lo, hi + 1)), int(rng.integers(100, 127))))
    else:
        raise ValueError(f"unknown GM style {r.style!r}")
    return notes


def _kit_notes(k: Kit, c: Ctx) -> tuple[list[Note], int]:
    """Drum-channel notes and the kit program (0 Standard, 8 Room, 16 Power, 32 Jazz)."""
    rng, end = c.rng, c.seconds
    t = float(rng.uniform(0.0, 0.08))
    notes: list[Note] = []
    kit = 0
    ch = DRUM_CHANNEL
    if k.pattern == "beat":  # rock beat: kick on 1 and 3, snare on 2 and 4, eighth-note hi-hat
        kit = int(rng.choice([0, 8, 16, 32]))
        bpm = c.tempo(slow=(70, 85), normal=(95, 120), fast=(150, 175))
        eighth = 30.0 / bpm
        extra_kick = int(rng.integers(0, 8))  # one extra kick per bar for variety
        i = 0
        while t < end:
            pos = i % 8
            notes.append(Note(t, 0.1, 42, int(rng.integers(60, 90)), ch))
            if pos in (0, 4) or pos == extra_kick:
                notes.append(Note(t, 0.1, 36, int(rng.integers(95, 120)), ch))
            if pos in (2, 6):
                notes.append(Note(t, 0.1, 38, int(rng.integers(95, 120)), ch))
            t += eighth
            i += 1
    elif k.pattern == "roll":  # snare roll: 16-26 strokes a second, swelling
        rate = float(rng.uniform(16, 26))
        start, stop = t, end - float(rng.uniform(0.0, 0.15))
        while t < stop:
            frac = (t - start) / max(1e-3, stop - start)
            notes.append(Note(t, 0.05, 38, int(45 + 75 * frac + rng.integers(-8, 8)), ch))
            t += 1.0 / rate
    elif k.pattern == "pulse":  # one instrument at a steady rate (claps, cowbell, tambourine, kick)
        rate = c.tempo(slow=(1.0, 1.5), normal=(2.0, 3.0), fast=(4.5, 6.0))
        j = 0
        while t < end:
            notes.append(Note(t, 0.1, k.notes[j % len(k.notes)], int(rng.integers(85, 120)), ch))
            t += (1.0 / rate) * float(rng.uniform(0.97, 1.03))
            j += 1
    elif k.pattern == "strikes":  # counted hits that ring (cymbal, triangle)
        for s in _spread(rng, c.count(), c.seconds, c.source.count_period):
            notes.append(Note(s, 1.0, int(rng.choice(list(k.notes))), int(rng.integers(95, 125)), ch))
    elif k.pattern == "bongos":  # two bongos in a random sixteenth-note rhythm
        bpm = c.tempo(slow=(70, 85), normal=(95, 120), fast=(150, 175))
        sixteenth = 15.0 / bpm
        while t < end:
            if rng.random() < 0.6:
                notes.append(Note(t, 0.1, int(rng.choice(list(k.notes))), int(rng.integers(70, 120)), ch))
            t += sixteenth
        if not notes:
            notes.append(Note(0.05, 0.1, k.notes[0], 110, ch))
    else:
        raise ValueError(f"unknown drum pattern {k.pattern!r}")
    return notes, kit


SENTENCES = (
    "the train leaves at nine tomorrow morning", "please close the door behind you",
    "we should go to the market later", "i think it will rain this afternoon",
    "can you hear me over there", "the meeting has been moved to friday",
    "turn left at the next corner", "my brother lives near the river",
    "the coffee is still too hot", "thank you all for coming today",
    "where did you put the keys", "the children are playing outside",
    "let me check the schedule first", "this is the last stop",
    "she bought a new bicycle last week", "dinner will be ready in ten minutes",
    "the library opens at eight", "have you seen my blue jacket",
    "we are going to be late again", "the weather is lovely today",
    "please speak a little louder", "our flight was delayed by an hour",
    "the garden needs more water", "he forgot to call his mother",
    "the store is closed on sunday", "everyone please take a seat",
    "i will see you next week", "the soup tastes really good",
    "attention please the gate has changed", "it is cold outside this evening",
    "put the books on the table", "the bus is coming now",
    "we need to buy some bread", "the game starts at seven",
    "could you open the window", "the phone battery is almost empty",
    "they painted the house white", "welcome to the city museum",
    "do not forget your umbrella", "the dog is sleeping by the fire",
)


def _speech(v: Voice, c: Ctx) -> np.ndarray:
    """Random sentences, enough words for the part at the chosen speaking rate."""
    rng = c.rng
    wpm = int(c.tempo(slow=(100, 120), normal=(150, 175), fast=(220, 260)))
    reg = c.attrs.get("register")
    pitch = int(rng.integers(*{"low": (10, 25), "high": (75, 90)}.get(str(reg), (40, 60))))
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < c.seconds * wpm / 60.0 * 1.2 + 2:  # cut at the end
        sentences.append(str(rng.choice(SENTENCES)))
    lead = np.zeros(int(rng.uniform(0.0, 0.1) * c.sr))
    return np.concatenate([lead, espeak_render(". ".join(sentences) + ".", v.voice, wpm, pitch, c.sr, c.tmp)])


# --- numpy synthesisers: fn(ctx) -> float64 audio of ctx.seconds -----------------------------


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
    return np.sin(2 * np.pi * f * t) * _gate(t, _spread(c.rng, c.count(), c.seconds, c.source.count_period), dur)


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
    return x * _gate(t, _spread(c.rng, c.count(), c.seconds, c.source.count_period), dur, ramp=0.01)


SYNTHS: dict[str, Callable[[Ctx], np.ndarray]] = {
    "beeps": synth_beeps, "siren": synth_siren, "hum": synth_hum, "hiss": synth_hiss, "wind": synth_wind,
    "alarm": synth_alarm, "tone_up": synth_tone_up, "tone_down": synth_tone_down,
    "dial_tone": synth_dial_tone, "busy_signal": synth_busy_signal, "clock": synth_clock,
    "morse": synth_morse, "buzzer": synth_buzzer,
}

# ----------------------------------------------------------------------------------------------
# 5. The source catalogue
# ----------------------------------------------------------------------------------------------

# Caption slots: a slot is filled from an attribute, or vanishes when the attribute is unset.
SLOT_WORDS: dict[str, tuple[str, dict[object, str]]] = {
    "tempo": ("tempo", {"slow": "slow", "fast": "fast"}),
    "tempo_adv": ("tempo", {"slow": "slowly", "fast": "quickly"}),
    "register": ("register", {"low": "low-pitched", "high": "high-pitched"}),
    "voice": ("register", {"low": "in a deep voice", "high": "in a high voice"}),
    "count": ("count", {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}),
}
LOUD_ADJ = {"loud": "loud", "quiet": "quiet"}
LOUD_ADV = {"loud": "loudly", "quiet": "quietly"}
DETERMINERS = ("a ", "an ")


@dataclass(frozen=True)
class Source:
    """One kind of sound: how to caption it and how to render it.

    Captions are built as  subject + verb + tail  ("a piano" "plays" "a {tempo} {register} melody")
    for clauses, and with the gerund instead of the verb for noun phrases ("a piano playing ...").
    The slots in subject and tail decide which attributes the source varies.
    """

    key: str
    category: str  # music | percussion | effects | speech | synthetic: for balanced sampling
    subject: str  # with its determiner; "a" becomes "an" where needed
    verb: str
    gerund: str
    recipe: Recipe
    tail: str = ""
    person: bool = False  # loudness as an adverb ("a man speaks loudly"), not an adjective
    loudness: tuple[str | None, ...] = (None, "loud", "quiet")
    counts: tuple[int, int] = (1, 1)  # count range for a full clip, when the source has {count}
    count_period: float = 0.5  # seconds between counted events, at least

    @property
    def slots(self) -> set[str]:
        return set(re.findall(r"\{(\w+)\}", self.subject + " " + self.tail))

    @property
    def attributes(self) -> set[str]:
        return {SLOT_WORDS[s][0] for s in self.slots}

    @property
    def noun(self) -> str:
        """The source's name as it appears in every caption ("piano", "string section")."""
        s = re.sub(r"\{\w+\}", "", self.subject)
        for d in DETERMINERS:
            if s.startswith(d):
                s = s[len(d) :]
        return " ".join(s.split())

    def counts_for(self, seconds: float) -> list[int]:
        """Counts whose events fit in `seconds` (the last one starting 0.2 s before the end)."""
        lo, hi = self.counts
        ok = [n for n in range(lo, hi + 1) if 0.12 + (n - 1) * self.count_period <= seconds - 0.2]
        return ok or [1]


def _music(key: str, subject: str, program: int, lo: int, hi: int, style: str = "melody", *,
           verb: str = "plays", gerund: str = "playing", tail: str = "a {tempo} {register} melody",
           bank: int = 0, person: bool = False) -> Source:
    return Source(key, "music", subject, verb, gerund, Gm(program, style, lo, hi, bank), tail, person)


SOURCES: tuple[Source, ...] = (
    # --- General MIDI instruments (program numbers 0-based) ---
    _music("piano", "a piano", 0, 36, 96),
    _music("harpsichord", "a harpsichord", 6, 41, 89),
    _music("music_box", "a music box", 10, 72, 96, tail="a {tempo} melody"),
    _music("vibraphone", "a vibraphone", 11, 53, 89),
    _music("marimba", "a marimba", 12, 45, 84),
    _music("xylophone", "a xylophone", 13, 65, 96, tail="a {tempo} melody"),
    _music("church_organ", "a church organ", 19, 36, 84, "chords", tail="{tempo} {register} chords"),
    _music("accordion", "an accordion", 21, 53, 89),
    _music("harmonica", "a harmonica", 22, 60, 84, tail="a {tempo} melody"),
    _music("acoustic_guitar", "an acoustic guitar", 24, 40, 76, "strum", verb="strums", gerund="strumming",
           tail="{tempo} chords"),
    _music("ukulele", "a ukulele", 24, 60, 81, "strum", verb="strums", gerund="strumming", tail="{tempo} chords",
           bank=8),
    _music("mandolin", "a mandolin", 25, 55, 88, bank=16),
    _music("electric_guitar", "a distorted electric guitar", 30, 40, 64, "riff", tail="a {tempo} riff"),
    _music("bass_guitar", "a bass guitar", 33, 28, 55, "bassline", tail="a {tempo} bass line"),
    _music("violin", "a violin", 40, 55, 100),
    _music("cello", "a cello", 42, 36, 76),
    _music("harp", "a harp", 46, 36, 91, "arpeggio", tail="{tempo} {register} arpeggios"),
    _music("timpani", "a timpani drum", 47, 40, 55, "hits", verb="booms", gerund="booming", tail="{tempo_adv}"),
    _music("strings", "a string section", 48, 36, 88, "chords", tail="{tempo} {register} chords"),
    _music("choir", "a choir", 52, 48, 79, "chords", verb="sings", gerund="singing", tail="{tempo} {register} chords"),
    _music("trumpet", "a trumpet", 56, 55, 82),
    _music("trombone", "a trombone", 57, 40, 72),
    _music("tuba", "a tuba", 58, 28, 58, tail="a {tempo} melody"),
    _music("french_horn", "a French horn", 60, 41, 77),
    _music("saxophone", "a saxophone", 65, 49, 81),
    _music("oboe", "an oboe", 68, 58, 91),
    _music("clarinet", "a clarinet", 71, 50, 91),
    _music("flute", "a flute", 73, 60, 96),
    _music("pan_flute", "a pan flute", 75, 60, 96),
    _music("whistling", "someone", 78, 72, 96, verb="whistles", gerund="whistling", tail="a {tempo} tune",
           person=True),
    _music("synthesizer", "a synthesizer", 80, 40, 88),
    _music("sitar", "a sitar", 104, 48, 77),
    _music("banjo", "a banjo", 105, 48, 84),
    _music("bagpipes", "bagpipes", 109, 55, 77, verb="play", tail="a {tempo} melody"),
    _music("steel_drums", "steel drums", 114, 52, 88, verb="play"),
    Source("church_bell", "music", "a church bell", "rings", "ringing", Gm(14, "strikes", 48, 67, bank=8),
           "{count}", counts=(1, 4), count_period=0.7),
    # --- GM sound effects (FluidR3 programs 122-127) ---
    Source("waves", "effects", "waves", "crash", "crashing", Gm(122, "sustain", 55, 67, preroll=0.6), "on a shore"),
    Source("birds", "effects", "birds", "chirp", "chirping", Gm(123, "tweets", 60, 84)),
    Source("telephone", "effects", "a telephone", "rings", "ringing", Gm(124, "ring", 60, 72)),
    Source("helicopter", "effects", "a helicopter", "flies", "flying", Gm(125, "sustain", 55, 67, preroll=1.2)),
    Source("applause", "effects", "a crowd", "applauds", "applauding", Gm(126, "sustain", 55, 67, preroll=0.6)),
    Source("gunshots", "effects", "a gun", "fires", "firing", Gm(127, "shots", 48, 72), "{count}",
           counts=(1, 4), count_period=0.25),
    # --- the drum channel ---
    Source("drum_beat", "percussion", "drums", "play", "playing", Kit("beat"), "a {tempo} beat"),
    Source("snare_roll", "percussion", "a snare drum", "rolls", "rolling", Kit("roll")),
    Source("claps", "percussion", "someone", "claps", "clapping", Kit("pulse", (39,)), "{tempo_adv}", person=True),
    Source("cowbell", "percussion", "a cowbell", "clanks", "clanking", Kit("pulse", (56,)), "{tempo_adv}"),
    Source("tambourine", "percussion", "a tambourine", "jingles", "jingling", Kit("pulse", (54,)), "{tempo_adv}"),
    Source("bass_drum", "percussion", "a bass drum", "thumps", "thumping", Kit("pulse", (36,)), "{tempo_adv}"),
    Source("bongos", "percussion", "bongos", "play", "playing", Kit("bongos", (60, 61)), "a {tempo} rhythm"),
    Source("cymbal", "percussion", "a cymbal", "crashes", "crashing", Kit("strikes", (49, 57)), "{count}",
           counts=(1, 3), count_period=0.5),
    Source("triangle", "percussion", "a triangle", "dings", "dinging", Kit("strikes", (81,)), "{count}",
           counts=(1, 4), count_period=0.4),
    # --- espeak-ng speech ---
    Source("man_speaking", "speech", "a man", "speaks", "speaking", Voice("en-us+m3"), "{tempo_adv} {voice}",
           person=True),
    Source("woman_speaking", "speech", "a woman", "speaks", "speaking", Voice("en-us+f3"), "{tempo_adv} {voice}",
           person=True),
    # A whisper is quiet by nature: "whispers loudly" would be a caption the clip contradicts.
    Source("man_whispering", "speech", "a man", "whispers", "whispering", Voice("en-us+whisper"), "{tempo_adv}",
           person=True, loudness=(None, "quiet")),
    Source("woman_whispering", "speech", "a woman", "whispers", "whispering", Voice("en-us+whisperf"), "{tempo_adv}",
           person=True, loudness=(None, "quiet")),
    # --- numpy synthesis ---
    Source("beeps", "synthetic", "a {register} beep", "sounds", "sounding", Synth("beeps"), "{count}",
           counts=(1, 5), count_period=0.25),
    Source("siren", "synthetic", "a siren", "wails", "wailing", Synth("siren")),
    Source("hum", "synthetic", "an electrical transformer", "hums", "humming", Synth("hum")),
    Source("hiss", "synthetic", "white noise", "hisses", "hissing", Synth("hiss")),
    Source("wind", "synthetic", "wind", "blows", "blowing", Synth("wind")),
    Source("alarm", "synthetic", "an alarm", "beeps", "beeping", Synth("alarm"), "{tempo_adv}"),
    Source("tone_rising", "synthetic", "a tone", "rises", "rising", Synth("tone_up"), "in pitch"),
    Source("tone_falling", "synthetic", "a tone", "falls", "falling", Synth("tone_down"), "in pitch"),
    Source("dial_tone", "synthetic", "a telephone dial tone", "sounds", "sounding", Synth("dial_tone")),
    Source("busy_signal", "synthetic", "a telephone busy signal", "beeps", "beeping", Synth("busy_signal")),
    Source("clock", "synthetic", "a clock", "ticks", "ticking", Synth("clock"), "{tempo_adv}"),
    Source("morse_code", "synthetic", "{register} morse code", "beeps", "beeping", Synth("morse"), "{tempo_adv}"),
    Source("buzzer", "synthetic", "a buzzer", "buzzes", "buzzing", Synth("buzzer"), "{count}",
           counts=(1, 3), count_period=0.6),
)
CATALOGUE: dict[str, Source] = {s.key: s for s in SOURCES}
assert len(CATALOGUE) == len(SOURCES), "duplicate source key"

# How often each category is drawn: music has far more sources than speech, and uniform sampling
# over sources would make speech rare, while "a man speaks" is the commonest prompt of all.
CATEGORY_WEIGHTS = {"music": 0.35, "percussion": 0.15, "effects": 0.15, "speech": 0.15, "synthetic": 0.20}

# ----------------------------------------------------------------------------------------------
# 6. Captions
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    mix: str  # single | while | then
    text: str  # {A}/{B}: clauses ("a man speaks"), {a}/{b}: noun phrases ("a man speaking")


TEMPLATES: dict[str, Template] = {
    "clause": Template("single", "{A}"),
    "phrase": Template("single", "{a}"),
    "while": Template("while", "{A} while {B}"),
    "background": Template("while", "{A} with {b} in the background"),  # rendered with B quieter
    "same_time": Template("while", "{a} and {b} at the same time"),
    "as": Template("while", "{A} as {B}"),
    "followed_by": Template("then", "{a} followed by {b}"),
    "then": Template("then", "{A}, then {B}"),
    "after": Template("then", "{B} after {A}"),  # names the second sound first: order is in the words
    "and_then": Template("then", "{A} and then {B}"),
}
# Phrasings only the test split uses: does the model understand "as" and "and then" without
# having been trained on them?
TEST_TEMPLATES = frozenset({"as", "and_then"})

_VOWEL_EXCEPTIONS = ("uk", "uni", "one", "eu")  # vowel letter, consonant sound: "a ukulele"


def _fix_articles(text: str) -> str:
    """'a' before a vowel sound becomes 'an', and 'an' before a consonant sound becomes 'a'."""

    def pick(m: re.Match[str]) -> str:
        word = m.group(2)
        vowel = word[0].lower() in "aeiou" and not word.lower().startswith(_VOWEL_EXCEPTIONS)
        return ("an " if vowel else "a ") + word

    return re.sub(r"\b(a|an) (\w+)", pick, text)


def describe(source: Source, attrs: Attrs, form: str) -> str:
    """A clause ("a quiet piano plays a fast melody") or phrase ("a quiet piano playing ...")."""
    fill = {slot: words.get(attrs.get(attr), "") for slot, (attr, words) in SLOT_WORDS.items()}
    subject = source.subject.format(**fill)
    loud = attrs.get("loudness")
    if loud and not source.person:  # an adjective right after the determiner: "a loud siren"
        for d in DETERMINERS:
            if subject.startswith(d):
                subject = d + LOUD_ADJ[str(loud)] + " " + subject[len(d) :]
                break
        else:
            subject = LOUD_ADJ[str(loud)] + " " + subject
    verb = source.verb if form == "clause" else source.gerund
    tail = " ".join(source.tail.format(**fill).split())
    if loud and source.person:  # "speaks loudly and quickly", "speaks loudly in a deep voice",
        adv = LOUD_ADV[str(loud)]  # but "whistles a fast tune loudly"
        if tail.startswith(("a ", "an ")):
            tail = f"{tail} {adv}"
        elif tail.split(" ")[0] in SLOT_WORDS["tempo_adv"][1].values():
            tail = f"{adv} and {tail}"
        else:
            tail = f"{adv} {tail}"
    return _fix_articles(" ".join(f"{subject} {verb} {tail}".split()))


def caption(template: str, parts: list[tuple[Source, Attrs]]) -> str:
    """Fill a template with the parts, in time order for "then" templates."""
    a = parts[0]
    b = parts[1] if len(parts) > 1 else parts[0]
    return TEMPLATES[template].text.format(
        A=describe(*a, "clause"), a=describe(*a, "phrase"), B=describe(*b, "clause"), b=describe(*b, "phrase")
    )


# ----------------------------------------------------------------------------------------------
# 7. Splits by caption combination
# ----------------------------------------------------------------------------------------------

TEST_PAIR_FRACTION = 0.10


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def is_test_pair(a: str, b: str) -> bool:
    """About 10% of unordered source pairs, chosen by a hash of their keys.

    A hash rather than the seed: every data set (any seed, any size) holds out the same pairs,
    and adding a source to the catalogue does not move existing pairs between splits.
    """
    x, y = _pair(a, b)
    h = int.from_bytes(hashlib.sha256(f"soundstep-pair:{x}|{y}".encode()).digest()[:8], "big")
    return h / 2**64 < TEST_PAIR_FRACTION


TEST_PAIRS: frozenset[tuple[str, str]] = frozenset(
    _pair(a, b) for i, a in enumerate(CATALOGUE) for b in list(CATALOGUE)[i + 1 :] if is_test_pair(a, b)
)

# ----------------------------------------------------------------------------------------------
# 8. Planning
# ----------------------------------------------------------------------------------------------

SPLIT_CODES = {"train": 0, "test": 1}
# Peak level of a clip (or of each half of a sequence) after normalisation, by loudness attribute:
# about 18 dB from quiet to loud, and loud stays under 0 dBFS so 16-bit never clips.
LEVELS: dict[object, tuple[float, float]] = {"loud": (0.89, 0.97), None: (0.4, 0.6), "quiet": (0.08, 0.14)}


def _pick_source(rng: np.random.Generator, exclude: str | None = None) -> Source:
    cats = list(CATEGORY_WEIGHTS)
    while True:
        cat = cats[int(rng.choice(len(cats), p=list(CATEGORY_WEIGHTS.values())))]
        pool = [s for s in SOURCES if s.category == cat and s.key != exclude]
        if pool:
            return pool[int(rng.integers(len(pool)))]


def _pick_attrs(rng: np.random.Generator, src: Source, seconds: float, loudness: bool) -> Attrs:
    """Attributes a listener can hear; each one is left unset (and unsaid) about half the time."""
    attrs: Attrs = {}
    if loudness:
        loud = src.loudness[int(rng.choice(len(src.loudness), p=_loud_probs(src.loudness)))]
        if loud:
            attrs["loudness"] = loud
    if "register" in src.attributes and rng.random() < 0.5:
        attrs["register"] = str(rng.choice(["low", "high"]))
    if "tempo" in src.attributes and rng.random() < 0.5:
        attrs["tempo"] = str(rng.choice(["slow", "fast"]))
    if "count" in src.attributes and rng.random() < 0.6:
        attrs["count"] = int(rng.choice(src.counts_for(seconds)))
    return attrs


def _loud_probs(options: tuple[str | None, ...]) -> list[float]:
    w = [2.0 if o is None else 1.0 for o in options]  # unmarked half the time (with 3 options)
    return [x / sum(w) for x in w]


def _plan_one(cfg: DataConfig, split: str, i: int) -> dict:
    """The plan of clip i of a split; depends only on (cfg, split, i)."""
    ss = np.random.SeedSequence([cfg.seed, SPLIT_CODES[split], i])
    rng = np.random.default_rng(ss)
    seed = int(ss.generate_state(1)[0])
    train_templates = [k for k in TEMPLATES if k not in TEST_TEMPLATES]
    # Train: a third each of single, while, then. Test: a quarter single, the rest compositions
    # that are new in their pair, their template, or both.
    if split == "train":
        kind = ("single", "pair", "pair")[i % 3]
        want_test_pair, templates = False, train_templates
    else:
        kind = ("single", "pair", "pair", "pair")[i % 4]
        want_test_pair = i % 4 in (1, 3)
        templates = train_templates if i % 4 == 1 else sorted(TEST_TEMPLATES) if i % 4 == 2 else list(TEMPLATES)
    if kind == "single":
        template = str(rng.choice([k for k in templates if TEMPLATES[k].mix == "single"]))
        src = _pick_source(rng)
        parts = [(src, _pick_attrs(rng, src, cfg.clip_seconds, loudness=True))]
    else:
        template = str(rng.choice([k for k in templates if TEMPLATES[k].mix != "single"]))
        while True:  # rejection sampling: about 1 in 10 draws is a test pair
            a = _pick_source(rng)
            b = _pick_source(rng, exclude=a.key)
            # "a man speaks while a man whispers" would not say which sound is which
            if is_test_pair(a.key, b.key) == want_test_pair and a.noun != b.noun:
                break
        if TEMPLATES[template].mix == "then":  # each half its own loudness: "a quiet X followed by a loud Y"
            half = cfg.clip_seconds / 2
            parts = [(s, _pick_attrs(rng, s, half, loudness=True)) for s in (a, b)]
        else:  # levels in a mix are set by the template, so loudness words are left out
            parts = [(s, _pick_attrs(rng, s, cfg.clip_seconds, loudness=False)) for s in (a, b)]
    plan = {
        "split": split,
        "seed": seed,
        "mix": TEMPLATES[template].mix,
        "template": template,
        "sources": [s.key for s, _ in parts],
        "attrs": [attrs for _, attrs in parts],
        "caption": caption(template, parts),
    }
    digest = hashlib.sha1(
        json.dumps([plan, cfg.clip_seconds, cfg.sample_rate, RENDER_VERSION], sort_keys=True).encode()
    ).hexdigest()[:8]
    clip_id = f"{split}{i:05d}-{digest}"
    return {"id": clip_id, "file": f"clips/{clip_id}.wav", **plan}


def plan_clips(cfg: DataConfig) -> list[dict]:
    """Every clip of both splits, train first, without rendering anything."""
    return [_plan_one(cfg, "train", i) for i in range(cfg.num_train)] + [
        _plan_one(cfg, "test", i) for i in range(cfg.num_test)
    ]


# ----------------------------------------------------------------------------------------------
# 9. Rendering
# ----------------------------------------------------------------------------------------------

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
        audio = fluidsynth_render(_gm_notes(r, c), {0: (r.bank, r.program)}, sr, tmp, end + r.preroll)
        audio = audio[round(r.preroll * sr) :]
    elif isinstance(r, Kit):
        notes, kit = _kit_notes(r, c)
        audio = fluidsynth_render(notes, {DRUM_CHANNEL: (128, kit)}, sr, tmp, end)
    elif isinstance(r, Voice):
        audio = _speech(r, c)
    else:
        audio = SYNTHS[r.name](c)
    x = _fit(audio, n, sr)
    x[: int(0.002 * sr)] *= np.linspace(0.0, 1.0, int(0.002 * sr))  # no click at a part's start
    if np.abs(x).max() < 1e-5:
        raise RuntimeError(f"source {source.key!r} rendered silence (attrs {attrs})")
    return x


def render_clip(plan: dict, cfg: DataConfig, tmp: Path) -> np.ndarray:
    """The clip's float32 audio: num_samples long, peak at the loudness level, never clipped."""
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
    return x.astype(np.float32)


def _to_pcm16(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)


def write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    """Atomically write 16-bit mono PCM: a crash never leaves a half file that looks complete."""
    part = path.with_name(path.name + ".part")
    sf.write(part, _to_pcm16(x), sr, subtype="PCM_16", format="WAV")
    os.replace(part, path)


def _is_complete(path: Path, cfg: DataConfig) -> bool:
    try:
        info = sf.info(path)
    except (RuntimeError, OSError):  # missing, truncated or not a sound file: render it
        return False
    return info.frames == cfg.num_samples and info.samplerate == cfg.sample_rate and info.channels == 1


def _render_job(job: tuple[dict, DataConfig, str]) -> str:
    """Worker entry: render one planned clip to its file."""
    plan, cfg, out_dir = job
    with tempfile.TemporaryDirectory(prefix="soundstep-data-") as tmp:
        x = render_clip(plan, cfg, Path(tmp))
    write_wav(Path(out_dir) / plan["file"], x, cfg.sample_rate)
    return plan["id"]


INDEX_KEYS = ("id", "file", "caption", "sources", "split", "seed", "mix", "template", "attrs")


def render_dataset(cfg: DataConfig, out_dir: Path, workers: int = 2) -> list[dict]:
    """Plan, render (skipping finished clips) and index the data set; returns the index rows."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    plans = plan_clips(cfg)
    (out_dir / "clips").mkdir(parents=True, exist_ok=True)
    todo = [p for p in plans if not _is_complete(out_dir / p["file"], cfg)]
    if todo:
        check_tools()
    jobs = [(p, cfg, str(out_dir)) for p in todo]
    done = 0
    every = max(1, len(jobs) // 10)

    def progress() -> None:
        if done % every == 0 or done == len(jobs):
            rate = done / max(1e-9, time.perf_counter() - t0)
            log.info("rendered %d/%d clips (%.1f clips/s)", done, len(jobs), rate)

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            _render_job(job)
            done += 1
            progress()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(_render_job, jobs, chunksize=4):
                done += 1
                progress()
    rows = [{k: p[k] for k in INDEX_KEYS} for p in plans]
    _write_index(out_dir, cfg, rows)
    elapsed = time.perf_counter() - t0
    log.info(
        "%d clips in %s: rendered %d, skipped %d (already there) in %.1f s (%.1f rendered clips/s)",
        len(rows), out_dir, len(todo), len(plans) - len(todo), elapsed, len(todo) / max(elapsed, 1e-9),
    )
    return rows


def _write_index(out_dir: Path, cfg: DataConfig, rows: list[dict]) -> None:
    tmp = out_dir / "captions.jsonl.part"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    os.replace(tmp, out_dir / "captions.jsonl")
    meta = {"config": asdict(cfg), "num_samples": cfg.num_samples, "render_version": RENDER_VERSION,
            "test_templates": sorted(TEST_TEMPLATES), "test_pairs": sorted(map(list, TEST_PAIRS)),
            "sources": {s.key: s.noun for s in SOURCES}}
    (out_dir / "dataset.json").write_text(json.dumps(meta, indent=1) + "\n")


# ----------------------------------------------------------------------------------------------
# 10. Loading
# ----------------------------------------------------------------------------------------------


def load_clips(out_dir: Path | str) -> list[dict]:
    """The rows of out_dir/captions.jsonl; "file" is relative to out_dir."""
    with open(Path(out_dir) / "captions.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_audio(path: Path | str) -> np.ndarray:
    """A clip as float32 in [-1, 1], mono (channels averaged if there are several)."""
    x, _ = sf.read(path, dtype="float32", always_2d=True)
    return x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]


# ----------------------------------------------------------------------------------------------
# 11. CLI
# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m soundstep_factory.data", description="Render soundstep's captioned clip data set."
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (clips/, captions.jsonl)")
    p.add_argument("--num-train", type=int, default=DataConfig.num_train)
    p.add_argument("--num-test", type=int, default=DataConfig.num_test)
    p.add_argument("--clip-seconds", type=float, default=DataConfig.clip_seconds)
    p.add_argument("--seed", type=int, default=DataConfig.seed)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    cfg = DataConfig(seed=args.seed, num_train=args.num_train, num_test=args.num_test, clip_seconds=args.clip_seconds)
    try:
        render_dataset(cfg, args.out, workers=args.workers)
    except ToolError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main()
