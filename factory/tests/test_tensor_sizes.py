"""largest_tensor_bytes: each graph's largest weight at the width the GPU holds it (tensor_sizes.py)."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from soundstep_factory.manifest import MANIFEST
from soundstep_factory.quantize import quantize_weights
from soundstep_factory.tensor_sizes import largest_tensor_bytes

ROWS, COLUMNS = 300, 200  # the weight: 60,000 elements, 240,000 bytes as float32


def one_matmul(path, dtype=np.float32):
    """x (1, ROWS) @ W (ROWS, COLUMNS) + b, W and b stored in `dtype` and computed in it."""
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    weight = numpy_helper.from_array(np.random.default_rng(0).normal(size=(ROWS, COLUMNS)).astype(dtype), "W")
    bias = numpy_helper.from_array(np.zeros(COLUMNS, dtype), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])], "one",
        [helper.make_tensor_value_info("x", elem, [1, ROWS])], [helper.make_tensor_value_info("y", elem, [1, COLUMNS])],
        [weight, bias])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_a_float32_weight_counts_four_bytes_per_element(tmp_path):
    assert largest_tensor_bytes(one_matmul(tmp_path / "f32.onnx")) == ROWS * COLUMNS * 4


def test_a_float16_computing_graph_counts_two(tmp_path):
    assert largest_tensor_bytes(one_matmul(tmp_path / "f16.onnx", np.float16)) == ROWS * COLUMNS * 2


@pytest.mark.parametrize("storage", ["int8", "float16"])
def test_a_compressed_weight_counts_at_the_width_its_cast_restores(tmp_path, storage):
    """int8 storage is a quarter of the file, but the GPU buffer holds the float32 it is cast to."""
    stored = tmp_path / f"{storage}.onnx"
    quantize_weights(one_matmul(tmp_path / "f32.onnx"), stored, storage, min_elements=1000)
    model = onnx.load(str(stored))
    kinds = {t.data_type for t in model.graph.initializer if np.prod(t.dims) == ROWS * COLUMNS}
    assert kinds == {TensorProto.INT8 if storage == "int8" else TensorProto.FLOAT16}
    assert largest_tensor_bytes(stored) == ROWS * COLUMNS * 4


def test_external_data_is_not_read(tmp_path):
    """Only the protobuf is opened: the sizes come from the dims, so a missing .data file is fine."""
    model = onnx.load(str(one_matmul(tmp_path / "f32.onnx")))
    onnx.save(model, str(tmp_path / "ext.onnx"), save_as_external_data=True, location="ext.onnx.data",
              size_threshold=0)
    (tmp_path / "ext.onnx.data").unlink()
    assert largest_tensor_bytes(tmp_path / "ext.onnx") == ROWS * COLUMNS * 4


def test_every_graph_of_a_built_pack_says_its_largest_tensor(micro):
    manifest = json.loads((micro["pack"] / MANIFEST).read_text())
    cfg = micro["cfg"]
    bins = cfg.vocoder.n_fft // 2 + 1
    # the vocoder's largest weight is its synthesis basis, (2 bins, 1, n_fft) float32 (vocoder.synthesis_basis)
    assert manifest["vocoder"]["largest_tensor_bytes"] == 2 * bins * cfg.vocoder.n_fft * 4
    # the text encoder's is its word-piece table, stored int8 and restored to float32: one row of
    # 384 per kept word piece (the keep_vocabulary most frequent plus the captions' own)
    rows, remainder = divmod(manifest["text"]["encoder_largest_tensor_bytes"], 384 * 4)
    assert remainder == 0 and cfg.text.keep_vocabulary <= rows < cfg.text.keep_vocabulary + 200
    for graph in [manifest["vae_decoder"], *manifest["denoisers"]]:
        assert graph["largest_tensor_bytes"] == largest_tensor_bytes(micro["pack"] / graph["file"]) > 0
