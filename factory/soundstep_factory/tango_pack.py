"""`python -m soundstep_factory.tango --from DIR --out PACK`: a Tango pipeline folder as a soundstep pack.

The folder is the diffusers/transformers layout (tango.py --random, or a converted release):
every shape of the pack comes from its configs (the U-Net's sample_size is the latent, the
vocoder's sampling rate and mel count the audio), and the scheduler must be the pack format's
(v-prediction, scaled-linear betas 0.00085..0.012, 1000 steps) or the folder is refused. Graphs
are exported one at a time (tango_graphs.py), the text encoder with int8 weights when their
error passes, the U-Net and VAE decoder with float16 variants, the U-Net with external data.
"""
from __future__ import annotations

import json
import shutil
import time
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from . import checkpoint, sampling
from .config import AudioConfig, PackConfig, TextConfig, VaeConfig
from .graphs import (
    DENOISER_AXES,
    VAE_DECODER_AXES,
    VAE_ENCODER_AXES,
    VOCODER_AXES,
    DenoiserGraph,
    VaeDecoderGraph,
    VaeEncoderGraph,
    VocoderGraph,
)
from .manifest import FORMAT, files_entry, write_manifest
from .tango_graphs import GraphJob, export_job
from .tango_spec import HOP_LENGTH, LATENT_DOWNSAMPLE
from .tango_tokenizer import load_tokenizer
from .text import UNCONDITIONAL_PROMPT, EncoderForExport, encode_prompts

MAX_TOKENS = 64  # Tango pads to the batch's longest caption; AudioCaps captions are far shorter
GUIDANCE_SCALE = 3.0  # Tango's default
TEXT_AXES = {"input_ids": {0: "B", 1: "L"}, "attention_mask": {0: "B", 1: "L"}, "last_hidden_state": {0: "B", 1: "L"}}
# The denoiser also takes other latent lengths: the app's WebGPU test runs it on an 8 x 16 x 16 latent.
TANGO_DENOISER_AXES = {**DENOISER_AXES, "sample": {0: "B", 2: "T"}, "v_prediction": {0: "B", 2: "T"}}
SHORT_FRAMES = 16


class TrimmedVocoderGraph(VocoderGraph):
    """Tango's HiFi-GAN (first kernel 16 at rate 5) writes 32 samples more than frames x hop; the
    pack's waveform is exactly num_samples long, so the tail is cut, as AudioLDM cuts it."""

    def forward(self, log_mel):
        return super().forward(log_mel)[:, : log_mel.shape[2] * HOP_LENGTH]


def read_config(folder: Path, name: str) -> dict:
    for file in ("config.json", "scheduler_config.json"):
        if (folder / name / file).is_file():
            return json.loads((folder / name / file).read_text())
    raise SystemExit(f"{folder / name}: no config.json (save the component with save_pretrained)")


def check_schedule(scheduler: dict) -> None:
    """The app samples with one schedule; a folder trained on another would be sampled wrongly."""
    want = {"num_train_timesteps": sampling.NUM_TRAIN_TIMESTEPS, "beta_schedule": "scaled_linear",
            "beta_start": sampling.BETA_START, "beta_end": sampling.BETA_END, "prediction_type": "v_prediction"}
    wrong = {k: scheduler.get(k) for k, v in want.items() if scheduler.get(k) != v}
    if wrong:
        raise SystemExit(f"scheduler/: {wrong} differs from the pack format's schedule {want}; "
                         "soundstep samples v-prediction DDIM on that schedule only")


def pack_shapes(folder: Path) -> dict:
    unet, vocoder, text = (read_config(folder, n) for n in ("unet", "vocoder", "text_encoder"))
    T, F = unet["sample_size"]
    mels = vocoder["model_in_dim"]
    if F * LATENT_DOWNSAMPLE != mels:
        raise SystemExit(f"unet sample_size {unet['sample_size']} does not fit the vocoder's {mels} mels")
    audio = AudioConfig(clip_seconds=T * LATENT_DOWNSAMPLE * HOP_LENGTH / vocoder["sampling_rate"],
                        sample_rate=vocoder["sampling_rate"], n_mels=mels)
    return {"audio": audio, "C": unet["in_channels"], "T": T, "F": F, "H": text["d_model"], "text": text}


