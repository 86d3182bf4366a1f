"""The U-Net told where each latent cell lies (models.CoordinateUNet)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from diffusers import UNet2DConditionModel

from soundstep_factory import checkpoint
from soundstep_factory.checkpoint import load_trained
from soundstep_factory.config import load_config
from soundstep_factory.export import DenoiserGraph, export_graph
from soundstep_factory.models import CoordinateUNet, build_unet

HIDDEN = 12


@pytest.fixture(scope="module")
def unet() -> CoordinateUNet:
    cfg = load_config("micro")
    cfg = dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, coordinates=True))
    torch.manual_seed(0)
    return build_unet(cfg, HIDDEN).eval()


def inputs(batch: int, unet: CoordinateUNet) -> dict[str, torch.Tensor]:
    T, Fb = unet.config.sample_size
    g = torch.Generator().manual_seed(batch)
    mask = torch.ones(batch, 7, dtype=torch.int64)
    mask[0, 3:] = 0
    return {"sample": torch.randn(batch, 4, T, Fb, generator=g), "timestep": torch.arange(batch) * 300 + 1,
            "encoder_hidden_states": torch.randn(batch, 7, HIDDEN, generator=g), "encoder_attention_mask": mask}


def test_the_coordinates_are_time_and_mel_ramps(unet: CoordinateUNet) -> None:
    T, Fb = unet.config.sample_size
    c = unet.coordinates(torch.zeros(3, 4, T, Fb))  # (3, 2, T, F)
    assert c.shape == (3, 2, T, Fb)
    assert c[:, 0, 0].eq(-1).all() and c[:, 0, -1].eq(1).all()  # time: first frame -1, last +1, any band
    assert c[:, 1, :, 0].eq(-1).all() and c[:, 1, :, -1].eq(1).all()  # mel: lowest band -1, highest +1
    assert torch.allclose(c[0, 0, :, 0].diff(), torch.full((T - 1,), 2 / (T - 1)))


def test_it_is_the_plain_unet_fed_the_latent_and_the_ramps(unet: CoordinateUNet) -> None:
    plain = UNet2DConditionModel(**unet.config).eval()
    plain.load_state_dict(unet.state_dict())  # the same parameter names: checkpoints move across
    x = inputs(2, unet)
    with torch.no_grad():
        got = unet(x["sample"], x["timestep"], x["encoder_hidden_states"],
                   encoder_attention_mask=x["encoder_attention_mask"]).sample
        fed = torch.cat([x["sample"], unet.coordinates(x["sample"])], dim=1)
        expected = plain(fed, x["timestep"], x["encoder_hidden_states"],
                         encoder_attention_mask=x["encoder_attention_mask"]).sample
    assert got.shape == x["sample"].shape  # the ramps go in, not out
    torch.testing.assert_close(got, expected)


def test_its_graph_appends_the_ramps_itself_for_any_batch(unet: CoordinateUNet, tmp_path: Path) -> None:
    path = tmp_path / "denoiser.onnx"
    dynamic = {"sample": {0: "B"}, "timestep": {0: "B"}, "encoder_hidden_states": {0: "B", 1: "L"},
               "encoder_attention_mask": {0: "B", 1: "L"}, "v_prediction": {0: "B"}}
    export_graph(DenoiserGraph(unet), inputs(2, unet), "v_prediction", path, dynamic)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1] == 4  # the app feeds the latent's channels only
    x = inputs(3, unet)
    (got,) = session.run(None, {k: v.numpy() for k, v in x.items()})
    with torch.no_grad():
        expected = DenoiserGraph(unet)(*x.values()).numpy()
    assert np.abs(got - expected).max() < 1e-4


def test_a_plain_checkpoint_in_a_coordinate_recipe_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path))
    plain_cfg = load_config("micro")
    checkpoint.save(plain_cfg.work_dir / "teacher" / "checkpoint.pt", cfg=plain_cfg, stage="teacher", step=1,
                    model=build_unet(plain_cfg, HIDDEN))
    coordinate_cfg = dataclasses.replace(plain_cfg, unet=dataclasses.replace(plain_cfg.unet, coordinates=True))
    with pytest.raises(RuntimeError, match="train --stage teacher again"):
        load_trained(coordinate_cfg, "teacher", build_unet(coordinate_cfg, HIDDEN))
    assert not isinstance(load_trained(plain_cfg, "teacher", build_unet(plain_cfg, HIDDEN)), CoordinateUNet)
