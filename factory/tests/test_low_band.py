"""The low-band refiner of the iSTFT vocoder (low_band.py) and its "vocoder-low" stage."""
import dataclasses
import json

import numpy as np
import torch

from soundstep_factory.config import PackConfig
from soundstep_factory.low_band import LowBandVocoder
from soundstep_factory.mel import MelFrontEnd
from soundstep_factory.vocoder import IstftVocoder, build_vocoder, training_loss


def _refined_config(cfg: PackConfig, steps: int = 1) -> PackConfig:
    return dataclasses.replace(cfg, vocoder=dataclasses.replace(cfg.vocoder, channels=16, low_band_steps=steps))


def _log_mel(cfg: PackConfig, seconds: float = 0.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A 220 Hz harmonic tone with a little noise, and its log-mel (1, frames, mels)."""
    sr = cfg.audio.sample_rate
    t = torch.arange(int(seconds * sr)) / sr
    g = torch.Generator().manual_seed(seed)
    wave = sum(0.2 / h * torch.sin(2 * np.pi * 220 * h * t) for h in range(1, 6)) + 0.01 * torch.randn(len(t), generator=g)
    return wave.unsqueeze(0).float(), MelFrontEnd(cfg.audio)(wave.unsqueeze(0).float())


def test_the_untrained_refiner_is_the_vocoder_it_refines():
    cfg = _refined_config(PackConfig())
    model = build_vocoder(cfg).eval()
    assert isinstance(model, LowBandVocoder) and isinstance(model.vocoder, IstftVocoder)
    assert isinstance(build_vocoder(cfg, refined=False), IstftVocoder)
    assert model.low_bins == 40  # 1250 Hz at 31.25 Hz a bin (n_fft 512 at 16 kHz)
    _, log_mel = _log_mel(cfg)
    with torch.no_grad():
        refined, plain = model(log_mel), model.vocoder(log_mel)
    assert refined.shape == plain.shape == (1, log_mel.shape[1] * cfg.audio.hop_length)
    assert torch.allclose(refined, plain, atol=1e-6)
    # Once its output layer moves, the low band's advances move and nothing above the band edge does.
    with torch.no_grad():
        model.out.bias.fill_(0.3)
        _, advance, _ = model.heads(log_mel)
        _, plain_advance, _ = model.vocoder.heads(log_mel)
    k = model.low_bins
    assert torch.equal(advance[:, k:], plain_advance[:, k:])
    assert float((advance[:, :k] - plain_advance[:, :k]).abs().max()) > 0.1


def test_the_magnitude_correction_starts_at_zero_and_moves_only_the_low_bins():
    cfg = _refined_config(PackConfig())
    cfg = dataclasses.replace(cfg, vocoder=dataclasses.replace(cfg.vocoder, low_band_magnitude=True, low_band_layers=2))
    model = build_vocoder(cfg).eval()
    assert model.out.out_channels == 3 and len(model.body) == 2
    _, log_mel = _log_mel(cfg)
    with torch.no_grad():
        assert torch.allclose(model(log_mel), model.vocoder(log_mel), atol=1e-6)
        model.out.bias.copy_(torch.tensor([0.0, 0.0, 0.5]))  # only the magnitude channel moves
        magnitude, advance, _ = model.heads(log_mel)
        plain_magnitude, plain_advance, _ = model.vocoder.heads(log_mel)
    k = model.low_bins
    assert torch.allclose(magnitude[:, :k] - plain_magnitude[:, :k], torch.full_like(magnitude[:, :k], 0.5), atol=1e-6)
    assert torch.equal(magnitude[:, k:], plain_magnitude[:, k:])
    assert torch.allclose(advance, plain_advance, atol=1e-6)


def test_only_the_refiner_learns():
    cfg = _refined_config(PackConfig())
    model = build_vocoder(cfg)
    wave, log_mel = _log_mel(cfg)
    frames = log_mel.shape[1]
    wave = wave[:, :frames * cfg.audio.hop_length]
    half = model.n_fft // 2
    context = torch.nn.functional.pad(wave.unsqueeze(1), (half, half), mode="reflect").squeeze(1)
    loss, figures = training_loss(model, MelFrontEnd(cfg.audio), log_mel, wave, context)
    loss.backward()
    assert {"mel_l1", "magnitude", "phase_advance"} <= set(figures)
    assert all(p.grad is None for p in model.vocoder.parameters())
    assert float(model.out.weight.grad.abs().sum()) > 0  # the zero-initialised layer gets the first gradient


def test_the_low_band_stage_trains_on_the_frozen_vocoder_and_exports(micro, tmp_path):
    from soundstep_factory.checkpoint import load_trained
    from soundstep_factory.graphs import VOCODER_AXES, VocoderGraph, export_graph, run_graph
    from soundstep_factory.train import train_vocoder_low, vocoder_stage

    cfg = micro["cfg"]
    low = dataclasses.replace(cfg, vocoder=dataclasses.replace(cfg.vocoder, low_band_steps=3))
    assert vocoder_stage(cfg) == "vocoder" and vocoder_stage(low) == "vocoder-low"
    train_vocoder_low(low)
    state = torch.load(micro["root"] / "micro" / "vocoder-low" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 3
    base = torch.load(micro["root"] / "micro" / "vocoder" / "checkpoint.pt", weights_only=False)["model"]
    for name, value in base.items():  # the vocoder beneath stayed as trained
        assert torch.equal(state["model"][f"vocoder.{name}"], value), name
    model = load_trained(low, "vocoder-low", build_vocoder(low))
    assert float(model.out.weight.abs().sum()) > 0
    mel = torch.randn(1, cfg.audio.n_mels, cfg.audio.frames, generator=torch.Generator().manual_seed(1)) - 5
    report = export_graph(VocoderGraph(model), {"log_mel": mel}, "waveform", tmp_path / "vocoder.onnx", VOCODER_AXES)
    assert report["float32_max_abs_error"] < 1e-3
    wave = run_graph(tmp_path / "vocoder.onnx", {"log_mel": mel})
    with torch.no_grad():
        plain = model.vocoder(mel.transpose(1, 2)).numpy()
    assert wave.shape == plain.shape and float(np.abs(wave - plain).max()) > 0  # the refiner is in the graph


def test_a_refined_vocoder_ships_in_one_graph_and_reads_back_as_both_stages(micro, tmp_path, monkeypatch):
    """ship_graph puts the vocoder and its refiner into the pack's one vocoder graph (the app's contract,
    log_mel -> waveform, unchanged); from_pack gives back the vocoder stage and the refiner's stage."""
    import shutil

    import onnxruntime as ort

    from soundstep_factory import from_pack
    from soundstep_factory.ship_graph import ship_vocoder
    from soundstep_factory.train import train_vocoder_low

    work = tmp_path / "work"
    (work / "micro").mkdir(parents=True)
    for name in ("features.pt", "vocoder"):
        (work / "micro" / name).symlink_to(micro["root"] / "micro" / name)
    monkeypatch.setenv("SOUNDSTEP_WORK", str(work))
    cfg = micro["cfg"]
    cfg = dataclasses.replace(cfg, vocoder=dataclasses.replace(cfg.vocoder, low_band_steps=2, low_band_pitched_clips=4))
    train_vocoder_low(cfg)
    trained = torch.load(work / "micro" / "vocoder-low" / "checkpoint.pt", weights_only=False)["model"]
    pack = tmp_path / "pack"
    shutil.copytree(micro["pack"], pack)
    report = ship_vocoder(cfg, pack)
    assert report["parity"]["float32_max_abs_error"] < 1e-3
    session = ort.InferenceSession(str(pack / "vocoder.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["log_mel"]
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["factory"]["config"]["vocoder"]["low_band_steps"] == 2

    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "fresh"))
    result = from_pack.import_pack(cfg, pack, only=frozenset({"vocoder"}))
    assert set(result["stages"]) == {"vocoder", "vocoder-low"}
    base = torch.load(tmp_path / "fresh" / "micro" / "vocoder" / "checkpoint.pt", weights_only=False)["model"]
    both = torch.load(tmp_path / "fresh" / "micro" / "vocoder-low" / "checkpoint.pt", weights_only=False)["model"]
    assert set(both) == set(trained) and set(base) == {k[len("vocoder."):] for k in trained if k.startswith("vocoder.")}
    for key, value in trained.items():
        worst = float((both[key] - value).abs().max() / value.abs().max().clamp(min=1e-12))
        assert worst < 1e-3, (key, worst)  # float16 storage
