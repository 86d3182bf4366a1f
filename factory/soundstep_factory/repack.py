"""Repack a model pack: weights in ONNX external-data files, float16 variants, parity checked.

Usage: python -m soundstep_factory.repack --src public/models/soundstep-small --dst /tmp/repacked \\
           [--external-data] [--fp16]

Why: a Tango-size graph cannot hold its weights inside the protobuf (2 GB limit), so PyTorch
and ONNX Runtime export them to `<graph>.onnx.data` next to the graph; and float16 weights halve
the download and run faster on WebGPU adapters with shader-f16. This command rewrites a pack
into that layout (docs/pack-format.md "External data and variants") so the app's loader is
exercised on it without a Tango-size model:

- `--external-data`: every graph is saved with its tensors in `<graph>.data` (listed per
  graph in `external_data`, and in `files`);
- `--fp16`: each denoiser and the VAE decoder get a float16 variant
  (`<graph>.fp16.onnx`, float16 compute, float32 inputs and outputs) in `variants`.
  The int8 text encoder keeps one graph: its weights are already 8-bit; so does the vocoder,
  whose phase sums need float32 arithmetic (FLOAT16_KINDS).
- an int8-arithmetic variant (int8_variant.py) is copied over as it is.

Every rewritten graph is run by ONNX Runtime (CPU, one thread) on fixed inputs against the
source graph: float32 graphs must give identical outputs, float16 variants must stay within
FLOAT16_TOLERANCE (max abs error relative to the largest |output|, written to repack_log.json
and the manifest's factory.repack).
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto
from onnxconverter_common import float16

from .files import sha256
from .manifest import FORMAT, MANIFEST, files_entry, write_manifest

REPACK_LOG = "repack_log.json"
# Tensors smaller than this stay inside the graph (shapes, scalars); the rest go to .data.
EXTERNAL_SIZE_THRESHOLD = 1024
# Max abs error of a float16 variant against its float32 graph on the fixed inputs below,
# relative to the largest |output| there. Measured on soundstep-small: teacher 1.7e-3, students
# 1.7e-3 to 3.3e-2 (min-snr-25; distilled U-Nets have wider activations), VAE log-mel 5.7e-4.
FLOAT16_TOLERANCE = {"denoiser": 5e-2, "vae": 5e-3}
# Graph kinds that get a float16 variant. Not the text encoder (int8 already), nor the vocoder:
# it sums phase advances over frames (up to 800 rad), which float16 arithmetic (a step of 0.5 rad
# there) cannot hold; it is 1.9 MB, float16 weights inside a float32 graph already.
FLOAT16_KINDS = ("denoiser", "vae")


@dataclass
class Graph:
    """One graph entry of the manifest: where it is named and what it computes."""
    kind: str  # text | denoiser | vae | vocoder
    field: str  # e.g. "denoisers[0]"
    file: str  # pack-relative path of the float32 graph
    entry: dict  # the manifest object that holds the graph's storage fields
    prefix: str = ""  # "encoder_" for the text encoder (its fields live on manifest.text)


@dataclass
class Parity:
    file: str
    reference: str
    dtype: str
    max_abs_error: float
    tolerance: float
    output: str
    output_max_abs: float


@dataclass
class RepackResult:
    dst: str
    bytes: int
    seconds: float
    external_data: bool
    fp16: bool
    parity: list[Parity] = field(default_factory=list)
    converter_warnings: list[str] = field(default_factory=list)


def pack_graphs(manifest: dict) -> list[Graph]:
    """Every ONNX graph the manifest names, in the app's session order."""
    graphs = [Graph("text", "text.encoder", manifest["text"]["encoder"], manifest["text"], "encoder_")]
    graphs += [Graph("denoiser", f"denoisers[{i}]", d["file"], d) for i, d in enumerate(manifest["denoisers"])]
    graphs += [Graph("vae", "vae_decoder", manifest["vae_decoder"]["file"], manifest["vae_decoder"]),
               Graph("vocoder", "vocoder", manifest["vocoder"]["file"], manifest["vocoder"])]
    return graphs


