"""speed_sweep.py: the multiply-accumulate count against a graph counted by hand and against
PyTorch's own FLOP counter, and a candidate exported as a student runs at the latent's shape.
On the micro recipe's U-Net (a few seconds)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch.utils.flop_counter import FlopCounterMode

from soundstep_factory.config import PackConfig, load_config
from soundstep_factory.graphs import DenoiserGraph
from soundstep_factory.speed_sweep import (
    CANDIDATE_FILE,
    Candidate,
    batch_one_shapes,
    candidate_config,
    export_candidate,
    multiply_accumulates,
    random_unet,
)

HIDDEN = 12
WIDE = Candidate("wide", "the micro recipe's U-Net, (8, 16, 16)", {})
NARROW = Candidate("narrow", "(8, 8, 8)", {"block_out_channels": (8, 8, 8)})


def test_macs_of_a_hand_built_graph() -> None:
    """Conv 3x3 2->3 and grouped Conv 2->4 (2 groups) on 5x5, MatMul (4, 6) x (6, 7), Gemm with transB."""
    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)

    def value(name: str, *shape: int | str) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))

    nodes = [helper.make_node("Conv", ["x", "w_conv"], ["y_conv"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w_group"], ["y_group"], pads=[1, 1, 1, 1], group=2),
             helper.make_node("MatMul", ["m", "w_matmul"], ["y_matmul"]),
             helper.make_node("Gemm", ["g", "w_gemm"], ["y_gemm"], transB=1)]
    graph = helper.make_graph(
        nodes, "hand", [value("x", "B", 2, 5, 5), value("m", "B", 4, 6), value("g", "B", 6)],
        [value("y_conv", "B", 3, 5, 5), value("y_group", "B", 4, 5, 5), value("y_matmul", "B", 4, 7),
         value("y_gemm", "B", 7)],
        [weight("w_conv", 3, 2, 3, 3), weight("w_group", 4, 1, 3, 3), weight("w_matmul", 6, 7), weight("w_gemm", 7, 6)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    # per batch row: 75 outputs x 18, 100 x 9, 28 x 6, 7 x 6
    per_row = 3 * 25 * (2 * 9) + 4 * 25 * (1 * 9) + 4 * 7 * 6 + 7 * 6
    assert per_row == 2460
    for batch in (1, 3):
        shapes = {"x": [batch, 2, 5, 5], "m": [batch, 4, 6], "g": [batch, 6]}
        assert multiply_accumulates(model, shapes) == batch * per_row


@pytest.fixture(scope="module")
def cfg() -> PackConfig:
    return load_config("micro")


@pytest.fixture(scope="module")
def exported(cfg: PackConfig, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Both micro candidates exported as students, with a manifest copied beside each."""
    root = tmp_path_factory.mktemp("speed-sweep")
    manifest = root / "source-manifest.json"
    manifest.write_text(json.dumps({"latent": {"channels": cfg.vae.latent_channels}}))
    torch.set_num_threads(1)
    return {c.name: export_candidate(cfg, c, HIDDEN, root, manifest) | {"dir": root / c.name}
            for c in (WIDE, NARROW)}


def test_a_candidate_is_exported_as_a_student_that_runs_at_the_latent_shape(
        cfg: PackConfig, exported: dict[str, dict]) -> None:
    stats = exported["wide"]
    path: Path = stats["dir"] / CANDIDATE_FILE
    model = onnx.load(str(path))
    assert stats["nodes"] == len(model.graph.node) > 0
    assert stats["bytes"] == path.stat().st_size
    assert any(init.data_type == TensorProto.INT8 for init in model.graph.initializer)  # stored as a student is
    assert json.loads((stats["dir"] / "manifest.json").read_text()) == {"latent": {"channels": cfg.vae.latent_channels}}
    shapes = batch_one_shapes(cfg, HIDDEN)
    g = np.random.default_rng(0)
    feeds = {"sample": g.standard_normal(shapes["sample"]).astype(np.float32),
             "timestep": np.array([500], dtype=np.int64),
             "encoder_hidden_states": g.standard_normal(shapes["encoder_hidden_states"]).astype(np.float32),
             "encoder_attention_mask": np.ones(shapes["encoder_attention_mask"], dtype=np.int64)}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (v,) = session.run(None, feeds)
    assert v.shape == (1, cfg.vae.latent_channels, cfg.audio.frames // 4, cfg.audio.n_mels // 4)
    assert np.isfinite(v).all() and v.std() > 0


def test_a_narrower_unet_has_fewer_parameters_and_macs(exported: dict[str, dict]) -> None:
    wide, narrow = exported["wide"], exported["narrow"]
    assert wide["parameters"] > narrow["parameters"] > 0
    assert wide["macs"] > narrow["macs"] > 0
    assert wide["bytes"] > narrow["bytes"]


def torch_macs(unet: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> int:
    """PyTorch's count of one run: convolutions and linear layers from FlopCounterMode (2 FLOPs a
    MAC), and each attention's two products (scores, weighted sum: 2 x queries x keys x inner
    channels), which FlopCounterMode leaves out for scaled_dot_product_attention on the CPU."""
    attention = 0

    def count(module: torch.nn.Module, args: tuple, kwargs: dict, _output: torch.Tensor) -> None:
        nonlocal attention
        queries = args[0] if args else kwargs["hidden_states"]  # (B, N, C)
        context = kwargs.get("encoder_hidden_states")
        keys = queries.shape[1] if context is None else context.shape[1]
        attention += 2 * queries.shape[0] * queries.shape[1] * keys * module.inner_dim

    hooks = [m.register_forward_hook(count, with_kwargs=True) for m in unet.modules()
             if type(m).__name__ == "Attention"]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        DenoiserGraph(unet)(*inputs.values())
    for hook in hooks:
        hook.remove()
    flops = counter.get_flop_counts()["Global"]
    linear = sum(v for op, v in flops.items() if str(op).split(".")[1] in ("convolution", "addmm", "mm", "bmm"))
    assert attention > 0 and linear > 0
    return linear // 2 + attention


def test_the_graphs_macs_are_pytorchs(cfg: PackConfig, exported: dict[str, dict]) -> None:
    shapes = batch_one_shapes(cfg, HIDDEN)
    g = torch.Generator().manual_seed(0)
    inputs = {"sample": torch.randn(shapes["sample"], generator=g), "timestep": torch.tensor([500]),
              "encoder_hidden_states": torch.randn(shapes["encoder_hidden_states"], generator=g),
              "encoder_attention_mask": torch.ones(shapes["encoder_attention_mask"], dtype=torch.int64)}
    for candidate in (WIDE, NARROW):
        unet = random_unet(candidate_config(cfg, candidate), HIDDEN)
        assert exported[candidate.name]["macs"] == torch_macs(unet, inputs)
