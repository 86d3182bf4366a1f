"""loudness.py: which known prompts come out quiet, and each source's share of quiet training renders."""
import numpy as np

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
