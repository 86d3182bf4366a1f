"""Candidate U-Nets for the next teacher, timed with random weights (no training), so that its
architecture is chosen by measurement (docs/speed.md, "Architectures by measurement").

Usage (from factory/, SOUNDSTEP_THREADS=1 on a shared machine):
  python -m soundstep_factory.speed_sweep export           # -> work/speed-sweep/<name>/: denoisers/student.onnx,
                                                           #    manifest.json, stats.json
  python -m soundstep_factory.speed_sweep time --passes 2  # bench-denoiser.ts in each of MODES -> timings.json
  python -m soundstep_factory.speed_sweep table            # the markdown table of docs/speed.md
The timing step runs, from the repository root, for the shipped student and each candidate in turn:
  npx tsx src/cli/bench-denoiser.ts factory/work/speed-sweep/<name> --file denoisers/student.onnx \
      --runtime wasm --threads 2 --repeats 10                           # and --runtime node --threads 1
  node --no-liftoff --import tsx src/cli/bench-denoiser.ts ...          # WASM's steady state (MODES)

Each candidate is small-next's UnetConfig with a few fields replaced (CANDIDATES). Its U-Net is
built from a seeded init and exported as pack_students exports a student: DenoiserGraph, batch-2
example inputs, DENOISER_AXES, int8 weights (quantize.py). Its manifest.json is the shipped
small-next pack's, which bench-denoiser.ts reads for the latent and text shapes.

Multiply-accumulates (MACs) are counted on the exported graph at batch 1 and the pack's 32 tokens:
onnxruntime's symbolic shape inference gives every Conv, MatMul and Gemm its shapes, and each
contributes (output elements) x (reduced length). Attention's two products are MatMuls, so they
count; element-wise ops, norms and softmax do not.

diffusers' UNet2DConditionModel reads `attention_head_dim` as the NUMBER of heads (its issue 2011:
`num_attention_heads = num_attention_heads or attention_head_dim`): small-next's 8 is 8 heads of
64 / 8 = 8 channels; 1 is one head of 64 channels; 32 is 32 heads of 2 channels.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

from .config import REPO_DIR, PackConfig, cpu_threads, load_config
from .graphs import DENOISER_AXES, DenoiserGraph, export_graph
from .models import LATENT_DOWNSAMPLE, build_unet
from .pack_students import denoiser_inputs

SHIPPED_PACK = REPO_DIR / "public" / "models" / "soundstep-small-next"
SHIPPED_FILE = "denoisers/bsa-25.onnx"  # the shipped 25-step student: the reference of every ratio
CANDIDATE_FILE = "denoisers/student.onnx"
NPX_TSX = ("npx", "tsx")
# V8 compiles WebAssembly first with its baseline compiler (Liftoff) and recompiles hot functions
# with TurboFan while it runs: in a fresh process, most of 10 runs are baseline code. --no-liftoff
# compiles all of it with TurboFan up front, the steady state of a page that has run a while.
STEADY = ("node", "--no-liftoff", "--import", "tsx")
MODES = {  # label: (launcher, bench-denoiser --runtime, --threads)
    "wasm-2": (NPX_TSX, "wasm", 2), "wasm-2-steady": (STEADY, "wasm", 2),
    "wasm-1-steady": (STEADY, "wasm", 1), "node-1": (NPX_TSX, "node", 1)}


@dataclass(frozen=True)
class Candidate:
    name: str
    change: str  # what differs from small-next's U-Net, for the table
    unet: dict[str, object]  # UnetConfig fields replaced


CANDIDATES = (
    Candidate("baseline", "small-next's U-Net: (32, 64, 64), 8 heads, attention at 32x8 and 16x4", {}),
    Candidate("levels-2", "2 levels: (32, 64); attention and mid block at 32x8", {"block_out_channels": (32, 64)}),
    Candidate("heads-1", "1 head of 64 channels (attention_head_dim 1)", {"attention_head_dim": 1}),
    Candidate("heads-2", "2 heads of 32 channels (attention_head_dim 2)", {"attention_head_dim": 2}),
    Candidate("heads-32", "attention_head_dim 32: 32 heads of 2 channels", {"attention_head_dim": 32}),
    Candidate("attn-coarsest", "no attention at 32x8: only at 16x4 (down, mid, up)", {"attention_levels": "coarsest"}),
    Candidate("attn-mid", "attention in the mid block only (16x4)", {"attention_levels": "mid"}),
    Candidate("narrow-48", "channels (32, 48, 48)", {"block_out_channels": (32, 48, 48)}),
    Candidate("narrow-24", "channels (24, 48, 48)", {"block_out_channels": (24, 48, 48)}),
    Candidate("proposed", "4 levels (16, 16, 32, 64); attention in the mid block only (8x2), 1 head of 64",
              {"block_out_channels": (16, 16, 32, 64), "attention_levels": "mid", "attention_head_dim": 1}),
    Candidate("proposed-8", "as proposed with 8 channels at the finest level: (8, 16, 32, 64)",
              {"block_out_channels": (8, 16, 32, 64), "attention_levels": "mid", "attention_head_dim": 1}),
    Candidate("proposed-attn2", "as proposed with attention also at 16x4 and 8x2 (down and up), 1 head",
              {"block_out_channels": (16, 16, 32, 64), "attention_levels": "two-coarsest", "attention_head_dim": 1}),
)


def candidate_config(cfg: PackConfig, candidate: Candidate) -> PackConfig:
    """The recipe with the candidate's U-Net fields replaced (dataclasses.replace, as a recipe would)."""
    return dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, **candidate.unet))  # type: ignore[arg-type]


