"""Put a recipe's trained vocoder into an existing pack, leaving every other graph as it is.

Usage: python -m soundstep_factory.ship_vocoder --config small [--pack public/models/soundstep-small]

The vocoder reads the pack's log-mel and nothing else, so a better one can ship on its own: the
graph is exported and checked as `export` does (ONNX Runtime against PyTorch, then the stored
weights against float32), and the manifest is rewritten through the one manifest writer: the
files' sizes and hashes, and factory.config.vocoder with the recipe's vocoder settings. The
build log keeps the new graph's parity. The pack's metrics.json was measured with the vocoder it
replaces; its audio figures say so until the table is measured again (`vocoder_of_metrics`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from .checkpoint import git_revision, load_features
from .config import PackConfig, default_out, load_config
from .graphs import VocoderGraph, export_graph, log_mel_relative_error
from .manifest import files_entry, write_manifest
from .pitch_net import shipped_vocoder


def ship_vocoder(cfg: PackConfig, pack: Path) -> dict:
    """Export cfg's vocoder checkpoint into `pack` as its vocoder graph; returns the parity report."""
    manifest = json.loads((pack / "manifest.json").read_text())
    theirs = {k: manifest["audio"][k] for k in ("sample_rate", "n_fft", "hop_length", "n_mels", "f_min", "f_max")}
    ours = {k: getattr(cfg.audio, k) for k in theirs}
    if theirs != ours:
        raise ValueError(f"{pack}: its mel front end {theirs} is not the recipe's {ours}")
    previous = manifest["files"][manifest["vocoder"]["file"]]["sha256"]
    mel = load_features(cfg, split="test")["mel"][:1].transpose(1, 2).contiguous()  # (1, mels, frames)
    model = VocoderGraph(shipped_vocoder(cfg))
    parity = export_graph(model, {"log_mel": mel}, "waveform", pack / manifest["vocoder"]["file"],
                          {"log_mel": {0: "B"}, "waveform": {0: "B"}}, cfg.vocoder.storage,
                          stored_error=log_mel_relative_error(cfg.audio),
                          parity_error=log_mel_relative_error(cfg.audio) if cfg.vocoder.harmonic else None)
    factory = manifest.setdefault("factory", {})
    factory.setdefault("config", {})["vocoder"] = dataclasses.asdict(cfg.vocoder)
    factory["vocoder_revision"] = git_revision()
    factory["vocoder_of_metrics"] = previous  # the vocoder metrics.json's audio figures were measured with
    manifest["files"] = files_entry(pack)
    write_manifest(pack, manifest)
    log_path = pack / "build_log.json"
    log = json.loads(log_path.read_text())
    log["parity_max_abs_error"][manifest["vocoder"]["file"]] = parity
    log_path.write_text(json.dumps(log, indent=1))
    return {"pack": str(pack), "vocoder": manifest["files"][manifest["vocoder"]["file"]], "parity": parity}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path)
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    torch.manual_seed(0)
    print(json.dumps(ship_vocoder(cfg, args.pack or default_out(cfg)), indent=2))


if __name__ == "__main__":
    main()
