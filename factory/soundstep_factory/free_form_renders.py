"""Real renders of the free-form prompts, so that their figures have real clips beside them, as the
test split's do (issue 17: "every figure sits beside the real clips' own").

A free-form prompt names the sources a listener would expect (factory/prompts/free_form.json). The
data renderer makes the clip those sources would give in training: one source alone; "X followed by
<speech>" as the "then" mix (X in the first half); two sources at once as the "while" mix; a high/low
pair element as the source's register. The clips come at the plain level ("loudness" unset) with the
recipe's RMS floor, as training renders them. Prompts naming no known source have no render. Two rows
come from them: the renders themselves, and the renders through the pack's mel front end and vocoder
(the vocoder's floor on these prompts: what no denoiser can beat with this vocoder).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .data import DataConfig
from .data_render import render_clip

# the render seeds of seed k: k * SEED_STRIDE + the prompt's index among the known prompts
SEED_STRIDE = 1000


def render_plan(prompt: dict, seed: int) -> dict | None:
    """The data renderer's plan (data.plan_clips' fields that render_clip reads) for one prompt;
    None when it names no known source."""
    sources = list(prompt["sources"])
    if not sources:
        return None
    if len(sources) > 2:
        raise ValueError(f"free-form prompt {prompt['prompt']!r}: the renderer mixes at most 2 sources")
    attrs = [{"register": prompt["element"]} if "element" in prompt else {} for _ in sources]
    mix = "single" if len(sources) == 1 else "then" if prompt.get("order") else "while"
    return {"seed": seed, "sources": sources, "attrs": attrs, "mix": mix, "template": "name"}


def known_prompts(prompts: list[dict]) -> list[dict]:
    """The prompts that name a known source, in order: the ones that have renders."""
    return [p for p in prompts if p["sources"]]


def render_known(prompts: list[dict], seed: int, data: DataConfig) -> np.ndarray:
    """(len(known_prompts(prompts)), samples) float32: one render per known prompt for seed `seed`."""
    known = known_prompts(prompts)
    with tempfile.TemporaryDirectory() as tmp:
        plans = [render_plan(p, seed * SEED_STRIDE + i) for i, p in enumerate(known)]
        return np.stack([render_clip(plan, data, Path(tmp)) for plan in plans if plan is not None])
