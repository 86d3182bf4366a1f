"""An int8-arithmetic variant of the pack's default student, for the app's WASM backend.

Usage: python -m soundstep_factory.int8_variant --config small-next-loud --pack ../public/models/soundstep-small-next

Why: the pack stores a student's weights as int8, but ONNX Runtime restores them to float32 at load
(docs/speed.md), so every Conv and MatMul runs in float32. Static quantization (QDQ: QuantizeLinear
and DequantizeLinear around each Conv, Gemm and weight MatMul, weights per output channel, activations
uint8 with ranges calibrated on the student's own sampling trajectories) lets onnxruntime-web's WASM
build run them as int8 kernels: the denoising steps took 0.68-0.88x their float32 time in Chromium
(docs/speed.md; onnxruntime-node takes the same time either way). The attention's own products
(queries x keys, weights x values: both operands activations) stay float32, and so does their
softmax: quantized, they cost more than they saved (without them an evaluation takes 0.87-0.92x the
time; docs/speed.md, "The attention products in float32"). WebGPU has no QuantizeLinear kernel, so
the app loads the variant on WASM only (src/runtime/graphs.ts selectPrecision), and the student's
own file stays what WebGPU, the CLI, the factory and the pack's figures use.

What changes: denoisers/<id>.int8.onnx, the student's `variants` (dtype "int8"), `files`, and
build_log.json's `int8_relative_error` (mean squared error of v against the float graph over held-out
calibration inputs, relative to v's mean square). Every other file stays byte for byte. Only the
default student gets one: a variant per student would not fit the pack's 100 MB.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from . import sampling
from .config import PackConfig
from .generate import PackRunner, noise_for
from .manifest import PackRefusal, files_entry, files_within_budget, write_manifest
from .pack_cli import pack_tool_main

__all__ = ["CALIBRATION_PROMPTS", "add_int8_variant", "attention_products", "calibration_feeds", "relative_error",
           "variant_file"]

# Everyday prompts across the pack's kinds of sound: calibration sets each activation's range, so
# it should see speech, music, noise and silence-heavy clips at every step of the sampler.
CALIBRATION_PROMPTS = ("a dog barks", "a woman speaking", "rain falling", "a trumpet plays while a woman speaks",
                       "a low piano note", "static noise", "a siren wails", "birds chirping", "a man speaking",
                       "applause")
QUANTIZED_OPS = ["Conv", "MatMul", "Gemm"]
Feed = dict[str, np.ndarray]


def variant_file(graph_file: str) -> str:
    """denoisers/bsa-25.onnx -> denoisers/bsa-25.int8.onnx"""
    return graph_file.removesuffix(".onnx") + ".int8.onnx"


def calibration_feeds(runner: PackRunner, denoiser: str, prompts: tuple[str, ...] = CALIBRATION_PROMPTS,
                      seed: int = 7) -> list[Feed]:
    """The batch-1 inputs the student sees while sampling `prompts` at its own step count (the
    app's sampler, sampling.sample): len(prompts) x steps feeds."""
    [steps] = runner.entries[denoiser]["steps"]
    hidden, mask = runner.encode(list(prompts))
    feeds: list[Feed] = []

    def denoise(z: torch.Tensor, t: int) -> torch.Tensor:  # (N, C, T, F), unguided: a student
        for i in range(len(z)):
            feeds.append({"sample": z[i:i + 1].numpy().astype(np.float32), "timestep": np.array([t], dtype=np.int64),
                          "encoder_hidden_states": hidden[i:i + 1].astype(np.float32),
                          "encoder_attention_mask": mask[i:i + 1].astype(np.int64)})
        return torch.from_numpy(runner.velocity(denoiser, z.numpy(), t, hidden, mask))

    noise = torch.from_numpy(noise_for(seed, len(prompts), runner.latent_shape))
    sampling.sample(denoise, noise, sampling.trailing_grid(steps), sampling.alphas_cumprod())
    return feeds


def quantize(graph: Path, out: Path, feeds: list[Feed]) -> None:
    """Static QDQ quantization of `graph` (int8-stored weights are restored to float32 first, by
    ORT's basic constant folding, so that the quantizer sees float weights)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter(feeds)

        def get_next(self) -> Feed | None:
            return next(self.rows, None)

    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "float32.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        quantize_static(str(folded), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=QUANTIZED_OPS, nodes_to_exclude=attention_products(onnx.load(folded)))


def attention_products(model: onnx.ModelProto) -> list[str]:
    """The MatMul nodes with no weight among their inputs: an attention's queries x keys and its
    weights x values (every other MatMul multiplies by a parameter, folded to an initializer)."""
    params = {t.name for t in model.graph.initializer} | {n.output[0] for n in model.graph.node if n.op_type == "Constant"}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and not params.intersection(n.input)]


def relative_error(variant: Path, reference: Path, feeds: list[Feed]) -> float:
    """mean((v_variant - v_ref)^2) / mean(v_ref^2) over `feeds`."""
    a, b = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (variant, reference))
    err = ref = 0.0
    for feed in feeds:
        v_ref = b.run(None, feed)[0]
        err += float(np.mean((a.run(None, feed)[0] - v_ref) ** 2))
        ref += float(np.mean(v_ref ** 2))
    return err / ref


def add_int8_variant(cfg: PackConfig, pack: Path) -> dict:
    """Write the default student's int8 variant into `pack` (replacing an earlier one); returns its
    file, relative error and the pack's new size. Refuses, changing nothing, past pack_budget_mb."""
    manifest = json.loads((pack / "manifest.json").read_text())
    student = next(d for d in manifest["denoisers"] if d["id"] == manifest["default_denoiser"])
    if student["role"] != "student":
        raise PackRefusal(f"{pack}: the default denoiser {student['id']} is not a student; an int8 variant is "
                          "calibrated on a student's own sampling steps")
    runner = PackRunner(pack)
    feeds = calibration_feeds(runner, student["id"])
    file = variant_file(student["file"])
    path = pack / file
    before = path.read_bytes() if path.exists() else None
    quantize(pack / student["file"], path, feeds[0::2])  # even steps calibrate, odd ones measure
    error = relative_error(path, pack / student["file"], feeds[1::2])
    files_within_budget(pack, path, before, file, cfg.pack_budget_mb)
    student["variants"] = [v for v in student.get("variants", []) if v["dtype"] != "int8"] + [
        {"dtype": "int8", "file": file}]
    log_path = pack / "build_log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    log.setdefault("int8_relative_error", {})[file] = error
    log_path.write_text(json.dumps(log, indent=1))
    manifest["files"] = files_entry(pack)
    write_manifest(pack, manifest)
    total = sum(f["bytes"] for f in manifest["files"].values())
    return {"pack": str(pack), "added": file, "int8_relative_error": error, "bytes": total}


def main(argv: list[str] | None = None) -> None:
    pack_tool_main(__doc__, add_int8_variant, "the recipe that built the pack (its pack_budget_mb applies)",
                   "the pack folder (with manifest.json) whose default student gets an int8 variant", argv)


if __name__ == "__main__":
    main()
