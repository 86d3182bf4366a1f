"""Stages: features, vae, latents, vocoder (vocoder_train.py), teacher. Each resumes from its own outputs.

Usage: python -m soundstep_factory.train --config small --stage vae   (or features, latents,
       vocoder, teacher). `python -m soundstep_factory.build` runs them all in order.
       accelerate launch --num_processes N --multi_gpu -m soundstep_factory.train --stage teacher ...
       trains the teacher data-parallel (DDP, parallel.py); the other stages run in one process.
"""
from __future__ import annotations

import argparse
import copy
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint, sampling
from .checkpoint import load_diffusion_set, load_features, load_trained
from .config import PackConfig, cpu_threads, load_config
from .models import LATENT_DOWNSAMPLE, build_unet, build_vae
from .parallel import Parallel, from_env

# The vocoder stages live in vocoder_train.py; their names stay importable from here.
from .vocoder_train import stft_loss, train_vocoder, train_vocoder_low, vocoder_stage  # noqa: F401

torch.set_num_threads(cpu_threads())


# ---------------------------------------------------------------- features
def features(cfg: PackConfig) -> Path:
    """Waveforms and log-mels of every rendered clip, with captions and text hidden states."""
    # Imported here, as in train_vocoder: the teacher stage must import without soundfile, scipy
    # and transformers, which a lent GPU machine may lack or have at another major version.
    from .data import load_audio, load_clips
    from .mel import MelFrontEnd
    from .text import UNCONDITIONAL_PROMPT, TextEmbedder

    out = cfg.work_dir / "features.pt"
    if out.exists():
        return out
    clips = load_clips(cfg.work_dir / "data")
    wave = torch.stack([torch.from_numpy(load_audio(cfg.work_dir / "data" / c["file"])) for c in clips])  # (N, S)
    assert wave.shape[1] == cfg.audio.num_samples, f"clips have {wave.shape[1]} samples, config says {cfg.audio.num_samples}"
    mel_fe = MelFrontEnd(cfg.audio)
    with torch.no_grad():
        mel = torch.cat([mel_fe(wave[i:i + 64]) for i in range(0, len(wave), 64)])  # (N, frames, mels)
    captions = [c["caption"] for c in clips]
    embed = TextEmbedder(cfg, cfg.work_dir / "text")
    hidden, mask = embed(captions + [UNCONDITIONAL_PROMPT])  # last row: the unconditional prompt
    k = len(clips[0].get("rewordings", []))
    reworded = [text for c in clips for text in c.get("rewordings", [])]
    assert len(reworded) == k * len(clips), "every clip has the same number of rewordings"
    r_hidden, r_mask = embed(reworded) if k else (hidden[:0], mask[:0])
    torch.save({
        "wave": wave, "mel": mel, "captions": captions, "split": [c["split"] for c in clips],
        "sources": [c["sources"] for c in clips], "ids": [c["id"] for c in clips],
        "hidden": torch.from_numpy(hidden[:-1]), "mask": torch.from_numpy(mask[:-1]),
        "uncond_hidden": torch.from_numpy(hidden[-1]), "uncond_mask": torch.from_numpy(mask[-1]),
        # (N, K, L, H), (N, K, L): the clips' other captions, data_phrasing's rewordings
        "reworded_hidden": torch.from_numpy(r_hidden).reshape(len(clips), k, *hidden.shape[1:]),
        "reworded_mask": torch.from_numpy(r_mask).reshape(len(clips), k, mask.shape[1]),
    }, out)
    return out