def graph_jobs(folder: Path, s: dict, scale: float) -> list[tuple[str, GraphJob]]:
    """(manifest slot, job) for every graph: the text encoder, then the U-Net (the one graph the
    timings need), then the VAE and the vocoder."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import SpeechT5HifiGan, T5EncoderModel

    g = torch.Generator().manual_seed(0)
    C, T, F, H, a = s["C"], s["T"], s["F"], s["H"], s["audio"]
    tok = load_tokenizer(folder / "tokenizer")
    ids, mask, _ = encode_prompts(tok, ["a dog barks while a man speaks", UNCONDITIONAL_PROMPT], MAX_TOKENS, 0)
    vae = partial(AutoencoderKL.from_pretrained, str(folder / "vae"))
    latent = torch.randn(1, C, T, F, generator=g)
    log_mel = torch.randn(1, 1, a.frames, a.n_mels, generator=g) - 4.0  # about where log-mels of sound lie

    def denoiser_inputs(frames: int) -> dict[str, torch.Tensor]:
        m = torch.ones(2, MAX_TOKENS, dtype=torch.int64)
        m[1, 5:] = 0
        return {"sample": torch.randn(2, C, frames, F, generator=g), "timestep": torch.tensor([999, 500]),
                "encoder_hidden_states": torch.randn(2, MAX_TOKENS, H, generator=g), "encoder_attention_mask": m}

    return [
        ("text", GraphJob("text_encoder.onnx",
                          lambda: EncoderForExport(T5EncoderModel.from_pretrained(str(folder / "text_encoder"))),
                          {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)},
                          "last_hidden_state", TEXT_AXES, storages=("int8", "float16"))),
        # int8-stored weights (869 MB against 3.46 GB) are what fits WASM's 4 GB, with constant folding
        # off so that they stay int8 in memory (docs/tango.md "In the browser"); float16 for WebGPU
        ("teacher", GraphJob("denoisers/teacher.onnx",
                             lambda: DenoiserGraph(UNet2DConditionModel.from_pretrained(str(folder / "unet"))),
                             denoiser_inputs(T), "v_prediction", TANGO_DENOISER_AXES, storages=("int8", "float16"),
                             float16_kind="denoiser",
                             extra_inputs=[denoiser_inputs(SHORT_FRAMES)])),
        ("vae_decoder", GraphJob("vae_decoder.onnx", lambda: VaeDecoderGraph(vae()), {"latent": latent}, "log_mel",
                                 VAE_DECODER_AXES, float16_kind="vae")),
        ("vae_encoder", GraphJob("vae_encoder.onnx", lambda: VaeEncoderGraph(vae(), scale), {"log_mel": log_mel},
                                 "latent", VAE_ENCODER_AXES)),
        ("vocoder", GraphJob("vocoder.onnx",
                             lambda: TrimmedVocoderGraph(SpeechT5HifiGan.from_pretrained(str(folder / "vocoder"))),
                             {"log_mel": log_mel[:, 0].transpose(1, 2).contiguous()}, "waveform", VOCODER_AXES)),
    ]


class PackEmbedder:
    """What export.golden_trajectory asks of a text embedder, on the pack's own encoder graph."""

    def __init__(self, pack: Path, tokenizer):
        self.tokenizer, self.pad_id = tokenizer, 0
        self.session = ort.InferenceSession(str(pack / "text_encoder.onnx"), providers=["CPUExecutionProvider"])

    def __call__(self, prompts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ids, mask, _ = encode_prompts(self.tokenizer, prompts, MAX_TOKENS, self.pad_id)
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0], mask


def write_golden(pack: Path, folder: Path, s: dict, scale: float) -> None:
    from .export import GOLDEN_FORMAT, GRID_SIZES, golden_trajectory

    cfg = PackConfig(audio=s["audio"], vae=VaeConfig(latent_channels=s["C"]), text=TextConfig(max_tokens=MAX_TOKENS),
                     guidance_scale=GUIDANCE_SCALE)
    embed = PackEmbedder(pack, load_tokenizer(folder / "tokenizer"))
    golden = {"format": GOLDEN_FORMAT, "alphas_cumprod": sampling.alphas_cumprod().tolist(),
              "grids": {str(n): sampling.trailing_grid(n) for n in GRID_SIZES},
              "trajectory": golden_trajectory(cfg, pack, embed, scale)}  # type: ignore[arg-type]
    (pack / "golden.json").write_text(json.dumps(golden))


def describe(folder: Path, s: dict) -> dict:
    spec_file = folder / "soundstep_tango.json"
    made = json.loads(spec_file.read_text()) if spec_file.is_file() else None
    t = s["text"]
    weights = f"random weights (seed {made['seed']}, spec {made['spec']['name']})" if made else f"weights from {folder}"
    return {"made": made, "weights": weights,
            "text_model": f"T5EncoderModel ({t['num_layers']} layers, d_model {t['d_model']}, FLAN-T5 configuration), "
                          + weights}


