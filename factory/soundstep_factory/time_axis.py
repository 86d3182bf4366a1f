"""Free the time axis of a pack's graphs, so that one pack makes clips of any multiple of its length.

The U-Net, the VAE and the vocoder are convolutional in time (the U-Net's attention runs over
every latent frame, whatever their number), but torch.onnx.export writes the example input's
length into the graphs' declared shapes unless an axis is named dynamic: the shipped pack's
graphs declare sample (B, 4, 64, 16), and ONNX Runtime refuses any other length before it
computes anything ("Got invalid dimensions for input: sample ... Expected: 64"). Nothing inside
the graphs depends on 64 (no Reshape holds it: they were exported with the batch dynamic, so
their reshapes read shapes at run time), so naming the time axes is all a pack needs:

    denoiser     sample, v_prediction  (B, C, T, F)       axis 2: T
    vae_decoder  latent (B, C, T, F) -> log_mel (B, 1, frames, mels)
    vae_encoder  log_mel (B, 1, frames, mels) -> latent (B, C, T, F)
    vocoder      log_mel (B, mels, frames) -> waveform (B, samples)

graphs.py now exports every new pack with these axes (TIME_AXES); `free_pack` rewrites an
existing pack's declarations in place of a re-export (weights and nodes untouched, byte for byte)
and re-hashes its manifest.

    python -m soundstep_factory.time_axis PACK_DIR [OUT_DIR]     # OUT_DIR defaults to PACK_DIR
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import onnx

from .manifest import MANIFEST, files_entry, write_manifest

# graph input/output name -> (axis, symbolic name): what each graph's time axis is called
DENOISER_TIME = {"sample": (2, "T"), "v_prediction": (2, "T")}
VAE_DECODER_TIME = {"latent": (2, "T"), "log_mel": (2, "frames")}
VAE_ENCODER_TIME = {"log_mel": (2, "frames"), "latent": (2, "T")}
VOCODER_TIME = {"log_mel": (2, "frames"), "waveform": (1, "samples")}


def free_time_axis(model: onnx.ModelProto, axes: dict[str, tuple[int, str]]) -> list[str]:
    """Rename the fixed time dimension of each named input and output to a symbol; returns
    "name[axis]: 64 -> T" for each change. The intermediate value_info shapes (written by shape
    inference at export) are dropped, since they hold the old length; ONNX Runtime infers them again."""
    changed = []
    for value in [*model.graph.input, *model.graph.output]:
        if value.name not in axes:
            continue
        axis, label = axes[value.name]
        dim = value.type.tensor_type.shape.dim[axis]
        if dim.HasField("dim_param") and dim.dim_param == label:
            continue
        changed.append(f"{value.name}[{axis}]: {dim.dim_value or dim.dim_param} -> {label}")
        dim.ClearField("dim_value")
        dim.dim_param = label
    if changed:
        del model.graph.value_info[:]
    return changed


def pack_graphs(manifest: dict) -> dict[str, dict[str, tuple[int, str]]]:
    """Each graph file of a manifest with its time axes (students may share a file: once each)."""
    graphs = {d["file"]: DENOISER_TIME for d in manifest["denoisers"]}
    graphs[manifest["vae_decoder"]["file"]] = VAE_DECODER_TIME
    graphs[manifest["vocoder"]["file"]] = VOCODER_TIME
    if manifest.get("vae_encoder"):
        graphs[manifest["vae_encoder"]["file"]] = VAE_ENCODER_TIME
    return graphs


def free_pack(pack: Path, out: Path | None = None) -> dict[str, list[str]]:
    """Free the time axis of every graph of `pack` (written to `out`, a copy, when given) and
    re-hash the manifest's files. Returns the changes per file; a pack already free is unchanged."""
    out = out or pack
    if out != pack:
        shutil.copytree(pack, out, dirs_exist_ok=True)
    manifest = json.loads((out / MANIFEST).read_text())
    changes = {}
    for file, axes in pack_graphs(manifest).items():
        model = onnx.load(str(out / file))
        changed = free_time_axis(model, axes)
        if changed:
            onnx.save(model, str(out / file))
            changes[file] = changed
    if changes:
        manifest["files"] = files_entry(out)
        write_manifest(out, manifest)
    return changes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pack", type=Path)
    ap.add_argument("out", type=Path, nargs="?")
    args = ap.parse_args(argv)
    for file, changed in free_pack(args.pack, args.out).items():
        print(f"{file}: {', '.join(changed)}")


if __name__ == "__main__":
    main()