# ---------------------------------------------------------------------------------------
# Fixed inputs: the golden trajectory's first step when the pack has golden.json
# ---------------------------------------------------------------------------------------

def session(model: Path | onnx.ModelProto) -> ort.InferenceSession:
    """A one-thread CPU session: the same graph and weights then give bit-identical outputs."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def fixed_inputs(src: Path, manifest: dict) -> dict[str, dict[str, np.ndarray]]:
    """Inputs per graph kind. With golden.json: its prompt ids, its first-step noise and
    timestep, the text encoder's states on those ids, its final latent, and the VAE's log-mel
    of it; without: seeded random tensors of the manifest's shapes."""
    lat, text = manifest["latent"], manifest["text"]
    C, T, F, L, H = lat["channels"], lat["frames"], lat["bins"], text["max_tokens"], text["hidden_size"]
    rng = np.random.default_rng(0)
    golden_file = manifest.get("golden")
    traj = json.loads((src / golden_file).read_text())["trajectory"] if golden_file else None
    if traj:
        ids = np.array(traj["input_ids"], dtype=np.int64)  # (2, L): cond, uncond
        mask = np.array(traj["attention_mask"], dtype=np.int64)  # (2, L)
        noise = np.array(traj["noise"], dtype=np.float32).reshape(1, C, T, F)
        sample = np.concatenate([noise, noise])  # (2, C, T, F)
        timestep = np.array([traj["timesteps"][0]] * 2, dtype=np.int64)  # (2,)
        latent = (np.array(traj["z"][-1], dtype=np.float32) / lat["scale"]).reshape(1, C, T, F)
    else:
        ids = rng.integers(1, 1000, size=(2, L), dtype=np.int64)
        mask = np.ones((2, L), dtype=np.int64)
        sample = rng.standard_normal((2, C, T, F), dtype=np.float32)
        timestep = np.array([999, 500], dtype=np.int64)
        latent = rng.standard_normal((1, C, T, F), dtype=np.float32)
    text_in = {"input_ids": ids, "attention_mask": mask}
    hidden = session(src / text["encoder"]).run(["last_hidden_state"], text_in)[0]  # (2, L, H)
    assert hidden.shape == (2, L, H), hidden.shape
    log_mel = session(src / manifest["vae_decoder"]["file"]).run(["log_mel"], {"latent": latent})[0]  # (1, 1, frames, mels)
    return {
        "text": text_in,
        "denoiser": {"sample": sample, "timestep": timestep, "encoder_hidden_states": hidden,
                     "encoder_attention_mask": mask},
        "vae": {"latent": latent},
        "vocoder": {"log_mel": np.ascontiguousarray(log_mel[:, 0].transpose(0, 2, 1))},  # (1, mels, frames)
    }


OUTPUTS = {"text": "last_hidden_state", "denoiser": "v_prediction", "vae": "log_mel", "vocoder": "waveform"}


# ---------------------------------------------------------------------------------------
# Rewriting graphs
# ---------------------------------------------------------------------------------------