def export_tango_pack(folder: Path, out: Path, resume: bool = False) -> dict:
    """With `resume`, graphs an interrupted run of the same command finished are kept (on a shared
    2-core machine the full size takes hours: each finished graph is recorded as it completes)."""
    started = time.time()
    check_schedule(read_config(folder, "scheduler"))
    s = pack_shapes(folder)
    scale = float(read_config(folder, "vae").get("scaling_factor", 1.0))
    done_file = out.parent / f".{out.name}.done.json"  # beside the pack: not one of its files
    done = json.loads(done_file.read_text()) if resume and done_file.is_file() else {}
    if out.exists() and not resume:
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = out.parent / f".{out.name}.export"
    scratch.mkdir(exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(folder / "tokenizer" / name, out / name)
    fields, log = {}, {}
    for slot, job in graph_jobs(folder, s, scale):
        if job.file in done and (out / job.file).is_file():
            fields[slot], log[job.file] = done[job.file]["fields"], done[job.file]["log"]
            continue
        fields[slot], log[job.file] = export_job(job, out, scratch)
        done[job.file] = {"fields": fields[slot], "log": log[job.file]}
        done_file.write_text(json.dumps(done, indent=1))
        print(json.dumps({job.file: log[job.file]}), flush=True)
    shutil.rmtree(scratch)
    done_file.unlink(missing_ok=True)
    write_golden(out, folder, s, scale)
    about = describe(folder, s)
    (out / "build_log.json").write_text(json.dumps({"graphs": log, "seconds": round(time.time() - started, 1),
                                                    "source": str(folder), "made": about["made"]}, indent=1))
    manifest = tango_manifest(s, scale, fields, about, folder)
    manifest["files"] = files_entry(out)
    write_manifest(out, manifest)
    sizes = {name: f["bytes"] for name, f in manifest["files"].items()}
    return {"pack": str(out), "bytes": sum(sizes.values()), "files": sizes, "seconds": round(time.time() - started, 1)}


def tango_manifest(s: dict, scale: float, fields: dict, about: dict, folder: Path) -> dict:
    a = s["audio"]
    text_fields = {f"encoder_{k}": v for k, v in fields["text"].items()}
    name = (about["made"] or {}).get("spec", {}).get("name", "tango")
    return {
        "format": FORMAT, "id": f"{name}-random" if about["made"] else name,
        "name": f"{name} ({about['weights']})",
        "description": "Tango's architecture at its own size (FLAN-T5-large encoder, 866M-parameter U-Net, "
                       "AudioLDM VAE and HiFi-GAN) for measuring load and run cost; "
                       + ("it makes no meaningful sound." if about["made"] else "converted weights."),
        "license": "random weights: Apache-2.0" if about["made"] else "that of the converted weights",
        "factory": {"revision": checkpoint.git_revision(), "recipe": name,
                    "command": f"python -m soundstep_factory.tango --from {folder} --out <pack>",
                    "config": about["made"] or {}},
        "audio": {"sample_rate": a.sample_rate, "clip_seconds": a.clip_seconds, "num_samples": a.num_samples,
                  "frames": a.frames, "n_mels": a.n_mels, "n_fft": a.n_fft, "hop_length": a.hop_length,
                  "win_length": a.win_length, "window": "hann", "f_min": a.f_min, "f_max": a.f_max,
                  "log_floor": a.log_floor},
        "text": {"encoder": "text_encoder.onnx", "tokenizer": "tokenizer.json",
                 "tokenizer_config": "tokenizer_config.json", "max_tokens": MAX_TOKENS, "hidden_size": s["H"],
                 "pad_token_id": 0, "unconditional_prompt": UNCONDITIONAL_PROMPT, "model": about["text_model"],
                 **text_fields},
        "latent": {"channels": s["C"], "frames": s["T"], "bins": s["F"], "scale": scale},
        "schedule": {"num_train_timesteps": sampling.NUM_TRAIN_TIMESTEPS, "beta_schedule": "scaled_linear",
                     "beta_start": sampling.BETA_START, "beta_end": sampling.BETA_END,
                     "spacing": "trailing", "prediction": "v"},
        "denoisers": [{"id": "teacher", "file": "denoisers/teacher.onnx", "role": "teacher", "method": None,
                       "steps": [200, 100, 50, 25],
                       "guidance": {"type": "classifier-free", "default_scale": GUIDANCE_SCALE},
                       "distilled_from": None, **fields["teacher"]}],
        "vae_encoder": {"file": "vae_encoder.onnx", **fields["vae_encoder"]},
        "vae_decoder": {"file": "vae_decoder.onnx", **fields["vae_decoder"]},
        "vocoder": {"file": "vocoder.onnx", **fields["vocoder"]},
        "golden": "golden.json",
        "metrics": None,
        "files": {},
    }
