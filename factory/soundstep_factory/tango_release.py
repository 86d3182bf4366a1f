"""Tango's own release files (the declare-lab/tango model repository) as the diffusers/transformers layout.

Tango's loading code (tango.py, models.py in declare-lab/tango) shows what the release holds:
- pytorch_model_main.bin: the state dict of its AudioDiffusion module: `unet.*` (a diffusers
  UNet2DConditionModel built from configs/diffusion_model_config.json, so its keys are diffusers'
  own) and `text_encoder.*` (transformers' T5EncoderModel of google/flan-t5-large);
- pytorch_model_vae.bin with vae_config.json: AudioLDM's first-stage AutoencoderKL in the original
  latent-diffusion naming (`encoder.down.0.block.0.conv1`, `decoder.up.*`, `quant_conv`) plus
  its HiFi-GAN as `vocoder.*` (weight norm already removed); vae_config.json has ddconfig
  (ch, ch_mult, num_res_blocks, z_channels), embed_dim and scale_factor;
- pytorch_model_stft.bin: the mel front end's buffers, which the pack does not need.

The mapping: `unet.` and `text_encoder.` are stripped; the VAE goes through diffusers' own
converter for latent-diffusion VAEs (diffusers.loaders.single_file_utils.convert_ldm_vae_checkpoint,
the one its AudioLDM conversion script uses); the vocoder's `ups.N` become SpeechT5HifiGan's
`upsampler.N`, with its mel normalisation (mean 0, scale 1) off, as diffusers' script does.

What the release does NOT hold, so it must come from elsewhere: FLAN-T5's tokenizer (tango.py
downloads google/flan-t5-large at run time; pass its folder with --tokenizer), the U-Net's config
(configs/diffusion_model_config.json in Tango's code repository: tango_spec.FULL), T5's config
(flan-t5-large's: tango_spec.FULL) and the scheduler (stable-diffusion-2-1's: tango_spec.build_scheduler).
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from .tango_spec import FULL, TangoSpec, build_scheduler, build_text_encoder, build_unet, build_vae, build_vocoder

MAIN_WEIGHTS, VAE_WEIGHTS, VAE_CONFIG = "pytorch_model_main.bin", "pytorch_model_vae.bin", "vae_config.json"


def split_prefix(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def spec_from_vae_config(spec: TangoSpec, vae_config: dict) -> TangoSpec:
    """The VAE's sizes as the release states them (ddconfig), the rest from `spec`."""
    dd = vae_config["ddconfig"]
    if dd.get("num_res_blocks", 2) != 2 or dd.get("in_channels", 1) != 1:
        raise SystemExit(f"{VAE_CONFIG}: ddconfig {dd} is not AudioLDM's (2 res blocks, 1 input channel)")
    return replace(spec, vae_channels=tuple(dd["ch"] * m for m in dd["ch_mult"]), latent_channels=vae_config["embed_dim"])


def map_vocoder(state: dict, n_mels: int) -> dict:
    mapped = {re.sub(r"^ups\.", "upsampler.", k): v for k, v in state.items()}
    return {**mapped, "mean": torch.zeros(n_mels), "scale": torch.ones(n_mels)}


def map_vae(state: dict, vae) -> dict:
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    return convert_ldm_vae_checkpoint(state, dict(vae.config))


def load_strict(model: torch.nn.Module, state: dict, what: str) -> torch.nn.Module:
    """load_state_dict, refusing a release whose keys or shapes are not this architecture's."""
    ours = model.state_dict()
    missing = sorted(set(ours) - set(state))
    unexpected = sorted(set(state) - set(ours))
    shapes = [k for k in set(ours) & set(state) if ours[k].shape != state[k].shape]
    if missing or unexpected or shapes:
        def first(keys):
            return ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")
        raise SystemExit(f"{what}: does not match Tango's architecture: missing {first(missing) or 'none'}; "
                         f"unexpected {first(unexpected) or 'none'}; other shapes {first(sorted(shapes)) or 'none'}")
    model.load_state_dict(state)
    return model


def convert_release(src: Path, out: Path, tokenizer: Path | None = None, spec: TangoSpec = FULL) -> dict:
    for name in (MAIN_WEIGHTS, VAE_WEIGHTS, VAE_CONFIG):
        if not (src / name).is_file():
            raise SystemExit(f"{src}: no {name} (the files of the declare-lab/tango model repository)")
    vae_config = json.loads((src / VAE_CONFIG).read_text())
    spec = spec_from_vae_config(spec, vae_config)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    main = torch.load(src / MAIN_WEIGHTS, map_location="cpu", weights_only=True)
    other = sorted({k.split(".")[0] for k in main} - {"unet", "text_encoder"})
    if other:
        raise SystemExit(f"{MAIN_WEIGHTS}: modules {other} besides unet and text_encoder (a U-Net started from "
                         "Stable Diffusion, with group_in/group_out, is not Tango's released model)")
    load_strict(build_unet(spec), split_prefix(main, "unet."), "unet").save_pretrained(str(out / "unet"))
    text = split_prefix(main, "text_encoder.")
    del main
    load_strict(build_text_encoder(spec), text, "text_encoder").save_pretrained(str(out / "text_encoder"))
    del text
    vae_state = torch.load(src / VAE_WEIGHTS, map_location="cpu", weights_only=True)
    vae = build_vae(spec, scaling_factor=float(vae_config.get("scale_factor", 1.0)))
    ldm = {k: v for k, v in vae_state.items() if not k.startswith("vocoder.")}
    load_strict(vae, map_vae(ldm, vae), "vae").save_pretrained(str(out / "vae"))
    vocoder = map_vocoder(split_prefix(vae_state, "vocoder."), spec.n_mels)
    load_strict(build_vocoder(spec), vocoder, "vocoder").save_pretrained(str(out / "vocoder"))
    build_scheduler().save_pretrained(str(out / "scheduler"))
    missing = []
    if tokenizer is not None and (tokenizer / "tokenizer.json").is_file():
        shutil.copytree(tokenizer, out / "tokenizer")
    else:
        missing.append("tokenizer/: FLAN-T5's tokenizer.json is not in Tango's release; copy google/flan-t5-large's "
                       "tokenizer files there (a tokenizer trained here would give the real encoder wrong ids)")
    return {"out": str(out), "scale_factor": vae.config.scaling_factor, "missing": missing}
