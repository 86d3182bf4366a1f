"""loudness.py: which known prompts come out quiet, and each source's share of quiet training renders."""
import numpy as np
import pytest

from soundstep_factory.loudness import quiet_prompts, source_levels


def test_quiet_prompts_lists_known_prompts_whose_quietest_seed_is_under_the_line():
    prompts = [{"prompt": "clock ticking", "sources": ["clock"]}, {"prompt": "a dog", "sources": ["dog"]},
               {"prompt": "a theremin", "sources": []}]  # unknown sounds are not held to the target
    levels = np.array([[-36.0, -20.0, -60.0], [-30.0, -34.0, -60.0], [-34.0, -21.0, -60.0]])  # (seeds, P)
    assert quiet_prompts(levels, prompts, below=-33.0) == [
        {"prompt": "clock ticking", "sources": ["clock"], "min_dbfs": -36.0, "median_dbfs": -34.0},
        {"prompt": "a dog", "sources": ["dog"], "min_dbfs": -34.0, "median_dbfs": -21.0}]
    assert quiet_prompts(levels, prompts, below=-40.0) == []


def test_source_levels_counts_single_source_clips_and_sorts_the_quietest_first():
    sources = [["clock"], ["clock"], ["clock"], ["clock"], ["dog"], ["dog", "clock"]]
    levels = np.array([-40.0, -30.0, -20.0, -36.0, -25.0, -50.0])  # the mix is not a clock alone
    rows = source_levels(sources, levels, target=-35.0)
    assert list(rows) == ["clock", "dog"]
    assert rows["clock"] == {"clips": 4, "below_target": 0.5, "min_dbfs": -40.0, "median_dbfs": -33.0}
    assert rows["dog"] == {"clips": 1, "below_target": 0.0, "min_dbfs": -25.0, "median_dbfs": -25.0}


def test_rms_floor_gain_raises_a_quiet_render_to_the_floor_unless_its_peak_would_clip():
    from soundstep_factory.data_render import PEAK_LIMIT, rms_floor_gain

    t = np.arange(16000) / 16000
    quiet_tone = 0.01 * np.sin(2 * np.pi * 440 * t)  # RMS -43 dBFS
    gain = rms_floor_gain(quiet_tone, -33.0)
    assert 20 * np.log10(np.sqrt(np.mean((gain * quiet_tone) ** 2))) == pytest.approx(-33.0, abs=1e-6)
    ticks = np.zeros(16000)
    ticks[::4000] = 0.1  # four clicks: RMS -66 dBFS, peak 0.1
    assert rms_floor_gain(ticks, -33.0) == pytest.approx(PEAK_LIMIT / 0.1)  # stops at the peak limit
    assert rms_floor_gain(0.5 * np.sin(2 * np.pi * 440 * t), -33.0) == 1.0  # never quieter
