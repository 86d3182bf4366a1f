"""free_form_renders.py: the free-form prompts rendered as training renders their sources."""
import numpy as np
import pytest

from soundstep_factory.data import DataConfig
from soundstep_factory.data_render import LEVELS, PEAK_LIMIT
from soundstep_factory.free_form_renders import known_prompts, render_known, render_plan
from soundstep_factory.prompt_eval import load_free_form, spectral_centroid

HIGH = {"prompt": "a high piano note", "sources": ["piano"], "pair": "piano", "element": "high"}
LOW = {"prompt": "a low piano note", "sources": ["piano"], "pair": "piano", "element": "low"}
THEN = {"prompt": "a phone rings followed by a man talking", "sources": ["telephone", "man_speaking"],
        "order": "speech_second"}
WHILE = {"prompt": "a trumpet plays while a woman speaks", "sources": ["trumpet", "woman_speaking"]}
UNKNOWN = {"prompt": "a dog barking", "sources": []}


def test_render_plan_follows_what_the_prompt_names():
    assert render_plan(HIGH, 7) == {"seed": 7, "sources": ["piano"], "attrs": [{"register": "high"}],
                                    "mix": "single", "template": "name"}
    assert render_plan(THEN, 3)["mix"] == "then" and render_plan(THEN, 3)["attrs"] == [{}, {}]
    assert render_plan(WHILE, 3)["mix"] == "while"
    assert render_plan(UNKNOWN, 3) is None
    with pytest.raises(ValueError, match="at most 2 sources"):
        render_plan({"prompt": "a band", "sources": ["piano", "trumpet", "cello"]}, 0)


def test_every_known_free_form_prompt_has_a_plan():
    prompts = load_free_form()
    known = known_prompts(prompts)
    assert 0 < len(known) < len(prompts)  # the set has unknown sounds too, and they get no render
    assert all(render_plan(p, i) is not None for i, p in enumerate(known))


def test_render_known_gives_one_render_per_known_prompt_deterministically():
    data = DataConfig(rms_floor_dbfs=-33.0)
    prompts = [HIGH, UNKNOWN, LOW, THEN]
    waves = render_known(prompts, seed=0, data=data)
    assert waves.shape == (3, data.num_samples) and waves.dtype == np.float32
    peaks = np.abs(waves).max(axis=1)
    assert np.all((peaks >= LEVELS[None][0] - 1e-6) & (peaks <= PEAK_LIMIT + 1e-6))  # the plain level, raised at most to the limit
    assert np.array_equal(waves, render_known(prompts, seed=0, data=data))
    assert not np.array_equal(waves, render_known(prompts, seed=1, data=data))
    high, low, then = waves
    assert spectral_centroid(high) > spectral_centroid(low)  # the register reached the renderer
    half = data.num_samples // 2
    assert np.abs(then[:half]).max() > 0.01 and np.abs(then[half:]).max() > 0.01  # both halves sound
