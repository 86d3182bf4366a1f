"""Fuse every attention of an exported denoiser into one com.microsoft MultiHeadAttention node.

Usage: python -m soundstep_factory.fuse_attention SRC.onnx DST.onnx [--check]

torch.onnx.export (opset 17) writes diffusers' scaled_dot_product_attention as about 20 nodes
per attention, plus the shape arithmetic that feeds its Reshapes:

  q, k, v = to_q(x), to_k(c), to_v(c)                        # (B, S, D), (B, L, D), (B, L, D)
  Q = Transpose(Reshape(q, [B, -1, N, H]), [0, 2, 1, 3])    # (B, N, S, H)
  K = Transpose(Reshape(k, [B, -1, N, H]), [0, 2, 3, 1])    # (B, N, H, L)
  V = Transpose(Reshape(v, [B, -1, N, H]), [0, 2, 1, 3])    # (B, N, L, H)
  P = Softmax(MatMul(Q * sqrt(s), K * sqrt(s)) [+ bias])    # (B, N, S, L), s = 1 / sqrt(H)
  o = Reshape(Transpose(MatMul(P, V), [0, 2, 1, 3]), [B, -1, N * H])  # (B, S, D): to_out's input

The cross-attention's bias is `(1 - encoder_attention_mask) * -10000` broadcast to (B, N, 1, L)
(diffusers' UNet2DConditionModel). Each match becomes MultiHeadAttention(q, k, v, key_padding_mask)
with num_heads N, the default scale 1/sqrt(H) (or the exported constant), and for the
cross-attention the graph's encoder_attention_mask cast to int32 (B, L) as key_padding_mask with
mask_filter_value -10000. ONNX Runtime's CPU kernel adds mask_filter_value where the mask is 0 and
nothing where it is 1, which is the exported bias for a 0/1 mask (the app's); other mask values
would differ. The nodes left without a consumer are removed (scores, softmax, the shape
arithmetic), with the small initializers only they read. The projections' weights, stored as int8
-> Cast -> Mul (quantize.py), are not touched.

Check the result in onnxruntime 1.21 or later (onnxruntime-node and -web 1.30 are right, to 1e-5):
the factory's python onnxruntime 1.20.1 computes MultiHeadAttention with a (B, L) key_padding_mask
wrongly when S != L (every cross-attention here), up to heap corruption, so --check and
max_difference need a newer onnxruntime on the path.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS_DOMAIN = "com.microsoft"
HEADS_FIRST = [0, 2, 1, 3]  # (B, S, N, H) <-> (B, N, S, H)
KEYS_TRANSPOSED = [0, 2, 3, 1]  # (B, L, N, H) -> (B, N, H, L)
PASS_THROUGH = ("Reshape", "Tile", "Unsqueeze", "Expand")  # broadcasting of the mask bias


@dataclass(frozen=True)
class Attention:
    """One attention found in the graph: the tensors a MultiHeadAttention node reads and replaces."""
    name: str  # the Softmax node's name
    query: str  # (B, S, D)
    key: str  # (B, L, D)
    value: str  # (B, L, D)
    output: str  # (B, S, D): the heads merged back, to_out's input
    num_heads: int
    scale: float | None  # None: 1/sqrt(H), MultiHeadAttention's default
    mask_input: str | None  # the graph input of the padding mask (B, L); None when unmasked
    mask_filter: float | None  # the bias on a padded token


class _Index:
    """Producers, consumers and constant values of a graph's tensors."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in graph.node:
            for name in node.input:
                self.consumers[name].append(node)
        self.values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute[0].name == "value":
                self.values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.inputs = {i.name for i in graph.input}

    def made_by(self, tensor: str, op: str) -> onnx.NodeProto | None:
        node = self.producer.get(tensor)
        return node if node is not None and node.op_type == op else None

    def only_reader(self, tensor: str, op: str) -> onnx.NodeProto | None:
        readers = self.consumers.get(tensor, [])
        return readers[0] if len(readers) == 1 and readers[0].op_type == op else None

    def scalar(self, tensor: str) -> float | None:
        value = self.values.get(tensor)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None


def _perm(node: onnx.NodeProto) -> list[int] | None:
    return next((list(a.ints) for a in node.attribute if a.name == "perm"), None)


def _split_heads(ix: _Index, heads: str, perm: list[int]) -> tuple[str, int] | None:
    """(projection (B, S, D), N) when `heads` is Transpose(Reshape(projection, [B, -1, N, H]), perm)."""
    transpose = ix.made_by(heads, "Transpose")
    if transpose is None or _perm(transpose) != perm:
        return None
    if (reshape := ix.made_by(transpose.input[0], "Reshape")) is None:
        return None
    shape = ix.values.get(reshape.input[1])  # a constant shape when the export fixed B
    if shape is None:
        concat = ix.made_by(reshape.input[1], "Concat")
        n = ix.scalar(concat.input[2]) if concat is not None and len(concat.input) == 4 else None
    else:
        n = float(shape[2]) if shape.size == 4 else None
    return (reshape.input[0], int(n)) if n is not None and n > 0 else None


