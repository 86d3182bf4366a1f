"""What a listener hears from a pack's denoisers, by the independent ears, on two prompt sets:
the template test split (each prompt has its real clip) and prompts written by hand as people
type them (factory/prompts/free_form.json, never used in training).

Usage: python -m soundstep_factory.prompt_eval --config small [--pack DIR] [--set free-form|test]
           [--rows teacher:200 bsa-25:25] [--seeds 5] [--prompts 100]

Per row (denoiser, steps), over every seed's clips:
  rms_dbfs_min, known_below_35   loudness; no clip of an in-vocabulary prompt may sit below -35 dBFS
  speech_present[group]          silero-vad, by what the prompt names (speaking, whispering, none)
  pairs_ordered                  "high"/"low" prompts of one source, seed by seed: the high one's
                                 median voiced CREPE f0 above the low one's (spectral centroid when
                                 either has under 10% voiced frames); pairs_ordered_by_pair: the same
                                 per pair (which pair falls short)
  speech_second_half             "X followed by <speech>": share of clips whose speech lies mostly
                                 in the second half
  vuv_f1, raw_pitch_accuracy,    against the real clip of the same caption (test set only): a
  periodicity_error              different take of the prompt, so a loose reference
  judge_adherence                the judge's (when the recipe has one): every named source heard, over
                                 the prompts whose sources it knows
  judge_order                    "X then Y" prompts: the judge hears X in the first half only and Y in
                                 the second only (judge.order_adherence)
With --renders (free-form set): two more rows, "renders" (each known prompt rendered by the data
renderer as training would: free_form_renders.py) and "renders, vocoded" (the same through the pack's
mel front end and vocoder), --seeds renders each, beside every denoiser's row.
Sampled latents are cached in <work>/eval/prompts/<set>/<denoiser>-<steps>/seed<k>.npy (the
latent shape is the pack's: a pack with another denoiser needs a fresh cache).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from . import ears
from .config import PackConfig, default_out, load_config
from .data import FREE_FORM_PROMPTS

FREE_FORM = FREE_FORM_PROMPTS
MIN_VOICED = 0.1


def load_free_form(path: Path = FREE_FORM) -> list[dict]:
    return json.loads(path.read_text())["prompts"]


def spectral_centroid(wave: np.ndarray, sr: int = ears.SAMPLE_RATE) -> float:
    """Magnitude-weighted mean frequency of a whole clip (Hz)."""
    mag = np.abs(np.fft.rfft(wave.astype(np.float64)))
    return float((np.fft.rfftfreq(len(wave), 1 / sr) * mag).sum() / max(mag.sum(), 1e-12))


def pitch_height(pitch: ears.Pitch, i: int) -> float | None:
    """Median voiced f0 of clip i, or None when under MIN_VOICED of its frames are voiced."""
    voiced = pitch.voiced[i]
    return float(np.median(pitch.f0[i][voiced])) if voiced.mean() >= MIN_VOICED else None


def pairs_ordered(prompts: list[dict], wave: np.ndarray, pitch: ears.Pitch) -> dict[str, bool]:
    """For each high/low pair of prompts in this run, by its `pair` name: is the high one higher?"""
    by_pair: dict[str, dict[str, int]] = {}
    for i, p in enumerate(prompts):
        if "pair" in p:
            by_pair.setdefault(p["pair"], {})[p["element"]] = i
    ordered = {}
    for name, pair in by_pair.items():
        hi, lo = pair["high"], pair["low"]
        f_hi, f_lo = pitch_height(pitch, hi), pitch_height(pitch, lo)
        if f_hi is None or f_lo is None:
            f_hi, f_lo = spectral_centroid(wave[hi]), spectral_centroid(wave[lo])
        ordered[name] = bool(f_hi > f_lo)
    return ordered


def judge_run(judge, prompts: list[dict], mel: torch.Tensor) -> dict:
    """The judge's readings of one run: per prompt whose sources it knows, were all of them heard;
    and over the "X then Y" prompts, the share heard in that order. judge: (model, vocab);
    mel: the clips' log-mels (P, frames, mels)."""
    from .judge import judge_outputs, order_adherence
    from .metrics import clips_found
    model, vocab = judge
    rows = [i for i, p in enumerate(prompts) if p["sources"] and all(s in vocab for s in p["sources"])]
    if not rows:
        return {"judge_found": [], "judge_order": None}
    probs, _ = judge_outputs(model, mel[rows])
    sources = [prompts[i]["sources"] for i in rows]
    mixes = ["then" if prompts[i].get("mix") == "then" or prompts[i].get("order") else "other" for i in rows]
    return {"judge_found": clips_found(probs, sources, vocab).tolist(),
            "judge_order": order_adherence(model, vocab, mel[rows], sources, mixes)}


