"""Render recipes: how each kind of source becomes audio. A General MIDI program (Gm), the drum
channel (Kit) or a voice (Voice) become notes or sentences for data_tools' renderers; a Synth
names a numpy synthesiser of data_synth.py. Ctx carries what one part of a clip needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .data_tools import DRUM_CHANNEL, Note, espeak_render

if TYPE_CHECKING:
    from .data_catalogue import Source


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


Recipe = Gm | Kit | Voice | Synth
Attrs = dict[str, str | int]


@dataclass
class Ctx:
    """Everything a recipe needs to render one part of a clip."""

    rng: np.random.Generator
    seconds: float  # length of this part
    sr: int
    attrs: Attrs
    source: Source
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


def spread(rng: np.random.Generator, count: int, seconds: float, period: float) -> list[float]:
    """Start times of `count` events, at least `period` apart, all well inside the part."""
    first = float(rng.uniform(0.02, 0.12))
    if count == 1:
        return [first + float(rng.uniform(0.0, max(0.0, seconds * 0.3)))]
    room = (seconds - 0.2 - first) / (count - 1)  # the last event must start 0.2 s before the end
    p = min(float(rng.uniform(period, period * 2.0)), room)
    return [first + i * p for i in range(count)]


def gm_notes(r: Gm, c: Ctx) -> list[Note]:
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
        for s in spread(rng, c.count(), c.seconds, c.source.count_period):
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
        for s in spread(rng, c.count(), c.seconds, c.source.count_period):
            notes.append(Note(r.preroll + s, 0.5, int(rng.integers(lo, hi + 1)), int(rng.integers(100, 127))))
    else:
        raise ValueError(f"unknown GM style {r.style!r}")
    return notes


def kit_notes(k: Kit, c: Ctx) -> tuple[list[Note], int]:
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
        for s in spread(rng, c.count(), c.seconds, c.source.count_period):
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


def speech(v: Voice, c: Ctx) -> np.ndarray:
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
