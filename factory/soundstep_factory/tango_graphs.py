"""Exporting one graph of a Tango-size pack: parity against PyTorch, external data, stored weights,
float16 variant.

graphs.export_graph does this for the small packs, but keeps each graph in one protobuf, which
cannot exceed 2 GB (the Tango U-Net's float32 weights are 3.5 GB) and quantizes by loading and
saving whole files. Here the same steps (graphs.torch_export, graphs.run_graph, quantize.py,
repack.py's float16 conversion and single-file external data) are arranged so that a graph of
any size works and the PyTorch model is freed before the ONNX copies are made.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from .graphs import (
    PARITY_TOLERANCE,
    STORED_MIN_ELEMENTS,
    STORED_RELATIVE_TOLERANCE,
    relative_rms_error,
    run_graph,
    torch_export,
)
from .quantize import quantize_weights
from .repack import FLOAT16_TOLERANCE, save_graph, to_float16, variant_name

# protobuf's hard limit is 2 GiB per graph; a graph whose weights pass this goes to external data.
EXTERNAL_DATA_BYTES = 2_000_000_000


@dataclass
class GraphJob:
    """One graph of the pack: how to build its PyTorch module and what to feed it."""
    file: str  # pack-relative path of the float32-compute graph
    build: Callable[[], torch.nn.Module]
    inputs: dict[str, torch.Tensor]
    output: str
    axes: dict[str, dict[int, str]]
    storages: tuple[str, ...] = ()  # weight storage to try for the main file, in order (quantize.py)
    float16_kind: str | None = None  # "denoiser" | "vae": add a float16 variant with repack's tolerance
    extra_inputs: list[dict[str, torch.Tensor]] = field(default_factory=list)  # other shapes to check too


def weight_bytes(model: onnx.ModelProto) -> int:
    return sum(int(np.prod(t.dims)) * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
               for t in model.graph.initializer)


def max_error(got: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(max |got - reference|, max |reference|)."""
    return float(np.abs(got - reference).max()), float(np.abs(reference).max())


def check(path: Path, inputs: dict[str, torch.Tensor], reference: np.ndarray, tolerance: float, what: str) -> dict:
    """ONNX Runtime on `path` against the PyTorch reference: max abs error within tolerance x the
    largest |reference| (random weights give outputs far from 1: the tiny vocoder's are ~1e-4)."""
    started = time.time()
    error, scale = max_error(run_graph(path, inputs), reference)
    if not error <= tolerance * scale:
        raise RuntimeError(f"{path.name}: {what} differs from PyTorch by {error:.3e} "
                           f"(> {tolerance} x the largest |output| {scale:.3g})")
    return {"max_abs_error": error, "output_max_abs": scale, "tolerance": tolerance,
            "run_seconds": round(time.time() - started, 1)}


def relative_files(paths: list[Path], pack: Path) -> list[str]:
    return [p.relative_to(pack).as_posix() for p in paths]


def export_job(job: GraphJob, pack: Path, scratch: Path) -> tuple[dict, dict]:
    """Export, check, store. Returns (the manifest fields of the graph: external_data, variants;
    its build-log entry)."""
    started = time.time()
    raw = scratch / Path(job.file).name
    module = job.build().eval()
    torch_export(module, job.inputs, job.output, raw, job.axes)  # big graphs: one file per tensor, as torch writes
    with torch.no_grad():
        references = [module(*inputs.values()).numpy() for inputs in [job.inputs, *job.extra_inputs]]
    del module  # the ONNX copies below need the memory
    log: dict = {"export_seconds": round(time.time() - started, 1),
                 "float32": check(raw, job.inputs, references[0], PARITY_TOLERANCE, "float32")}
    for i, inputs in enumerate(job.extra_inputs):
        log[f"float32_shape_{i + 1}"] = {"shape": list(next(iter(inputs.values())).shape),
                                        **check(raw, inputs, references[i + 1], PARITY_TOLERANCE, "float32")}
    model = onnx.load(str(raw))
    log["float32_weight_bytes"] = weight_bytes(model)
    fields: dict = {}
    if job.float16_kind is not None:  # first: saving with external data empties `model`'s tensors
        fields["variants"] = [float16_variant(job, raw, model, pack, references[0], log)]
    stored = store_main(job, raw, model, pack, references[0], log)
    if len(stored) > 1:
        fields["external_data"] = relative_files(stored[1:], pack)
    del model
    for path in scratch.iterdir():
        path.unlink()
    log["seconds"] = round(time.time() - started, 1)
    return fields, log


def store_main(job: GraphJob, raw: Path, model: onnx.ModelProto, pack: Path, reference: np.ndarray,
               log: dict) -> list[Path]:
    """The main file: the first of job.storages whose output stays within graphs'
    STORED_RELATIVE_TOLERANCE (relative RMS), else float32; external data when it is big."""
    target = pack / job.file
    target.parent.mkdir(parents=True, exist_ok=True)
    for storage in job.storages:
        stats = quantize_weights(raw, target, storage, STORED_MIN_ELEMENTS)
        relative = relative_rms_error(run_graph(target, job.inputs), reference)
        log.setdefault("storage_tried", []).append({"storage": storage, "relative_rms_error": relative,
                                                    "stored_bytes": stats["stored_bytes"]})
        if relative <= STORED_RELATIVE_TOLERANCE:
            log["storage"] = storage
            return [target]
        target.unlink()
    log["storage"] = "float32"
    written = save_graph(model, target, weight_bytes(model) > EXTERNAL_DATA_BYTES)
    if len(written) > 1:  # re-saved into one .data file: check it reads back as exported
        log["external_data_check"] = check(target, job.inputs, reference, PARITY_TOLERANCE, "with external data")
    return written


def float16_variant(job: GraphJob, raw: Path, model: onnx.ModelProto, pack: Path, reference: np.ndarray,
                    log: dict) -> dict:
    """float16 weights and compute, float32 inputs and outputs (repack.to_float16), checked against
    PyTorch within repack.FLOAT16_TOLERANCE of its kind."""
    assert job.float16_kind is not None
    warnings: list[str] = []
    if weight_bytes(model) > EXTERNAL_DATA_BYTES:
        # the converter's shape inference serializes the whole model, which protobuf refuses over
        # 2 GB: infer from the file instead (its external data stays on disk) and convert that
        inferred = raw.with_name(f"{raw.stem}.shapes.onnx")
        onnx.shape_inference.infer_shapes_path(str(raw), str(inferred))
        half = to_float16(onnx.load(str(inferred)), warnings, shapes_inferred=True)
        inferred.unlink()
    else:
        half = to_float16(model, warnings)
    file = variant_name(job.file)
    written = save_graph(half, pack / file, weight_bytes(half) > EXTERNAL_DATA_BYTES)
    del half
    log["float16"] = check(pack / file, job.inputs, reference, FLOAT16_TOLERANCE[job.float16_kind], "float16")
    log["float16"]["converter_warnings"] = sorted(set(warnings))
    variant: dict = {"dtype": "float16", "file": file}
    if len(written) > 1:
        variant["external_data"] = relative_files(written[1:], pack)
    return variant
