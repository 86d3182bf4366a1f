"""A VAE decoder of its own (VaeConfig.decoder_block_out_channels, decoder_mid_attention): trained
from scratch by the vae-decoder stage on the micro build's frozen latents, shipped as the pack's
vae_decoder.onnx, and read back by from_pack into the recipe's decoder, the encoder untouched.
"""
import dataclasses
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

SHARED = ("data", "text", "features.pt", "latents.pt", "vae", "vocoder", "teacher")  # the micro build's, read only


def _cheap(cfg):
    """micro's recipe with a decoder of other widths (micro's VAE is (8, 8, 8)) and no mid-block attention."""
    return dataclasses.replace(cfg, vae=dataclasses.replace(
        cfg.vae, decoder_block_out_channels=(8, 8, 16), decoder_mid_attention=False, decoder_steps=6, decoder_lr=1e-3))


@pytest.fixture(scope="module")
def cheap(micro, tmp_path_factory, linked_work_dir):
    """The vae-decoder stage and a pack (no students) in a work dir that links the micro build's."""
    from soundstep_factory.export import export_pack
    from soundstep_factory.train import train_vae_decoder

    root = linked_work_dir(tmp_path_factory.mktemp("cheap"), SHARED)
    cfg = _cheap(micro["cfg"])
    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(root))
    try:
        train_vae_decoder(cfg)
        export_pack(cfg, root / "pack", students=False)
    finally:
        mp.undo()
    return {"root": root, "cfg": cfg, "pack": root / "pack"}


def _as_stored(w: torch.Tensor) -> torch.Tensor:
    """A weight as the pack's float16 graph holds it: graphs.STORED_MIN_ELEMENTS and up (convolutions), float16."""
    from soundstep_factory.graphs import STORED_MIN_ELEMENTS

    return w.half().float() if w.ndim >= 2 and w.numel() >= STORED_MIN_ELEMENTS else w