def hear_run(prompts: list[dict], wave: np.ndarray, reference: ears.Pitch | None = None,
             pitch: ears.Pitch | None = None) -> dict:
    """The raw per-clip readings of one run (one seed) that the row's figures pool."""
    pitch = ears.crepe_pitch(wave) if pitch is None else pitch  # the real clips pass their reference
    speech_prob = ears.speech_probabilities(wave)
    speech = ears.speech_present(speech_prob)
    second = [ears.speech_second_half(prob >= ears.VAD_THRESHOLD) for prob, p in zip(speech_prob, prompts)
              if p.get("order") == "speech_second"]
    out = {"rms_dbfs": ears.rms_dbfs(wave).tolist(), "speech": speech.tolist(),
           "pairs_ordered": pairs_ordered(prompts, wave, pitch),
           "speech_second_half": [bool(s > 0.5) for s in second]}  # NaN (no speech) counts as not
    if reference is not None:
        out.update(ears.pitch_against_reference(pitch, reference))
    return out


def summarize(prompts: list[dict], runs: list[dict]) -> dict:
    """Pool the runs of one row into its figures."""
    known = np.array([bool(p["sources"]) for p in prompts])
    level = np.array([r["rms_dbfs"] for r in runs])  # (seeds, prompts)
    speech = np.array([r["speech"] for r in runs])
    groups = np.array([ears.speech_group(p["sources"]) for p in prompts])
    out: dict[str, object] = {"clips": int(level.size), "known_clips": int(level[:, known].size),
                              "rms_dbfs_min_known": float(level[:, known].min()) if known.any() else None,
                              "known_below_35": int((level[:, known] < -35).sum()),
                              "unknown_below_35": int((level[:, ~known] < -35).sum())}
    for group in ears.SPEECH_GROUPS:
        rows = (groups == group) & known
        out[f"speech_present[{group}]"] = float(speech[:, rows].mean()) if rows.any() else None
    pairs = [o for r in runs for o in r["pairs_ordered"].values()]
    names = list(runs[0]["pairs_ordered"])
    out["pairs_ordered_by_pair"] = {name: float(np.mean([r["pairs_ordered"][name] for r in runs])) for name in names}
    second = [s for r in runs for s in r["speech_second_half"]]
    out["pairs_ordered"] = float(np.mean(pairs)) if pairs else None
    out["speech_second_half"] = float(np.mean(second)) if second else None
    if "judge_found" in runs[0]:
        found = [f for r in runs for f in r["judge_found"]]
        orders = [r["judge_order"] for r in runs if r["judge_order"] is not None]
        out["judge_adherence"] = float(np.mean(found)) if found else None
        out["judge_order"] = float(np.mean(orders)) if orders else None
    for key in ("vuv_f1", "raw_pitch_accuracy", "periodicity_error"):
        if key in runs[0]:
            out[key] = float(np.mean([r[key] for r in runs]))
    return out


def prompt_set(cfg: PackConfig, name: str, count: int) -> tuple[list[dict], dict | None]:
    """The prompts of a set as free_form.json rows, and (test set) the real clips of test_prompts."""
    if name == "free-form":
        return load_free_form(), None
    from .evaluate import EvalConfig, test_prompts
    real = test_prompts(cfg, EvalConfig(num_prompts=count))
    mixes = real["mixes"] or [None] * len(real["captions"])
    # "then" captions list their sources in order; speech second is what the order target measures
    prompts = [{"prompt": c, "sources": s, "mix": m, **({"order": "speech_second"} if m == "then" and
                                                         ears.speech_group(s[-1:]) == "speaking" else {})}
               for c, s, m in zip(real["captions"], real["sources"], mixes)]
    return prompts, real


def generate(runner, denoiser: str, steps: int, prompts: list[dict], seed: int, cache: Path,
             split: bool = False, whole_cache: Path | None = None, scale: float | None = None) -> np.ndarray:
    """The row's waveforms (P, samples) for one seed. The sampled latents are cached, not the audio,
    so a pack with another VAE decoder or vocoder is heard on the very same latents. `split`: prompts
    that name an order ("X followed by Y") are sampled in two halves (time_split.py), as the app does.
    `scale`: the teacher's guidance scale in place of its default (guidance_sweep.py; whole prompts only)."""
    from .evaluate import EvalConfig, sample_latents
    from .generate import Timing
    from .time_split import sample_latents_split, split_in_time
    texts = [p["prompt"] for p in prompts]
    if cache.exists():
        return runner.decode(np.load(cache))
    if split and whole_cache is not None and whole_cache.exists():
        # the prompts without an order are the whole-prompt row's (same noise rows): only the others are sampled
        z0 = np.load(whole_cache)
        ordered = [i for i, t in enumerate(texts) if split_in_time(t) is not None]
        z0[ordered] = sample_latents_split(runner, denoiser, steps, [texts[i] for i in ordered], seed,
                                           noise_rows=ordered, noise_count=len(texts))
    elif split:
        z0 = sample_latents_split(runner, denoiser, steps, texts, seed)
    else:
        z0 = sample_latents(EvalConfig(), runner, denoiser, steps, texts, seed, Timing(), scale)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, z0.astype(np.float32))
    return runner.decode(z0)