def _scaled(ix: _Index, tensor: str) -> tuple[str, str] | None:
    """(x, s) when `tensor` is Mul(x, Sqrt(s)): each side of the scores carries sqrt of the scale."""
    if (mul := ix.made_by(tensor, "Mul")) is None or (root := ix.made_by(mul.input[1], "Sqrt")) is None:
        return None
    return mul.input[0], root.input[0]


def _skip_casts(ix: _Index, tensor: str) -> str:
    while (cast := ix.made_by(tensor, "Cast")) is not None:
        tensor = cast.input[0]
    return tensor


def _scale(ix: _Index, s: str, q_heads: str) -> float | None | bool:
    """The scale's constant value; None when it is 1/sqrt(Shape(q_heads)[-1]) computed at run time
    (MultiHeadAttention's default); False when it is neither."""
    if (value := ix.scalar(s)) is not None:
        return value
    div = ix.made_by(_skip_casts(ix, s), "Div")
    root = ix.made_by(div.input[1], "Sqrt") if div is not None and ix.scalar(div.input[0]) == 1.0 else None
    sliced = ix.made_by(_skip_casts(ix, root.input[0]), "Slice") if root is not None else None
    if sliced is None or (shape := ix.made_by(sliced.input[0], "Shape")) is None:
        return False
    return None if shape.input[0] == q_heads and ix.scalar(sliced.input[1]) == -1 else False


def _padding_mask(ix: _Index, bias: str) -> tuple[str, float] | None:
    """(mask input, c) when `bias` broadcasts (1 - Cast(mask input)) * c."""
    while (node := ix.producer.get(bias)) is not None and node.op_type in PASS_THROUGH:
        bias = node.input[0]
    if (mul := ix.made_by(bias, "Mul")) is None or (sub := ix.made_by(mul.input[0], "Sub")) is None:
        return None
    if ix.scalar(sub.input[0]) != 1.0 or (c := ix.scalar(mul.input[1])) is None:
        return None
    mask = _skip_casts(ix, sub.input[1])
    return (mask, c) if mask in ix.inputs else None


def _match(ix: _Index, softmax: onnx.NodeProto) -> Attention | None:
    """The attention around `softmax`, or None when the graph there is not the pattern above."""
    scores, mask = ix.made_by(softmax.input[0], "MatMul"), None
    if scores is None and (add := ix.made_by(softmax.input[0], "Add")) is not None:
        for i in (0, 1):
            if (scores := ix.made_by(add.input[i], "MatMul")) is not None:
                mask = _padding_mask(ix, add.input[1 - i])
                break
        if mask is None:
            return None
    q_side = _scaled(ix, scores.input[0]) if scores is not None else None
    k_side = _scaled(ix, scores.input[1]) if scores is not None else None
    weighted = ix.only_reader(softmax.output[0], "MatMul")
    if q_side is None or k_side is None or q_side[1] != k_side[1] or weighted is None:
        return None
    merged = ix.only_reader(weighted.output[0], "Transpose")
    if merged is None or _perm(merged) != HEADS_FIRST:
        return None
    reshape = ix.only_reader(merged.output[0], "Reshape")
    q = _split_heads(ix, q_side[0], HEADS_FIRST)
    k = _split_heads(ix, k_side[0], KEYS_TRANSPOSED)
    v = _split_heads(ix, weighted.input[1], HEADS_FIRST)
    scale = _scale(ix, q_side[1], q_side[0])
    if reshape is None or q is None or k is None or v is None or scale is False or weighted.input[0] != softmax.output[0]:
        return None
    if not q[1] == k[1] == v[1]:
        return None
    return Attention(softmax.name, q[0], k[0], v[0], reshape.output[0], q[1], scale,
                     mask[0] if mask else None, mask[1] if mask else None)


def find_attentions(graph: onnx.GraphProto) -> list[Attention]:
    """Every attention of the pattern in the module's docstring, in graph order."""
    ix = _Index(graph)
    found = [_match(ix, node) for node in graph.node if node.op_type == "Softmax"]
    return [a for a in found if a is not None]


def _prune(graph: onnx.GraphProto) -> None:
    """Remove the nodes no graph output depends on, then the initializers and value infos of
    tensors that no longer exist."""
    nodes = list(graph.node)
    producer = {out: i for i, node in enumerate(nodes) for out in node.output}
    needed, stack = set(), [o.name for o in graph.output]
    while stack:
        i = producer.get(stack.pop())
        if i is not None and i not in needed:
            needed.add(i)
            stack.extend(name for name in nodes[i].input if name)
    keep = [node for i, node in enumerate(nodes) if i in needed]
    del graph.node[:]
    graph.node.extend(keep)
    read = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    initializers = [init for init in graph.initializer if init.name in read]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    made = {out for node in graph.node for out in node.output}
    infos = [info for info in graph.value_info if info.name in made]
    del graph.value_info[:]
    graph.value_info.extend(infos)


