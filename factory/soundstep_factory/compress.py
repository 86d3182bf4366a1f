"""Stage: a smaller U-Net learns a finished student's steps (architecture distillation).

Usage: python -m soundstep_factory.compress --config small-next-loud --variant coarsest   (train; resumes)
       python -m soundstep_factory.compress --config small-next-loud --variant coarsest --ship --pack <dir>

The page's speed goal (docs/speed.md: RTF <= 0.1 needs ~9 ms per student evaluation) wants a
U-Net with a fifth of the shipped one's multiply-adds, and such a U-Net trained from data alone
lost most of its caption adherence (small-fast, small-mid). Here it is taught instead by the
pack's distilled student (CompressConfig.source): at each of that student's N grid points, on
noised training latents of the recipe's work dir, the small U-Net's x_hat is pulled to the
source's x_hat under the source weighting's w(SNR) (distill.weighted_loss, E13). This is the output-level knowledge
distillation of BK-SDM (Kim et al., 2023) with progressive distillation's targets: a one-step
match (factor 1, distill.E12b), so the small student samples with the same N steps, no guidance.
Output: <work>/compress/<id>/checkpoint.pt, id = <source>-<suffix>; best validation weights kept.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from . import checkpoint, sampling
from .config import CompressConfig, PackConfig, cpu_threads, load_compress, load_config
from .distill import Conditioning, distill_data, make_batch, round_lr, student_x_hat, weighted_loss
from .models import build_unet
from .round_loop import LoopPlan, train_until_plateau

torch.set_num_threads(cpu_threads())


def source_round(source: str) -> tuple[str, int]:
    """("snr-trunc", 25) from "snr-trunc-25": the weighting and step count of a finished round."""
    method, _, steps = source.rpartition("-")
    if not method or not steps.isdigit():
        raise ValueError(f"compress.source {source!r}: name a finished round as <method>-<steps>, e.g. snr-trunc-25")
    return method, int(steps)


def student_config(cfg: PackConfig, cc: CompressConfig) -> PackConfig:
    """The recipe with the small U-Net in place of its own (what build_unet and export read)."""
    return dataclasses.replace(cfg, unet=cc.unet)


def compressed_id(cc: CompressConfig) -> str:
    return f"{cc.source}-{cc.suffix}"


def checkpoint_path(cfg: PackConfig, cc: CompressConfig) -> Path:
    return cfg.work_dir / "compress" / compressed_id(cc) / "checkpoint.pt"


def load_source(cfg: PackConfig, source: str, hidden_size: int) -> torch.nn.Module:
    """The finished round `source` names (distill's checkpoint, or from_pack's import)."""
    method, n = source_round(source)
    path = cfg.work_dir / "distill" / method / f"n{n}" / "checkpoint.pt"
    state = checkpoint.load(path)
    if state is None or not state["extra"].get("done"):
        raise FileNotFoundError(f"{path} holds no finished round: run distill --method {method}, or from_pack "
                                f"--only students with a pack that ships {source}")
    unet = build_unet(cfg, hidden_size)
    unet.load_state_dict(state["model"])
    return unet.eval().requires_grad_(False)


def shared_weights(source: dict[str, torch.Tensor], small: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The source's tensors whose name and shape the small U-Net has too: with diffusers' naming, a
    U-Net that drops a level's attention keeps every other block's weights under the same names."""
    return {k: v.clone() for k, v in source.items() if k in small and small[k].shape == v.shape}


