"""time_axis.py on a copy of the shipped pack with its time axes fixed again (as it was exported before
time_axis.py freed it): the freed graphs compute exactly what the fixed ones did at the pack's length,
and longer latents (2x, 4x) give clips 2x, 4x as long."""
import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from soundstep_factory.files import sha256
from soundstep_factory.time_axis import free_pack

SHIPPED = Path(__file__).resolve().parents[2] / "public" / "models" / "soundstep-small"


def run(path, **inputs):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, inputs)[0]


def denoiser_inputs(frames, seed=0):
    g = np.random.default_rng(seed)
    return {"sample": g.standard_normal((1, 4, frames, 16)).astype(np.float32),
            "timestep": np.array([500], dtype=np.int64),
            "encoder_hidden_states": g.standard_normal((1, 8, 384)).astype(np.float32),
            "encoder_attention_mask": np.ones((1, 8), dtype=np.int64)}


def fix_time_axis(model, axes, lengths):
    """The declarations torch.onnx.export wrote before time_axis.py: each time axis a number."""
    for value in [*model.graph.input, *model.graph.output]:
        if value.name in axes:
            dim = value.type.tensor_type.shape.dim[axes[value.name][0]]
            dim.ClearField("dim_param")
            dim.dim_value = lengths[axes[value.name][1]]


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    """A copy of the shipped pack with its graphs' time axes fixed, as the pack was exported."""
    import onnx

    from soundstep_factory.manifest import files_entry, write_manifest
    from soundstep_factory.time_axis import pack_graphs

    out = tmp_path_factory.mktemp("fixed") / "soundstep-small"
    shutil.copytree(SHIPPED, out)
    manifest = json.loads((out / "manifest.json").read_text())
    for file, axes in pack_graphs(manifest).items():
        model = onnx.load(str(out / file))
        fix_time_axis(model, axes, {"T": 64, "frames": 256, "samples": 40960})
        onnx.save(model, str(out / file))
    manifest["files"] = files_entry(out)
    write_manifest(out, manifest)
    return out


@pytest.fixture(scope="module")
def freed(fixed, tmp_path_factory):
    out = tmp_path_factory.mktemp("freed") / "soundstep-small"
    return out, free_pack(fixed, out)


def test_a_fixed_length_declared_in_a_graph_is_enforced_by_onnx_runtime(fixed):
    with pytest.raises(Exception, match="Expected: 64"):
        run(fixed / "denoisers" / "teacher.onnx", **denoiser_inputs(128))


def test_the_shipped_pack_is_free():
    import onnx

    from soundstep_factory.time_axis import free_time_axis, pack_graphs

    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    for file, axes in pack_graphs(manifest).items():
        assert free_time_axis(onnx.load(str(SHIPPED / file)), axes) == [], file


def test_every_graph_is_freed_and_the_manifest_rehashed(freed):
    out, changes = freed
    manifest = json.loads((out / "manifest.json").read_text())
    graphs = {d["file"] for d in manifest["denoisers"]} | {"vae_decoder.onnx", "vocoder.onnx"}
    assert set(changes) == graphs
    assert changes["denoisers/teacher.onnx"] == ["sample[2]: 64 -> T", "v_prediction[2]: 64 -> T"]
    assert changes["vocoder.onnx"] == ["log_mel[2]: 256 -> frames", "waveform[1]: 40960 -> samples"]
    for file, entry in manifest["files"].items():
        assert entry["sha256"] == sha256(out / file), file
    assert free_pack(out) == {}  # already free: nothing to do


def test_same_output_at_the_pack_length_and_longer_clips_at_longer_latents(fixed, freed):
    out, _ = freed
    before = run(fixed / "denoisers" / "teacher.onnx", **denoiser_inputs(64))
    assert np.array_equal(run(out / "denoisers" / "teacher.onnx", **denoiser_inputs(64)), before)
    for k in (2, 4):
        v = run(out / "denoisers" / "snr+1-25.onnx", **denoiser_inputs(64 * k))
        assert v.shape == (1, 4, 64 * k, 16) and np.isfinite(v).all()
        log_mel = run(out / "vae_decoder.onnx", latent=v)
        assert log_mel.shape == (1, 1, 256 * k, 64)
        wave = run(out / "vocoder.onnx", log_mel=np.ascontiguousarray(log_mel[:, 0].transpose(0, 2, 1)))
        assert wave.shape == (1, 40960 * k)


def test_graphs_export_declares_the_time_axis_free(tmp_path):
    """A new pack's graphs come out of graphs.torch_export with the time axis named."""
    import torch

    from soundstep_factory.graphs import torch_export

    conv = torch.nn.Conv2d(4, 4, 3, padding=1)
    path = tmp_path / "denoiser.onnx"
    torch_export(conv, {"sample": torch.zeros(1, 4, 64, 16)}, "v_prediction", path, {"sample": {0: "B"}, "v_prediction": {0: "B"}})
    x = np.random.default_rng(1).standard_normal((1, 4, 192, 16)).astype(np.float32)
    with torch.no_grad():
        expected = conv(torch.from_numpy(x)).numpy()
    assert np.abs(run(path, sample=x) - expected).max() < 1e-5
