"""Continue a recipe from its pack: the pack's graphs read back into the recipe's PyTorch modules.

Usage: python -m soundstep_factory.from_pack --pack ../public/models/soundstep-small --config small
       python -m soundstep_factory.build --config small     # renders and encodes again, trains on

Why: the machines are wiped between sessions and the pack is the one checkpoint that survives, so
a training run longer than a session continues from it. This writes into the recipe's work dir
the checkpoints the build stages would have written (checkpoint.py's format), each marked
`imported` with the pack's manifest SHA-256 and at the step count the pack's build_log.json
records: vae (encoder from vae_encoder.onnx, decoder from vae_decoder.onnx), vae-decoder when the
recipe fine-tunes the decoder, vocoder (and vocoder-gan), teacher, and each distilled student as its
finished round (work/distill/<method>/n<steps>, pack_students.py), so `distill` goes on from the
last round the pack holds. The build then renders the
data and encodes the captions again (both deterministic), finds these stages done, makes
latents.pt with the imported encoder and the pack's latent scale (the teacher's latent space,
train.latents), and trains the teacher on from the imported weights up to unet.steps.

What does not come back: the optimizer states (a resumed stage starts a fresh AdamW, whose moments
rebuild over its first steps; the learning-rate schedule continues from the step), the teacher's
raw weights (a pack holds its EMA weights, so training continues from the EMA, which also starts
the new EMA), the loss histories (each stage's last loss only), the rounds a pack does not ship
(a method's halving rounds before its last one; distill skips them), and the rounding of the stored weights (float16 2^-11 relative; int8 half a step; graph_weights.py).
A pack exported before vae_encoder.onnx existed cannot be continued (its latents cannot be made
again), and a graph of another architecture than the recipe builds is refused, naming the first
weight that differs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from . import checkpoint
from .config import PackConfig, load_config
from .distill import round_factors, student_steps
from .files import sha256
from .graph_weights import GraphMismatch, read_state
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
from .harmonic import HarmonicVocoder
from .models import LATENT_DOWNSAMPLE, build_unet, build_vae
from .pack_students import student_checkpoints
from .pitch_net import PitchConfig, PitchNet, pitch_dir
from .train import vae_stage, vocoder_stage
from .vocoder import build_vocoder

__all__ = ["GraphMismatch", "PackTooOld", "import_pack", "main"]

AUDIO_FIELDS = ("sample_rate", "num_samples", "n_fft", "hop_length", "win_length", "n_mels", "f_min", "f_max",
                "log_floor")


MODULES = frozenset({"vae", "vocoder", "teacher", "students"})


class PackTooOld(ValueError):
    """The pack lacks what continuing needs (vae_encoder.onnx)."""


def read_manifest(pack: Path, cfg: PackConfig, latent_space: bool = True) -> dict:
    """The pack's manifest, refused unless it has the recipe's mel front end and, when the latent
    space is imported too (VAE or teacher), a VAE encoder and the recipe's latent shape."""
    manifest = json.loads((pack / "manifest.json").read_text())
    if latent_space and "vae_encoder" not in manifest:
        raise PackTooOld(f"{pack}: the pack has no vae_encoder: it predates the VAE encoder in the pack, so its "
                         "training latents cannot be made again. Re-export it from its work dir (python -m "
                         "soundstep_factory.export --config <recipe>) where that still exists.")
    audio = {k: manifest["audio"][k] for k in AUDIO_FIELDS}
    ours = {k: getattr(cfg.audio, k) for k in AUDIO_FIELDS}
    latent = [manifest["latent"][k] for k in ("channels", "frames", "bins")]
    our_latent = [cfg.vae.latent_channels, cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE]
    if audio != ours or (latent_space and latent != our_latent):
        raise GraphMismatch(f"{pack}: the pack's audio {audio} and latent (channels, frames, bins) {latent} are not "
                            f"the recipe {cfg.recipe}'s {ours} and {our_latent}")
    return manifest


def recorded_steps(pack: Path, cfg: PackConfig) -> dict[str, dict]:
    """Per stage: the steps and last loss build_log.json records (export._histories). A stage it does
    not record (a vocoder copied from another pack) counts as finished at the recipe's steps."""
    log = pack / "build_log.json"
    histories = json.loads(log.read_text()).get("histories", {}) if log.exists() else {}
    recipe = {"vae": cfg.vae.steps, "vae-decoder": cfg.vae.decoder_steps, "vocoder": cfg.vocoder.steps,
              "vocoder-gan": cfg.vocoder.gan_steps, "vocoder-low": cfg.vocoder.low_band_steps,
              "teacher": cfg.unet.steps}
    return {stage: {"steps": histories[stage]["steps"], "final_loss": histories[stage].get("final_loss"),
                    "recorded": True} if stage in histories else {"steps": steps, "final_loss": None, "recorded": False}
            for stage, steps in recipe.items()}