def random_unet(cfg: PackConfig, hidden_size: int, seed: int = 0) -> torch.nn.Module:
    """The recipe's U-Net at diffusers' seeded init, every parameter then moved by 0.01 N(0, 1).

    At init all norm scales are 1 and many biases 0; the exporter shares equal initializers through
    Identity nodes (92 in small-next's U-Net), which a trained network's graph does not have. The
    noise makes the graph the shipped one node for node (2284 nodes, as bsa-25.onnx)."""
    torch.manual_seed(seed)
    unet = build_unet(cfg, hidden_size).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in unet.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
    return unet


def batch_one_shapes(cfg: PackConfig, hidden_size: int) -> dict[str, list[int]]:
    """The denoiser's input shapes at batch 1 and the pack's token count (as bench-denoiser.ts feeds)."""
    C, T, Fb = cfg.vae.latent_channels, cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE
    L = cfg.text.max_tokens
    return {"sample": [1, C, T, Fb], "timestep": [1], "encoder_hidden_states": [1, L, hidden_size],
            "encoder_attention_mask": [1, L]}


def multiply_accumulates(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> int:
    """MACs of one run at the given input shapes: Conv (output x C_in/groups x kernel), MatMul and
    Gemm (output x reduced length), from onnxruntime's symbolic shape inference."""
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for graph_input in fixed.graph.input:
        for dim, size in zip(graph_input.type.tensor_type.shape.dim, shapes[graph_input.name], strict=True):
            dim.Clear()
            dim.dim_value = size
    inferred = SymbolicShapeInference.infer_shapes(fixed, auto_merge=False)
    known = {t.name: [d.dim_value if d.HasField("dim_value") else -1 for d in t.type.tensor_type.shape.dim]
             for t in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
    known.update({t.name: list(t.dims) for t in inferred.graph.initializer})
    total = 0
    for node in inferred.graph.node:
        if node.op_type not in ("Conv", "MatMul", "Gemm"):
            continue
        a, b, y = (known.get(name) for name in (node.input[0], node.input[1], node.output[0]))
        if a is None or b is None or y is None or min(a + b + y) < 0:
            raise ValueError(f"{node.name}: shapes not inferred ({a}, {b} -> {y})")
        if node.op_type == "Conv":
            reduced = math.prod(b[1:])  # (O, I / groups, kh, kw)
        elif node.op_type == "Gemm":
            trans_a = next((att.i for att in node.attribute if att.name == "transA"), 0)
            reduced = a[0] if trans_a else a[1]
        else:
            reduced = a[-1]
        total += math.prod(y) * reduced
    return total


def export_candidate(cfg: PackConfig, candidate: Candidate, hidden_size: int, root: Path,
                     manifest: Path | None = None) -> dict:
    """Export the candidate's random U-Net to root/<name>/denoisers/student.onnx (int8, as a
    student), copy `manifest` beside it, and write and return its stats."""
    cfg = candidate_config(cfg, candidate)
    unet = random_unet(cfg, hidden_size)
    out = root / candidate.name
    path = out / CANDIDATE_FILE
    parity = export_graph(DenoiserGraph(unet), denoiser_inputs(cfg, hidden_size), "v_prediction", path,
                          DENOISER_AXES, cfg.unet.storage)
    if manifest is not None:
        shutil.copyfile(manifest, out / "manifest.json")
    model = onnx.load(str(path))
    stats = {"name": candidate.name, "change": candidate.change, "unet": dataclasses.asdict(cfg.unet),
             "parameters": sum(p.numel() for p in unet.parameters()),
             "macs": multiply_accumulates(model, batch_one_shapes(cfg, hidden_size)),
             "nodes": len(model.graph.node), "bytes": path.stat().st_size, "parity": parity}
    (out / "stats.json").write_text(json.dumps(stats, indent=1))
    return stats


def bench(mode: str, pack: Path, file: str, repeats: int) -> float:
    """Milliseconds per batch-1 evaluation, as src/cli/bench-denoiser.ts measures them in `mode`."""
    launcher, runtime, threads = MODES[mode]
    command = [*launcher, "src/cli/bench-denoiser.ts", str(pack), "--file", file, "--runtime", runtime,
               "--threads", str(threads), "--repeats", str(repeats)]
    stdout = subprocess.run(command, cwd=REPO_DIR, check=True, capture_output=True, text=True).stdout
    [seconds] = json.loads(stdout[stdout.index("{"):])["seconds_per_evaluation"].values()
    return 1000 * float(seconds)


def time_pass(names: list[str], root: Path, repeats: int) -> list[dict]:
    """Per mode: shipped, c1, shipped, c2, ..., shipped. Each candidate's ratio is to the mean of
    the two shipped runs beside it, so both ran under the same load within seconds."""
    rows = []
    for mode in MODES:
        before = bench(mode, SHIPPED_PACK, SHIPPED_FILE, repeats)
        for name in names:
            ms = bench(mode, root / name, CANDIDATE_FILE, repeats)
            after = bench(mode, SHIPPED_PACK, SHIPPED_FILE, repeats)
            shipped = (before + after) / 2
            rows.append({"candidate": name, "mode": mode, "ms": ms, "shipped_ms": shipped, "ratio": ms / shipped,
                         "load_1min": os.getloadavg()[0]})
            print(json.dumps(rows[-1]), flush=True)
            before = after
    return rows


def cpu_model() -> str:
    lines = subprocess.run(["lscpu"], check=True, capture_output=True, text=True).stdout.splitlines()
    return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name"))


def table(root: Path) -> str:
    """The markdown table: one row per candidate, then the shipped student. Per mode: ms (the
    mean over the passes) and the ratio to the shipped student in each pass ('pass 1 / pass 2')."""
    timings = json.loads((root / "timings.json").read_text())
    rows = [r for p in timings["passes"] for r in p]

    def cells(name: str, key: str = "ms") -> list[str]:
        out = []
        for mode in MODES:
            mine = [r for r in rows if r["candidate"] == name and r["mode"] == mode]
            ms = [r[key] for r in mine] if key == "ms" else [r["shipped_ms"] for r in rows if r["mode"] == mode]
            ratios = " / ".join(f"{r['ratio']:.2f}" for r in mine) if key == "ms" else "1"
            out += [f"{sum(ms) / max(len(ms), 1):.1f}", ratios]
        return out

    lines = ["| candidate | what changed | parameters | MACs (M) | nodes | int8 MB | "
             + " | ".join(f"{m} ms | ratio" for m in MODES) + " |",
             "|---|---|" + "---:|" * (4 + 2 * len(MODES))]
    for c in CANDIDATES:
        s = json.loads((root / c.name / "stats.json").read_text())
        lines.append(" | ".join([f"| {c.name}", c.change, f"{s['parameters']:,}", f"{s['macs'] / 1e6:.0f}",
                                 str(s["nodes"]), f"{s['bytes'] / 1e6:.2f}", *cells(c.name)]) + " |")
    shipped = timings["shipped"]
    lines.append(" | ".join(["| shipped bsa-25", "trained; the baseline's architecture", "",
                             f"{shipped['macs'] / 1e6:.0f}", str(shipped["nodes"]), f"{shipped['bytes'] / 1e6:.2f}",
                             *cells("", "shipped")]) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["export", "time", "table"])
    ap.add_argument("--names", nargs="+", default=[c.name for c in CANDIDATES], help="candidates (default: all)")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10, help="bench-denoiser --repeats")
    args = ap.parse_args()
    torch.set_num_threads(cpu_threads())
    cfg = load_config("small-next")
    root = cfg.work_dir.parent / "speed-sweep"
    manifest = SHIPPED_PACK / "manifest.json"
    if args.step == "export":
        hidden_size = json.loads(manifest.read_text())["text"]["hidden_size"]
        for c in (c for c in CANDIDATES if c.name in args.names):
            stats = export_candidate(cfg, c, hidden_size, root, manifest)
            print(json.dumps({k: stats[k] for k in ("name", "parameters", "macs", "nodes", "bytes")}), flush=True)
    elif args.step == "time":
        shipped = onnx.load(str(SHIPPED_PACK / SHIPPED_FILE))
        hidden_size = json.loads(manifest.read_text())["text"]["hidden_size"]
        record = {"cpu": cpu_model(), "cores": os.cpu_count(), "repeats": args.repeats, "passes": [],
                  "shipped": {"nodes": len(shipped.graph.node), "bytes": (SHIPPED_PACK / SHIPPED_FILE).stat().st_size,
                              "macs": multiply_accumulates(shipped, batch_one_shapes(cfg, hidden_size))}}
        for k in range(args.passes):  # every other pass in reverse order, so drift does not favour one end
            names = args.names if k % 2 == 0 else args.names[::-1]
            record["passes"].append(time_pass(names, root, args.repeats))
            (root / "timings.json").write_text(json.dumps(record, indent=1))
    else:
        print(table(root))


if __name__ == "__main__":
    main()
