"""Stage: export the pack (docs/pack-format.md) with ONNX parity checks and golden files.

Usage: python -m soundstep_factory.export --config small [--out public/models/soundstep-small]

Every graph is run by ONNX Runtime on the same inputs as PyTorch; the max abs error goes to
build_log.json and an error above tolerance stops the export. Graphs whose weights the recipe
stores as float16 or int8 (`storage`, float32 inputs and outputs) are compressed after that
check, and their error against PyTorch is logged too. golden.json is computed by the graphs as
shipped, so the app's sampler is checked against exactly what it runs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from . import checkpoint, sampling
from .checkpoint import load_trained
from .config import AudioConfig, PackConfig, default_out, load_config
from .data_catalogue import SOURCES
from .data_phrasing import vocabulary
from .files import sha256
from .distill import student_steps
from .graphs import (DENOISER_AXES, PARITY_TOLERANCE, VAE_DECODER_AXES, VAE_ENCODER_AXES, VOCODER_AXES,
                     DenoiserGraph, VaeDecoderGraph, VaeEncoderGraph, VocoderGraph, run_graph, export_graph,
                     log_mel_relative_error)
from .manifest import FORMAT, factory_entry, files_entry, write_manifest
from .models import LATENT_DOWNSAMPLE, build_unet, build_vae
from .pitch_net import shipped_vocoder
from .pack_students import denoiser_inputs
from .quantize import prune_vocabulary
from .text import UNCONDITIONAL_PROMPT, TextEmbedder, encode_prompts, load_tokenizer
from .train import load_vae_decoder

__all__ = [  # the graph wrappers are re-exported: other modules and the tests import them from here
    "DenoiserGraph", "VaeDecoderGraph", "VaeEncoderGraph", "VocoderGraph", "copy_vocoder", "export_graph",
    "export_pack",
    "golden_trajectory", "main",
]

GOLDEN_FORMAT = "soundstep-golden/1"
GOLDEN_PROMPT = "a dog barks while a man speaks"
GOLDEN_STEPS = 4
GRID_SIZES = (200, 100, 50, 25, GOLDEN_STEPS)


def export_text_encoder(cfg: PackConfig, out: Path, captions: list[str]) -> dict:
    """The encoder with its vocabulary pruned to what the recipe keeps (TextConfig.keep_vocabulary),
    checked to give the unpruned encoder's hidden states on captions."""
    text_dir = cfg.work_dir / "text"
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(text_dir / name, out / name)
    if cfg.text.keep_vocabulary <= 0:
        shutil.copy(text_dir / "text_encoder.onnx", out / "text_encoder.onnx")
        return {}
    tokenizer = load_tokenizer(text_dir)
    keep = set(range(cfg.text.keep_vocabulary))
    for encoding in tokenizer.encode_batch(captions + [GOLDEN_PROMPT]):
        keep.update(encoding.ids)
    pruned = prune_vocabulary(text_dir / "text_encoder.onnx", out / "text_encoder.onnx",
                              tokenizer.get_vocab_size(), sorted(keep), tokenizer.token_to_id("[UNK]"))
    sample = captions[:: max(1, len(captions) // 256)] + [GOLDEN_PROMPT, UNCONDITIONAL_PROMPT]
    full, _ = TextEmbedder(cfg, text_dir)(sample)
    kept, _ = TextEmbedder(cfg, text_dir, out / "text_encoder.onnx")(sample)
    pruned["captions_max_abs_error"] = float(np.abs(full - kept).max())
    if pruned["captions_max_abs_error"] > PARITY_TOLERANCE:
        raise RuntimeError(f"the pruned encoder changes caption states by {pruned['captions_max_abs_error']:.2e}")
    return pruned


def golden_trajectory(cfg: PackConfig, pack: Path, embed: TextEmbedder, scale: float) -> dict:
    """A 4-step guided run of sampling.sample from given noise through the pack's own graphs,
    every network output and every z stored (float32)."""
    def session(name):
        return ort.InferenceSession(str(pack / name), providers=["CPUExecutionProvider"])
    unet, vae, vocoder = session("denoisers/teacher.onnx"), session("vae_decoder.onnx"), session("vocoder.onnx")
    shape = (cfg.vae.latent_channels, cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE)
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(1234))  # (C, T, F)
    hidden, mask = embed([GOLDEN_PROMPT, UNCONDITIONAL_PROMPT])  # (2, L, H), (2, L)
    ids, _, _ = encode_prompts(embed.tokenizer, [GOLDEN_PROMPT, UNCONDITIONAL_PROMPT], cfg.text.max_tokens, embed.pad_id)
    grid = sampling.trailing_grid(GOLDEN_STEPS)
    v_cond, v_uncond, zs = [], [], []

    def denoise(z2, t):  # z2 (2, C, T, F): the prompt's row, then the empty prompt's (E20)
        v = unet.run(None, {"sample": z2.numpy(), "timestep": np.array([t, t]),
                            "encoder_hidden_states": hidden, "encoder_attention_mask": mask})[0]  # (2, C, T, F)
        v_cond.append(v[0].flatten().tolist())
        v_uncond.append(v[1].flatten().tolist())
        return torch.from_numpy(v)

    z = sampling.sample(denoise, noise.unsqueeze(0), grid, sampling.alphas_cumprod(), cfg.guidance_scale,
                        on_step=lambda k, zk: zs.append(zk.flatten().tolist()))  # (1, C, T, F)
    log_mel = vae.run(None, {"latent": (z / scale).numpy()})[0]  # (1, 1, frames, mels)
    wave = vocoder.run(None, {"log_mel": np.ascontiguousarray(log_mel[:, 0].transpose(0, 2, 1))})[0]  # (1, samples)
    return {
        "denoiser": "teacher", "prompt": GOLDEN_PROMPT, "guidance_scale": cfg.guidance_scale,
        "steps": GOLDEN_STEPS, "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
        "latent_shape": list(shape), "noise": noise.flatten().tolist(), "timesteps": grid,
        "v_cond": v_cond, "v_uncond": v_uncond, "z": zs,
        "log_mel_sum": float(log_mel.sum()), "waveform_rms": float(np.sqrt(np.mean(wave ** 2))),
    }


def export_pack(cfg: PackConfig, out: Path, students: bool = True, every_round: bool = False,
                vocoder_from: Path | None = None) -> dict:
    """Write the pack to `out`: every graph with its parity check, golden.json and the manifest.
    With `students`, the finished distillation rounds the recipe ships are added as denoisers;
    with `every_round`, all of them, and the size budget is not enforced (an evaluation pack).
    With `vocoder_from` (a pack folder), that pack's vocoder graph is copied instead of exported:
    it turns any log-mel into audio, whatever VAE made the mel, so an experiment recipe that
    shares a pack's front end needs no vocoder of its own."""
    work = cfg.work_dir
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.time()
    text_info = json.loads((work / "text" / "text_info.json").read_text())
    feats = torch.load(work / "features.pt", weights_only=False)
    pruned = export_text_encoder(cfg, out, feats["captions"])
    hidden_size = text_info["hidden_size"]
    scale = torch.load(work / "latents.pt", weights_only=False)["scale"]
    unet = load_trained(cfg, "teacher", build_unet(cfg, hidden_size))

    C, T, Fb = cfg.vae.latent_channels, cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE
    g = torch.Generator().manual_seed(0)
    parity = {"text_encoder.onnx": {**text_info["parity"], **pruned}}
    inputs = denoiser_inputs(cfg, hidden_size)
    denoisers = [({"id": "teacher", "file": "denoisers/teacher.onnx", "role": "teacher", "method": None,
                   "steps": [200, 100, 50, 25],
                   "guidance": {"type": "classifier-free", "default_scale": cfg.guidance_scale},
                   "distilled_from": None}, unet)]
    if students:
        denoisers += distilled_students(cfg, hidden_size, every_round)
    for entry, model in denoisers:  # the teacher keeps more precision: from_pack.py trains on from it
        storage = cfg.unet.teacher_storage if entry["role"] == "teacher" else cfg.unet.storage
        parity[entry["file"]] = export_graph(DenoiserGraph(model), inputs, "v_prediction",
                                             out / entry["file"], DENOISER_AXES, storage)
    teacher_sha = sha256(out / denoisers[0][0]["file"])  # what pack_teacher.stale_students compares with
    for entry, _ in denoisers[1:]:
        entry["teacher_sha256"] = teacher_sha
    parity["vae_encoder.onnx"] = export_vae_encoder(cfg, out, feats["mel"], scale)
    parity["vae_decoder.onnx"] = export_graph(
        VaeDecoderGraph(load_vae_decoder(cfg)),
        {"latent": torch.randn(1, C, T, Fb, generator=g)}, "log_mel",
        out / "vae_decoder.onnx", VAE_DECODER_AXES, cfg.vae.storage)
    if vocoder_from is not None:
        parity["vocoder.onnx"] = copy_vocoder(vocoder_from, out, cfg.audio)
    else:
        parity["vocoder.onnx"] = export_graph(
            VocoderGraph(shipped_vocoder(cfg)),
            {"log_mel": feats["mel"][:1].transpose(1, 2).contiguous()}, "waveform",
            out / "vocoder.onnx", VOCODER_AXES, cfg.vocoder.storage,
            stored_error=log_mel_relative_error(cfg.audio),
            parity_error=log_mel_relative_error(cfg.audio) if cfg.vocoder.harmonic else None)

    embed = TextEmbedder(cfg, work / "text", out / "text_encoder.onnx")
    golden = {"format": GOLDEN_FORMAT, "alphas_cumprod": sampling.alphas_cumprod().tolist(),
              "grids": {str(n): sampling.trailing_grid(n) for n in GRID_SIZES},
              "trajectory": golden_trajectory(cfg, out, embed, scale)}
    (out / "golden.json").write_text(json.dumps(golden))
    (out / "build_log.json").write_text(json.dumps(
        {"parity_max_abs_error": parity, "parity_tolerance": PARITY_TOLERANCE,
         "export_seconds": round(time.time() - started, 1), "histories": _histories(work)}, indent=1))

    a = cfg.audio
    manifest = {
        "format": FORMAT, "id": cfg.pack_id, "name": cfg.name,
        "description": "Tango-architecture text-to-audio pack trained by soundstep's factory on clips "
                       "synthesized from Debian sound sources (fluidsynth GM, espeak-ng, sox).",
        "license": "Apache-2.0 (text encoder: all-MiniLM-L6-v2, Apache-2.0; other weights trained here)",
        "factory": factory_entry(cfg),
        "audio": {"sample_rate": a.sample_rate, "clip_seconds": a.clip_seconds, "num_samples": a.num_samples,
                  "frames": a.frames, "n_mels": a.n_mels, "n_fft": a.n_fft, "hop_length": a.hop_length,
                  "win_length": a.win_length, "window": "hann", "f_min": a.f_min, "f_max": a.f_max,
                  "log_floor": a.log_floor},
        "text": {"encoder": "text_encoder.onnx", "tokenizer": "tokenizer.json",
                 "tokenizer_config": "tokenizer_config.json", "max_tokens": cfg.text.max_tokens,
                 "hidden_size": hidden_size, "pad_token_id": text_info["pad_token_id"],
                 "unconditional_prompt": UNCONDITIONAL_PROMPT, "model": text_info["model"]},
        "latent": {"channels": C, "frames": T, "bins": Fb, "scale": scale},
        "schedule": {"num_train_timesteps": sampling.NUM_TRAIN_TIMESTEPS, "beta_schedule": "scaled_linear",
                     "beta_start": sampling.BETA_START, "beta_end": sampling.BETA_END,
                     "spacing": "trailing", "prediction": "v"},
        "denoisers": [entry for entry, _ in denoisers],
        "vae_encoder": {"file": "vae_encoder.onnx"},
        "vae_decoder": {"file": "vae_decoder.onnx"},
        "vocoder": {"file": "vocoder.onnx"},
        "golden": "golden.json",
        "metrics": None,
        "vocabulary": vocabulary(SOURCES),
        "files": {},
    }
    manifest["files"] = files_entry(out)
    write_manifest(out, manifest)
    total = sum(f["bytes"] for f in manifest["files"].values())
    if total > cfg.pack_budget_mb * 1e6 and not every_round:
        raise RuntimeError(f"the pack is {total / 1e6:.1f} MB, over its {cfg.pack_budget_mb} MB budget ({out})")
    return {"pack": str(out), "bytes": total, "parity": parity}


def export_vae_encoder(cfg: PackConfig, out: Path, mel: torch.Tensor, scale: float) -> dict:
    """vae_encoder.onnx from the checkpoint the training latents came from (stage vae: the
    vae-decoder stage leaves the encoder as it was), its parity checked on two real clips, and the
    stored graph's distance to latents.pt times the scale, what the teacher was trained on."""
    log_mel = mel[:2].unsqueeze(1)  # (2, 1, frames, mels)
    report = export_graph(VaeEncoderGraph(load_trained(cfg, "vae", build_vae(cfg)), scale), {"log_mel": log_mel},
                          "latent", out / "vae_encoder.onnx", VAE_ENCODER_AXES, cfg.vae.storage)
    trained_on = torch.load(cfg.work_dir / "latents.pt", weights_only=False)["latents"][:2] * scale
    got = run_graph(out / "vae_encoder.onnx", {"log_mel": log_mel})
    return {**report, "training_latents_max_abs_error": float(np.abs(got - trained_on.numpy()).max())}


def copy_vocoder(pack: Path, out: Path, audio: AudioConfig) -> dict:
    """Copy a pack's vocoder graph into `out` as vocoder.onnx; returns its build-log entry.
    Refuses a pack whose mel front end differs: that vocoder reads other mels."""
    manifest = json.loads((pack / "manifest.json").read_text())
    theirs = {k: manifest["audio"][k] for k in ("sample_rate", "n_fft", "hop_length", "n_mels", "f_min", "f_max",
                                                "log_floor")}
    ours = {k: getattr(audio, k) for k in theirs}
    if theirs != ours:
        raise ValueError(f"{pack}: its mel front end {theirs} is not this recipe's {ours}")
    name = manifest["vocoder"]["file"]
    shutil.copy(pack / name, out / "vocoder.onnx")
    logged = json.loads((pack / "build_log.json").read_text())["parity_max_abs_error"].get(name, {})
    return {**logged, "copied_from": str(pack)}


def distilled_students(cfg: PackConfig, hidden_size: int, every_round: bool = False) -> list[tuple[dict, torch.nn.Module]]:
    """The finished distillation rounds the pack ships, as manifest entries with their models:
    every round of the methods in DistillConfig.ship_all_rounds; of the others, the last halving
    round (the paper's Table 1 compares them there) and the rounds past it (beyond_steps).
    `distilled_from` names the nearest shipped ancestor (the teacher, when rounds in between
    are not shipped)."""
    found = []
    last_halving = student_steps(cfg)[-1]
    for method in cfg.distill.methods:
        finished = []
        for n in student_steps(cfg, method):
            state = checkpoint.load(cfg.work_dir / "distill" / method / f"n{n}" / "checkpoint.pt")
            if state is not None and state["extra"].get("done"):
                finished.append((n, state))
            elif finished:
                break  # later rounds need this one
            # (an earlier round may be missing: from_pack brings back only the rounds a pack ships)
        everything = every_round or method in cfg.distill.ship_all_rounds
        halved = [n for n, _ in finished if n >= last_halving]
        shipped = [(n, s) for n, s in finished if everything or n < last_halving or n == halved[-1]]
        parent = "teacher"
        for n, state in shipped:
            model = build_unet(cfg, hidden_size)
            model.load_state_dict(state["model"])
            entry_id = f"{method}-{n}"
            found.append(({"id": entry_id, "file": f"denoisers/{entry_id}.onnx", "role": "student", "method": method,
                           "steps": [n], "guidance": {"type": "folded"}, "distilled_from": parent}, model.eval()))
            parent = entry_id
    return found


def _histories(work: Path) -> dict:
    out = {}
    for stage in ("vae", "vae-decoder", "vocoder", "vocoder-gan", "vocoder-low", "teacher"):  # from_pack.py reads the steps
        state = checkpoint.load(work / stage / "checkpoint.pt")
        if state is None:  # a stage the recipe skips, or the vocoder came from another pack (--vocoder-from)
            continue
        out[stage] = {"steps": state["step"], "final_loss": state["history"][-1]["loss"] if state["history"] else None}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--no-students", action="store_true", help="the teacher only, even if distilled students exist")
    ap.add_argument("--every-round", action="store_true",
                    help="every method's every round, over budget: the pack the evaluation of Table 1 runs "
                         "(default --out <work>/pack-every-round)")
    ap.add_argument("--vocoder-from", type=Path,
                    help="a pack folder whose vocoder graph is copied, not exported (same mel front end)")
    args = ap.parse_args()
    cfg = load_config(args.config)
    out = args.out or (cfg.work_dir / "pack-every-round" if args.every_round else default_out(cfg))
    print(json.dumps(export_pack(cfg, out, students=not args.no_students, every_round=args.every_round,
                                 vocoder_from=args.vocoder_from), indent=2))


if __name__ == "__main__":
    main()
