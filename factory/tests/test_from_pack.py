"""Continuing from a pack (from_pack.py) on the micro build of conftest.py: build -> pack -> import
into a fresh work dir -> build again, which trains nothing it imported and exports the same graphs.

The fresh work dir links the micro build's rendered clips, text encoder and features: a build in a
new session makes them again identically (they are deterministic and not in the pack), and
linking keeps this module to about half a minute.
"""
import dataclasses
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from soundstep_factory.config import load_config
from soundstep_factory.files import sha256
from soundstep_factory.pack_students import denoiser_inputs

GRAPHS = ("denoisers/teacher.onnx", "vae_encoder.onnx", "vae_decoder.onnx", "vocoder.onnx")
STAGES = ("vae", "vocoder", "teacher")
SHARED = ("data", "text", "features.pt")  # remade identically by a build; linked to save time


@pytest.fixture(scope="module")
def imported(micro, tmp_path_factory, linked_work_dir):
    """The micro pack imported into a fresh work dir, then `build` run there."""
    from soundstep_factory.build import build
    from soundstep_factory.from_pack import import_pack

    root = linked_work_dir(tmp_path_factory.mktemp("imported"), SHARED)
    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(root))
    try:
        report = import_pack(load_config("micro"), micro["pack"])
        written = {s: (root / "micro" / s / "checkpoint.pt").read_bytes() for s in STAGES}
        result = build("micro", out=root / "pack")
    finally:
        mp.undo()
    return {"root": root, "report": report, "written": written, "result": result}


def _state(path):
    state = torch.load(path, weights_only=False)
    return state, state["ema"] or state["model"]


def test_imported_weights_are_the_trained_ones_within_the_storage_rounding(micro, imported):
    cfg, manifest_sha = micro["cfg"], sha256(micro["pack"] / "manifest.json")
    storage = {"vae": cfg.vae.storage, "vocoder": cfg.vocoder.storage, "teacher": cfg.unet.teacher_storage}
    errors = {}
    for stage in STAGES:
        trained_state, trained = _state(micro["root"] / "micro" / stage / "checkpoint.pt")
        state, weights = _state(imported["root"] / "micro" / stage / "checkpoint.pt")
        assert state["step"] == trained_state["step"] and state["optimizer"] is None
        assert state["extra"]["imported"]["manifest_sha256"] == manifest_sha
        assert weights.keys() == trained.keys()
        relative = [float((weights[k] - w).abs().max() / w.abs().max()) for k, w in trained.items()
                    if w.is_floating_point() and w.abs().max() > 0]
        errors[stage] = max(relative)
        assert errors[stage] <= {"float16": 1e-3, "float32": 0.0}[storage[stage]], (stage, errors[stage])
    print("largest |imported - trained| / max |trained| per tensor:", errors)
    assert errors["teacher"] > 0  # the micro teacher's weights are stored float16, not float32


def test_the_imported_encoder_gives_the_trained_latents(micro, imported):
    """latents.pt made by the build from the imported VAE, at the pack's scale; and the pack's
    vae_encoder.onnx itself gives the latents the teacher was trained on, times the scale."""
    trained = torch.load(micro["root"] / "micro" / "latents.pt", weights_only=False)
    again = torch.load(imported["root"] / "micro" / "latents.pt", weights_only=False)
    manifest = json.loads((micro["pack"] / "manifest.json").read_text())
    assert again["scale"] == trained["scale"] == manifest["latent"]["scale"]
    peak = float(trained["latents"].abs().max())
    assert float((again["latents"] - trained["latents"]).abs().max()) <= 1e-3 * peak
    mel = torch.load(micro["root"] / "micro" / "features.pt", weights_only=False)["mel"][:4].unsqueeze(1)
    encoder = ort.InferenceSession(str(micro["pack"] / "vae_encoder.onnx"), providers=["CPUExecutionProvider"])
    latent = encoder.run(None, {"log_mel": mel.numpy()})[0]  # (4, C, T, F)
    assert latent.shape == (4, *[manifest["latent"][k] for k in ("channels", "frames", "bins")])
    np.testing.assert_allclose(latent, (trained["latents"][:4] * trained["scale"]).numpy(),
                               atol=1e-3 * peak * trained["scale"])


def test_the_build_after_an_import_trains_nothing_and_exports_the_same_graphs(micro, imported):
    for stage in STAGES:  # no stage saved a checkpoint: none of them trained
        assert (imported["root"] / "micro" / stage / "checkpoint.pt").read_bytes() == imported["written"][stage], stage
    for name in GRAPHS:  # float16 of weights read back from float16 is the same float16
        assert sha256(imported["root"] / "pack" / name) == sha256(micro["pack"] / name), name


