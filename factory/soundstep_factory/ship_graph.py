"""Put a recipe's trained vocoder or VAE decoder into an existing pack, leaving every other graph as it is.

Usage: python -m soundstep_factory.ship_graph --config small [--pack public/models/soundstep-small]
       python -m soundstep_factory.ship_graph --part vae-decoder --config small-next-dec \
           --pack ../public/models/soundstep-small-next

The vocoder reads the pack's log-mel and nothing else, and the VAE decoder reads the latents its
encoder made (a decoder trained on the frozen encoder's latents: VaeConfig.separate_decoder), so a
better one ships on its own. The graph is exported and checked as `export` does (ONNX Runtime
against PyTorch, then the stored weights against float32), the manifest is rewritten through the one
manifest writer (the files' sizes and hashes, and the recipe's settings for that part under
factory.config), golden.json's end of the trajectory (log_mel_sum, waveform_rms) is computed again
through the pack's graphs from its last stored z, and the build log keeps the new graph's parity.
The pack's metrics.json was measured with the graph it replaces: factory.<part>_of_metrics names
that graph's SHA-256 until `evaluate --stage decode` and the table measure it again.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .checkpoint import git_revision, load_features
from .config import PackConfig, default_out, load_config
from .graphs import VAE_DECODER_AXES, VaeDecoderGraph, VocoderGraph, export_graph, log_mel_relative_error
from .manifest import files_entry, write_manifest
from .pitch_net import shipped_vocoder


def _check_front_end(cfg: PackConfig, manifest: dict, pack: Path) -> None:
    theirs = {k: manifest["audio"][k] for k in ("sample_rate", "n_fft", "hop_length", "n_mels", "f_min", "f_max")}
    ours = {k: getattr(cfg.audio, k) for k in theirs}
    if theirs != ours:
        raise ValueError(f"{pack}: its mel front end {theirs} is not the recipe's {ours}")


def refresh_golden(pack: Path, manifest: dict) -> dict:
    """golden.json's log_mel_sum and waveform_rms from its trajectory's last z through the pack's
    VAE decoder and vocoder (export.golden_trajectory's last two stages); returns the new values."""
    path = pack / manifest["golden"]
    golden = json.loads(path.read_text())
    t = golden["trajectory"]

    def run(key: str, feeds: dict) -> np.ndarray:
        session = ort.InferenceSession(str(pack / manifest[key]["file"]), providers=["CPUExecutionProvider"])
        return session.run(None, feeds)[0]

    z = np.asarray(t["z"][-1], dtype=np.float32).reshape(1, *t["latent_shape"])  # (1, C, T, F), scaled
    log_mel = run("vae_decoder", {"latent": z / np.float32(manifest["latent"]["scale"])})  # (1, 1, frames, mels)
    wave = run("vocoder", {"log_mel": np.ascontiguousarray(log_mel[:, 0].transpose(0, 2, 1))})  # (1, samples)
    t["log_mel_sum"], t["waveform_rms"] = float(log_mel.sum()), float(np.sqrt(np.mean(wave ** 2)))
    path.write_text(json.dumps(golden))
    return {"log_mel_sum": t["log_mel_sum"], "waveform_rms": t["waveform_rms"]}


def _record(pack: Path, manifest: dict, key: str, config_key: str, config: object, parity: dict) -> dict:
    """The manifest, golden.json and build log after `key`'s graph was written into `pack`."""
    file = manifest[key]["file"]
    factory = manifest.setdefault("factory", {})
    factory.setdefault("config", {})[config_key] = dataclasses.asdict(config)  # type: ignore[call-overload]
    factory[f"{key}_revision"] = git_revision()
    factory.setdefault(f"{key}_of_metrics", manifest["files"][file]["sha256"])  # what metrics.json measured
    golden = refresh_golden(pack, manifest)
    log_path = pack / "build_log.json"
    log = json.loads(log_path.read_text())
    log["parity_max_abs_error"][file] = parity
    log_path.write_text(json.dumps(log, indent=1))
    manifest["files"] = files_entry(pack)  # last: every file above is final
    write_manifest(pack, manifest)
    return {"pack": str(pack), key: manifest["files"][file], "parity": parity, "golden": golden}


def ship_vocoder(cfg: PackConfig, pack: Path) -> dict:
    """Export cfg's vocoder checkpoint into `pack` as its vocoder graph; returns the parity report."""
    manifest = json.loads((pack / "manifest.json").read_text())
    _check_front_end(cfg, manifest, pack)
    mel = load_features(cfg, split="test")["mel"][:1].transpose(1, 2).contiguous()  # (1, mels, frames)
    parity = export_graph(VocoderGraph(shipped_vocoder(cfg)), {"log_mel": mel}, "waveform",
                          pack / manifest["vocoder"]["file"], {"log_mel": {0: "B"}, "waveform": {0: "B"}},
                          cfg.vocoder.storage, stored_error=log_mel_relative_error(cfg.audio),
                          parity_error=log_mel_relative_error(cfg.audio) if cfg.vocoder.harmonic else None)
    return _record(pack, manifest, "vocoder", "vocoder", cfg.vocoder, parity)


def ship_vae_decoder(cfg: PackConfig, pack: Path) -> dict:
    """Export cfg's vae-decoder checkpoint into `pack` as its VAE decoder; the pack's encoder and
    latent scale must be the recipe's (the decoder was trained on those latents)."""
    from .train import load_vae_decoder, vae_stage

    manifest = json.loads((pack / "manifest.json").read_text())
    _check_front_end(cfg, manifest, pack)
    if vae_stage(cfg) != "vae-decoder":
        raise ValueError(f"recipe {cfg.recipe} trains no decoder of its own (vae.decoder_steps is 0)")
    scale = torch.load(cfg.work_dir / "latents.pt", weights_only=False)["scale"]
    if abs(scale - manifest["latent"]["scale"]) > 1e-6 * abs(scale):
        raise ValueError(f"{pack}: its latent scale {manifest['latent']['scale']} is not the one recipe "
                         f"{cfg.recipe}'s decoder was trained on ({scale}): another encoder")
    lat = manifest["latent"]
    z = torch.randn(1, lat["channels"], lat["frames"], lat["bins"], generator=torch.Generator().manual_seed(0))
    parity = export_graph(VaeDecoderGraph(load_vae_decoder(cfg)), {"latent": z}, "log_mel",
                          pack / manifest["vae_decoder"]["file"], VAE_DECODER_AXES, cfg.vae.storage)
    return _record(pack, manifest, "vae_decoder", "vae", cfg.vae, parity)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["vocoder", "vae-decoder"], default="vocoder")
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path)
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    torch.manual_seed(0)
    ship = ship_vocoder if args.part == "vocoder" else ship_vae_decoder
    print(json.dumps(ship(cfg, args.pack or default_out(cfg)), indent=2))


if __name__ == "__main__":
    main()
