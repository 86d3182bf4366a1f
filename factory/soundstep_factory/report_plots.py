"""The report's pictures (docs/results/*.png): training and distillation curves, log-mel
spectrograms of real and generated clips, and FAD_judge against sampling steps (Figure 2).
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import torch

from . import checkpoint
from .config import PackConfig
from .eval_data import EvalConfig, test_prompts, waves_to_mel
from .eval_runs import generated_path


def _history(cfg: PackConfig, stage_dir: str) -> list[dict]:
    state = checkpoint.load(cfg.work_dir / stage_dir / "checkpoint.pt")
    return state["history"] if state else []


def plot_training_curves(cfg: PackConfig, out: Path, judged: PackConfig | None = None) -> Path:
    """The pack's stages as `cfg` trained them; the judge as `judged` (the recipe whose judge scores the pack) did."""
    stages = [("vae", "VAE"), ("vocoder", "vocoder"), ("teacher", "teacher U-Net"), ("judge", "judge")]
    fig, axes = plt.subplots(1, len(stages), figsize=(4 * len(stages), 3))
    for ax, (stage, title) in zip(axes, stages):
        hist = [h for h in _history((judged or cfg) if stage == "judge" else cfg, stage) if "loss" in h]
        if stage == "judge" and hist:  # per-step losses: smooth over 50 steps
            hist = [{"step": hist[i]["step"], "loss": sum(h["loss"] for h in hist[max(0, i - 49):i + 1]) / min(50, i + 1)}
                    for i in range(49, len(hist), 50)]
        ax.plot([h["step"] for h in hist], [h["loss"] for h in hist])
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training loss")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def plot_distill_curves(cfg: PackConfig, out: Path) -> Path | None:
    folders = sorted((cfg.work_dir / "distill").glob("*/n*"))
    if not folders:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for folder in folders:
        hist = [h for h in _history(cfg, str(folder.relative_to(cfg.work_dir))) if "val_x_mse" in h or h["step"] == 0]
        ax.plot([h["step"] for h in hist], [h.get("val_x_mse", h["val_loss"]) for h in hist],
                label=f"{folder.parent.name} N={folder.name[1:]}")
    ax.set_xlabel("step")
    ax.set_ylabel("validation x-space MSE")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def plot_spectrograms(cfg: PackConfig, ecfg: EvalConfig, denoisers: list[tuple[str, int]], out: Path) -> Path | None:
    """Real clips and the seed-0 generations for the same first prompts, as log-mel pictures: the
    VAE decoder's log-mel (before the vocoder) and the log-mel of the audio the vocoder made."""
    real = test_prompts(cfg, ecfg)
    columns = [("real", real["mel"][: ecfg.examples])]
    for denoiser, steps in denoisers:
        path = generated_path(cfg, denoiser, steps, 0)
        if path.exists():
            run = torch.load(path, weights_only=False)
            columns.append((f"{denoiser}, {steps} steps: VAE log-mel", run["vae_mel"][: ecfg.examples].float()))
            columns.append((f"{denoiser}, {steps} steps: audio", waves_to_mel(cfg, run["examples"])))
    if len(columns) < 2:
        return None
    n = min(len(c[1]) for c in columns)
    fig, axes = plt.subplots(n, len(columns), figsize=(3 * len(columns), 1.9 * n), squeeze=False)
    for r in range(n):
        for c, (title, mels) in enumerate(columns):
            ax = axes[r][c]
            ax.imshow(mels[r].T.numpy(), origin="lower", aspect="auto", vmin=-11.5, vmax=2, cmap="magma")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0:
                ax.set_ylabel("\n".join(_wrap(real["captions"][r], 28)), fontsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]


def plot_fad_vs_steps(table: dict, floor: dict, out: Path) -> Path | None:
    """The paper's Figure 2: FAD against sampling steps, one line per model (teacher, each method);
    left on the audio, right on the VAE decoder's log-mel (before the vocoder)."""
    rows = table.get("rows", []) if table else []
    if not rows:
        return None
    panels = [("fad_judge", "audio", floor["vae+vocoder"]["fad_judge"]),
              ("fad_judge_vae_mel", "log-mel before the vocoder", floor.get("vae (mel)", {}).get("fad_judge"))]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    names = sorted({r["denoiser"].rsplit("-", 1)[0] if r["denoiser"] != "teacher" else "teacher" for r in rows})
    for ax, (key, title, floor_value) in zip(axes, panels):
        for name in names:
            mine = sorted((r for r in rows if key in r and (r["denoiser"] == name if name == "teacher"
                                                           else r["denoiser"].rsplit("-", 1)[0] == name)),
                          key=lambda r: r["steps"])
            if not mine:
                continue
            half = [r[key]["ci95"] for r in mine]
            ax.errorbar([r["steps"] for r in mine], [r[key]["mean"] for r in mine],
                        yerr=[0 if h is None or math.isnan(h) else h for h in half], marker="o", capsize=3, label=name)
        if floor_value is not None:
            ax.axhline(floor_value, color="gray", ls="--", lw=1, label="reconstruction floor")
        ax.set_xscale("log", base=2)
        ax.set_xticks([25, 50, 100, 200], ["25", "50", "100", "200"])
        ax.set_xlabel("sampling steps")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("FAD_judge (lower is better)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