def test_the_teacher_trains_on_from_the_imported_weights(micro, imported, tmp_path, monkeypatch, capsys, linked_work_dir):
    from soundstep_factory.train import train_teacher

    root = linked_work_dir(tmp_path, SHARED)
    (root / "micro" / "latents.pt").symlink_to(imported["root"] / "micro" / "latents.pt")
    (root / "micro" / "teacher").mkdir()
    (root / "micro" / "teacher" / "checkpoint.pt").write_bytes(imported["written"]["teacher"])
    monkeypatch.setenv("SOUNDSTEP_WORK", str(root))
    cfg = load_config("micro")
    longer = dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, steps=cfg.unet.steps + 2))
    train_teacher(longer)
    assert f"[teacher] resumed at step {cfg.unet.steps} (imported weights, fresh optimizer)" in capsys.readouterr().out
    state = torch.load(root / "micro" / "teacher" / "checkpoint.pt", weights_only=False)
    assert state["step"] == cfg.unet.steps + 2 and state["optimizer"] is not None
    assert state["extra"]["continued_from"]["manifest_sha256"] == sha256(micro["pack"] / "manifest.json")
    _, start = _state(micro["root"] / "micro" / "teacher" / "checkpoint.pt")
    moved = max(float((state["model"][k] - w).abs().max()) for k, w in start.items())
    assert 0 < moved < 0.05  # two small steps away from the imported weights, not from a fresh U-Net


def test_an_int8_teacher_reads_back_within_half_a_quantization_step(micro, tmp_path):
    """int8 storage (quantize.py: one scale per output channel, max |w| / 127) reads back within
    half a step of each value's channel; float tensors below STORED_MIN_ELEMENTS come back exact."""
    from soundstep_factory.export import DenoiserGraph, export_graph
    from soundstep_factory.graph_weights import read_state
    from soundstep_factory.graphs import DENOISER_AXES, STORED_MIN_ELEMENTS
    from soundstep_factory.models import build_unet

    cfg = micro["cfg"]
    _, trained = _state(micro["root"] / "micro" / "teacher" / "checkpoint.pt")
    hidden = json.loads((micro["pack"] / "manifest.json").read_text())["text"]["hidden_size"]
    unet = build_unet(cfg, hidden)
    unet.load_state_dict(trained)
    inputs = denoiser_inputs(cfg, hidden)
    export_graph(DenoiserGraph(unet), inputs, "v_prediction", tmp_path / "teacher.onnx", DENOISER_AXES, "int8")
    read = read_state(tmp_path / "teacher.onnx", DenoiserGraph(unet), inputs, "v_prediction", DENOISER_AXES)
    worst = 0.0
    for key, w in trained.items():
        error = (read[key] - w).abs()
        if w.numel() >= STORED_MIN_ELEMENTS and w.ndim >= 2:
            half_step = w.abs().amax(dim=tuple(range(1, w.ndim)), keepdim=True) / 254  # output channel: axis 0
            worst = max(worst, float((error / half_step).max()))
        else:
            assert float(error.max()) == 0.0, key
    print(f"int8 teacher: largest error {worst:.6f} half steps")
    assert 0.5 < worst <= 1 + 1e-4





def test_a_pack_of_another_architecture_is_refused_naming_the_weight(micro, tmp_path, monkeypatch):
    from soundstep_factory.from_pack import GraphMismatch, import_pack

    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path))
    cfg = load_config("micro")
    wider = dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, block_out_channels=(16, 16, 16)))
    with pytest.raises(GraphMismatch, match=r"weight conv_in\.weight: shape \(8, 4, 3, 3\) in the pack, "
                                            r"\(16, 4, 3, 3\) in the recipe's model"):
        import_pack(wider, micro["pack"])
    pooled = dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, pooled_text=True))
    with pytest.raises(GraphMismatch, match=r"weight class_embedding\.linear_1\.weight: the recipe's model has "
                                            r"shape \(32, 384\), the pack's graph has none"):
        import_pack(pooled, micro["pack"])
    assert not (tmp_path / "micro").exists()  # a refusal writes nothing


def test_a_graph_with_weights_the_recipe_lacks_is_refused(micro, tmp_path):
    """The other direction: a pooled-caption teacher's graph read as the plain U-Net."""
    from soundstep_factory.export import DenoiserGraph, export_graph
    from soundstep_factory.graph_weights import GraphMismatch, read_state
    from soundstep_factory.graphs import DENOISER_AXES
    from soundstep_factory.models import build_unet

    cfg, hidden = micro["cfg"], 384
    pooled = dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, pooled_text=True))
    inputs = denoiser_inputs(cfg, hidden)
    export_graph(DenoiserGraph(build_unet(pooled, hidden)), inputs, "v_prediction", tmp_path / "pooled.onnx",
                 DENOISER_AXES, "float32")
    with pytest.raises(GraphMismatch, match=r"\(read by /unet/class_embedding/.*none in the recipe's model"):
        read_state(tmp_path / "pooled.onnx", DenoiserGraph(build_unet(cfg, hidden)), inputs, "v_prediction",
                   DENOISER_AXES)


