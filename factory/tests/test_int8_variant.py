"""The default student's int8-arithmetic variant (int8_variant.py), on the micro build of conftest.py:
it is a QDQ graph that stays close to the student's own, lands as the student's "int8" variant
leaving every other file of the pack as it was, and is refused, changing nothing, past the budget."""
import dataclasses
import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from soundstep_factory.files import sha256

CHANGED = {"manifest.json", "build_log.json"}
SHARED = ("data", "text", "features.pt", "latents.pt", "teacher")


def _files(pack):
    return {p.relative_to(pack).as_posix(): sha256(p) for p in sorted(pack.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def landed(micro, linked_work_dir, tmp_path_factory):
    """A copy of the micro pack with eps-100 distilled into it and made its default, then given its
    int8 variant."""
    from soundstep_factory.distill import distill
    from soundstep_factory.int8_variant import add_int8_variant
    from soundstep_factory.pack_students import add_students

    root = linked_work_dir(tmp_path_factory.mktemp("work"), SHARED)
    pack = tmp_path_factory.mktemp("pack") / "micro"
    shutil.copytree(micro["pack"], pack)
    cfg = micro["cfg"]
    cfg = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, methods=("eps",), rounds=1))
    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(root))
    try:
        distill(cfg, "eps")
        add_students(cfg, pack)
        manifest = json.loads((pack / "manifest.json").read_text())
        student = next(d for d in manifest["denoisers"] if d["id"] == "eps-100")
        manifest["default_denoiser"] = student["id"]
        (pack / "manifest.json").write_text(json.dumps(manifest, indent=2))
        before = _files(pack)
        report = add_int8_variant(cfg, pack)
    finally:
        mp.undo()
    return {"pack": pack, "before": before, "report": report, "student": student, "cfg": cfg}


def test_the_variant_is_the_students_int8_entry_and_nothing_else_changes(landed):
    pack, student = landed["pack"], landed["student"]
    file = student["file"].removesuffix(".onnx") + ".int8.onnx"
    manifest = json.loads((pack / "manifest.json").read_text())
    entry = next(d for d in manifest["denoisers"] if d["id"] == student["id"])
    assert entry["file"] == student["file"]
    assert [(v["dtype"], v["file"]) for v in entry["variants"]] == [("int8", file)]
    assert entry["variants"][0]["largest_tensor_bytes"] > 0
    after = _files(pack)
    assert set(after) == set(landed["before"]) | {file}
    assert {f for f in after if after[f] != landed["before"].get(f)} == CHANGED | {file}
    assert manifest["files"][file] == {"bytes": (pack / file).stat().st_size, "sha256": after[file]}
    assert json.loads((pack / "build_log.json").read_text())["int8_relative_error"][file] == landed["report"][
        "int8_relative_error"]


def test_the_variant_computes_in_int8_and_stays_close_to_the_student(landed):
    pack, student = landed["pack"], landed["student"]
    variant = pack / landed["report"]["added"]
    model = onnx.load(variant)
    producer = {out: n.op_type for n in model.graph.node for out in n.output}
    dequantized = {n.name: [producer.get(i) == "DequantizeLinear" for i in n.input[:2]] for n in model.graph.node}
    layers = [n for n in model.graph.node if n.op_type in ("Conv", "Gemm")]
    matmuls = [n for n in model.graph.node if n.op_type == "MatMul"]
    softmaxes = [n for n in model.graph.node if n.op_type == "Softmax"]
    assert layers and softmaxes and all(all(dequantized[n.name]) for n in layers)  # input and weight in int8
    # every MatMul by a weight in int8; the attention's two products per softmax, and the softmax, in float32
    weight_matmuls = [n for n in matmuls if all(dequantized[n.name])]
    products = [n for n in matmuls if not any(dequantized[n.name])]
    assert len(weight_matmuls) + len(products) == len(matmuls) and len(products) == 2 * len(softmaxes)
    assert not any(producer.get(n.input[0]) == "DequantizeLinear" for n in softmaxes)
    int8 = {t.name for t in model.graph.initializer if numpy_helper.to_array(t).dtype == np.int8}
    assert len(int8) >= len(layers) + len(weight_matmuls)  # their weights
    assert 0 < landed["report"]["int8_relative_error"] < 0.05
    # inputs it was neither calibrated nor measured on
    float_graph = ort.InferenceSession(str(pack / student["file"]), providers=["CPUExecutionProvider"])
    int8_graph = ort.InferenceSession(str(variant), providers=["CPUExecutionProvider"])
    manifest = json.loads((pack / "manifest.json").read_text())
    latent = [1, *(manifest["latent"][k] for k in ("channels", "frames", "bins"))]  # batch 1
    tokens, hidden = 4, manifest["text"]["hidden_size"]
    g = np.random.default_rng(3)
    feed = {"sample": g.standard_normal(latent).astype(np.float32), "timestep": np.array([500], dtype=np.int64),
            "encoder_hidden_states": g.standard_normal((1, tokens, hidden)).astype(np.float32),
            "encoder_attention_mask": np.ones((1, tokens), dtype=np.int64)}
    v_float, v_int8 = float_graph.run(None, feed)[0], int8_graph.run(None, feed)[0]
    assert v_int8.shape == v_float.shape
    assert np.mean((v_int8 - v_float) ** 2) / np.mean(v_float ** 2) < 0.1


def test_past_the_budget_it_is_refused_and_the_pack_stays(landed, tmp_path):
    from soundstep_factory.int8_variant import add_int8_variant
    from soundstep_factory.manifest import OverBudget

    pack = tmp_path / "micro"
    shutil.copytree(landed["pack"], pack)
    before = _files(pack)
    size = sum(p.stat().st_size for p in pack.rglob("*") if p.is_file() and p.name != "manifest.json")  # as budgeted
    tight = dataclasses.replace(landed["cfg"], pack_budget_mb=(size - 1000) / 1e6)
    with pytest.raises(OverBudget, match=r"would make the pack .* over the recipe's pack_budget_mb"):
        add_int8_variant(tight, pack)
    assert _files(pack) == before


def test_repack_carries_the_variant_over_unchanged(landed, tmp_path):
    from soundstep_factory.repack import repack

    pack, student = landed["pack"], landed["student"]
    result = repack(pack, tmp_path / "repacked", external_data=True, fp16=True)
    file = landed["report"]["added"]
    manifest = json.loads((tmp_path / "repacked" / "manifest.json").read_text())
    entry = next(d for d in manifest["denoisers"] if d["id"] == student["id"])
    assert sorted(v["dtype"] for v in entry["variants"]) == ["float16", "int8"]
    source_entry = next(d for d in json.loads((pack / "manifest.json").read_text())["denoisers"]
                        if d["id"] == student["id"])
    assert next(v for v in entry["variants"] if v["dtype"] == "int8") == source_entry["variants"][0]
    assert manifest["files"][file] == json.loads((pack / "manifest.json").read_text())["files"][file]
    assert sha256(tmp_path / "repacked" / file) == sha256(pack / file)
    assert {p.dtype for p in result.parity} == {"float32", "float16"}  # the copy is not a rewritten graph
