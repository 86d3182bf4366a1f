"""The factory's data stage: a captioned sound-clip data set rendered offline from Debian tools.

Usage: python -m soundstep_factory.data --out DIR --num-train N --num-test M
              [--clip-seconds 2.56] [--seed 0] [--workers 2]

Nothing is downloaded (../shared/design/ENVIRONMENT.md, "Sound sources"). Every clip is made here:
  - fluidsynth + FluidR3_GM.sf2 play General MIDI instruments, the drum channel and the GM sound
    effects (programs 122-127) from .mid files written by `data_tools.write_midi`;
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

This module plans, renders and indexes; the parts live beside it: data_tools.py (fluidsynth,
espeak-ng, the MIDI writer), data_recipes.py (how a source becomes notes or speech),
data_synth.py (numpy synthesisers), data_catalogue.py (sources, caption templates, test pairs),
data_render.py (one clip from its plan).
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .config import FACTORY_DIR, AudioConfig, DataStageConfig, PackConfig
from .data_catalogue import CATALOGUE, CATEGORY_WEIGHTS, SOURCES, TEMPLATES, TEST_PAIRS, TEST_TEMPLATES, Source, is_test_pair
from .data_phrasing import caption, draw_wording
from .data_recipes import Attrs
from .data_render import LEVELS, render_clip, render_part
from .data_tools import ToolError, check_tools

__all__ = [  # the parts in the modules beside this one are re-exported: the tests import them from here
    "CATALOGUE", "CATEGORY_WEIGHTS", "LEVELS", "SOURCES", "TEMPLATES", "TEST_PAIRS", "TEST_TEMPLATES", "DataConfig",
    "ToolError", "check_tools", "is_test_pair", "load_audio", "load_clips", "main", "plan_clips", "render_clip",
    "render_dataset", "render_part",
]

log = logging.getLogger(__name__)

# Bump when rendering changes what a plan sounds like: it is part of every clip id, so old
# renders in an output folder are not mistaken for new ones on resume.
RENDER_VERSION = 1

# ----------------------------------------------------------------------------------------------
# Configuration
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
# Planning
# ----------------------------------------------------------------------------------------------

SPLIT_CODES = {"train": 0, "test": 1}


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


FREE_FORM_PROMPTS = FACTORY_DIR / "prompts" / "free_form.json"


@functools.lru_cache(maxsize=1)
def held_out_prompts() -> frozenset[str]:
    """The hand-written free-form prompts (prompt_eval): no training caption may equal one."""
    return frozenset(row["prompt"] for row in json.loads(FREE_FORM_PROMPTS.read_text())["prompts"])


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
        "caption": caption(template, parts, [draw_wording(rng, s) for s, _ in parts]),
    }
    # Keep the free-form set unseen: short phrasings like "piano" also arise as captions.
    while split == "train" and plan["caption"] in held_out_prompts():
        plan["caption"] = caption(template, parts, [draw_wording(rng, s) for s, _ in parts])
    digest = hashlib.sha1(
        json.dumps([plan, cfg.clip_seconds, cfg.sample_rate, RENDER_VERSION], sort_keys=True).encode()
    ).hexdigest()[:8]
    clip_id = f"{split}{i:05d}-{digest}"
    # After the digest: rewording a clip does not change its sound, so it keeps its id and render.
    reword_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, SPLIT_CODES[split], i, 1]))
    rewordings = [_reword(reword_rng, template, parts, templates) for _ in range(cfg.rewordings)]
    return {"id": clip_id, "file": f"clips/{clip_id}.wav", **plan, "rewordings": rewordings}


def _reword(rng: np.random.Generator, template: str, parts: list, templates: list[str]) -> str:
    """The clip's caption in other words: a template of the same mix (a clip mixed at equal
    levels is never "B in the background", and a background clip stays one), other wordings;
    never a free-form prompt."""
    mix = TEMPLATES[template].mix
    same = [k for k in templates if TEMPLATES[k].mix == mix and (k == "background") == (template == "background")]
    while True:
        text = caption(str(rng.choice(same)), parts, [draw_wording(rng, s) for s, _ in parts])
        if text not in held_out_prompts():
            return text


def plan_clips(cfg: DataConfig) -> list[dict]:
    """Every clip of both splits, train first, without rendering anything."""
    return [_plan_one(cfg, "train", i) for i in range(cfg.num_train)] + [
        _plan_one(cfg, "test", i) for i in range(cfg.num_test)
    ]


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------

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


INDEX_KEYS = ("id", "file", "caption", "rewordings", "sources", "split", "seed", "mix", "template", "attrs")


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
# Loading
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
# CLI
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