def test_a_pack_without_a_vae_encoder_is_refused(micro, tmp_path, monkeypatch):
    from soundstep_factory import from_pack

    manifest = json.loads((micro["pack"] / "manifest.json").read_text())
    del manifest["vae_encoder"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "work"))
    monkeypatch.setattr("sys.argv", ["from_pack", "--pack", str(tmp_path / "old"), "--config", "micro"])
    with pytest.raises(SystemExit, match=r"from_pack: .*no vae_encoder: it predates the VAE encoder in the pack.*"
                                         r"Re-export it from its work dir"):
        from_pack.main()
    with pytest.raises(SystemExit, match="already has checkpoints"):  # nor overwrite a work dir's own
        monkeypatch.setenv("SOUNDSTEP_WORK", str(micro["root"]))
        monkeypatch.setattr("sys.argv", ["from_pack", "--pack", str(micro["pack"]), "--config", "micro"])
        from_pack.main()


def test_a_vocoder_alone_is_borrowed_from_a_pack_without_a_vae_encoder_into_another_latent_space(micro, tmp_path,
                                                                                                monkeypatch):
    from soundstep_factory import from_pack

    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((micro["pack"] / "manifest.json").read_text())
    del manifest["vae_encoder"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    (old / "vocoder.onnx").symlink_to(micro["pack"] / "vocoder.onnx")
    cfg = load_config("micro")
    other_space = dataclasses.replace(cfg, vae=dataclasses.replace(cfg.vae, latent_channels=cfg.vae.latent_channels * 2))
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "work"))
    report = from_pack.import_pack(other_space, old, only=frozenset({"vocoder"}))
    assert set(report["stages"]) == {"vocoder"}
    assert sorted(p.parent.name for p in (tmp_path / "work" / "micro").glob("*/checkpoint.pt")) == ["vocoder"]
    _, borrowed = _state(tmp_path / "work" / "micro" / "vocoder" / "checkpoint.pt")
    _, trained = _state(micro["root"] / "micro" / "vocoder" / "checkpoint.pt")
    worst = max(float((borrowed[k] - trained[k]).abs().max() / trained[k].abs().max().clamp(min=1e-12)) for k in trained)
    assert worst < 1e-3, worst  # float16 storage
    with pytest.raises(from_pack.PackTooOld):  # the teacher still needs the encoder's latent space
        from_pack.import_pack(cfg, old, only=frozenset({"teacher"}), force=True)


def test_a_harmonic_vocoder_ships_and_reads_back_with_its_pitch_net(micro, tmp_path, monkeypatch):
    """ship_graph.ship_vocoder exports the iSTFT vocoder with the harmonic path and its pitch net in one graph
    (the app's contract, log_mel -> waveform, unchanged), and from_pack gives both back."""
    import shutil

    from soundstep_factory import checkpoint, from_pack, pitch_net
    from soundstep_factory.ship_graph import ship_vocoder

    work = tmp_path / "work"
    (work / "micro").mkdir(parents=True)
    for name in ("features.pt", "vocoder"):
        (work / "micro" / name).symlink_to(micro["root"] / "micro" / name)
    monkeypatch.setenv("SOUNDSTEP_WORK", str(work))
    cfg = load_config("micro")
    cfg = dataclasses.replace(cfg, vocoder=dataclasses.replace(cfg.vocoder, harmonic=True, harmonic_voiced_db=-100.0))
    torch.manual_seed(0)
    net = pitch_net.PitchNet(cfg.audio.n_mels, pitch_net.PitchConfig())
    checkpoint.save(pitch_net.pitch_dir(cfg) / "checkpoint.pt", cfg=cfg, stage="pitch", step=1, model=net,
                    extra={"pitch_config": dataclasses.asdict(pitch_net.PitchConfig())})
    pack = tmp_path / "pack"
    shutil.copytree(micro["pack"], pack)
    report = ship_vocoder(cfg, pack)
    assert report["parity"]["float32_log_mel_relative_rms_error"] < 1e-3
    assert report["parity"]["stored_log_mel_relative_rms_error"] < 0.05
    mel = torch.randn(1, cfg.audio.n_mels, 64) - 3
    session = ort.InferenceSession(str(pack / "vocoder.onnx"), providers=["CPUExecutionProvider"])
    wave = session.run(None, {"log_mel": mel.numpy()})[0]
    assert wave.shape == (1, 64 * cfg.audio.hop_length) and np.isfinite(wave).all()
    assert len(session.get_inputs()) == 1 and session.get_inputs()[0].name == "log_mel"

    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "fresh"))
    result = from_pack.import_pack(cfg, pack, only=frozenset({"vocoder"}))
    assert set(result["stages"]) == {"vocoder", "pitch"}
    back = torch.load(tmp_path / "fresh" / "micro" / "pitch" / "checkpoint.pt", weights_only=False)
    for key, trained in net.state_dict().items():
        worst = float((back["model"][key] - trained).abs().max() / trained.abs().max().clamp(min=1e-12))
        assert worst < 1e-3, (key, worst)  # float16 storage
    assert pitch_net.load_pitch_net(cfg).pcfg == pitch_net.PitchConfig()
