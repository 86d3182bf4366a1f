"""The U-Net variants: told where each latent cell lies (models.CoordinateUNet), and given the
pooled caption in its time embedding (models.PooledTextUNet)."""
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
from soundstep_factory.models import CoordinateUNet, PooledTextCoordinateUNet, PooledTextUNet, build_unet, masked_mean

HIDDEN = 12


def micro_unet(**flags) -> UNet2DConditionModel:
    cfg = load_config("micro")
    cfg = dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, **flags))
    torch.manual_seed(0)
    return build_unet(cfg, HIDDEN).eval()


@pytest.fixture(scope="module")
def unet() -> CoordinateUNet:
    return micro_unet(coordinates=True)


@pytest.fixture(scope="module")
def pooled() -> PooledTextUNet:
    return micro_unet(pooled_text=True)


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


def export_and_run_batch_of_3(unet: UNet2DConditionModel, path: Path) -> tuple[ort.InferenceSession, np.ndarray, np.ndarray]:
    """Export the pack's denoiser graph (traced at batch 2), run it at batch 3: (session, ORT, PyTorch)."""
    dynamic = {"sample": {0: "B"}, "timestep": {0: "B"}, "encoder_hidden_states": {0: "B", 1: "L"},
               "encoder_attention_mask": {0: "B", 1: "L"}, "v_prediction": {0: "B"}}
    export_graph(DenoiserGraph(unet), inputs(2, unet), "v_prediction", path, dynamic)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = inputs(3, unet)
    (got,) = session.run(None, {k: v.numpy() for k, v in x.items()})
    with torch.no_grad():
        expected = DenoiserGraph(unet)(*x.values()).numpy()
    return session, got, expected


def test_its_graph_appends_the_ramps_itself_for_any_batch(unet: CoordinateUNet, tmp_path: Path) -> None:
    session, got, expected = export_and_run_batch_of_3(unet, tmp_path / "denoiser.onnx")
    assert session.get_inputs()[0].shape[1] == 4  # the app feeds the latent's channels only
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


def test_masked_mean_averages_the_real_tokens_only() -> None:
    states = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]]])  # (1, 3, 2)
    mask = torch.tensor([[1, 1, 0]])
    torch.testing.assert_close(masked_mean(states, mask), torch.tensor([[2.0, 3.0]]))
    torch.testing.assert_close(masked_mean(states, None), torch.tensor([[104.0 / 3, -94.0 / 3]]))
    assert masked_mean(states, torch.zeros(1, 3)).eq(0).all()  # no real token: zeros, not NaN


def test_pooled_unet_is_the_plain_unet_given_the_mean_token_state_as_class_labels(pooled: PooledTextUNet) -> None:
    plain = UNet2DConditionModel(**pooled.config).eval()
    plain.load_state_dict(pooled.state_dict())  # the same parameter names: its projection is diffusers' own
    x = inputs(2, pooled)
    with torch.no_grad():
        got = pooled(x["sample"], x["timestep"], x["encoder_hidden_states"],
                     encoder_attention_mask=x["encoder_attention_mask"]).sample
        pooled_states = masked_mean(x["encoder_hidden_states"], x["encoder_attention_mask"])
        expected = plain(x["sample"], x["timestep"], x["encoder_hidden_states"],
                         encoder_attention_mask=x["encoder_attention_mask"], class_labels=pooled_states).sample
        other = plain(x["sample"], x["timestep"], x["encoder_hidden_states"],
                      encoder_attention_mask=x["encoder_attention_mask"], class_labels=-pooled_states).sample
    torch.testing.assert_close(got, expected)
    assert (got - other).abs().max() > 1e-3  # the pooled caption does reach the output


