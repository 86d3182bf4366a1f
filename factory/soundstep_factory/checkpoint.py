"""Self-describing, resumable checkpoints (weights, EMA, optimizer, step, config, git revision),
and the loaders of what earlier stages left in the work dir.

Light on imports on purpose: distillation needs only this, sampling and models, so it runs on a
machine without the data stage's audio libraries (a lent GPU).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import torch

from .config import REPO_DIR, PackConfig


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_DIR,
                             capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "factory"], cwd=REPO_DIR,
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        return (rev + ("-dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def save(path: Path, *, cfg: PackConfig, stage: str, step: int, model: torch.nn.Module,
         optimizer: torch.optim.Optimizer | None = None, ema: torch.nn.Module | None = None,
         history: list | None = None, extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "stage": stage, "step": step, "config": cfg.to_dict(), "revision": git_revision(),
        "model": model.state_dict(), "ema": ema.state_dict() if ema is not None else None,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "history": history or [], "extra": extra or {},
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: a run killed mid-save keeps the previous checkpoint


def load(path: Path) -> dict | None:
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


def load_trained(cfg: PackConfig, stage: str, model: torch.nn.Module, state: dict | None = None) -> torch.nn.Module:
    """`model` with the stage's trained weights (its EMA where it keeps one), from `state` when the
    caller has read the checkpoint already."""
    state = state if state is not None else load(cfg.work_dir / stage / "checkpoint.pt")
    if state is None:
        raise FileNotFoundError(f"no {stage} checkpoint in {cfg.work_dir / stage}: run --stage {stage} first")
    try:
        model.load_state_dict(state["ema"] if state.get("ema") else state["model"])
    except RuntimeError as error:  # e.g. a U-Net trained before unet.coordinates was switched on
        raise RuntimeError(f"the {stage} checkpoint ({state.get('config', {}).get('recipe')} recipe, revision "
                           f"{state.get('revision')}) does not fit the model recipe {cfg.recipe} builds: train "
                           f"--stage {stage} again, or use the recipe it was trained with.\n{error}") from None
    return model.eval()


def load_features(cfg: PackConfig, split: str = "train") -> dict:
    """features.pt restricted to one split: every per-clip tensor and list keeps that split's rows."""
    feats = torch.load(cfg.work_dir / "features.pt", weights_only=False)
    return _rows_of_split(feats, [s == split for s in feats["split"]])


def load_diffusion_set(cfg: PackConfig, split: str = "train") -> dict:
    """load_features of the split, its VAE latents as latents.pt stores them ("latents", what the
    VAE decoder reads) and times the latent scale ("x0", what the teacher and the distillation
    train on), all (N, C, T, F); features.pt is read once."""
    feats = torch.load(cfg.work_dir / "features.pt", weights_only=False)
    keep = [s == split for s in feats["split"]]
    lat = torch.load(cfg.work_dir / "latents.pt", weights_only=False)
    latents = lat["latents"][torch.tensor(keep)]
    return {**_rows_of_split(feats, keep), "latents": latents, "x0": latents * lat["scale"]}


def _rows_of_split(feats: dict, keep: list[bool]) -> dict:
    def rows(value):
        if isinstance(value, torch.Tensor) and value.shape[0] == len(keep):
            return value[torch.tensor(keep)]
        if isinstance(value, list) and len(value) == len(keep):
            return [v for v, k in zip(value, keep) if k]
        return value
    return {key: rows(value) for key, value in feats.items()}
