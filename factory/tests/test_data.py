"""The data stage renders real, captioned, reproducible clips.

Run: cd factory && .venv/bin/python -m pytest tests/test_data.py -q
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundstep_factory import data
from soundstep_factory.data import CATALOGUE, TEMPLATES, TEST_TEMPLATES, DataConfig, render_dataset
from soundstep_factory.data_phrasing import names_for

TINY = DataConfig(seed=0, num_train=8, num_test=4)  # 12 clips: all kinds of mix in both splits
MIN_RMS = 1e-3  # -60 dBFS: far below the quietest planned level, far above silence


def _hashes(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "clips").glob("*.wav"))}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("tiny")
    return out, render_dataset(TINY, out, workers=2)


def test_catalogue_has_at_least_40_distinct_sources() -> None:
    assert len(CATALOGUE) >= 40
    # Distinct to a listener and in words: no two sources share both noun and verb.
    assert len({(s.noun, s.verb) for s in CATALOGUE.values()}) == len(CATALOGUE)
    assert {s.category for s in CATALOGUE.values()} == set(data.CATEGORY_WEIGHTS)


def test_every_source_renders_sound() -> None:
    sr, n = 16000, 20480  # a half clip, the shortest part a source plays
    with tempfile.TemporaryDirectory() as tmp:
        for src in CATALOGUE.values():
            x = data.render_part(src, {}, n, sr, np.random.default_rng(0), Path(tmp))
            assert x.shape == (n,), src.key
            assert np.isfinite(x).all(), src.key
            assert np.sqrt(np.mean((x / np.abs(x).max()) ** 2)) > 0.01, f"{src.key} is nearly silent"


def test_clips_are_exact_mono_16k_pcm_audible_and_unclipped(tiny: tuple[Path, list[dict]]) -> None:
    out, rows = tiny
    assert len(rows) == 12
    assert [r["split"] for r in rows] == ["train"] * 8 + ["test"] * 4
    for r in rows:
        info = sf.info(out / r["file"])
        assert (info.frames, info.samplerate, info.channels, info.subtype) == (TINY.num_samples, 16000, 1, "PCM_16")
        x = data.load_audio(out / r["file"])
        assert x.dtype == np.float32 and x.shape == (40960,)
        assert np.sqrt(np.mean(x**2)) > MIN_RMS, r["caption"]
        assert 0.05 < np.abs(x).max() <= 1.0, r["caption"]


def test_index_rows_and_captions_name_their_sources(tiny: tuple[Path, list[dict]]) -> None:
    out, rows = tiny
    assert data.load_clips(out) == rows
    assert {r["mix"] for r in rows} == {"single", "while", "then"}
    for r in rows:
        assert set(r) >= {"id", "file", "caption", "sources", "split", "seed"}
        assert r["file"] == f"clips/{r['id']}.wav" and isinstance(r["seed"], int)
        cap = r["caption"]
        assert cap.strip() and cap == " ".join(cap.split())
        assert len(r["sources"]) == (1 if r["mix"] == "single" else 2)
        for key in r["sources"]:  # by the catalogue's name or one of its synonyms (data_phrasing)
            src = CATALOGUE[key]
            names = [src.noun] + [n.subject.split(" ", 1)[-1].replace("{register} ", "") for n in names_for(src)]
            assert any(name in cap for name in names), (key, cap)


def test_same_seed_gives_identical_bytes(tiny: tuple[Path, list[dict]], tmp_path: Path) -> None:
    out, rows = tiny
    again = render_dataset(TINY, tmp_path, workers=2)
    assert again == rows
    assert _hashes(tmp_path) == _hashes(out)
    assert (tmp_path / "captions.jsonl").read_bytes() == (out / "captions.jsonl").read_bytes()


def test_different_seed_gives_different_clips(tiny: tuple[Path, list[dict]], tmp_path: Path) -> None:
    out, rows = tiny
    other = render_dataset(DataConfig(seed=1, num_train=3, num_test=1), tmp_path, workers=2)
    assert [r["caption"] for r in other] != [r["caption"] for r in rows[:3] + rows[8:9]]
    assert not set(_hashes(tmp_path).values()) & set(_hashes(out).values())


def test_resume_skips_finished_clips_and_redoes_broken_ones(
    tiny: tuple[Path, list[dict]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, rows = tiny
    for name in ("clips", "captions.jsonl"):
        src = out / name
        if src.is_dir():
            (tmp_path / name).mkdir()
            for f in src.iterdir():
                (tmp_path / name / f.name).write_bytes(f.read_bytes())
    first, second = (tmp_path / r["file"] for r in rows[:2])
    first.unlink()  # missing
    second.write_bytes(second.read_bytes()[:1000])  # truncated by a crash
    rendered: list[str] = []
    real_job = data._render_job
    monkeypatch.setattr(data, "_render_job", lambda job: rendered.append(job[0]["id"]) or real_job(job))
    render_dataset(TINY, tmp_path, workers=1)
    assert sorted(rendered) == sorted(r["id"] for r in rows[:2])
    assert _hashes(tmp_path) == _hashes(out)
    rendered.clear()
    render_dataset(TINY, tmp_path, workers=1)
    assert rendered == []


def test_test_pairs_and_templates_never_reach_train() -> None:
    plans = data.plan_clips(DataConfig(seed=3, num_train=900, num_test=300))
    train = [p for p in plans if p["split"] == "train"]
    test = [p for p in plans if p["split"] == "test"]
    for p in train:
        assert p["template"] not in TEST_TEMPLATES, p["caption"]
        if len(p["sources"]) == 2:
            assert not data.is_test_pair(*p["sources"]), p["caption"]
    # The test split is new in its pairs, its phrasings, or both, and uses all of them.
    pairs = [p for p in test if p["mix"] != "single"]
    assert all(data.is_test_pair(*p["sources"]) or p["template"] in TEST_TEMPLATES for p in pairs)
    assert {p["template"] for p in test} >= TEST_TEMPLATES
    assert any(data.is_test_pair(*p["sources"]) and p["template"] not in TEST_TEMPLATES for p in pairs)
    # Test-only phrasings read differently from every train phrasing of the same kind.
    for key in TEST_TEMPLATES:
        text = TEMPLATES[key].text
        assert all(TEMPLATES[k].text != text for k in TEMPLATES if k not in TEST_TEMPLATES)
    # Single sources are shared, but never the same render.
    assert not {p["seed"] for p in train} & {p["seed"] for p in test}
    assert 0.05 < len(data.TEST_PAIRS) / (len(CATALOGUE) * (len(CATALOGUE) - 1) / 2) < 0.2


def test_plans_are_prefix_stable_and_seeded() -> None:
    small = data.plan_clips(DataConfig(seed=0, num_train=20, num_test=5))
    big = data.plan_clips(DataConfig(seed=0, num_train=40, num_test=10))
    assert small[:20] == big[:20] and small[20:] == big[40:45]
    assert data.plan_clips(DataConfig(seed=1, num_train=20, num_test=5)) != small


def _plan(mix: str, template: str, sources: list[str], attrs: list[dict]) -> dict:
    return {"mix": mix, "template": template, "sources": sources, "attrs": attrs, "seed": 7}


def test_a_recipe_renders_its_data_counts_at_its_audio_format() -> None:
    """One source of truth: the recipe's `data` (seed, counts; DataStageConfig's defaults) and its
    `audio` (clip length, rate), nothing of the data stage's own."""
    from dataclasses import asdict, replace

    from soundstep_factory.config import AudioConfig, DataStageConfig, PackConfig, load_config

    micro = load_config("micro")
    assert asdict(DataConfig.for_pack(micro)) == {**asdict(micro.data), "clip_seconds": micro.audio.clip_seconds,
                                                  "sample_rate": micro.audio.sample_rate}
    other = replace(PackConfig(), audio=AudioConfig(clip_seconds=1.28, sample_rate=8000),
                    data=DataStageConfig(seed=5, num_train=3, num_test=2))
    assert DataConfig.for_pack(other) == DataConfig(seed=5, num_train=3, num_test=2, clip_seconds=1.28, sample_rate=8000)
    assert DataConfig.for_pack(other).num_samples == 10240
    defaults = DataConfig()
    assert (defaults.seed, defaults.num_train, defaults.num_test) == (DataStageConfig().seed, DataStageConfig().num_train,
                                                                     DataStageConfig().num_test)
    assert (defaults.clip_seconds, defaults.sample_rate) == (AudioConfig().clip_seconds, AudioConfig().sample_rate)