def save_graph(model: onnx.ModelProto, path: Path, external_data: bool) -> list[Path]:
    """Write `model` to `path`; with external data its tensors go to `<name>.data` beside it.
    Returns the files written (graph first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not external_data:
        onnx.save_model(model, str(path))
        return [path]
    data = path.with_name(path.name + ".data")
    if data.exists():
        data.unlink()  # onnx appends to an existing data file
    # the location is relative to the graph's folder: the app passes it back under that name
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=EXTERNAL_SIZE_THRESHOLD, convert_attribute=False)
    return [path, data] if data.exists() else [path]


def fix_float_casts(model: onnx.ModelProto) -> int:
    """Cast(to=FLOAT) nodes inside a converted graph must cast to FLOAT16.

    convert_float_to_float16 retypes every float tensor to float16 (so a Cast's output is
    recorded as float16) but leaves the Cast's `to` attribute at FLOAT, which ONNX Runtime
    refuses ("Type (tensor(float16)) of output arg ... does not match expected type"). Those
    casts (int timestep -> float, shape arithmetic) now produce float16. Returns how many changed."""
    types = {v.name: v.type.tensor_type.elem_type for v in [*model.graph.value_info, *model.graph.output]}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "Cast":
            continue
        to = next(a for a in node.attribute if a.name == "to")
        if to.i == TensorProto.FLOAT and types.get(node.output[0]) == TensorProto.FLOAT16:
            to.i = TensorProto.FLOAT16
            changed += 1
    return changed


def to_float16(model: onnx.ModelProto, warnings_out: list[str], shapes_inferred: bool = False) -> onnx.ModelProto:
    """float16 weights and compute, float32 graph inputs and outputs (keep_io_types).
    `shapes_inferred`: the model already carries inferred value_info (a graph over 2 GB, whose
    in-memory shape inference cannot serialize it: see tango_graphs.float16_variant)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # check_fp16_ready=False: a graph may already store some weights as float16 (restored to
        # float32 by Cast nodes, see quantize.py); converting the rest is what we want.
        half = float16.convert_float_to_float16(copy.deepcopy(model), keep_io_types=True, check_fp16_ready=False,
                                                disable_shape_infer=shapes_inferred)
    warnings_out += sorted({str(w.message).splitlines()[0] for w in caught})
    fix_float_casts(half)
    return half


def io_types(model: onnx.ModelProto) -> dict[str, int]:
    return {v.name: v.type.tensor_type.elem_type for v in [*model.graph.input, *model.graph.output]}


def compare(reference: ort.InferenceSession, candidate: ort.InferenceSession, feeds: dict, output: str) -> tuple[float, float]:
    """(max |candidate - reference|, max |reference|) of `output` on `feeds`."""
    ref = reference.run([output], feeds)[0]
    got = candidate.run([output], feeds)[0]
    if got.dtype != np.float32 or got.shape != ref.shape:
        raise RuntimeError(f"output {output} is {got.dtype} {got.shape}, expected float32 {ref.shape}")
    return float(np.abs(got - ref).max()), float(np.abs(ref).max())


# ---------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------

def variant_name(file: str) -> str:
    """denoisers/teacher.onnx -> denoisers/teacher.fp16.onnx"""
    return file[: -len(".onnx")] + ".fp16.onnx" if file.endswith(".onnx") else file + ".fp16"


def carry_int8_variants(g: Graph, src: Path, dst: Path) -> list[dict]:
    """Copy the graph's int8-arithmetic variants (int8_variant.py) as they are, byte for byte: a
    QDQ graph is already quantized, so it is neither converted to float16 nor made again here.
    Returns their manifest entries, unchanged, for the new pack."""
    kept = [v for v in g.entry.get(f"{g.prefix}variants", []) if v["dtype"] == "int8"]
    for name in (name for v in kept for name in (v["file"], *v.get("external_data", []))):
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / name, dst / name)
    return kept


