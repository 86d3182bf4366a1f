"""The vocoder's adversarial fine-tune (gan.py) on a lent GPU machine: what travels, what comes back.

Usage:
  here:   python -m soundstep_factory.gpu_vocoder pack --config small-next --out ../.devbundle --clips 600
  there:  python -m soundstep_factory.gpu_vocoder train --bundle ../.devbundle/vocoder-small-next.pt
              --out $OUT --seconds 420
  here:   python -m soundstep_factory.gpu_vocoder restore --config small-next --file <a returned snapshot>

Why a GPU: with HiFi-GAN's discriminators the CPU ran 0.26 steps/s (docs/listening.md), and a
GAN vocoder wants tens of thousands of steps. The machine takes 64 MiB in all, so the bundle
carries a seeded subset of the train clips as 16-bit samples, lzma-compressed (0.78 of their
size), and the generator to start from; the log-mels are recomputed there with the same front
end. The discriminators there are HiFi-GAN's full width. What comes back: the generator at a few
points of the run (float32, 2 MB each) with the loss history, so the best one is chosen here by
the independent ears (vocoder_eval), not by the GAN's own losses. The discriminators stay there
(too large for the way back): a later CPU run of the stage starts fresh ones, as an import does.
"""
from __future__ import annotations

import argparse
import json
import lzma
import time
from pathlib import Path

import numpy as np
import torch

from . import checkpoint
from .config import PackConfig, load_config
from .gan import GanTrainer, history_row, segment_batch
from .mel import MelFrontEnd
from .vocoder import build_vocoder

FULL_DISC_WIDTHS = (32, 128, 512, 1024)  # HiFi-GAN V1's period discriminators


def pack(cfg: PackConfig, out: Path, clips: int, seed: int = 0) -> dict:
    """The bundle: `clips` train waveforms (int16, lzma) and the spectral-loss generator."""
    feats = checkpoint.load_features(cfg)  # train split
    rows = torch.randperm(len(feats["wave"]), generator=torch.Generator().manual_seed(seed))[:clips]
    wave = feats["wave"][rows]  # (N, S)
    pcm = (wave.clamp(-1, 1) * 32767).round().to(torch.int16).numpy()
    generator = checkpoint.load_trained(cfg, "vocoder", build_vocoder(cfg))
    bundle = {"recipe": cfg.recipe, "rows": rows.tolist(), "shape": list(pcm.shape),
              # as a tensor: torch.save pickles raw bytes at 1.5 times their size
              "pcm_xz": torch.frombuffer(bytearray(lzma.compress(pcm.tobytes(), preset=6)), dtype=torch.uint8), "generator": generator.state_dict()}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"vocoder-{cfg.recipe}.pt"
    torch.save(bundle, path)
    return {"bundle": str(path), "clips": len(rows), "bytes": path.stat().st_size,
            "max_rounding": float((wave - torch.from_numpy(pcm).float() / 32767).abs().max())}


def unpack_waves(bundle: dict) -> torch.Tensor:
    pcm = np.frombuffer(lzma.decompress(bundle["pcm_xz"].numpy().tobytes()), dtype=np.int16).reshape(bundle["shape"])
    return torch.from_numpy(pcm.astype(np.float32) / 32767)  # (N, S)


def train(bundle_path: Path, out: Path, seconds: float, batch: int, segment: int, snapshots: int,
          device: str = "cuda", lr: float | None = None) -> dict:
    """Fine-tune for `seconds` of wall time; write `snapshots` generators spread over it."""
    bundle = torch.load(bundle_path, weights_only=False)
    cfg = load_config(bundle["recipe"])
    if lr is not None:
        cfg.vocoder.gan_lr = lr
    wave = unpack_waves(bundle).to(device)
    mel_fe = MelFrontEnd(cfg.audio).to(device)
    with torch.no_grad():
        mel = torch.cat([mel_fe(wave[i:i + 64]) for i in range(0, len(wave), 64)])  # (N, frames, mels)
    generator = build_vocoder(cfg, calibrated=False)  # trained on: no level calibration
    generator.load_state_dict(bundle["generator"])
    gan = GanTrainer(cfg, generator, FULL_DISC_WIDTHS).to(device)
    g = torch.Generator().manual_seed(7)
    out.mkdir(parents=True, exist_ok=True)
    step, window = 0, []
    history: list[dict] = []
    written: list[str] = []
    started = last_print = time.time()
    while True:
        elapsed = time.time() - started
        due = len(written) < snapshots and elapsed >= seconds * (len(written) + 1) / snapshots
        if due:
            path = out / f"vocoder-gan-{len(written) + 1}.pt"
            torch.save({"recipe": cfg.recipe, "step": step, "lr": cfg.vocoder.gan_lr, "seconds": elapsed, "history": history,
                        "batch": batch, "segment_frames": segment, "disc_widths": list(FULL_DISC_WIDTHS),
                        "generator": {k: v.cpu() for k, v in gan.generator.state_dict().items()}}, path)
            written.append(path.name)
            if len(written) == snapshots:
                break
        window.append(gan.step(*segment_batch(wave, mel, batch, segment, cfg.audio.hop_length, g)))
        step += 1
        if step % 200 == 0:
            history.append(row := history_row(step, window))
            print(f"[gpu-vocoder-gan] step {step} D {row['d_loss']:.3f} adv {row['adv']:.3f} fm {row['fm']:.3f} "
                  f"mel {row['mel_l1']:.3f} ({len(window) / (time.time() - last_print):.1f} steps/s)", flush=True)
            window, last_print = [], time.time()
    return {"steps": step, "seconds": time.time() - started, "snapshots": written,
            "device": torch.cuda.get_device_name() if device == "cuda" else device}


def restore(cfg: PackConfig, file: Path) -> dict:
    """A returned snapshot as this recipe's vocoder-gan checkpoint (the one a pack ships when
    vocoder.gan_steps > 0, and `ship_graph --part vocoder --stage vocoder-gan` reads)."""
    snap = torch.load(file, weights_only=False)
    if snap["recipe"] != cfg.recipe:
        raise SystemExit(f"{file} was trained for recipe {snap['recipe']}, not {cfg.recipe}")
    generator = build_vocoder(cfg)
    generator.load_state_dict(snap["generator"])
    path = cfg.work_dir / "vocoder-gan" / "checkpoint.pt"
    checkpoint.save(path, cfg=cfg, stage="vocoder-gan", step=snap["step"], model=generator, history=snap["history"],
                    extra={"trained_on": "gpu_vocoder", "seconds": snap["seconds"], "batch": snap["batch"],
                           "segment_frames": snap["segment_frames"], "disc_widths": snap["disc_widths"]})
    return {"checkpoint": str(path), "step": snap["step"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--config", default="small-next")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--clips", type=int, default=600)
    t = sub.add_parser("train")
    t.add_argument("--bundle", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--seconds", type=float, default=420.0)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--segment", type=int, default=64, help="mel frames per training segment")
    t.add_argument("--snapshots", type=int, default=4)
    t.add_argument("--device", default="cuda")
    t.add_argument("--lr", type=float, default=None, help="both optimizers' (default: the recipe's gan_lr)")
    r = sub.add_parser("restore")
    r.add_argument("--config", default="small-next")
    r.add_argument("--file", type=Path, required=True)
    args = ap.parse_args()
    if args.command == "pack":
        result = pack(load_config(args.config), args.out, args.clips)
    elif args.command == "train":
        result = train(args.bundle, args.out, args.seconds, args.batch, args.segment, args.snapshots, args.device, args.lr)
    else:
        result = restore(load_config(args.config), args.file)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
