"""Weight-only compression of an ONNX graph: int8 (or float16) weights, float32 activations.

onnxruntime's quantize_dynamic also quantizes activations, with one scale per run computed
over the whole input tensor, so a prompt's hidden states changed with its batch-mates and
padding (up to 0.8 on our encoder). Here only the weights are stored as int8, per output
channel, and turned back into float32 by Cast and Mul on constants, which ONNX Runtime folds
into a float initializer when the session loads. Every run then computes in float32, so a
row's output does not depend on the other rows. (A DequantizeLinear node instead is fused by
onnxruntime 1.30 into a MatMul that quantizes activations again: off by 1.85 from 1.20.)

The same trick with float16 storage (Cast only) halves a graph with an error of about 1e-3
relative; inputs and outputs stay float32, so the app runs either file unchanged.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

MIN_ELEMENTS = 16384  # the text encoder's default: biases and norms stay float, no size to gain


def _channel_axis(node: onnx.NodeProto, slot: int, ndim: int) -> int | None:
    """The axis that keeps its own scale (the output channel) for a weight in `slot` of `node`."""
    if node.op_type == "MatMul" and slot == 1 and ndim == 2:
        return 1  # (K, N): one scale per output column
    if node.op_type == "Gather" and slot == 0 and ndim == 2:
        return 0  # (V, H): one scale per table row
    if node.op_type == "Conv" and slot == 1 and ndim >= 3:
        return 0  # (O, I, kh, kw): one scale per output channel
    if node.op_type == "ConvTranspose" and slot == 1 and ndim >= 3:
        return 1  # (I, O, k): one scale per output channel
    if node.op_type == "Gemm" and slot == 1 and ndim == 2:
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return None


def _constants_to_initializers(graph: onnx.GraphProto, min_elements: int) -> None:
    """Large float tensors that the exporter wrote as Constant nodes (a module's buffers, such as
    the vocoder's synthesis basis) become initializers, so they are stored like weights."""
    for node in list(graph.node):
        value = next((a.t for a in node.attribute if a.name == "value"), None) if node.op_type == "Constant" else None
        if value is None or value.data_type != onnx.TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(value)
        if array.size < min_elements:
            continue
        graph.node.remove(node)
        graph.initializer.append(numpy_helper.from_array(array, node.output[0]))


def quantize_weights(src: Path, dst: Path, storage: str = "int8", min_elements: int = MIN_ELEMENTS) -> dict:
    """Store the weights of MatMul, Gemm, Conv, ConvTranspose and Gather nodes as int8 (symmetric, one scale per
    output channel) or float16, with Cast (and Mul) nodes that restore float32 at load time."""
    if storage not in ("int8", "float16"):
        raise ValueError(f"storage must be 'int8' or 'float16', not {storage!r}")
    model = onnx.load(str(src))
    graph = model.graph
    _constants_to_initializers(graph, min_elements)
    initializers = {init.name: init for init in graph.initializer}
    restored: dict[str, str] = {}  # float initializer name -> the float32 tensor rebuilt from storage
    new_nodes: list = []
    stats: dict = {"tensors": 0, "float_bytes": 0, "stored_bytes": 0, "storage": storage}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            if name not in initializers and name not in restored:
                continue
            if name not in restored:
                w = numpy_helper.to_array(initializers[name])
                axis = _channel_axis(node, slot, w.ndim)
                if axis is None or w.size < min_elements or w.dtype != np.float32:
                    continue
                graph.initializer.remove(initializers[name])
                if storage == "float16":
                    stored = [numpy_helper.from_array(w.astype(np.float16), f"{name}_fp16")]
                    new_nodes.append(helper.make_node("Cast", [f"{name}_fp16"], [f"{name}_restored"],
                                                      to=onnx.TensorProto.FLOAT, name=f"{name}_cast"))
                else:
                    reduce = tuple(i for i in range(w.ndim) if i != axis)
                    scale = np.abs(w).max(axis=reduce, keepdims=True) / 127.0
                    scale[scale == 0] = 1.0
                    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
                    stored = [numpy_helper.from_array(q, f"{name}_int8"),
                              numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale")]
                    new_nodes += [
                        helper.make_node("Cast", [f"{name}_int8"], [f"{name}_float"], to=onnx.TensorProto.FLOAT,
                                         name=f"{name}_cast"),
                        helper.make_node("Mul", [f"{name}_float", f"{name}_scale"], [f"{name}_restored"],
                                         name=f"{name}_rescale"),
                    ]
                graph.initializer.extend(stored)
                restored[name] = f"{name}_restored"
                stats["tensors"] += 1
                stats["float_bytes"] += w.nbytes
                stats["stored_bytes"] += sum(numpy_helper.to_array(t).nbytes for t in stored)
            node.input[slot] = restored[name]
    # The restoring nodes read only constants: put them first to keep the order topological.
    nodes = new_nodes + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return stats


def quantize_weights_int8(src: Path, dst: Path) -> dict:
    """The text encoder's recipe: MatMul and Gather weights of at least MIN_ELEMENTS as int8."""
    return quantize_weights(src, dst, "int8", MIN_ELEMENTS)


def prune_vocabulary(src: Path, dst: Path, vocab_size: int, keep_ids: list[int], unk_id: int) -> dict:
    """Keep only some rows of the int8 token-embedding table of a weight-compressed text encoder.

    The input ids keep their meaning: a Gather through a remap table (vocab_size entries) turns a
    kept id into its new row and any other id into [UNK]'s row, so the tokenizer is unchanged and
    every prompt made of kept tokens gets exactly the hidden states it had (the rows and their
    per-row scales are copied, not requantized)."""
    keep = sorted(set(keep_ids) | {unk_id})
    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    table = next((n for n in inits if n.endswith("_int8") and inits[n].dims[0] == vocab_size), None)
    if table is None:
        raise ValueError(f"{src}: no int8 table with {vocab_size} rows (quantize the encoder first)")
    base = table[: -len("_int8")]
    q = numpy_helper.to_array(inits[table])
    scale = numpy_helper.to_array(inits[f"{base}_scale"])  # (vocab_size, 1)
    remap = np.full(vocab_size, keep.index(unk_id), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    for name, value in ((table, q[keep]), (f"{base}_scale", scale[keep])):
        graph.initializer.remove(inits[name])
        graph.initializer.append(numpy_helper.from_array(value, name))
    graph.initializer.append(numpy_helper.from_array(remap, f"{base}_remap"))
    restored = next(n.output[0] for n in graph.node if n.op_type == "Mul" and f"{base}_scale" in n.input)
    gather = next(n for n in graph.node if n.op_type == "Gather" and n.input[0] == restored)
    gather.input[1], ids = f"{base}_remapped_ids", gather.input[1]
    remap_node = helper.make_node("Gather", [f"{base}_remap", ids], [f"{base}_remapped_ids"], axis=0,
                                  name=f"{base}_remap_ids")
    nodes = [remap_node] + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return {"kept_rows": len(keep), "vocab_size": vocab_size, "saved_bytes": int((vocab_size - len(keep)) * (q.shape[1] + 4))}
