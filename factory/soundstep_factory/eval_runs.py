"""Generated runs: the test prompts sampled by one denoiser of a pack at one step count and seed
(the pack's own ONNX graphs with the app's sampler), decoded to audio, stored under
<work>/eval/generated/<denoiser>-<steps>/seed<k>.pt, and scored by one fixed judge.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from .config import PackConfig
from .eval_data import EvalConfig, eval_dir, test_prompts, waves_to_mel
from .judge import Judge, score_mels
from .metrics import summarize_runs


def evaluate_generated(cfg: PackConfig, judge: Judge, vocab: Sequence[str], wave: torch.Tensor,
                       prompted_sources: Sequence[Sequence[str]], real_test_mel: torch.Tensor,
                       threshold: float = 0.5) -> dict:
    """One run: generated waveforms (N, S) for prompts naming `prompted_sources`, scored against the
    real test clips' log-mels: {"fad_judge", "fd_mel", "adherence"}."""
    return score_mels(judge, vocab, waves_to_mel(cfg, wave), prompted_sources, real_test_mel, threshold)



def evaluate_generated_runs(cfg: PackConfig, judge: Judge, vocab: Sequence[str],
                            generate: Callable[[int], torch.Tensor], prompted_sources: Sequence[Sequence[str]],
                            real_test_mel: torch.Tensor, seeds: Sequence[int] = (0, 1, 2, 3, 4),
                            threshold: float = 0.5) -> dict:
    """Every figure as the mean over sampling seeds with a 95% interval. generate(seed) returns the
    waveforms (N, S) for the N prompts whose sources are `prompted_sources` (in the same order)."""
    per_run = [{"seed": s, **evaluate_generated(cfg, judge, vocab, generate(s), prompted_sources,
                                                 real_test_mel, threshold)} for s in seeds]
    return {"summary": summarize_runs([{k: v for k, v in r.items() if k != "seed"} for r in per_run]),
            "per_run": per_run}


def generated_path(cfg: PackConfig, denoiser: str, steps: int, seed: int) -> Path:
    return eval_dir(cfg) / "generated" / f"{denoiser}-{steps}" / f"seed{seed}.pt"


def generate_run(cfg: PackConfig, ecfg: EvalConfig, runner, denoiser: str, steps: int, seed: int,
                 real: dict | None = None, guidance: float | None = None, path: Path | None = None) -> Path:
    """Generate the test prompts with one denoiser, step count and seed; cached (a rerun skips it).
    Keeps the log-mels of the vocoded audio (float16), timing, and a few waveforms. `real` is
    test_prompts(cfg, ecfg), passed in by callers that generate many runs (it reads features.pt).
    `guidance` overrides the teacher's default scale (guidance_sweep.py), stored at `path` then."""
    from .generate import Timing
    path = path or generated_path(cfg, denoiser, steps, seed)
    if path.exists():
        return path
    real = real or test_prompts(cfg, ecfg)
    timing = Timing()
    z0 = sample_latents(ecfg, runner, denoiser, steps, real["captions"], seed, timing, guidance)
    started = time.perf_counter()
    decoded = decode_run(cfg, ecfg, runner, z0)
    timing.decode_s += time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    # z0 is kept so that a new VAE decoder or vocoder can be judged without sampling again (--stage decode).
    torch.save({"denoiser": denoiser, "steps": steps, "seed": seed, "guidance": runner.guidance_for(denoiser, guidance),
                "captions": real["captions"], "z0": torch.from_numpy(z0), **decoded,
                "timing": dataclasses.asdict(timing)}, path)
    print(f"[generated] {denoiser} N={steps} seed {seed}: {timing.clips} clips, "
          f"{(timing.denoise_s + timing.decode_s) / timing.clips:.3f} s/clip", flush=True)
    return path


def sample_latents(ecfg: EvalConfig, runner, denoiser: str, steps: int, captions: Sequence[str], seed: int,
                   timing, scale: float | None = None) -> np.ndarray:
    """Scaled latents (P, C, T, F) for the captions, sampled in batches from seed's noise (the
    denoiser's own guidance: the teacher's scale, or `scale` when given; none for students)."""
    from .generate import noise_for
    hidden, mask = runner.encode(list(captions))
    noise = noise_for(seed, len(hidden), runner.latent_shape)
    guidance = runner.guidance_for(denoiser, scale)
    return np.concatenate([runner.sample(denoiser, steps, hidden[i:i + ecfg.batch_size], mask[i:i + ecfg.batch_size],
                                         noise[i:i + ecfg.batch_size], guidance, timing)
                           for i in range(0, len(hidden), ecfg.batch_size)])


def decoders_id(runner) -> str:
    """Which VAE decoder and vocoder turned latents into audio: their files' SHA-256, shortened."""
    files = runner.manifest["files"]
    return "+".join(files[runner.manifest[k]["file"]]["sha256"][:12] for k in ("vae_decoder", "vocoder"))


def vae_log_mel(runner, z0: np.ndarray, batch: int = 32) -> np.ndarray:
    """Scaled latents (P, C, T, F) -> the VAE decoder's log-mel (P, 1, frames, mels), in batches."""
    return np.concatenate([runner.decode_mel(z0[i:i + batch] / runner.latent["scale"]) for i in range(0, len(z0), batch)])


def decode_run(cfg: PackConfig, ecfg: EvalConfig, runner, z0: np.ndarray) -> dict:
    """Scaled latents (P, C, T, F) -> the VAE's log-mel, the audio's log-mel and a few waveforms."""
    vae_mel = vae_log_mel(runner, z0)
    wave = torch.from_numpy(np.concatenate([runner.vocode(vae_mel[i:i + 32]) for i in range(0, len(z0), 32)]))
    return {"mel": waves_to_mel(cfg, wave).half(), "vae_mel": torch.from_numpy(vae_mel[:, 0]).half(),
            "examples": wave[: ecfg.examples].clone(), "decoders": decoders_id(runner)}


def redecode_runs(cfg: PackConfig, ecfg: EvalConfig, pack_dir: Path) -> list[str]:
    """Decode every stored run's z0 again with the pack's current VAE decoder and vocoder (no sampling)."""
    from .generate import PackRunner
    runner = PackRunner(pack_dir)
    done = []
    for path in sorted((eval_dir(cfg) / "generated").glob("*/seed*.pt")):
        run = torch.load(path, weights_only=False)
        if run.get("decoders") == decoders_id(runner):
            continue
        run.update(decode_run(cfg, ecfg, runner, run["z0"].numpy()))
        torch.save(run, path)
        done.append(str(path))
        print(f"[decode] {path.parent.name} {path.stem}", flush=True)
    return done


def score_decoded(judge: Judge, vocab: Sequence[str], decoded: dict, real: dict) -> dict:
    """The figures of decoded clips (decode_run's "mel" and "vae_mel") against the real clips of the
    same prompts: on the audio, and with the suffix _vae_mel on the VAE decoder's log-mel."""
    score = functools.partial(score_mels, judge, vocab, prompted_sources=real["sources"], real_mel=real["mel"],
                              mixes=real["mixes"])
    return {**score(decoded["mel"]), **{f"{k}_vae_mel": v for k, v in score(decoded["vae_mel"]).items()}}


def score_run(judge: Judge, vocab: Sequence[str], run: dict, real: dict) -> dict:
    """The figures of one stored run (a generate_run file, loaded)."""
    t = run["timing"]
    return {"seed": run["seed"], **score_decoded(judge, vocab, run, real),
            "seconds_per_clip": (t["denoise_s"] + t["decode_s"]) / t["clips"],
            "nfe": t["network_evaluations_per_clip"]}
