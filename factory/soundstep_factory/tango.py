"""Tango at full size: a random-weight pipeline in Tango's exact configuration, and its pack.

Usage:
    python -m soundstep_factory.tango --random --out DIR [--tiny] [--seed 0]
    python -m soundstep_factory.tango --from DIR --out PACK
    python -m soundstep_factory.tango --from-release TANGO_DIR --out DIR [--tokenizer FLAN_T5_DIR]

`--random` writes the diffusers/transformers folder layout a converted Tango checkpoint has:
unet/, vae/, vocoder/, text_encoder/ (each config.json + weights, via save_pretrained),
tokenizer/ (a T5 Unigram tokenizer trained on the factory's captions: tango_tokenizer.py) and
scheduler/. Weights are drawn from one fixed seed, so two runs write the same weights.
`--from` turns such a folder into a soundstep pack (tango_pack.py): 10.24 s clips, an 8 x 256 x 16
latent, external data for graphs over 2 GB, float16 variants, every graph checked against
PyTorch. `--from-release` maps Tango's release files (pytorch_model_main.bin, pytorch_model_vae.bin,
vae_config.json) into that layout (tango_release.py). Everything it writes belongs under
factory/work/ (git-ignored): a full-size folder is about 5 GB, its pack about 7 GB.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from .config import cpu_threads
from .tango_spec import (
    FULL,
    TINY,
    TangoSpec,
    build_scheduler,
    build_text_encoder,
    build_unet,
    build_vae,
    build_vocoder,
    parameter_count,
)
from .tango_tokenizer import build_tokenizer

COMPONENTS = ("unet", "vae", "vocoder", "text_encoder", "tokenizer", "scheduler")
SPEC_FILE = "soundstep_tango.json"  # which spec and seed made a random folder (absent in a converted release)


def build_random(spec: TangoSpec, out: Path, seed: int = 0) -> dict:
    """Every component with random weights from `seed`, saved one at a time (the full-size U-Net
    alone is 3.5 GB of float32, so each is freed before the next is built)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    report: dict = {"spec": spec.to_dict(), "seed": seed, "parameters": {}, "seconds": {}}
    builders = {"unet": build_unet, "vae": build_vae, "vocoder": build_vocoder, "text_encoder": build_text_encoder}
    for offset, (name, build) in enumerate(builders.items()):
        started = time.time()
        torch.manual_seed(seed + offset)  # one stream per component: changing one leaves the others
        model = build(spec)
        report["parameters"][name] = parameter_count(model)
        model.save_pretrained(str(out / name))
        del model
        report["seconds"][name] = round(time.time() - started, 1)
    report["tokenizer"] = build_tokenizer(out / "tokenizer", spec.caption_clips, spec.tokenizer_vocab)
    build_scheduler().save_pretrained(str(out / "scheduler"))
    (out / SPEC_FILE).write_text(json.dumps(report, indent=1))
    return report


def check_layout(folder: Path) -> None:
    """Refuse a folder that lacks a component, naming what is missing and how to make it."""
    missing = [c for c in COMPONENTS if not (folder / c).is_dir()]
    if missing:
        raise SystemExit(f"{folder}: missing {', '.join(f'{m}/' for m in missing)} (expected the diffusers/"
                         "transformers layout of `python -m soundstep_factory.tango --random --out DIR`)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--random", action="store_true", help="build the pipeline with random weights")
    source.add_argument("--from", dest="src", type=Path, help="a pipeline folder to turn into a pack")
    source.add_argument("--from-release", type=Path, help="a folder of Tango's release files to convert")
    ap.add_argument("--out", type=Path, required=True, help="folder to write (replaced if it exists)")
    ap.add_argument("--tiny", action="store_true", help="with --random: the tiny configuration (tests)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="with --from: keep the graphs an interrupted run finished")
    ap.add_argument("--tokenizer", type=Path, help="with --from-release: FLAN-T5's tokenizer folder (not in the release)")
    args = ap.parse_args(argv)
    torch.set_num_threads(cpu_threads())
    if args.random:
        result = build_random(TINY if args.tiny else FULL, args.out, args.seed)
    elif args.from_release is not None:
        from .tango_release import convert_release
        result = convert_release(args.from_release, args.out, args.tokenizer)
    else:
        check_layout(args.src)
        from .tango_pack import export_tango_pack
        result = export_tango_pack(args.src, args.out, args.resume)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
