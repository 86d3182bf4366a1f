"""Benchmark: what one teacher training step costs on this CPU, by precision, memory layout,
thread count and U-Net layout, so a recipe's choices are measured on the machine that runs them.

Usage: python -m soundstep_factory.bench_train --config small [--steps 6] [--threads 1 2]

Random weights and random batches of the recipe's shapes (latent C x 64 x 16, text states
32 x 384): a step's cost does not depend on the values. Each row times forward, backward and
AdamW; bfloat16 rows use torch.autocast (AMX or AVX512-BF16 make it fast; without them it is
slower than float32). Prints JSON, not a pass/fail: these machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time

import torch
import torch.nn.functional as F

from .config import PackConfig, load_config
from .models import LATENT_DOWNSAMPLE, build_unet

TEXT_TOKENS, TEXT_HIDDEN = 32, 384


def cpu_flags() -> list[str]:
    """The CPU's bfloat16-relevant features (from /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return sorted(f for f in flags if f in {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})


def step_seconds(cfg: PackConfig, bf16: bool, channels_last: bool, steps: int) -> float:
    """Mean seconds of one training step (after one warm-up step)."""
    torch.manual_seed(0)
    unet = build_unet(cfg, TEXT_HIDDEN)
    if channels_last:
        unet = unet.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-4)
    b = cfg.unet.batch_size
    frames, mels = cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE
    z = torch.randn(b, cfg.vae.latent_channels, frames, mels)  # (B, C, T/4, F/4)
    if channels_last:
        z = z.to(memory_format=torch.channels_last)
    h, m = torch.randn(b, TEXT_TOKENS, TEXT_HIDDEN), torch.ones(b, TEXT_TOKENS)
    t = torch.randint(0, 1000, (b,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            v = unet(z, t, encoder_hidden_states=h, encoder_attention_mask=m).sample
        loss = F.mse_loss(v.float(), z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--steps", type=int, default=6, help="timed steps per row")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--layouts", nargs="+", default=["coarse", "tango"], help="UnetConfig.attention_levels")
    args = ap.parse_args()
    base = load_config(args.config)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for layout in args.layouts:
            cfg = dataclasses.replace(base, unet=dataclasses.replace(base.unet, attention_levels=layout))
            params = sum(p.numel() for p in build_unet(cfg, TEXT_HIDDEN).parameters())
            for bf16 in (False, True):
                for channels_last in (False, True):
                    s = step_seconds(cfg, bf16, channels_last, args.steps)
                    rows.append({"threads": threads, "layout": layout, "params": params, "bfloat16": bf16,
                                 "channels_last": channels_last, "s_per_step": round(s, 4),
                                 "steps_per_s": round(1 / s, 3)})
                    print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"cpu": platform.processor() or platform.machine(), "flags": cpu_flags(),
                      "torch": torch.__version__, "recipe": args.config, "batch": base.unet.batch_size,
                      "rows": rows}))


if __name__ == "__main__":
    main()