def test_loudness_sets_the_peak_and_sequences_fill_both_halves(tmp_path: Path) -> None:
    cfg = DataConfig()
    peaks = {}
    for loud in ("quiet", None, "loud"):
        attrs = {"loudness": loud} if loud else {}
        x = data.render_clip(_plan("single", "clause", ["hiss"], [attrs]), cfg, tmp_path)
        peaks[loud] = np.abs(x).max()
        lo, hi = data.LEVELS[loud]
        assert lo - 1e-6 <= peaks[loud] <= hi + 1e-6
    assert peaks["quiet"] < peaks[None] < peaks["loud"] <= 1.0
    x = data.render_clip(_plan("then", "then", ["dial_tone", "siren"], [{}, {}]), cfg, tmp_path)
    half = len(x) // 2
    for part in (x[: half - 200], x[half + 200 :]):
        assert np.sqrt(np.mean(part**2)) > 0.1

    def hiss_to_tone(template: str) -> float:
        """Power of white noise over power of a 350 + 440 Hz dial tone, told apart by frequency."""
        x = data.render_clip(_plan("while", template, ["dial_tone", "hiss"], [{}, {}]), cfg, tmp_path)
        power = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / cfg.sample_rate)
        hiss = power[f > 1000].sum() * 8 / 7  # white noise spreads evenly over 0-8 kHz
        return float(hiss / (power[f < 1000].sum() - hiss / 8))

    # "X while Y": both about as loud (within 3 dB); "X with Y in the background": Y 10-14 dB under.
    assert 0.4 < hiss_to_tone("while") < 2.5
    assert 0.03 < hiss_to_tone("background") < 0.12


def test_rms_floor_raises_a_quiet_render_and_keeps_its_sound(tmp_path: Path) -> None:
    plan = _plan("single", "clause", ["hiss"], [{"loudness": "quiet"}])
    plain = data.render_clip(plan, DataConfig(), tmp_path)
    floored = data.render_clip(plan, DataConfig(rms_floor_dbfs=-20.0), tmp_path)
    rms_db = lambda x: 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    assert rms_db(plain) < -25 and rms_db(floored) == pytest.approx(-20.0, abs=0.01)  # hiss peaks low: room
    assert np.allclose(floored / np.abs(floored).max(), plain / np.abs(plain).max(), atol=1e-6)  # one gain
    assert np.array_equal(data.render_clip(plan, DataConfig(rms_floor_dbfs=-60.0), tmp_path), plain)  # never quieter


def test_missing_tool_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "fluidsynth" else "/usr/bin/" + name)
    with pytest.raises(data.ToolError, match="fluidsynth not found: apt-get install fluidsynth fluid-soundfont-gm"):
        data.check_tools()