def _load_from_graphs(module: torch.nn.Module, parts: list[dict[str, torch.Tensor]], what: str,
                      not_shipped: tuple[str, ...] = ()) -> torch.nn.Module:
    """Load the tensors read from one or more graphs (graph_weights.read_state); buffers
    no graph holds keep the values the recipe builds (mel filters and the like, not trained), and so
    do the parameters under `not_shipped` (a VAE's own decoder when the pack ships another one)."""
    read = {key: value for part in parts for key, value in part.items()}
    missing = [name for name, _ in module.named_parameters() if name not in read and not name.startswith(not_shipped)]
    if missing:
        raise RuntimeError(f"{what}: the pack's graphs do not hold {len(missing)} of the recipe's parameters "
                           f"(first: {missing[0]}); from_pack cannot read this model back")
    module.load_state_dict({**module.state_dict(), **read})
    return module.eval()


def read_modules(cfg: PackConfig, pack: Path, manifest: dict,
                 names: frozenset[str] = MODULES) -> dict[str, torch.nn.Module]:
    """The teacher U-Net, the VAE and the vocoder the recipe builds (those in `names`), with the pack's weights."""
    g = torch.Generator().manual_seed(0)
    C, T, Fb = (manifest["latent"][k] for k in ("channels", "frames", "bins"))
    hidden, L = manifest["text"]["hidden_size"], cfg.text.max_tokens
    frames, mels = cfg.audio.frames, cfg.audio.n_mels
    mask = torch.ones(2, L, dtype=torch.int64)
    mask[1, 5:] = 0
    teacher_file = next(d["file"] for d in manifest["denoisers"] if d["role"] == "teacher")
    out: dict[str, torch.nn.Module] = {}
    if "vocoder" in names:
        vocoder = istft = build_vocoder(cfg)
        if cfg.vocoder.harmonic:  # the graph holds the pitch net too (pitch_net.shipped_vocoder)
            out["pitch"] = PitchNet(mels, PitchConfig())
            vocoder = HarmonicVocoder(istft, out["pitch"], cfg.audio.sample_rate, cfg.vocoder.harmonic_voiced_db)
        vocoder_state = read_state(pack / manifest["vocoder"]["file"], VocoderGraph(vocoder),
                                   {"log_mel": torch.randn(1, mels, frames, generator=g)}, "waveform", VOCODER_AXES)
        _load_from_graphs(vocoder, [vocoder_state], manifest["vocoder"]["file"])
        out["vocoder"] = istft.eval()  # the pitch net, when there is one, was loaded in place too
    if "teacher" not in names and "vae" not in names:
        return out
    unet = build_unet(cfg, hidden)
    unet_state = read_state(pack / teacher_file, DenoiserGraph(unet), {
        "sample": torch.randn(2, C, T, Fb, generator=g), "timestep": torch.tensor([999, 500]),
        "encoder_hidden_states": torch.randn(2, L, hidden, generator=g), "encoder_attention_mask": mask},
        "v_prediction", DENOISER_AXES)
    vae = build_vae(cfg)
    encoder_state = read_state(pack / manifest["vae_encoder"]["file"],
                               VaeEncoderGraph(vae, manifest["latent"]["scale"]),
                               {"log_mel": torch.randn(1, 1, frames, mels, generator=g)}, "latent", VAE_ENCODER_AXES)
    # a decoder of its own (VaeConfig.separate_decoder) is its own module; the VAE keeps its untrained mirror
    decoder = build_vae(cfg, decoder=True) if cfg.vae.separate_decoder else vae
    decoder_state = read_state(pack / manifest["vae_decoder"]["file"], VaeDecoderGraph(decoder),
                               {"latent": torch.randn(1, C, T, Fb, generator=g)}, "log_mel", VAE_DECODER_AXES)
    if decoder is not vae:
        out["vae-decoder"] = _load_from_graphs(decoder, [decoder_state], "the VAE decoder", not_shipped=("encoder.", "quant_conv."))
        return {**out, "teacher": _load_from_graphs(unet, [unet_state], teacher_file),
                "vae": _load_from_graphs(vae, [encoder_state], "the VAE", not_shipped=("decoder.", "post_quant_conv."))}
    return {**out, "teacher": _load_from_graphs(unet, [unet_state], teacher_file),
            "vae": _load_from_graphs(vae, [encoder_state, decoder_state], "the VAE")}


