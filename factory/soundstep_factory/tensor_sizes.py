"""The largest weight tensor of each pack graph, as the GPU will hold it: the manifest's
`largest_tensor_bytes` (docs/pack-format.md), which the app compares with a WebGPU adapter's
maxBufferSize and maxStorageBufferBindingSize before downloading (src/runtime/capacity.ts).

ONNX Runtime's WebGPU backend gives each weight its own GPU buffer. A weight stored compressed
(quantize.py: int8 or float16, restored by Cast) reaches the GPU in the Cast's element type:
folded into a float32 initializer when the session loads, or cast at run time when folding is off
(graphs over 256 MiB, src/runtime/session-options.ts), a float32 tensor of the same size either
way. So a tensor read by a Cast counts at the Cast's output width, any other at its own.

Only the graph protobuf is read (external data stays on disk): shapes and types are enough.

Usage (refresh an existing pack's manifest; write_manifest fills the fields for new packs):
    python -m soundstep_factory.tensor_sizes PACK_DIR
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import onnx
from onnx import helper


def _itemsize(data_type: int) -> int:
    return helper.tensor_dtype_to_np_dtype(data_type).itemsize


def largest_tensor_bytes(graph_path: Path) -> int:
    """Bytes of the graph's largest initializer or Constant, at the width it is computed in."""
    model = onnx.load(str(graph_path), load_external_data=False)
    tensors = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value" and a.HasField("t")), None)
            if value is not None:
                tensors[node.output[0]] = value
    width = {name: _itemsize(t.data_type) for name, t in tensors.items()}
    for node in model.graph.node:
        if node.op_type == "Cast" and node.input[0] in width:
            to = next(a.i for a in node.attribute if a.name == "to")
            width[node.input[0]] = max(width[node.input[0]], _itemsize(to))
    return max((math.prod(t.dims) * width[name] for name, t in tensors.items()), default=0)


def _graph_entries(manifest: dict):
    """(entry, field, graph file) for every graph file the manifest names, variants included."""
    text = manifest["text"]
    yield text, "encoder_largest_tensor_bytes", text["encoder"]
    for variant in text.get("encoder_variants", []):
        yield variant, "largest_tensor_bytes", variant["file"]
    graphs = [manifest[k] for k in ("vae_encoder", "vae_decoder", "vocoder") if manifest.get(k)]
    for graph in graphs + list(manifest["denoisers"]):
        yield graph, "largest_tensor_bytes", graph["file"]
        for variant in graph.get("variants", []):
            yield variant, "largest_tensor_bytes", variant["file"]


def with_tensor_sizes(pack: Path, manifest: dict) -> dict:
    """`manifest` with largest_tensor_bytes set on every graph entry and variant whose file is in
    `pack` (entries whose file is missing are left as they are). Changes `manifest` in place."""
    for entry, field, file in _graph_entries(manifest):
        path = pack / file
        if path.is_file():
            size = largest_tensor_bytes(path)
            if size > 0:
                entry[field] = size
    return manifest


def main(argv: list[str] | None = None) -> None:
    from .manifest import MANIFEST, write_manifest  # write_manifest calls with_tensor_sizes
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pack", type=Path)
    pack = parser.parse_args(argv).pack
    manifest = json.loads((pack / MANIFEST).read_text())
    write_manifest(pack, manifest)
    for entry, field, file in _graph_entries(manifest):
        print(f"{file}: {entry.get(field, 'missing')} bytes")


if __name__ == "__main__":
    main()
