"""Reading a pack graph's weights back into the state_dict of the PyTorch module it came from.

A pack's ONNX graph holds every weight, but not under a name one can rely on: torch.onnx.export
keeps a parameter's name only where an op reads it as it is (a convolution's weight). Where
constant folding changed it first, the graph holds a new tensor, onnx::MatMul_123 (a Linear
weight, transposed) or onnx::Mul_456 (a GroupNorm scale with two unit axes added), and it merges
equal tensors into one. quantize.py then renames what it stores compressed (`<name>_int8` with
`<name>_scale`, or `<name>_fp16`) and restores it through Cast and Mul nodes.

So the mapping is found, not written down: the recipe's own module is exported once more (the
"probe", through graphs.torch_export, as export.py does) with every state_dict tensor set to
distinct random values, and each key is looked up among the probe graph's constants by value:
the node that reads it, the input slot, and the layout change (none, a reshape, a transpose).
Node names come from the module tree (/unet/down_blocks.1/attentions.0/.../attn1/to_q/MatMul),
not from the weights, so in the pack's graph of the same architecture the same node reads the
same weight, whatever its initializer is called and however it is stored. A key whose node or
shape the pack's graph lacks, or a weight of the pack that no key claims, means another
architecture: GraphMismatch, naming the first such weight with both shapes. (Node names are
torch.onnx's: a pack exported by a torch that names them otherwise reads as a mismatch too.)

The values are the ones ONNX Runtime computes from the stored tensors (int8 times its channel's
scale, float16 widened), so a module read back gives the pack's outputs. Against the weights that
were exported: float16 within 2^-11 relative per value, int8 within half a step, max|w| / 254 of
the value's output channel.
"""
from __future__ import annotations

import copy
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .graphs import torch_export


class GraphMismatch(ValueError):
    """The pack's graph is not the module the recipe builds (another architecture or size)."""


@dataclass(frozen=True)
class WeightPlace:
    """Where one state_dict tensor sits in an exported graph."""
    node: str  # the name of the node that reads it
    slot: int  # which input of that node
    transposed: bool  # a Linear weight read by MatMul; otherwise the same values, maybe with unit axes added
    graph_shape: tuple[int, ...]  # its shape in the graph


def _node_key(node: onnx.NodeProto) -> str:
    return node.name or f"output {node.output[0]}"


def graph_constants(model: onnx.ModelProto) -> tuple[dict[str, np.ndarray], set[str]]:
    """Every float32 tensor the graph holds, by value name, and the nodes that only compute them:
    initializers, Constant nodes, the Identity nodes through which the export lets a tensor equal
    to another read that one, and quantize.py's restoring nodes (Cast of a stored int8 or float16
    tensor to float32, Mul by the channel scales), evaluated as ONNX Runtime folds them when it
    loads the graph (float32 arithmetic)."""
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    constant_nodes = set()
    for node in model.graph.node:
        if node.op_type == "Constant":
            tensor = next((a.t for a in node.attribute if a.name == "value"), None)
            if tensor is None:
                continue
            values[node.output[0]] = numpy_helper.to_array(tensor)
        elif node.op_type == "Identity" and node.input[0] in values:  # how the export shares equal tensors
            values[node.output[0]] = values[node.input[0]]
        elif node.op_type == "Cast" and node.input[0] in values:
            if next(a.i for a in node.attribute if a.name == "to") != onnx.TensorProto.FLOAT:
                continue
            values[node.output[0]] = values[node.input[0]].astype(np.float32)
        elif node.op_type == "Mul" and all(i in values and values[i].dtype == np.float32 for i in node.input):
            values[node.output[0]] = values[node.input[0]] * values[node.input[1]]
        else:
            continue
        constant_nodes.add(_node_key(node))
    return {name: v for name, v in values.items() if v.dtype == np.float32}, constant_nodes


def weight_slots(model: onnx.ModelProto) -> tuple[dict[tuple[str, int], str], dict[str, np.ndarray]]:
    """(node, input slot) -> the name of the float32 constant it reads, for every node that
    computes on the graph's inputs; and the constants by name."""
    constants, constant_nodes = graph_constants(model)
    slots = {}
    for node in model.graph.node:
        if _node_key(node) in constant_nodes:
            continue
        for slot, name in enumerate(node.input):
            if name in constants:
                slots[(_node_key(node), slot)] = name
    return slots, constants