def fuse(model: onnx.ModelProto) -> list[Attention]:
    """Rewrite `model` in place: each attention becomes one MultiHeadAttention node that writes the
    tensor its merging Reshape wrote; a masked one reads the graph's padding mask cast to int32
    (B, L) as key_padding_mask. Returns the attentions fused."""
    graph = model.graph
    attentions = find_attentions(graph)
    position = {node.output[0]: i for i, node in enumerate(graph.node)}
    fused: dict[int, onnx.NodeProto] = {}
    masks: dict[str, str] = {}  # mask input (B, L) -> its int32 copy
    for a in attentions:
        inputs = [a.query, a.key, a.value]
        attributes: dict[str, Any] = {"num_heads": a.num_heads}
        if a.mask_input is not None:
            masks.setdefault(a.mask_input, f"{a.mask_input}_int32")
            inputs += ["", masks[a.mask_input]]  # no bias; key_padding_mask
            attributes["mask_filter_value"] = a.mask_filter
        if a.scale is not None:
            attributes["scale"] = a.scale
        name = a.name.rsplit("/", 1)[0] + "/MultiHeadAttention"
        fused[position[a.output]] = helper.make_node("MultiHeadAttention", inputs, [a.output], name,
                                                     domain=MS_DOMAIN, **attributes)
    nodes = [fused.get(i, node) for i, node in enumerate(graph.node)]  # each in its Reshape's place
    casts = [helper.make_node("Cast", [src], [dst], f"/{dst}/Cast", to=TensorProto.INT32) for src, dst in masks.items()]
    del graph.node[:]
    graph.node.extend(casts + nodes)
    _prune(graph)
    if attentions and not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return attentions


def fuse_file(src: Path, dst: Path) -> dict:
    """Fuse the attentions of the graph at `src` into `dst`; returns node counts before and after."""
    model = onnx.load(str(src))
    before = _op_counts(model.graph)
    attentions = fuse(model)
    onnx.save(model, str(dst))
    after = _op_counts(model.graph)
    return {"attentions": len(attentions), "masked": sum(a.mask_input is not None for a in attentions),
            "nodes": [sum(before.values()), sum(after.values())],
            "softmax": [before.get("Softmax", 0), after.get("Softmax", 0)],
            "multi_head_attention": after.get("MultiHeadAttention", 0),
            "bytes": [src.stat().st_size, dst.stat().st_size]}


def _op_counts(graph: onnx.GraphProto) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for node in graph.node:
        counts[node.op_type] += 1
    return dict(counts)


def random_feeds(model: onnx.ModelProto, sizes: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs for a denoiser graph with its free dimensions set by `sizes` (e.g. B, T, L): float
    inputs N(0, 1), a 1-D int64 input as time steps in [0, 1000), a 2-D int64 input as a padding
    mask whose row b keeps a random number of leading tokens (at least one)."""
    g = np.random.default_rng(seed)
    feeds = {}
    for graph_input in model.graph.input:
        shape = [d.dim_value or sizes[d.dim_param] for d in graph_input.type.tensor_type.shape.dim]
        if graph_input.type.tensor_type.elem_type == TensorProto.FLOAT:
            feeds[graph_input.name] = g.standard_normal(shape).astype(np.float32)
        elif len(shape) == 1:
            feeds[graph_input.name] = g.integers(0, 1000, shape).astype(np.int64)
        else:
            keep = g.integers(1, shape[1] + 1, shape[0])
            feeds[graph_input.name] = (np.arange(shape[1])[None, :] < keep[:, None]).astype(np.int64)
    return feeds


def max_difference(src: Path, dst: Path, sizes: dict[str, int], seed: int = 0) -> float:
    """The largest absolute difference of the two graphs' first output on the same random inputs
    (python onnxruntime, CPU, one thread)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    feeds = random_feeds(onnx.load(str(src), load_external_data=False), sizes, seed)
    outputs = [ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
               for p in (src, dst)]
    return float(np.abs(outputs[0] - outputs[1]).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="compare the outputs at B 1 and 2, T 64 and 32, L 32 and 7")
    args = parser.parse_args()
    stats = fuse_file(args.src, args.dst)
    if args.check:
        stats["max_abs_diff"] = {f"B{b} T{t} L{n}": max_difference(args.src, args.dst, {"B": b, "T": t, "L": n}, seed)
                                 for seed, (b, t, n) in enumerate([(1, 64, 32), (2, 64, 32), (2, 32, 7), (1, 64, 7)])}
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
