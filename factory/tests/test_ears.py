"""The independent ears (ears.py) and the tone test (tones.py): hand-made values for the metrics,
the real pretrained models on signals whose answer is known."""
import math
import shutil
import subprocess

import numpy as np
import pytest

from soundstep_factory import ears, tones


def test_vuv_f1_and_raw_pitch_accuracy_by_hand():
    ref = np.array([True, True, True, False, False])
    est = np.array([True, False, True, True, False])
    # tp 2, fp 1, fn 1 -> 2 * 2 / (4 + 1 + 1)
    assert ears.vuv_f1(ref, est) == pytest.approx(4 / 6)
    assert ears.vuv_f1(np.zeros(3, bool), np.zeros(3, bool)) == 1.0
    f0_ref = np.array([100.0, 200.0, 400.0, 50.0, 50.0])
    # +49 cents passes, +51 cents fails, an octave fails; unvoiced reference frames do not count
    f0 = np.array([100 * 2 ** (49 / 1200), 200 * 2 ** (51 / 1200), 800.0, 999.0, 999.0])
    assert ears.raw_pitch_accuracy(f0_ref, ref, f0) == pytest.approx(1 / 3)
    assert math.isnan(ears.raw_pitch_accuracy(f0_ref, np.zeros(5, bool), f0))


def test_periodicity_error_loudness_and_speech_position_by_hand():
    assert ears.periodicity_error(np.array([1.0, 0.0]), np.array([0.0, 0.0])) == pytest.approx(math.sqrt(0.5))
    full_square = np.ones((1, 100))
    assert ears.rms_dbfs(full_square)[0] == pytest.approx(0.0)
    assert ears.rms_dbfs(0.01 * full_square)[0] == pytest.approx(-40.0)
    assert ears.speech_second_half(np.array([0, 0, 1, 1])) == 1.0
    assert ears.speech_second_half(np.array([1, 0, 1, 0])) == 0.5
    assert math.isnan(ears.speech_second_half(np.zeros(4)))
    assert ears.speech_group(["dog_barking", "woman_speaking"]) == "speaking"
    assert ears.speech_group(["man_whispering"]) == "whispering"
    assert ears.speech_group(["piano"]) == "no speech"


def test_crepe_hears_a_sine_and_not_noise():
    sine = tones.sine((440.0,), 1.0)
    noise = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    pitch = ears.crepe_pitch(np.stack([sine, noise]))
    voiced_f0 = pitch.f0[0][pitch.voiced[0]]
    assert pitch.voiced[0].mean() > 0.9 and pitch.voiced[1].mean() < 0.1
    assert np.median(np.abs(ears.cents(voiced_f0, np.full_like(voiced_f0, 440.0)))) < 20
    same = ears.pitch_against_reference(pitch, pitch)
    assert same["vuv_f1"] == 1.0 and same["raw_pitch_accuracy"] == 1.0 and same["periodicity_error"] == 0.0


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (scripts/setup-system.sh)")
def test_silero_hears_espeak_speech_and_not_a_sine(tmp_path):
    wav = tmp_path / "voice.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+m3", "-w", str(wav), "the quick brown fox jumps over the lazy dog"],
                   check=True)
    import soundfile as sf
    from scipy.signal import resample_poly
    voice, sr = sf.read(wav, dtype="float32")
    voice = resample_poly(voice, 16000, sr).astype(np.float32)[:32000]
    voice = np.pad(voice, (0, 32000 - len(voice)))
    clips = np.stack([voice, tones.sine((440.0,), 2.0)])
    present = ears.speech_present(ears.speech_probabilities(clips))
    assert present.tolist() == [True, False]


def test_tone_check_passes_a_clean_tone_and_fails_a_frame_rate_ripple():
    clean = tones.sine((968.0,), 2.56)
    t = np.arange(len(clean)) / 16000
    rippled = clean * (1 + 0.5 * np.sin(2 * np.pi * 100 * t))  # 100 Hz AM: sidebands at -12 dB
    detuned = tones.sine((920.0,), 2.56)
    assert tones.check_tone(clean, (968.0,)).passed
    result = tones.check_tone(rippled, (968.0,))
    assert not result.passed and result.sideband_db == pytest.approx(-12.0, abs=0.5)
    assert not tones.check_tone(detuned, (968.0,)).passed
    chord = tones.sine(tones.TEST_CHORD_HZ, 2.56)
    assert tones.check_tone(chord, tones.TEST_CHORD_HZ).passed
    assert not tones.check_tone(tones.sine(tones.TEST_CHORD_HZ[:1], 2.56), tones.TEST_CHORD_HZ).passed


def test_tone_test_of_a_perfect_vocoder_passes_everything():
    results = tones.tone_test(lambda wave: wave)
    assert len(results) == len(tones.TEST_SINES_HZ) + 1 and all(r.passed for r in results)


def test_pitched_clips_are_reproducible_and_in_level_range():
    a, b = tones.pitched_clips(6, 1.0, seed=3), tones.pitched_clips(6, 1.0, seed=3)
    assert np.array_equal(a, b) and a.shape == (6, 16000)
    peak_db = 20 * np.log10(np.abs(a).max(axis=1))
    assert (peak_db <= -6 + 1e-4).all() and (peak_db >= -30 - 1e-4).all()


def test_free_form_prompts_are_well_formed_and_pairs_are_ordered_by_pitch():
    from soundstep_factory import data, prompt_eval
    prompts = prompt_eval.load_free_form()
    known = {s.key for s in data.SOURCES}
    assert all(set(p["sources"]) <= known for p in prompts)
    assert sum(not p["sources"] for p in prompts) >= 8  # sounds the pack was never taught
    captions = {c["caption"] for c in data.plan_clips(data.DataConfig(num_train=2400, num_test=200))}
    assert not captions & {p["prompt"] for p in prompts}  # none is a training caption
    pairs = [{"prompt": "high", "sources": ["beeps"], "pair": "b", "element": "high"},
             {"prompt": "low", "sources": ["beeps"], "pair": "b", "element": "low"}]
    high, low = tones.sine((880.0,), 1.0), tones.sine((220.0,), 1.0)
    right, wrong = np.stack([high, low]), np.stack([low, high])
    assert prompt_eval.pairs_ordered(pairs, right, ears.crepe_pitch(right)) == {"b": True}
    assert prompt_eval.pairs_ordered(pairs, wrong, ears.crepe_pitch(wrong)) == {"b": False}
    # unpitched clips fall back to the spectral centroid
    assert prompt_eval.spectral_centroid(high) == pytest.approx(880.0, rel=0.01)
