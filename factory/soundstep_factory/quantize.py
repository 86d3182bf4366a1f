"""Weight-only int8 quantization of an ONNX graph: int8 weights, float activations.

onnxruntime's quantize_dynamic also quantizes activations, with one scale per run computed
over the whole input tensor, so a prompt's hidden states changed with its batch-mates and
padding (up to 0.8 on our encoder). Here only the weights are stored as int8, per output
channel, and turned back into float32 by Cast and Mul on constants, which ONNX Runtime folds
into a float initializer when the session loads. Every run then computes in float32, so a
row's output does not depend on the other rows. (A DequantizeLinear node instead is fused by
onnxruntime 1.30 into a MatMul that quantizes activations again: off by 1.85 from 1.20.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

MIN_ELEMENTS = 16384  # small tensors (biases, norms) stay float: no size to gain


def quantize_weights_int8(src: Path, dst: Path) -> dict:
    """MatMul weights (K, N) per column and Gather tables (V, H) per row -> int8 + scale."""
    model = onnx.load(str(src))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    dequantized: dict[str, str] = {}  # float initializer name -> DequantizeLinear output
    dq_nodes, stats = [], {"tensors": 0, "float_bytes": 0, "int8_bytes": 0}
    for node in graph.node:
        slot, axis = {"MatMul": (1, 1), "Gather": (0, 0)}.get(node.op_type, (None, None))
        if slot is None or node.input[slot] not in initializers:
            continue
        name = node.input[slot]
        if name not in dequantized:
            w = numpy_helper.to_array(initializers[name])
            if w.ndim != 2 or w.size < MIN_ELEMENTS or w.dtype != np.float32:
                continue
            reduce_axis = 1 - axis  # the scale runs along `axis`, the max over the other one
            scale = np.abs(w).max(axis=reduce_axis) / 127.0
            scale[scale == 0] = 1.0
            q = np.clip(np.rint(w / np.expand_dims(scale, reduce_axis)), -127, 127).astype(np.int8)
            graph.initializer.remove(initializers[name])
            graph.initializer.extend([
                numpy_helper.from_array(q, f"{name}_int8"),
                numpy_helper.from_array(np.expand_dims(scale, reduce_axis).astype(np.float32), f"{name}_scale"),
            ])
            dq_nodes += [
                helper.make_node("Cast", [f"{name}_int8"], [f"{name}_float"], to=onnx.TensorProto.FLOAT,
                                 name=f"{name}_cast"),
                helper.make_node("Mul", [f"{name}_float", f"{name}_scale"], [f"{name}_dequantized"],
                                 name=f"{name}_rescale"),
            ]
            dequantized[name] = f"{name}_dequantized"
            stats["tensors"] += 1
            stats["float_bytes"] += w.nbytes
            stats["int8_bytes"] += q.nbytes + scale.size * 4
        node.input[slot] = dequantized[name]
    # The dequantizing nodes read only constants: put them first to keep the order topological.
    nodes = dq_nodes + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return stats