# ---------------------------------------------------------------- a shared resumable loop
def warmup_cosine_lr(step: int, total: int, base: float, warmup: int = 100) -> float:
    """Linear warm-up, then cosine decay to 10% of the base rate."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def run_loop(cfg: PackConfig, stage: str, model: torch.nn.Module, total_steps: int, lr: float,
             loss_fn, ema_decay: float | None = None, seed: int = 0, device: str = "cpu",
             par: Parallel | None = None) -> torch.nn.Module:
    """Train `model` with loss_fn(model, generator) -> (loss, logs); resume from the stage checkpoint.
    The generator is a CPU one on every device, so a GPU run draws the batches a CPU run would.
    A checkpoint imported from a pack (from_pack.py) has no optimizer state: a fresh one starts.
    Under `par` of several processes, loss_fn takes this process's shard of the global batch
    (Parallel.shard) and DDP averages the gradients; only the main process logs and writes."""
    par = par or Parallel(device)
    path = cfg.work_dir / stage / "checkpoint.pt"
    model = model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    ema = copy.deepcopy(model).requires_grad_(False) if ema_decay else None
    state = checkpoint.load(path)
    step, history, extra = 0, [], {}
    if state is not None:
        model.load_state_dict(state["model"])
        if state["optimizer"] is not None:
            optimizer.load_state_dict(state["optimizer"])
        if ema is not None:
            ema.load_state_dict(state["ema"] if state["ema"] is not None else state["model"])
        step, history = state["step"], state["history"]
        # Where the weights came from stays on record; not as "imported", which says they are the pack's.
        origin = state["extra"].get("imported") or state["extra"].get("continued_from")
        extra = {"continued_from": origin} if origin else {}
        fresh = "" if state["optimizer"] is not None else " (imported weights, fresh optimizer)"
        if par.is_main:
            print(f"[{stage}] resumed at step {step}{fresh}")
    generator = torch.Generator().manual_seed(seed + step)  # resumed runs draw fresh batches
    trained = par.prepare(model)  # DDP's wrapper under accelerate: trains `model`'s weights
    started, window = time.time(), []
    while step < total_steps:
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine_lr(step, total_steps, lr)
        loss, logs = loss_fn(trained, generator)
        optimizer.zero_grad(set_to_none=True)
        par.backward(loss)
        par.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if ema is not None:
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(pm, 1 - ema_decay)
        step += 1
        window.append(loss.item())
        if step % 50 == 0 or step == total_steps:
            mean = par.mean(float(np.mean(window)))  # over the shards: the global batch's
            history.append({"step": step, "loss": mean, **logs})
            rate = len(window) / (time.time() - started)
            if par.is_main:
                print(f"[{stage}] step {step}/{total_steps} loss {mean:.4f} ({rate:.2f} steps/s)", flush=True)
            started, window = time.time(), []
        if (step % cfg.checkpoint_every == 0 or step == total_steps) and par.is_main:
            checkpoint.save(path, cfg=cfg, stage=stage, step=step, model=model, optimizer=optimizer,
                            ema=ema, history=history, extra=extra)
    par.wait()  # the checkpoint is written before any process goes on to read it
    return ema if ema is not None else model


def _batch(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, n, (size,), generator=generator)


# ---------------------------------------------------------------- VAE
def train_vae(cfg: PackConfig) -> None:
    mel = load_features(cfg)["mel"].unsqueeze(1)  # (N, 1, frames, mels)
    vae = build_vae(cfg)

    crop = cfg.vae.crop_frames

    def loss_fn(model, g):
        rows = _batch(len(mel), cfg.vae.batch_size, g)
        starts = torch.randint(0, (mel.shape[2] - crop) // 4 + 1, (len(rows),), generator=g) * 4
        x = torch.stack([mel[r, :, s:s + crop] for r, s in zip(rows, starts)])  # (B, 1, crop, mels)
        posterior = model.encode(x).latent_dist
        recon = model.decode(posterior.sample(generator=g)).sample
        l1 = (recon - x).abs().mean()
        kl = posterior.kl().mean()  # summed over latent dims, averaged over the batch
        return l1 + cfg.vae.kl_weight * kl, {"l1": l1.item()}

    run_loop(cfg, "vae", vae, cfg.vae.steps, cfg.vae.lr, loss_fn)


def train_vae_decoder(cfg: PackConfig) -> None:
    """More training for the VAE decoder alone, from the stored posterior means to the log-mels.

    The decoder is what every generated latent goes through and it limits what the judge can
    hear; the encoder is frozen, so the latents (and the teacher trained on them) do not move.
    A recipe with a decoder of its own (VaeConfig.separate_decoder) trains that one from scratch
    instead of fine-tuning the VAE's: a cheaper decoder for the same latents."""
    # The train split only, as every other stage: the test clips measure the VAE floor (evaluate --stage vae).
    train_set = load_diffusion_set(cfg)
    mel = train_set["mel"].unsqueeze(1)  # (N, 1, frames, mels)
    lat = train_set["latents"]  # (N, C, T, F), unscaled
    vae = build_vae(cfg, decoder=True) if cfg.vae.separate_decoder else load_trained(cfg, "vae", build_vae(cfg))
    vae.requires_grad_(False)
    for part in (vae.decoder, vae.post_quant_conv):
        part.requires_grad_(True)
    crops = [f // LATENT_DOWNSAMPLE for f in (cfg.vae.decoder_crop_frames or (cfg.vae.crop_frames,))]

    def loss_fn(model, g):
        crop = crops[int(torch.randint(len(crops), (1,), generator=g))]  # one length per batch
        rows = _batch(len(mel), cfg.vae.batch_size, g)
        starts = torch.randint(0, lat.shape[2] - crop + 1, (len(rows),), generator=g)
        z = torch.stack([lat[r, :, s:s + crop] for r, s in zip(rows, starts)])  # (B, C, crop, F)
        x = torch.stack([mel[r, :, s * LATENT_DOWNSAMPLE:(s + crop) * LATENT_DOWNSAMPLE]
                         for r, s in zip(rows, starts)])  # (B, 1, crop*4, mels)
        l1 = (model.decode(z).sample - x).abs().mean()
        return l1, {"l1": l1.item()}

    run_loop(cfg, "vae-decoder", vae, cfg.vae.decoder_steps, cfg.vae.decoder_lr, loss_fn)


def vae_stage(cfg: PackConfig) -> str:
    """The checkpoint the pack's VAE decoder comes from."""
    if cfg.vae.separate_decoder and cfg.vae.decoder_steps <= 0:
        raise ValueError(f"recipe {cfg.recipe}: a decoder of its own (vae.decoder_block_out_channels, "
                         "vae.decoder_mid_attention) is trained by the vae-decoder stage: set vae.decoder_steps > 0")
    return "vae-decoder" if cfg.vae.decoder_steps > 0 else "vae"


def load_vae_decoder(cfg: PackConfig) -> torch.nn.Module:
    """The VAE whose decoder the pack ships (build_vae(decoder=True)), with its trained weights."""
    return load_trained(cfg, vae_stage(cfg), build_vae(cfg, decoder=True))


def latents(cfg: PackConfig) -> Path:
    """Posterior means of every clip and the scale that gives them unit variance (Tango: 0.9228).
    With a VAE imported from a pack (from_pack.py), the pack's scale: the teacher's latent space."""
    out = cfg.work_dir / "latents.pt"
    if out.exists():
        return out
    vae = load_trained(cfg, "vae", build_vae(cfg))
    imported = checkpoint.load(cfg.work_dir / "vae" / "checkpoint.pt")["extra"].get("imported")
    feats = torch.load(cfg.work_dir / "features.pt", weights_only=False)
    with torch.no_grad():
        lat = torch.cat([vae.encode(feats["mel"][i:i + 32].unsqueeze(1)).latent_dist.mean
                         for i in range(0, len(feats["mel"]), 32)])  # (N, C, T, F)
    train = torch.tensor([s == "train" for s in feats["split"]])
    scale = imported["latent_scale"] if imported else float(1.0 / lat[train].std())
    torch.save({"latents": lat, "scale": scale}, out)
    print(f"[latents] {tuple(lat.shape)} scale {scale:.4f}")
    return out


# ---------------------------------------------------------------- teacher
def any_caption(feats: dict, rows: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Text states (B, L, H) and mask (B, L) of one caption per row, drawn uniformly from the
    clip's caption and its rewordings (features.pt without rewordings: the caption)."""
    h, m = feats["hidden"][rows].clone(), feats["mask"][rows].clone()
    reworded = feats.get("reworded_hidden")
    k = 0 if reworded is None else reworded.shape[1]
    if k:
        pick = torch.randint(0, k + 1, (len(rows),), generator=g)  # 0: the caption itself
        other = pick > 0
        h[other] = reworded[rows[other], pick[other] - 1]
        m[other] = feats["reworded_mask"][rows[other], pick[other] - 1]
    return h, m


def train_teacher(cfg: PackConfig, device: str = "cpu", par: Parallel | None = None) -> None:
    """v-prediction teacher with condition dropout to the "" prompt (DISTILLATION.md 1, 2, 5).
    The batch is drawn on the CPU and moved to `device` (a lent GPU: scripts/distill_on_gpu.sh);
    under `par` of several processes, each trains on its shard of the same global batch."""
    par = par or Parallel(device)
    feats = load_diffusion_set(cfg)
    x0 = feats["x0"]  # (N, C, T, F)
    hidden = feats["hidden"]  # (N, L, H): sizes the U-Net; batches come from any_caption
    uncond_hidden, uncond_mask = feats["uncond_hidden"], feats["uncond_mask"]
    abar = sampling.alphas_cumprod().float()
    torch.manual_seed(cfg.data.seed)  # the same initial weights in every run (and every DDP process)
    unet = build_unet(cfg, hidden.shape[-1])
    if cfg.unet.channels_last:
        unet = unet.to(memory_format=torch.channels_last)

    def loss_fn(model, g):
        rows = _batch(len(x0), cfg.unet.batch_size, g)
        x, (h, m) = x0[rows], any_caption(feats, rows, g)
        drop = torch.rand(len(rows), generator=g) < cfg.unet.cond_drop_prob
        h[drop], m[drop] = uncond_hidden, uncond_mask
        t = torch.randint(0, sampling.NUM_TRAIN_TIMESTEPS, (len(rows),), generator=g)
        alpha, sigma = (s.view(-1, 1, 1, 1) for s in sampling.alpha_sigma(abar, t))
        eps = torch.randn(x.shape, generator=g)
        z = sampling.q_sample(x, eps, alpha, sigma)
        z, t, h, m, v_target = par.shard((z, t, h, m, sampling.v_target(x, eps, alpha, sigma)))  # this process's rows
        v = model(z, t, encoder_hidden_states=h, encoder_attention_mask=m).sample
        return F.mse_loss(v, v_target), {}

    run_loop(cfg, "teacher", unet, cfg.unet.steps, cfg.unet.lr, loss_fn, ema_decay=cfg.unet.ema_decay,
             device=par.device, par=par)


def train_vocoder_gan(cfg: PackConfig) -> None:
    from .gan import train_vocoder_gan as train
    train(cfg)


STAGES = {"features": features, "vae": train_vae, "latents": latents, "vocoder": train_vocoder,
          "vocoder-gan": train_vocoder_gan, "vocoder-low": train_vocoder_low, "vae-decoder": train_vae_decoder,
          "teacher": train_teacher}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--stage", choices=list(STAGES), required=True)
    ap.add_argument("--device", default="cpu", help="teacher only: e.g. cuda on a lent GPU machine")
    args = ap.parse_args()
    if args.stage == "teacher":
        par = from_env(args.device)  # several processes under `accelerate launch`, else one on --device
        train_teacher(load_config(args.config), par.device, par)
    elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise SystemExit(f"--stage {args.stage}: only the teacher stage runs under accelerate launch")
    elif args.device != "cpu":
        raise SystemExit(f"--device {args.device}: only the teacher stage runs on another device")
    else:
        STAGES[args.stage](load_config(args.config))


if __name__ == "__main__":
    main()