def probe_places(module: torch.nn.Module, inputs: dict[str, torch.Tensor], output: str,
                 dynamic: dict[str, dict[int, str]]) -> tuple[dict[str, WeightPlace], set[tuple[str, int]]]:
    """Where each float state_dict key of `module` lands when exported (keys the graph does not use
    are absent), and every (node, slot) of the probe graph that reads a float constant."""
    probe = copy.deepcopy(module)
    state = probe.state_dict()  # shares storage with the probe's parameters and buffers
    generator = torch.Generator().manual_seed(0)
    index: dict[tuple[int, bytes], list[str]] = {}
    with torch.no_grad():
        for tensor in state.values():
            if tensor.is_floating_point() and tensor.numel():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)
    for key, tensor in state.items():  # after every copy: a tensor shared by two keys holds the last draw
        if tensor.is_floating_point() and tensor.numel():
            index.setdefault((tensor.numel(), tensor.reshape(-1)[:1].numpy().tobytes()), []).append(key)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings were shown when the pack was exported
        torch_export(probe, inputs, output, Path(tmp) / "probe.onnx", dynamic)
        slots, constants = weight_slots(onnx.load(str(Path(tmp) / "probe.onnx")))
    places = {}
    for (node, slot), name in slots.items():
        a = constants[name]
        for key in index.get((a.size, a.reshape(-1)[:1].tobytes()), []) if a.size else []:
            s = state[key].numpy()
            if key in places:
                continue
            if np.array_equal(a.reshape(-1), s.reshape(-1)):
                places[key] = WeightPlace(node, slot, False, a.shape)
            elif s.ndim == 2 and a.shape == s.T.shape and np.array_equal(a, s.T):
                places[key] = WeightPlace(node, slot, True, a.shape)
    return places, set(slots)


def _as_module_shape(shape: tuple[int, ...], place: WeightPlace, module_shape: tuple[int, ...]) -> tuple[int, ...]:
    """A pack tensor's shape in the module's terms (undo the transpose, drop the unit axes the
    export added), for messages; the graph's own shape when the two do not line up."""
    if place.transposed:
        return tuple(reversed(shape))
    kept, j = [], 0
    for i, size in enumerate(place.graph_shape):
        if j < len(module_shape) and size == module_shape[j]:
            kept.append(i)
            j += 1
    if j == len(module_shape) and len(shape) == len(place.graph_shape):
        return tuple(shape[i] for i in kept)
    return shape


def read_state(graph: Path, wrapper: torch.nn.Module, inputs: dict[str, torch.Tensor], output: str,
               dynamic: dict[str, dict[int, str]]) -> dict[str, torch.Tensor]:
    """The state_dict entries of the model in `wrapper` (a graphs.py wrapper, exported with these
    inputs, output name and dynamic axes) that the pack's `graph` holds, as float32 tensors of the
    model's shapes, under the model's own keys (conv_in.weight, not unet.conv_in.weight). Entries
    the export does not use (the VAE decoder in the encoder's graph) are not returned. Raises
    GraphMismatch, naming the first weight that differs with both shapes."""
    [(attribute, _)] = wrapper.named_children()
    places, probe_slots = probe_places(wrapper, inputs, output, dynamic)
    slots, constants = weight_slots(onnx.load(str(graph)))
    expected = wrapper.state_dict()
    read = {}
    for key in [k for k in expected if k in places]:  # state_dict order: the first mismatch is named
        place, want, model_key = places[key], tuple(expected[key].shape), key.removeprefix(f"{attribute}.")
        name = slots.get((place.node, place.slot))
        if name is None:
            raise GraphMismatch(f"{graph.name}: weight {model_key}: the recipe's model has shape {want}, the pack's "
                                f"graph has none (no node {place.node} reading it): another architecture")
        value = constants[name].T if place.transposed else constants[name]
        wanted_in_graph = tuple(reversed(place.graph_shape)) if place.transposed else place.graph_shape
        if value.shape != wanted_in_graph:
            raise GraphMismatch(f"{graph.name}: weight {model_key}: shape "
                                f"{_as_module_shape(constants[name].shape, place, want)} in the pack, {want} in the "
                                "recipe's model")
        read[model_key] = torch.from_numpy(np.ascontiguousarray(value).reshape(want).copy())
    extra = [(node, name) for (node, slot), name in slots.items() if (node, slot) not in probe_slots]
    if extra:
        extra.sort(key=lambda e: constants[e[1]].size <= 1)  # a weight first, before a scalar of some other op
        node, name = extra[0]
        stored = name.removesuffix("_restored")  # quantize.py's name for a compressed weight
        raise GraphMismatch(f"{graph.name}: weight {stored} (read by {node}): shape {tuple(constants[name].shape)} "
                            "in the pack, none in the recipe's model: another architecture")
    return read
