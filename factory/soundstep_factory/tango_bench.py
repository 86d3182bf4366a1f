"""Benchmark: what a Tango-size denoiser costs on this machine. Prints JSON numbers, never pass/fail.

Usage:
    python -m soundstep_factory.tango_bench evaluate --pack PACK [--frames 256,16] [--repeats 3]
    python -m soundstep_factory.tango_bench train-step --folder DIR [--repeats 2]

`evaluate`: one evaluation of the pack's teacher graph in onnxruntime (Python, CPU), batch 1, at
the pack's latent and at shortened ones (the graph takes any latent length), after one warm-up.
`train-step`: one distillation step of the folder's U-Net on the CPU as distill.py takes it,
batch 1, gradient checkpointing on: round 1's targets (two guided teacher steps: 2 evaluations
of 2 rows), a later round's (2 of 1 row) and the student's update (forward, backward, AdamW), with
the process's peak memory after each part. The teacher is the student's own weights under
no_grad: the timing is the same, a real run holds a second copy (+3.5 GB at full size).
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from . import sampling
from .bench_distill import seconds_per_call
from .config import cpu_threads
from .distill import Conditioning, make_batch, step_generator, student_x_hat, teacher_target, weighted_loss


def peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)



def pack_shapes(pack: Path) -> tuple[dict, dict]:
    """The manifest's latent and text shapes; Tango's (8 x T x 16, 64 tokens of 1024) while an
    export is still under way and the pack has no manifest yet."""
    manifest_file = pack / "manifest.json"
    if manifest_file.is_file():
        manifest = json.loads(manifest_file.read_text())
        return manifest["latent"], manifest["text"]
    return {"channels": 8, "bins": 16}, {"max_tokens": 64, "hidden_size": 1024}


def evaluate(pack: Path, frames: list[int], repeats: int, file: str = "denoisers/teacher.onnx") -> dict:
    lat, text = pack_shapes(pack)
    options = ort.SessionOptions()
    options.intra_op_num_threads = cpu_threads()
    started = time.perf_counter()
    session = ort.InferenceSession(str(pack / file), options, providers=["CPUExecutionProvider"])
    result: dict = {"runtime": f"onnxruntime {ort.__version__} (Python)", "file": file, "threads": cpu_threads(),
                    "session_seconds": round(time.perf_counter() - started, 1), "seconds_per_evaluation": {}}
    rng = np.random.default_rng(0)
    L, H = text["max_tokens"], text["hidden_size"]
    mask = (np.arange(L) < 8).astype(np.int64)[None]
    for t in frames:
        feeds = {"sample": rng.standard_normal((1, lat["channels"], t, lat["bins"]), dtype=np.float32),
                 "timestep": np.array([500]), "encoder_hidden_states": rng.standard_normal((1, L, H), dtype=np.float32),
                 "encoder_attention_mask": mask}
        seconds = seconds_per_call(lambda f=feeds: session.run(None, f), repeats)
        result["seconds_per_evaluation"][f"{lat['channels']}x{t}x{lat['bins']}"] = round(seconds, 3)
    result["peak_rss_gb"] = peak_rss_gb()
    return result


def train_step(folder: Path, repeats: int, guidance: float = 3.0) -> dict:
    from diffusers import UNet2DConditionModel

    started = time.perf_counter()
    student = UNet2DConditionModel.from_pretrained(str(folder / "unet"))
    student.enable_gradient_checkpointing()
    student.train()
    load_seconds = time.perf_counter() - started
    C, (T, F) = student.config.in_channels, student.config.sample_size
    H, L = student.config.cross_attention_dim, 64
    g = step_generator(100, 0)
    x0, hidden = torch.randn(1, C, T, F, generator=g), torch.randn(1, L, H, generator=g)
    mask = (torch.arange(L) < 8).long()[None]
    abar = sampling.alphas_cumprod()
    z_t, t, path, t_next, h, m = make_batch(x0, hidden, mask, torch.tensor([0]), 100, g, abar)
    cond = Conditioning(h, m, torch.zeros(L, H), (torch.arange(L) < 1).long())
    memory = {"after_load": peak_rss_gb()}

    def targets(scale: float | None) -> torch.Tensor:
        with torch.no_grad():
            return teacher_target(cond.predictor(student, scale), z_t, t, path, t_next, abar)
    x_target = targets(None)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-9, foreach=False)  # no multi-tensor temporaries

    def update() -> None:
        loss = weighted_loss("bsa", 5.0, student_x_hat(student, z_t, t, cond, abar), x_target, t, abar)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    guided = seconds_per_call(lambda: targets(guidance), repeats)
    memory["after_targets"] = peak_rss_gb()
    unguided = seconds_per_call(lambda: targets(None), repeats)
    student_update = seconds_per_call(update, repeats)
    memory["after_update"] = peak_rss_gb()
    return {"threads": torch.get_num_threads(), "batch_size": 1, "latent": [C, T, F], "gradient_checkpointing": True,
            "parameters": sum(p.numel() for p in student.parameters()), "load_seconds": round(load_seconds, 1),
            "seconds": {"round1_targets": round(guided, 2), "later_targets": round(unguided, 2),
                        "student_update": round(student_update, 2)},
            "peak_rss_gb": memory}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    ev = sub.add_parser("evaluate")
    ev.add_argument("--pack", type=Path, required=True)
    ev.add_argument("--frames", default="256,16")
    ev.add_argument("--repeats", type=int, default=3)
    ev.add_argument("--file", default="denoisers/teacher.onnx")
    tr = sub.add_parser("train-step")
    tr.add_argument("--folder", type=Path, required=True)
    tr.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(cpu_threads())
    if args.what == "evaluate":
        result = evaluate(args.pack, [int(f) for f in args.frames.split(",")], args.repeats, args.file)
    else:
        result = train_step(args.folder, args.repeats)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
