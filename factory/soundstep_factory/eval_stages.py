"""The evaluation stages (evaluate.py runs them): each reads the recipe's work dir and writes one
JSON file of figures there: judge/report.json, eval/floor.json, vae.json, table.json, seen.json,
captions-<split>.json.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from .config import PackConfig, load_config
from .eval_data import EvalConfig, eval_dir, load_real, reconstruction_errors, split_rows, test_prompts, waves_to_mel
from .eval_runs import decode_run, sample_latents, score_decoded, score_run
from .judge import JudgeConfig, build_vocab, judge_outputs, judge_path, load_judge, score_mels, train_judge
from .metrics import MIXES, clips_found, judge_accuracy, paired_found, source_recall, summarize_runs


def stage_judge(cfg: PackConfig, jcfg: JudgeConfig, runs: int = 1) -> dict:
    """Train (or resume/load) `runs` judges with seeds jcfg.seed + k; score each on the real test split."""
    real = load_real(cfg)
    vocab = build_vocab(real["sources"])
    train, test = split_rows(real, "train"), split_rows(real, "test")
    per_run = []
    for k in range(runs):
        judge, _ = train_judge(cfg, dataclasses.replace(jcfg, seed=jcfg.seed + k), train["mel"],
                               train["sources"], vocab, path=judge_path(cfg, k))
        probs, _ = judge_outputs(judge, test["mel"])
        per_run.append({"seed": jcfg.seed + k, **judge_accuracy(probs, test["sources"], vocab, jcfg.threshold)})
    result = {"stage": "judge", "recipe": cfg.recipe, "runs": runs, "vocab_size": len(vocab),
              "num_train": len(train["sources"]), "num_test": len(test["sources"]),
              "judge_config": dataclasses.asdict(jcfg),
              "summary": summarize_runs([{k: v for k, v in r.items() if k not in ("seed", "num_clips", "num_sources")}
                                         for r in per_run]),
              "per_run": per_run}
    (cfg.work_dir / "judge" / "report.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def stage_floor(cfg: PackConfig, ecfg: EvalConfig, pack_dir: Path) -> dict:
    """The reconstruction floor: real test clips through the pack's vocoder alone, and through
    mel -> VAE latent -> VAE decoder -> vocoder; no generator can beat the second."""
    from .generate import PackRunner
    judge, vocab = load_judge(judge_path(cfg))
    real = test_prompts(cfg, ecfg)
    runner = PackRunner(pack_dir)
    paths = {
        "vocoder": lambda: runner.vocode(real["mel"].numpy()),
        "vae+vocoder": lambda: np.concatenate([runner.vocode(runner.decode_mel(real["latents"][i:i + 32].numpy()))
                                               for i in range(0, len(real["latents"]), 32)]),
    }
    score = functools.partial(score_mels, judge, vocab, prompted_sources=real["sources"], real_mel=real["mel"],
                              mixes=real["mixes"])
    out = {"stage": "floor", "num_prompts": len(real["captions"]), "real": score(real["mel"])}
    if real["mixes"] is not None:
        out["mix_counts"] = {m: real["mixes"].count(m) for m in MIXES}
    # The VAE alone, judged on its decoded log-mel (no audio): the floor of the mel-domain columns.
    vae_mel = torch.from_numpy(np.concatenate([runner.decode_mel(real["latents"][i:i + 32].numpy())[:, 0]
                                               for i in range(0, len(real["latents"]), 32)]))
    out["vae (mel)"] = {"mel_l1": float((vae_mel - real["mel"]).abs().mean()),
                        **score(vae_mel)}
    for name, make in paths.items():
        wave = torch.from_numpy(make())
        out[name] = {**reconstruction_errors(cfg, wave, real["wave"], real["mel"]),
                     **score(waves_to_mel(cfg, wave))}
        print(f"[floor] {name}: {json.dumps(out[name])}", flush=True)
    (eval_dir(cfg)).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / "floor.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def stage_vae(cfg: PackConfig, ecfg: EvalConfig, against: str | None = None) -> dict:
    """The floor a VAE recipe sets before any teacher is trained on its latents: the first test
    clips' log-mels through the recipe's encoder (posterior mean) and the decoder the pack would
    ship (vae-decoder when the recipe trains one), judged like generated log-mels, by composition.
    The same measurement as the floor stage's "vae (mel)" row, from checkpoints instead of a pack,
    so VAE recipes can be compared at the cost of training a VAE, not a teacher. `against`: another
    recipe whose vae.json to compare with clip by clip (paired_found; this recipe is A)."""
    from .models import build_vae
    from .train import load_vae_decoder, vae_stage
    judge, vocab = load_judge(judge_path(cfg))
    real = test_prompts(cfg, ecfg)
    encoder = checkpoint.load_trained(cfg, "vae", build_vae(cfg))
    decoder = encoder if vae_stage(cfg) == "vae" else load_vae_decoder(cfg)
    mel = real["mel"].float().unsqueeze(1)  # (P, 1, frames, mels)
    with torch.no_grad():
        recon = torch.cat([decoder.decode(encoder.encode(mel[i:i + 32]).latent_dist.mean).sample[:, 0]
                           for i in range(0, len(mel), 32)])  # (P, frames, mels)
    score = functools.partial(score_mels, judge, vocab, prompted_sources=real["sources"], real_mel=real["mel"],
                              mixes=real["mixes"])
    probs = {"real": judge_outputs(judge, real["mel"].float())[0], "vae (mel)": judge_outputs(judge, recon)[0]}
    out = {"stage": "vae", "recipe": cfg.recipe, "vae": dataclasses.asdict(cfg.vae),
           "num_prompts": len(real["captions"]), "real": score(real["mel"]),
           "vae (mel)": {"mel_l1": float((recon - real["mel"]).abs().mean()), **score(recon)},
           "source_recall": {k: source_recall(p, real["sources"], vocab) for k, p in probs.items()},
           # per clip, so two recipes can be compared clip by clip (paired) on the same test clips
           "clip_ids": real["ids"],
           "found": {k: clips_found(p, real["sources"], vocab).tolist() for k, p in probs.items()}}
    if against is not None:
        other = json.loads((eval_dir(load_config(against)) / "vae.json").read_text())
        if other["clip_ids"] != out["clip_ids"]:
            raise ValueError(f"{against}'s vae.json judged other clips: run it with the same --prompts")
        out["paired"] = {"against": against, **paired_found(out["found"]["vae (mel)"], other["found"]["vae (mel)"])}
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / "vae.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def stage_table(cfg: PackConfig, ecfg: EvalConfig) -> dict:
    """Score every generated run in <work>/eval/generated with the judge: one row per (denoiser, steps)."""
    judge, vocab = load_judge(judge_path(cfg))
    real = test_prompts(cfg, ecfg)
    rows, decoders = [], set()
    for folder in sorted((eval_dir(cfg) / "generated").glob("*-*")):
        runs = sorted(folder.glob("seed*.pt"))
        if not runs:
            continue
        denoiser, steps = folder.name.rsplit("-", 1)
        loaded = [torch.load(p, weights_only=False) for p in runs]
        per_run = [score_run(judge, vocab, run, real) for run in loaded]
        decoders.update(run.get("decoders") for run in loaded)
        rows.append({"denoiser": denoiser, "steps": int(steps), "runs": len(per_run),
                     **summarize_runs([{k: v for k, v in r.items() if k != "seed"} for r in per_run])})
    if len(decoders) > 1:
        raise RuntimeError(f"the runs were decoded by different VAE decoders or vocoders ({sorted(map(str, decoders))}): "
                           "run --stage decode first")
    out = {"stage": "table", "num_prompts": len(real["captions"]), "decoders": decoders.pop() if decoders else None,
           "rows": rows}
    (eval_dir(cfg) / "table.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def stage_seen(cfg: PackConfig, ecfg: EvalConfig, pack_dir: Path, steps: int = 50) -> dict:
    """Seen or unseen captions: the guided teacher on the first prompts of the training split and of
    the test split (same count, same seeds), each scored against the real clips of its own prompts.
    If the teacher's adherence relative to the real clips' is as low on training prompts as on test
    prompts, it fails to follow captions it was trained on (capacity, training), not new pairs."""
    from .generate import PackRunner, Timing
    judge, vocab = load_judge(judge_path(cfg))
    runner = PackRunner(pack_dir)
    out = {"stage": "seen", "denoiser": "teacher", "steps": steps, "num_prompts": ecfg.num_prompts,
           "runs": ecfg.runs, "splits": {}}
    for split in ("train", "test"):
        real = test_prompts(cfg, ecfg, split)
        per_run = []
        for seed in range(ecfg.runs):
            z0 = sample_latents(ecfg, runner, "teacher", steps, real["captions"], seed, Timing())
            per_run.append(score_decoded(judge, vocab, decode_run(cfg, ecfg, runner, z0), real))
            print(f"[seen] {split} seed {seed}: adherence {per_run[-1]['adherence']:.3f}", flush=True)
        out["splits"][split] = {"real": score_mels(judge, vocab, real["mel"], real["sources"], real["mel"],
                                                   mixes=real["mixes"]),
                                "teacher": summarize_runs(per_run)}
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / "seen.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


CAPTION_TIMESTEPS = tuple(range(49, 1000, 100))  # 49, 149, ..., 949: every noise level, none at the ends


def stage_captions(cfg: PackConfig, split: str = "test", timesteps: Sequence[int] = CAPTION_TIMESTEPS,
                   batch: int = 50, seed: int = 0) -> dict:
    """How much the teacher listens to the caption, without sampling or a judge: its v-prediction
    error on the split's clips (same noise, same timesteps) given each clip's own caption, the
    unconditional "" prompt, and the next clip's caption. A teacher that ignores the text has all
    three equal; `caption_gain` = 1 - own / empty is the share of its error the caption removes.
    Cheap (forward passes of the PyTorch teacher), so teacher recipes can be compared early."""
    from . import sampling
    from .checkpoint import load_diffusion_set
    from .models import build_unet

    data = load_diffusion_set(cfg, split)
    x0, hidden, mask = data["x0"], data["hidden"], data["mask"]  # (N, C, T, F), (N, L, H), (N, L)
    unet = checkpoint.load_trained(cfg, "teacher", build_unet(cfg, hidden.shape[-1]))
    other = torch.roll(torch.arange(len(x0)), 1)
    conditions = {"own": (hidden, mask), "other": (hidden[other], mask[other]),
                  "empty": (data["uncond_hidden"].expand_as(hidden), data["uncond_mask"].expand_as(mask))}
    abar = sampling.alphas_cumprod().float()
    g = torch.Generator().manual_seed(seed)
    mse = {name: [] for name in conditions}  # per timestep
    for t in timesteps:
        eps = torch.randn(x0.shape, generator=g)
        alpha, sigma = (a.view(-1, 1, 1, 1) for a in sampling.alpha_sigma(abar, torch.full((len(x0),), t)))
        z, target = sampling.q_sample(x0, eps, alpha, sigma), sampling.v_target(x0, eps, alpha, sigma)
        steps = torch.full((len(x0),), t)
        for name, (h, m) in conditions.items():
            with torch.no_grad():
                v = torch.cat([unet(z[i:i + batch], steps[i:i + batch], encoder_hidden_states=h[i:i + batch],
                                    encoder_attention_mask=m[i:i + batch]).sample for i in range(0, len(x0), batch)])
            mse[name].append(float(F.mse_loss(v, target)))
    mean = {name: float(np.mean(values)) for name, values in mse.items()}
    out = {"stage": "captions", "split": split, "clips": len(x0), "timesteps": list(timesteps),
           "teacher_step": checkpoint.load(cfg.work_dir / "teacher" / "checkpoint.pt")["step"],
           "v_mse": mse, "mean_v_mse": mean,
           "caption_gain": 1 - mean["own"] / mean["empty"], "wrong_caption_gain": 1 - mean["own"] / mean["other"]}
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / f"captions-{split}.json").write_text(json.dumps(out, indent=1) + "\n")
    return out
