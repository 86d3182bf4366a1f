"""Rebuild a whole pack, stage by stage; every stage skips or resumes what is already done.

Usage: python -m soundstep_factory.build --config small   (-> public/models/soundstep-small)
       python -m soundstep_factory.build --config micro   (~2 minutes, -> factory/work/micro/pack)
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from . import train
from .config import default_out, load_config
from .data import DataConfig, render_dataset
from .export import export_pack
from .text import export_text_encoder


def build(config: str, out: Path | None = None) -> dict:
    cfg = load_config(config)
    timings = {}

    def stage(name, fn):
        started = time.time()
        print(f"== {name}", flush=True)
        fn()
        timings[name] = round(time.time() - started, 1)

    stage("data", lambda: render_dataset(DataConfig.for_pack(cfg), cfg.work_dir / "data"))
    stage("text", lambda: (cfg.work_dir / "text" / "text_info.json").exists() or export_text_encoder(cfg, cfg.work_dir / "text"))
    stage("features", lambda: train.features(cfg))
    stage("vae", lambda: train.train_vae(cfg))
    stage("latents", lambda: train.latents(cfg))
    if cfg.vae.decoder_steps > 0:
        stage("vae-decoder", lambda: train.train_vae_decoder(cfg))
    stage("vocoder", lambda: train.train_vocoder(cfg))
    if cfg.vocoder.gan_steps > 0:
        stage("vocoder-gan", lambda: train.train_vocoder_gan(cfg))
    if cfg.vocoder.low_band_steps > 0:
        stage("vocoder-low", lambda: train.train_vocoder_low(cfg))
    stage("teacher", lambda: train.train_teacher(cfg))
    result = {}
    stage("export", lambda: result.update(export_pack(cfg, out or default_out(cfg))))
    result["stage_seconds"] = timings
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the data stage reports through logging
    print(json.dumps(build(args.config, args.out), indent=2))


if __name__ == "__main__":
    main()
