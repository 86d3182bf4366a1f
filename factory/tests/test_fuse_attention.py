"""fuse_attention.py: every attention of an exported student becomes one com.microsoft
MultiHeadAttention node, the int8 weights stay as they are, and the output stays the same.
On the micro recipe's U-Net exported as a student (a few seconds).

The numbers are checked in onnxruntime-node and onnxruntime-web (WASM) 1.30 from the app's
node_modules, the runtimes that would run the graph. The factory's python onnxruntime 1.20.1
computes MultiHeadAttention with a (B, L) key_padding_mask wrongly whenever the queries and keys
differ in number (every cross-attention here; 1.21.1 and 1.30.0 are right), so the python check
runs only from 1.21 on."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from soundstep_factory.config import PackConfig, load_config
from soundstep_factory.fuse_attention import find_attentions, fuse, fuse_file, max_difference, random_feeds
from soundstep_factory.speed_sweep import CANDIDATE_FILE, Candidate, export_candidate

REPO = Path(__file__).resolve().parents[2]
HIDDEN = 12
MICRO = Candidate("micro", "the micro recipe's U-Net", {})
CASES = [{"B": 1, "T": 64, "L": 32}, {"B": 2, "T": 64, "L": 32}, {"B": 2, "T": 32, "L": 7}]
# Runs both graphs on the same feeds in onnxruntime-node and onnxruntime-web (WASM), one thread:
# argv: original, fused, feeds.json ({name: {type, dims, data}} per case); prints the max abs diffs.
NODE_SCRIPT = """
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/package.json');
const [a, b, feedsFile] = process.argv.slice(1);
const cases = JSON.parse(readFileSync(feedsFile, 'utf8'));
const web = await import(require.resolve('onnxruntime-web'));
web.env.wasm.numThreads = 1;
const out = {};
for (const [name, ort, opts] of [['node', require('onnxruntime-node'), { intraOpNumThreads: 1 }],
                                 ['wasm', web, { executionProviders: ['wasm'] }]]) {
  const sessions = [];
  for (const f of [a, b]) sessions.push(await ort.InferenceSession.create(new Uint8Array(readFileSync(f)), opts));
  out[name] = [];
  for (const feeds of cases) {
    const tensors = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.type,
      t.type === 'int64' ? BigInt64Array.from(t.data.map(BigInt)) : Float32Array.from(t.data), t.dims)]));
    const [x, y] = [(await sessions[0].run(tensors)).v_prediction.data, (await sessions[1].run(tensors)).v_prediction.data];
    out[name].push(x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0));
  }
}
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def cfg() -> PackConfig:
    return load_config("micro")


@pytest.fixture(scope="module")
def graphs(cfg: PackConfig, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The micro U-Net exported as a student (int8 weights), and its fused copy with the stats."""
    root = tmp_path_factory.mktemp("fuse-attention")
    torch.set_num_threads(1)
    export_candidate(cfg, MICRO, HIDDEN, root)
    src = root / MICRO.name / CANDIDATE_FILE
    dst = root / "fused.onnx"
    return {"src": src, "dst": dst, "stats": fuse_file(src, dst), "root": root}


def test_every_attention_becomes_one_node(graphs: dict) -> None:
    stats = graphs["stats"]
    original = onnx.load(str(graphs["src"]))
    softmaxes = sum(node.op_type == "Softmax" for node in original.graph.node)
    assert softmaxes > 0 and softmaxes % 2 == 0  # a self- and a cross-attention per transformer block
    assert stats["attentions"] == stats["multi_head_attention"] == softmaxes
    assert stats["masked"] == softmaxes // 2
    assert stats["softmax"] == [softmaxes, 0]
    assert stats["nodes"][1] < stats["nodes"][0]
    fused = onnx.load(str(graphs["dst"]))
    onnx.checker.check_model(fused)
    nodes = [node for node in fused.graph.node if node.op_type == "MultiHeadAttention"]
    assert len(nodes) == softmaxes and all(node.domain == "com.microsoft" for node in nodes)
    assert not any(node.op_type == "Softmax" for node in fused.graph.node)
    assert find_attentions(fused.graph) == []


def test_the_weights_are_stored_as_before(graphs: dict) -> None:
    """Every initializer left is byte for byte the original's, the int8 weights among them."""
    original = {init.name: init for init in onnx.load(str(graphs["src"])).graph.initializer}
    fused = onnx.load(str(graphs["dst"])).graph.initializer
    int8 = [init.name for init in fused if init.data_type == TensorProto.INT8]
    assert int8 and len(int8) == sum(init.data_type == TensorProto.INT8 for init in original.values())
    assert all(init.SerializeToString() == original[init.name].SerializeToString() for init in fused)


def test_the_output_is_unchanged_in_the_apps_runtimes(graphs: dict) -> None:
    if not (REPO / "node_modules" / "onnxruntime-web").exists():
        pytest.skip("node_modules is not installed (npm ci)")
    model = onnx.load(str(graphs["src"]))
    cases = [{name: {"type": "int64" if a.dtype == np.int64 else "float32", "dims": list(a.shape),
                     "data": a.ravel().tolist()} for name, a in random_feeds(model, sizes, seed).items()}
             for seed, sizes in enumerate(CASES)]
    assert any(0 in c["encoder_attention_mask"]["data"] for c in cases)  # some tokens padded
    feeds = graphs["root"] / "feeds.json"
    feeds.write_text(json.dumps(cases))
    run = subprocess.run(["node", "--input-type=module", "-e", NODE_SCRIPT, str(graphs["src"]), str(graphs["dst"]),
                          str(feeds)], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    differences = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(differences) == {"node", "wasm"}
    for runtime, per_case in differences.items():
        assert len(per_case) == len(CASES) and max(per_case) <= 1e-4, (runtime, per_case)


@pytest.mark.skipif(tuple(int(p) for p in ort.__version__.split(".")[:2]) < (1, 21),
                    reason="onnxruntime < 1.21 computes MultiHeadAttention's (B, L) key_padding_mask wrongly "
                           "when S != L (the module's docstring)")
def test_the_output_is_unchanged_in_python_onnxruntime(graphs: dict) -> None:
    for seed, sizes in enumerate(CASES):
        assert max_difference(graphs["src"], graphs["dst"], sizes, seed) <= 1e-4, sizes


def test_a_softmax_outside_an_attention_is_left_alone() -> None:
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], "plain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert fuse(model) == []
    assert [node.op_type for node in model.graph.node] == ["Softmax"]
    assert [o.domain for o in model.opset_import] == [""]
