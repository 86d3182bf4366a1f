"""The data stage's external renderers: fluidsynth (General MIDI from .mid files written by a tiny
Standard MIDI File writer) and espeak-ng, run with explicit arguments and a timeout; a missing
tool fails early with the apt-get line that installs it.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

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
# A tiny Standard MIDI File writer (format 0, one track)
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