def render_rows(cfg: PackConfig, runner, prompts: list[dict], seeds: int, judge) -> dict[str, dict]:
    """The "renders" and "renders, vocoded" rows of the free-form set: its known prompts rendered
    as training renders them, heard as they are and through the pack's front end and vocoder."""
    from .data import DataConfig
    from .evaluate import waves_to_mel
    from .free_form_renders import known_prompts, render_known
    known = known_prompts(prompts)
    runs: dict[str, list[dict]] = {"renders": [], "renders, vocoded": []}
    for seed in range(seeds):
        wave = render_known(prompts, seed, DataConfig.for_pack(cfg))
        mel = waves_to_mel(cfg, torch.from_numpy(wave))
        for row, w in (("renders", wave), ("renders, vocoded", runner.vocode(mel.numpy()))):
            heard = hear_run(known, w)
            if judge is not None:
                heard.update(judge_run(judge, known, mel if row == "renders" else waves_to_mel(cfg, torch.from_numpy(w))))
            runs[row].append(heard)
    return {row: {"seeds": seeds, **summarize(known, r)} for row, r in runs.items()}


def main(argv: list[str] | None = None) -> None:
    from .evaluate import eval_dir, judge_path, load_judge, waves_to_mel
    from .generate import PackRunner
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path)
    ap.add_argument("--set", choices=["free-form", "test"], default="free-form")
    ap.add_argument("--rows", nargs="*", default=["teacher:200", "bsa-25:25"],
                    help="denoiser:steps, or denoiser:steps+split (order prompts sampled in two halves, time_split.py)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--prompts", type=int, default=100, help="test set: how many test captions")
    ap.add_argument("--renders", action="store_true", help="free-form set: also rows of its prompts' real renders")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    pack = args.pack or default_out(cfg)
    runner = PackRunner(pack)
    prompts, real = prompt_set(cfg, args.set, args.prompts)
    reference = None if real is None else ears.crepe_pitch(real["wave"].numpy())
    judge = load_judge(judge_path(cfg)) if judge_path(cfg).exists() else None

    def hear(wave: np.ndarray, against: ears.Pitch | None, pitch: ears.Pitch | None = None) -> dict:
        out = hear_run(prompts, wave, against, pitch=pitch)
        if judge is not None:
            out.update(judge_run(judge, prompts, waves_to_mel(cfg, torch.from_numpy(wave))))
        return out
    out = eval_dir(cfg) / f"prompts-{args.set}-{pack.name}.json"
    # rows of earlier invocations (other denoisers or seed counts) are kept
    result = json.loads(out.read_text()) if out.exists() else {"set": args.set, "pack": str(pack), "rows": {}}
    result["prompts"], result["pack"] = len(prompts), str(pack)  # the pack the rows were (re)heard through
    if real is not None:  # the real clips' own figures, beside every row
        result["rows"]["real clips"] = summarize(prompts, [hear(real["wave"].numpy(), None, pitch=reference)])
    if args.renders and args.set == "free-form":
        result["rows"].update(render_rows(cfg, runner, prompts, args.seeds, judge))
    for row in args.rows:
        denoiser, steps = row.split(":")
        steps, _, mode = steps.partition("+")
        if mode not in ("", "split"):
            raise SystemExit(f"--rows {row}: the only mode after '+' is 'split'")
        runs = []
        for seed in range(args.seeds):
            cache = eval_dir(cfg) / "prompts" / args.set / f"{denoiser}-{steps}{'-' + mode if mode else ''}" / f"seed{seed}.npy"
            whole = eval_dir(cfg) / "prompts" / args.set / f"{denoiser}-{steps}" / f"seed{seed}.npy"
            wave = generate(runner, denoiser, int(steps), prompts, seed, cache, split=mode == "split", whole_cache=whole)
            runs.append(hear(wave, reference))
        result["rows"][row] = {"seeds": args.seeds, **summarize(prompts, runs)}
        print(f"[prompts] {args.set} {row}: {json.dumps(result['rows'][row])}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