def test_the_stage_trains_a_decoder_of_its_own_and_the_pack_ships_it(micro, cheap):
    from soundstep_factory.models import build_vae

    state = torch.load(cheap["root"] / "micro" / "vae-decoder" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 6 and tuple(state["config"]["vae"]["decoder_block_out_channels"]) == (8, 8, 16)
    own, mirror = build_vae(cheap["cfg"], decoder=True), build_vae(micro["cfg"])
    assert own.decoder.mid_block.attentions[0] is None and mirror.decoder.mid_block.attentions[0] is not None
    assert (own.decoder.conv_in.out_channels, mirror.decoder.conv_in.out_channels) == (16, 8)  # the coarsest width
    # the trained weights run in the pack's graph: its output is the checkpoint's decoder's, with the
    # weights the graph stores as float16 rounded as it rounds them (a 6-step decoder's output moved by up to
    # 2e-3 of its peak with float32 weights: 1 value in 32,768 was past that bound in one CI run)
    own.load_state_dict({name: _as_stored(w) for name, w in state["model"].items()})
    lat = torch.load(micro["root"] / "micro" / "latents.pt", weights_only=False)
    z = lat["latents"][:2]
    with torch.no_grad():
        expected = own.eval().decode(z).sample.numpy()
    session = ort.InferenceSession(str(cheap["pack"] / "vae_decoder.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"latent": z.numpy()})[0]
    assert got.shape == expected.shape == (2, 1, micro["cfg"].audio.frames, micro["cfg"].audio.n_mels)
    np.testing.assert_allclose(got, expected, atol=2e-4 * float(np.abs(expected).max()))
    # and it is not the micro pack's decoder
    theirs = ort.InferenceSession(str(micro["pack"] / "vae_decoder.onnx"), providers=["CPUExecutionProvider"])
    assert float(np.abs(theirs.run(None, {"latent": z.numpy()})[0] - got).max()) > 1e-2


def test_from_pack_reads_the_decoder_back_and_keeps_the_encoder(micro, cheap, tmp_path, monkeypatch, linked_work_dir):
    from soundstep_factory.from_pack import import_pack

    fresh = linked_work_dir(tmp_path / "fresh", ("data", "text", "features.pt"))
    monkeypatch.setenv("SOUNDSTEP_WORK", str(fresh))
    report = import_pack(cheap["cfg"], cheap["pack"], only=frozenset({"vae"}))
    assert set(report["stages"]) == {"vae", "vae-decoder"}
    assert report["stages"]["vae-decoder"]["graphs"] == ["vae_decoder.onnx"]

    def weights(root, stage):
        state = torch.load(root / "micro" / stage / "checkpoint.pt", weights_only=False)
        return state, state["model"]

    _, trained = weights(cheap["root"], "vae-decoder")
    _, imported = weights(fresh, "vae-decoder")
    shipped = [k for k in trained if k.startswith(("decoder.", "post_quant_conv."))]
    for k in shipped:  # float16 in the pack
        assert float((imported[k] - trained[k]).abs().max()) <= 1e-3 * max(float(trained[k].abs().max()), 1e-6), k
    _, encoder = weights(micro["root"], "vae")
    vae_state, vae_imported = weights(fresh, "vae")
    assert "untrained" in vae_state["extra"]["imported"]["note"]
    for k in (k for k in encoder if k.startswith(("encoder.", "quant_conv."))):
        assert float((vae_imported[k] - encoder[k]).abs().max()) <= 1e-3 * max(float(encoder[k].abs().max()), 1e-6), k


def test_a_decoder_of_its_own_needs_the_stage_that_trains_it(micro):
    from soundstep_factory.train import vae_stage

    untrained = dataclasses.replace(micro["cfg"], vae=dataclasses.replace(micro["cfg"].vae, decoder_mid_attention=False))
    with pytest.raises(ValueError, match="set vae.decoder_steps > 0"):
        vae_stage(untrained)
    assert vae_stage(_cheap(micro["cfg"])) == "vae-decoder" and vae_stage(micro["cfg"]) == "vae"
    assert json.loads(json.dumps(dataclasses.asdict(_cheap(micro["cfg"]).vae)))["decoder_mid_attention"] is False


def test_ship_graph_puts_the_decoder_into_a_built_pack_as_export_would(micro, cheap, tmp_path, monkeypatch):
    """The micro pack (its VAE's own decoder) with the cheap decoder shipped into it: the graph, the golden
    run's end (log_mel_sum, waveform_rms) and the manifest agree with the pack export_pack made with it."""
    import shutil

    from soundstep_factory.manifest import files_entry
    from soundstep_factory.ship_graph import ship_vae_decoder

    pack = tmp_path / "pack"
    shutil.copytree(micro["pack"], pack)
    before = json.loads((pack / "manifest.json").read_text())
    monkeypatch.setenv("SOUNDSTEP_WORK", str(cheap["root"]))
    report = ship_vae_decoder(cheap["cfg"], pack)
    assert report["parity"]["float32_max_abs_error"] < 1e-4
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["files"] == files_entry(pack)  # every file as the manifest says: golden.json, build_log.json too
    assert manifest["files"]["vae_decoder.onnx"]["sha256"] != before["files"]["vae_decoder.onnx"]["sha256"]
    assert manifest["factory"]["vae_decoder_of_metrics"] == before["files"]["vae_decoder.onnx"]["sha256"]
    assert manifest["factory"]["config"]["vae"]["decoder_mid_attention"] is False
    shipped, exported = (json.loads((p / "golden.json").read_text())["trajectory"] for p in (pack, cheap["pack"]))
    assert shipped["z"][-1] == exported["z"][-1]  # the same teacher and noise: the same latent
    for key in ("log_mel_sum", "waveform_rms"):
        assert shipped[key] == pytest.approx(exported[key], rel=1e-4), key
    theirs = json.loads((micro["pack"] / "golden.json").read_text())["trajectory"]
    assert shipped["log_mel_sum"] != pytest.approx(theirs["log_mel_sum"], rel=1e-4)  # the old decoder's is gone


def test_the_stage_trains_on_the_train_split_alone(micro, tmp_path, monkeypatch, linked_work_dir):
    """The test clips measure the VAE floor (evaluate --stage vae), so the stage must never draw one: with
    their log-mels made NaN, every loss and weight it writes stays finite."""
    from soundstep_factory.train import train_vae_decoder

    root = linked_work_dir(tmp_path, ("data", "text", "latents.pt", "vae"))
    feats = torch.load(micro["root"] / "micro" / "features.pt", weights_only=False)
    test = torch.tensor([s == "test" for s in feats["split"]])
    assert 0 < int(test.sum()) < len(test)
    feats["mel"][test] = float("nan")
    torch.save(feats, root / "micro" / "features.pt")
    monkeypatch.setenv("SOUNDSTEP_WORK", str(root))
    cfg = _cheap(micro["cfg"])
    train_vae_decoder(cfg)
    state = torch.load(root / "micro" / "vae-decoder" / "checkpoint.pt", weights_only=False)
    assert state["step"] == cfg.vae.decoder_steps
    assert all(np.isfinite(h["loss"]) for h in state["history"]) and state["history"]
    assert all(bool(torch.isfinite(w).all()) for w in state["model"].values())