def import_pack(cfg: PackConfig, pack: Path, force: bool = False, only: frozenset[str] = MODULES) -> dict:
    """Read every graph first (so a refusal writes nothing), then write the stage checkpoints.
    Refuses to overwrite checkpoints already in the work dir unless `force`; with it, latents.pt
    (made by the VAE being replaced) goes too. `only` imports some of the modules: {"vocoder"}
    borrows a pack's vocoder for a recipe with another latent space (any pack, VAE encoder or not)."""
    pack = pack.resolve()
    manifest = read_manifest(pack, cfg, latent_space=bool(only & {"vae", "teacher", "students"}))
    stages = {s: m for s, m in {"vae": "vae", "vocoder": "vocoder", "teacher": "teacher"}.items() if m in only}
    if vae_stage(cfg) != "vae" and "vae" in only:
        stages["vae-decoder"] = "vae-decoder" if cfg.vae.separate_decoder else "vae"
    if vocoder_stage(cfg) != "vocoder" and "vocoder" in only:
        stages[vocoder_stage(cfg)] = "vocoder"
    paths = {stage: cfg.work_dir / stage / "checkpoint.pt" for stage in stages}
    students = student_checkpoints(cfg, pack, manifest) if "students" in only else {}
    pitch = [pitch_dir(cfg) / "checkpoint.pt"] if cfg.vocoder.harmonic and "vocoder" in only else []
    present = [str(p) for p in [*paths.values(), *students, *pitch] if p.exists()]
    if present and not force:
        raise FileExistsError(f"the work dir already has checkpoints ({', '.join(present)}): pass --force to "
                              "replace them with the pack's")
    modules = read_modules(cfg, pack, manifest, only)
    steps = recorded_steps(pack, cfg)
    if "vae" in only:
        (cfg.work_dir / "latents.pt").unlink(missing_ok=True)
    source = {"pack": str(pack), "pack_id": manifest["id"], "manifest_sha256": sha256(pack / "manifest.json"),
              "revision": manifest["factory"].get("revision"), "recipe": manifest["factory"].get("recipe")}
    graphs = {"teacher": [next(d["file"] for d in manifest["denoisers"] if d["role"] == "teacher")],
              "vae": [manifest.get("vae_encoder", {}).get("file"), manifest["vae_decoder"]["file"]],
              "vae-decoder": [manifest["vae_decoder"]["file"]],
              "vocoder": [manifest["vocoder"]["file"]]}
    report = {"pack": str(pack), "manifest_sha256": source["manifest_sha256"], "stages": {}}
    for stage, name in stages.items():
        recorded = steps[stage]
        imported = {**source, "graphs": graphs[name], "steps_recorded": recorded["recorded"]}
        if name == "vae":  # train.latents scales by it, so the latents are the teacher's
            imported["latent_scale"] = manifest["latent"]["scale"]
        if stage == "vae" and "vae-decoder" in stages:
            imported["note"] = ("decoder: untrained (the recipe's own decoder is the vae-decoder stage's)"
                                if cfg.vae.separate_decoder else
                                "decoder: the fine-tuned one (vae-decoder stage); the pack keeps no other")
        history = [] if recorded["final_loss"] is None else [
            {"step": recorded["steps"], "loss": recorded["final_loss"], "imported": True}]
        model = modules[name]
        if stage == "vocoder" and vocoder_stage(cfg) == "vocoder-low":  # the refiner's own stage holds both
            model = model.vocoder
        checkpoint.save(paths[stage], cfg=cfg, stage=stage, step=recorded["steps"], model=model,
                        ema=model if stage == "teacher" else None, history=history, extra={"imported": imported})
        report["stages"][stage] = {"step": recorded["steps"], "steps_recorded": recorded["recorded"],
                                   "graphs": graphs[name]}
    if "pitch" in modules:  # the pitch net's own stage (pitch_net.py), at the architecture it is built with
        checkpoint.save(pitch_dir(cfg) / "checkpoint.pt", cfg=cfg, stage="pitch", step=PitchConfig().steps,
                        model=modules["pitch"], extra={"pitch_config": dataclasses.asdict(PitchConfig()),
                                                       "imported": {**source, "graphs": graphs["vocoder"]}})
        report["stages"]["pitch"] = {"step": PitchConfig().steps, "graphs": graphs["vocoder"]}
    report["students"] = _write_students(cfg, students, source)
    return report


def _write_students(cfg: PackConfig, students: dict, source: dict) -> dict[str, str]:
    """Each student as the finished round distill.distill_round reads (`done`), so distillation
    goes on from the last round the pack holds; returns id -> checkpoint path."""
    written = {}
    for path, (entry, unet) in students.items():
        method, [n] = entry["method"], entry["steps"]
        steps = student_steps(cfg, method)
        factor = dict(zip(steps, round_factors(steps, cfg.distill.teacher_steps))).get(n)
        checkpoint.save(path, cfg=cfg, stage=f"distill-{method}-{n}", step=0, model=unet, extra={
            "done": True, "method": method, "n_student": n, "factor": factor,
            "imported": {**source, "graphs": [entry["file"]]}})
        written[entry["id"]] = str(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", type=Path, required=True, help="the pack folder (with manifest.json)")
    ap.add_argument("--config", required=True, help="the recipe whose work dir receives the checkpoints")
    ap.add_argument("--force", action="store_true", help="replace checkpoints already in the work dir")
    ap.add_argument("--only", nargs="+", choices=sorted(MODULES), default=sorted(MODULES),
                    help="import these modules only (vocoder: borrow a pack's vocoder, any latent space)")
    args = ap.parse_args()
    try:
        report = import_pack(load_config(args.config), args.pack, force=args.force, only=frozenset(args.only))
    except (GraphMismatch, PackTooOld, FileExistsError) as error:
        raise SystemExit(f"from_pack: {error}") from None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
