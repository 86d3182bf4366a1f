"""Benchmark: one U-Net evaluation in PyTorch on a GPU, for the shipped recipe and for Tango's size.
Prints JSON numbers, never pass/fail.

Usage (on a lent GPU machine; random weights time the same as trained ones):
    python -m soundstep_factory.cuda_bench --config small-next [--repeats 50] [--device cpu]

For each U-Net, batch 1 (a student step) and batch 2 (a guided teacher step: conditional and
unconditional rows together), float32 (TF32 matmuls) and bfloat16 autocast, eager and, where
PyTorch can capture it, replayed as a CUDA graph. The denoising loops follow: 25 student
evaluations of batch 1 against 200 teacher evaluations of batch 2 (400 network evaluations).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import time

import torch

from .config import load_config
from .models import LATENT_DOWNSAMPLE, build_unet
from .tango_spec import FULL, parameter_count
from .tango_spec import build_unet as build_tango_unet


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def seconds_per_call(fn, repeats: int, device: str) -> float:
    """Median wall time of `fn()` after three warm-ups, the device synchronized around each call."""
    for _ in range(3):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def graphed(fn):
    """`fn` captured once as a CUDA graph; calling the result replays it on the same buffers."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def time_unet(unet: torch.nn.Module, latent: tuple[int, int, int], tokens: int, hidden: int, repeats: int,
              device: str = "cuda") -> dict:
    """Milliseconds per evaluation (keys batch<B>_<dtype>_<eager|graph>_ms) and the two loops."""
    rows: dict[str, float | str | dict[str, float]] = {}
    for batch in (1, 2):
        z = torch.randn(batch, *latent, device=device)  # (B, C, T, F)
        t = torch.full((batch,), 500, device=device)
        states = torch.randn(batch, tokens, hidden, device=device)  # (B, L, H)
        mask = torch.ones(batch, tokens, device=device, dtype=torch.bool)
        for dtype in ("float32", "bfloat16"):
            def call(dtype=dtype, z=z, t=t, states=states, mask=mask):
                autocast = (torch.autocast(device, dtype=torch.bfloat16) if dtype == "bfloat16"
                            else contextlib.nullcontext())
                with torch.no_grad(), autocast:
                    return unet(z, t, encoder_hidden_states=states, encoder_attention_mask=mask).sample
            key = f"batch{batch}_{dtype}"
            rows[f"{key}_eager_ms"] = 1e3 * seconds_per_call(call, repeats, device)
            if device != "cuda":
                continue
            try:
                rows[f"{key}_graph_ms"] = 1e3 * seconds_per_call(graphed(call), repeats, device)
            except Exception as error:  # noqa: BLE001 (a capture PyTorch refuses is a result too)
                rows[f"{key}_graph_error"] = f"{type(error).__name__}: {error}"[:300]
    for mode in ("eager", "graph"):
        for dtype in ("float32", "bfloat16"):
            one, two = rows.get(f"batch1_{dtype}_{mode}_ms"), rows.get(f"batch2_{dtype}_{mode}_ms")
            if isinstance(one, float) and isinstance(two, float):
                rows[f"loops_{dtype}_{mode}"] = {"student_25_ms": 25 * one, "teacher_200_guided_ms": 200 * two,
                                                 "ratio": 200 * two / (25 * one)}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small-next")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--device", default="cuda", help="cpu: the same table without CUDA graphs (Tango: minutes)")
    args = ap.parse_args()
    device = args.device
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    cfg = load_config(args.config)
    hidden = 384  # all-MiniLM-L6-v2, the recipe's text encoder
    small = build_unet(cfg, hidden).to(device).eval()
    latent = (cfg.vae.latent_channels, cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE)
    report = {"device": torch.cuda.get_device_name() if device == "cuda" else device, "torch": torch.__version__,
              cfg.recipe: {"parameters": parameter_count(small), "latent": latent,
                           **time_unet(small, latent, cfg.text.max_tokens, hidden, args.repeats, device)}}
    print(json.dumps(report, indent=1), flush=True)
    del small
    tango = build_tango_unet(FULL).to(device).eval()
    tango_latent = (FULL.latent_channels, FULL.latent_frames, FULL.n_mels // LATENT_DOWNSAMPLE)
    report["tango"] = {"parameters": parameter_count(tango), "latent": tango_latent,
                       **time_unet(tango, tango_latent, 32, FULL.hidden_size, max(10, args.repeats // 5), device)}
    print(json.dumps(report, indent=1), flush=True)


if __name__ == "__main__":
    main()
