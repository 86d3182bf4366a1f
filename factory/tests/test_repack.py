"""repack on the shipped pack: external-data graphs identical to the source, float16 variants
within tolerance, and a manifest that lists every file with its size and SHA-256."""
import hashlib
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from soundstep_factory.config import REPO_DIR
from soundstep_factory.repack import (
    EXTERNAL_SIZE_THRESHOLD,
    FLOAT16_TOLERANCE,
    REPACK_LOG,
    fix_float_casts,
    repack,
    session,
)
from soundstep_factory.tensor_sizes import largest_tensor_bytes

SHIPPED = REPO_DIR / "public" / "models" / "soundstep-small"


@pytest.fixture(scope="module")
def repacked(tmp_path_factory):
    if not (SHIPPED / "manifest.json").is_file():
        pytest.fail(f"the shipped pack is missing: {SHIPPED}/manifest.json (build it with soundstep_factory.build)")
    dst = tmp_path_factory.mktemp("repack") / "pack"
    result = repack(SHIPPED, dst, external_data=True, fp16=True)
    manifest = json.loads((dst / "manifest.json").read_text())
    return {"dst": dst, "result": result, "manifest": manifest, "source": json.loads((SHIPPED / "manifest.json").read_text())}


def _graph_entries(m: dict) -> list[tuple[str, dict, str]]:
    """(field, object holding the storage fields, prefix) for every graph."""
    return ([("text", m["text"], "encoder_")] + [(f"denoisers[{i}]", d, "") for i, d in enumerate(m["denoisers"])]
            + [("vae_decoder", m["vae_decoder"], ""), ("vocoder", m["vocoder"], "")])


def test_float32_graphs_are_identical_and_float16_within_tolerance(repacked):
    parity = {p.file: p for p in repacked["result"].parity}
    print("\nrepack parity (max abs error vs the source float32 graph, |reference| max):")
    for p in parity.values():
        print(f"  {p.file:32s} {p.dtype:8s} {p.output:18s} {p.max_abs_error:.3e} (|ref| {p.output_max_abs:.2f}, tol {p.tolerance})")
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    graphs = {"text_encoder.onnx", "vae_decoder.onnx", "vocoder.onnx"} | {d["file"] for d in manifest["denoisers"]}
    float32 = [p for p in parity.values() if p.dtype == "float32"]
    assert {p.file for p in float32} == graphs
    assert all(p.max_abs_error == 0.0 for p in float32)
    assert parity["denoisers/teacher.fp16.onnx"].output == "v_prediction"
    # float16 really changed the numbers, and stayed within the stated tolerance (relative to |output|)
    for name, kind in [(d["file"], "denoiser") for d in manifest["denoisers"]] + [("vae_decoder.onnx", "vae")]:
        p = parity[name.replace(".onnx", ".fp16.onnx")]
        assert 0.0 < p.max_abs_error <= FLOAT16_TOLERANCE[kind] * p.output_max_abs, p
    assert "text_encoder.fp16.onnx" not in parity  # int8 already: no float16 variant
    assert "vocoder.fp16.onnx" not in parity  # its phase sums need float32 (repack.FLOAT16_KINDS)


def test_manifest_names_external_data_and_variants(repacked):
    m = repacked["manifest"]
    for field, entry, prefix in _graph_entries(m):
        graph = entry["encoder"] if field == "text" else entry["file"]
        assert entry[f"{prefix}external_data"] == [graph + ".data"], field
        if field in ("text", "vocoder"):
            assert f"{prefix}variants" not in entry, field
            continue
        (variant,) = entry["variants"]
        # its largest tensor as the file holds it (tensor_sizes.py)
        assert variant.pop("largest_tensor_bytes") == largest_tensor_bytes(repacked["dst"] / variant["file"]) > 0
        assert variant == {"dtype": "float16", "file": graph.replace(".onnx", ".fp16.onnx"),
                           "external_data": [graph.replace(".onnx", ".fp16.onnx") + ".data"]}
    # the rest of the manifest is the source's
    src = repacked["source"]
    for key in ("format", "id", "audio", "latent", "schedule", "golden"):
        assert m[key] == src[key]
    assert m["factory"]["repack"]["log"] == REPACK_LOG


def test_files_lists_every_file_with_size_and_sha256(repacked):
    m, dst = repacked["manifest"], repacked["dst"]
    on_disk = {p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(m["files"]) == on_disk
    for name, entry in m["files"].items():
        data = (dst / name).read_bytes()
        assert entry["bytes"] == len(data), name
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
    # the weights moved out of the graphs: no tensor of EXTERNAL_SIZE_THRESHOLD elements or more stays inside
    graph = onnx.load(str(dst / "denoisers/teacher.onnx"), load_external_data=False)
    inside = [t.name for t in graph.graph.initializer if t.data_location != TensorProto.EXTERNAL
              and int(np.prod(t.dims)) >= EXTERNAL_SIZE_THRESHOLD]
    assert not inside
    teacher, data = m["files"]["denoisers/teacher.onnx"]["bytes"], m["files"]["denoisers/teacher.onnx.data"]["bytes"]
    # float16 shrinks what is float32 (the int8 weights of the shipped U-Nets stay int8)
    half = m["files"]["denoisers/teacher.fp16.onnx.data"]["bytes"]
    assert half < data
    print(f"\nrepacked pack: {repacked['result'].bytes / 1e6:.1f} MB in {repacked['result'].seconds} s; "
          f"teacher.onnx {teacher / 1e3:.0f} kB + .data {data / 1e6:.2f} MB, fp16 .data {half / 1e6:.2f} MB")


def test_float16_variant_keeps_float32_io_and_float16_weights(repacked):
    dst = repacked["dst"]
    model = onnx.load(str(dst / "denoisers/teacher.fp16.onnx"), load_external_data=False)
    io = {v.name: v.type.tensor_type.elem_type for v in [*model.graph.input, *model.graph.output]}
    assert io == {"sample": TensorProto.FLOAT, "timestep": TensorProto.INT64,
                  "encoder_hidden_states": TensorProto.FLOAT, "encoder_attention_mask": TensorProto.INT64,
                  "v_prediction": TensorProto.FLOAT}
    weights = [t for t in model.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    # no float32 weights left: float16, or int8 where the pack stores them so (with float16 scales)
    assert weights and not [t.name for t in weights if t.data_type == TensorProto.FLOAT]
    assert any(t.data_type == TensorProto.FLOAT16 for t in weights)
    # ONNX Runtime reads the external data next to the graph by itself
    s = session(dst / "denoisers/teacher.fp16.onnx")
    assert [i.type for i in s.get_inputs()] == ["tensor(float)", "tensor(int64)", "tensor(float)", "tensor(int64)"]


def test_fix_float_casts_retypes_casts_the_converter_left_at_float():
    node = onnx.helper.make_node("Cast", ["t"], ["t_float"], to=TensorProto.FLOAT)
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("t", TensorProto.INT64, [1])],
        [onnx.helper.make_tensor_value_info("t_float", TensorProto.FLOAT16, [1])])
    model = onnx.helper.make_model(graph)
    assert fix_float_casts(model) == 1
    assert model.graph.node[0].attribute[0].i == TensorProto.FLOAT16
    assert fix_float_casts(model) == 0


def test_refuses_a_destination_inside_the_source(tmp_path):
    with pytest.raises(SystemExit, match="must not be the source pack or inside it"):
        repack(SHIPPED, SHIPPED / "sub")