def repack(src: Path, dst: Path, external_data: bool = True, fp16: bool = True) -> RepackResult:
    started = time.time()
    src, dst = src.resolve(), dst.resolve()
    manifest = json.loads((src / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise SystemExit(f"{src / MANIFEST}: not a {FORMAT} manifest (format {manifest.get('format')!r})")
    if dst == src or src in dst.parents:
        raise SystemExit(f"--dst {dst} must not be the source pack or inside it")
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    out = copy.deepcopy(manifest)
    graphs = pack_graphs(out)
    graph_files = set()
    for g in graphs:  # files that belong to graphs are rewritten, not copied
        graph_files.add(g.file)
        graph_files.update(g.entry.get(f"{g.prefix}external_data", []))
        for v in g.entry.get(f"{g.prefix}variants", []):
            graph_files.update([v["file"], *v.get("external_data", [])])
    for name in manifest["files"]:
        if name not in graph_files and name != REPACK_LOG:
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dst / name)

    feeds = fixed_inputs(src, manifest)
    result = RepackResult(dst=str(dst), bytes=0, seconds=0.0, external_data=external_data, fp16=fp16)
    for g in graphs:
        model = onnx.load(str(src / g.file))  # external data of the source, if any, is read too
        reference = session(src / g.file)
        output = OUTPUTS[g.kind]
        kept = carry_int8_variants(g, src, dst)
        for key in ("external_data", "variants"):
            g.entry.pop(f"{g.prefix}{key}", None)

        # 1. float32, re-saved (with external data): must give identical outputs
        written = save_graph(copy.deepcopy(model), dst / g.file, external_data)
        if len(written) > 1:
            g.entry[f"{g.prefix}external_data"] = [p.relative_to(dst).as_posix() for p in written[1:]]
        error, scale = compare(reference, session(dst / g.file), feeds[g.kind], output)
        result.parity.append(Parity(g.file, g.file, "float32", error, 0.0, output, scale))
        if error != 0.0:
            raise RuntimeError(f"{g.file}: the re-saved graph differs from the source by {error:.3e} (must be identical)")

        # 2. float16 variant: within FLOAT16_TOLERANCE, float32 inputs and outputs kept
        if fp16 and g.kind in FLOAT16_KINDS:
            half = to_float16(model, result.converter_warnings)
            if io_types(half) != io_types(model):
                raise RuntimeError(f"{g.file}: the float16 graph changed its input/output types")
            file = variant_name(g.file)
            written = save_graph(half, dst / file, external_data)
            variant: dict[str, str | list[str]] = {"dtype": "float16", "file": file}
            if len(written) > 1:
                variant["external_data"] = [p.relative_to(dst).as_posix() for p in written[1:]]
            g.entry[f"{g.prefix}variants"] = [variant]
            error, scale = compare(reference, session(dst / file), feeds[g.kind], output)
            tolerance = FLOAT16_TOLERANCE[g.kind]
            result.parity.append(Parity(file, g.file, "float16", error, tolerance, output, scale))
            if not error <= tolerance * scale:
                raise RuntimeError(f"{file}: float16 differs from float32 by {error:.3e} "
                                   f"(> {tolerance} x the largest |output| {scale:.3g})")
        if kept:
            g.entry[f"{g.prefix}variants"] = [*g.entry.get(f"{g.prefix}variants", []), *kept]

    result.converter_warnings = sorted(set(result.converter_warnings))
    result.seconds = round(time.time() - started, 1)
    log = {"source": str(src), "source_manifest_sha256": sha256(src / MANIFEST), **asdict(result)}
    log.pop("dst")
    (dst / REPACK_LOG).write_text(json.dumps(log, indent=1))

    out["factory"]["repack"] = {
        "command": "python -m soundstep_factory.repack" + (" --external-data" if external_data else "")
                   + (" --fp16" if fp16 else ""),
        "log": REPACK_LOG,
        "float16_tolerance": {k: FLOAT16_TOLERANCE[k] for k in FLOAT16_KINDS} if fp16 else None,
    }
    out["files"] = files_entry(dst)
    write_manifest(dst, out)
    result.bytes = sum(f["bytes"] for f in out["files"].values())
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, required=True, help="pack folder to read (its manifest.json)")
    ap.add_argument("--dst", type=Path, required=True, help="folder to write (replaced if it exists)")
    ap.add_argument("--external-data", action="store_true", help="graph weights in <graph>.data files")
    ap.add_argument("--fp16", action="store_true", help="add float16 variants of the denoisers, VAE and vocoder")
    args = ap.parse_args()
    if not (args.src / MANIFEST).is_file():
        raise SystemExit(f"--src {args.src}: no {MANIFEST} there (give the folder of a model pack)")
    result = repack(args.src, args.dst, args.external_data, args.fp16)
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