def compress(cfg: PackConfig, c: CompressConfig) -> dict:
    """Train (or resume) the small U-Net; returns the summary its checkpoint's `extra` holds."""
    method, n_steps = source_round(c.source)
    out = checkpoint_path(cfg, c)
    state = checkpoint.load(out)
    if state is not None and state["extra"].get("done"):  # finished: nothing to load or compute
        return state["extra"]
    data = distill_data(cfg)
    x0, hidden, mask = data["x0"], data["hidden"], data["mask"]  # (N, C, T, F), (N, L, H), (N, L)
    uncond = (data["uncond_hidden"], data["uncond_mask"])
    source = load_source(cfg, c.source, hidden.shape[-1])
    student = build_unet(student_config(cfg, c), hidden.shape[-1]).train()
    if c.init_from_source:
        inherited = shared_weights(source.state_dict(), student.state_dict())
        student.load_state_dict({**student.state_dict(), **inherited})
    abar = sampling.alphas_cumprod()
    gamma = cfg.distill.gamma

    g_val = torch.Generator().manual_seed(12345)  # a fixed validation set, targets computed once
    val_rows = torch.randperm(len(x0), generator=g_val)[: c.val_size]
    z_v, t_v, _, _, h_v, m_v = make_batch(x0, hidden, mask, val_rows, n_steps, g_val, abar, factor=1)
    val_cond = Conditioning(h_v, m_v, *uncond)
    with torch.no_grad():
        target_v = student_x_hat(source, z_v, t_v, val_cond, abar)

    def validate() -> tuple[float, float]:
        with torch.no_grad():
            x_hat = student_x_hat(student.eval(), z_v, t_v, val_cond, abar)
        student.train()
        return float(weighted_loss(method, gamma, x_hat, target_v, t_v, abar)), float((x_hat - target_v).pow(2).mean())

    optimizer = torch.optim.AdamW(student.parameters(), lr=c.lr, weight_decay=0.0)

    def train_step(step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(7_000_000 + step)  # the same batches whether resumed or not
        rows = torch.randint(0, len(x0), (c.batch_size,), generator=g)
        z_t, t, _, _, h, m = make_batch(x0, hidden, mask, rows, n_steps, g, abar, factor=1)
        cond = Conditioning(h, m, *uncond)
        with torch.no_grad():
            x_target = student_x_hat(source, z_t, t, cond, abar)  # one source step: its x_hat (E12b, f = 1)
        loss = weighted_loss(method, gamma, student_x_hat(student, z_t, t, cond, abar), x_target, t, abar)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        return loss

    stage, settings = f"compress-{compressed_id(c)}", dataclasses.asdict(c)
    plan = LoopPlan(c.max_steps, c.eval_every, c.patience,
                    lambda step: round_lr(step, c.max_steps, c.lr, c.warmup_steps), f"compress {compressed_id(c)}")
    done = train_until_plateau(
        student, optimizer, state, plan, train_step, validate,
        lambda step, history, extra: checkpoint.save(out, cfg=cfg, stage=stage, step=step, model=student,
                                                     optimizer=optimizer, history=history,
                                                     extra={**extra, "compress": settings}))
    extra = {"done": True, "best": done.best, "steps_trained": done.step, "compress": settings, "method": method,
             "n_student": n_steps, "stopped": done.stopped, "seconds": done.seconds,
             "parameters": sum(p.numel() for p in student.parameters())}
    checkpoint.save(out, cfg=cfg, stage=stage, step=done.step, model=student, history=done.history, extra=extra)
    return extra


def trained_student(cfg: PackConfig, c: CompressConfig, hidden_size: int) -> torch.nn.Module:
    """The finished small U-Net with its best validation weights."""
    state = checkpoint.load(checkpoint_path(cfg, c))
    if state is None or not state["extra"].get("done"):
        raise FileNotFoundError(f"no finished compress run for {compressed_id(c)} in {cfg.work_dir}: run compress "
                                f"--config {cfg.recipe} --variant {c.suffix} first")
    unet = build_unet(student_config(cfg, c), hidden_size)
    unet.load_state_dict(state["model"])
    return unet.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="the recipe whose work dir holds the source and the data")
    ap.add_argument("--variant", required=True, help="factory/configs/compress/<name>.json, or a path")
    ap.add_argument("--ship", action="store_true", help="add the finished small student to --pack")
    ap.add_argument("--pack", type=Path, help="the pack folder (with manifest.json) to add it to")
    args = ap.parse_args()
    cfg, c = load_config(args.config), load_compress(args.variant)
    if args.ship:
        if args.pack is None:
            raise SystemExit("compress --ship: name the pack to add the student to with --pack <dir>")
        from .compress_pack import add_compressed  # late: compress_pack imports this module
        from .manifest import PackRefusal
        try:
            print(json.dumps(add_compressed(cfg, c, args.pack), indent=2))
        except PackRefusal as refusal:  # nothing was changed; the message says what to do
            raise SystemExit(str(refusal)) from None
    else:
        print(json.dumps(compress(cfg, c), default=str))


if __name__ == "__main__":
    main()