def test_pooled_unet_ignores_what_the_mask_hides(pooled: PooledTextUNet) -> None:
    x = inputs(2, pooled)
    changed = x["encoder_hidden_states"].clone()
    changed[0, 3:] += 5.0  # row 0's tokens 3.. are padding
    with torch.no_grad():
        a = pooled(x["sample"], x["timestep"], x["encoder_hidden_states"],
                   encoder_attention_mask=x["encoder_attention_mask"]).sample
        b = pooled(x["sample"], x["timestep"], changed, encoder_attention_mask=x["encoder_attention_mask"]).sample
    torch.testing.assert_close(a, b)


def test_pooled_unet_graph_keeps_the_plain_interface_for_any_batch(pooled: PooledTextUNet, tmp_path: Path) -> None:
    session, got, expected = export_and_run_batch_of_3(pooled, tmp_path / "denoiser.onnx")
    assert [i.name for i in session.get_inputs()] == ["sample", "timestep", "encoder_hidden_states",
                                                      "encoder_attention_mask"]
    assert np.abs(got - expected).max() < 1e-4


def test_both_flags_give_ramps_and_pooled_caption() -> None:
    both = micro_unet(coordinates=True, pooled_text=True)
    assert isinstance(both, PooledTextCoordinateUNet)
    plain = UNet2DConditionModel(**both.config).eval()
    plain.load_state_dict(both.state_dict())
    x = inputs(2, both)
    with torch.no_grad():
        got = both(x["sample"], x["timestep"], x["encoder_hidden_states"],
                   encoder_attention_mask=x["encoder_attention_mask"]).sample
        expected = plain(torch.cat([x["sample"], both.coordinates(x["sample"])], dim=1), x["timestep"],
                         x["encoder_hidden_states"], encoder_attention_mask=x["encoder_attention_mask"],
                         class_labels=masked_mean(x["encoder_hidden_states"], x["encoder_attention_mask"])).sample
    torch.testing.assert_close(got, expected)


def test_attention_levels_put_cross_attention_where_the_recipe_says() -> None:
    def attends(unet: UNet2DConditionModel) -> list[bool]:  # per down level, finest first
        return [hasattr(block, "attentions") for block in unet.down_blocks]

    assert attends(micro_unet()) == [False, True, True]  # "coarse": the default
    assert attends(micro_unet(attention_levels="tango")) == [True, True, False]  # Tango's layout
    assert [hasattr(b, "attentions") for b in micro_unet(attention_levels="tango").up_blocks] == [False, True, True]
    with pytest.raises(ValueError, match="attention_levels 'everywhere'"):
        micro_unet(attention_levels="everywhere")


def test_coarsest_and_mid_attend_only_at_the_coarsest_level() -> None:
    """The layouts speed_sweep.py times; the mid block (at the coarsest level) attends in all."""
    assert micro_unet().config.down_block_types == ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D")
    for levels, down in (("coarsest", [False, False, True]), ("mid", [False, False, False])):
        unet = micro_unet(attention_levels=levels)
        assert [hasattr(b, "attentions") for b in unet.down_blocks] == down
        assert [hasattr(b, "attentions") for b in unet.up_blocks] == down[::-1]
        assert hasattr(unet.mid_block, "attentions")
    attentions = {levels: sum(type(m).__name__ == "Attention" for m in micro_unet(attention_levels=levels).modules())
                  for levels in ("coarse", "coarsest", "mid")}
    # self and cross per transformer block: coarse 2 down + 1 mid + 4 up, coarsest 1 + 1 + 2, mid 1
    assert attentions == {"coarse": 14, "coarsest": 8, "mid": 2}


def test_two_coarsest_attends_at_the_two_coarsest_of_four_levels() -> None:
    """small-mid's layout: the proposed U-Net's four levels, attention at 16x4 and 8x2 as well as the mid block."""
    unet = micro_unet(block_out_channels=(8, 8, 16, 16), attention_levels="two-coarsest", attention_head_dim=1)
    assert [hasattr(b, "attentions") for b in unet.down_blocks] == [False, False, True, True]
    assert [hasattr(b, "attentions") for b in unet.up_blocks] == [True, True, False, False]
    assert hasattr(unet.mid_block, "attentions")
