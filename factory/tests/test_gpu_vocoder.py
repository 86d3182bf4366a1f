"""The vocoder's GAN fine-tune as it runs on a lent GPU (gpu_vocoder.py), here on the CPU with the
micro build, and the U-Net benchmark's table (cuda_bench.py) on the CPU."""
import torch

from soundstep_factory import checkpoint


def test_gpu_vocoder_bundle_trains_there_and_restores_here(micro, tmp_path, monkeypatch):
    from soundstep_factory import gpu_vocoder
    from soundstep_factory.train import vocoder_stage

    cfg = micro["cfg"]
    packed = gpu_vocoder.pack(cfg, tmp_path / "bundle", clips=3)
    assert packed["clips"] == 3 and packed["max_rounding"] < 2e-5  # 16-bit samples
    bundle = torch.load(packed["bundle"], weights_only=False)
    waves = checkpoint.load_features(cfg)["wave"][torch.tensor(bundle["rows"])]
    assert torch.allclose(gpu_vocoder.unpack_waves(bundle), waves.clamp(-1, 1), atol=2e-5)

    result = gpu_vocoder.train(packed["bundle"], tmp_path / "out", seconds=4, batch=2, segment=8, snapshots=2,
                               device="cpu", lr=1e-4)
    assert result["snapshots"] == ["vocoder-gan-1.pt", "vocoder-gan-2.pt"] and result["steps"] >= 1
    first, last = (torch.load(tmp_path / "out" / name, weights_only=False) for name in result["snapshots"])
    assert first["step"] <= last["step"] == result["steps"] and last["lr"] == 1e-4
    trained = last["generator"]
    assert any(not torch.equal(trained[k], v) for k, v in bundle["generator"].items())  # it moved

    from soundstep_factory.vocoder_eval import snapshot_vocoder  # how vocoder_eval --snapshots reads one
    name, vocode = snapshot_vocoder(cfg, tmp_path / "out" / "vocoder-gan-2.pt")
    assert name == f"out step {last['step']}"
    mel = checkpoint.load_features(cfg)["mel"][:2].numpy()  # (2, frames, mels)
    assert vocode(mel).shape == (2, mel.shape[1] * cfg.audio.hop_length)

    # restored into a work root of its own: the micro build's stays without a vocoder-gan stage
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "here"))
    restored = gpu_vocoder.restore(cfg, tmp_path / "out" / "vocoder-gan-2.pt")
    assert restored["checkpoint"] == str(tmp_path / "here" / "micro" / "vocoder-gan" / "checkpoint.pt")
    assert not (micro["root"] / "micro" / "vocoder-gan").exists()
    state = torch.load(restored["checkpoint"], weights_only=False)
    assert state["stage"] == "vocoder-gan" and state["step"] == last["step"] and vocoder_stage(cfg) == "vocoder"
    assert all(torch.equal(state["model"][k], v) for k, v in trained.items())
    # it records the GPU's full widths but no discriminators: a CPU run resuming from it starts small ones
    from soundstep_factory.gan import DISC_WIDTHS, resumed_disc_widths
    from soundstep_factory.gpu_vocoder import FULL_DISC_WIDTHS
    assert tuple(state["extra"]["disc_widths"]) == FULL_DISC_WIDTHS != DISC_WIDTHS
    assert resumed_disc_widths(state) == DISC_WIDTHS
    stored = {"extra": {"discriminators": {}, "disc_widths": [8, 16, 32, 64]}}
    assert resumed_disc_widths(stored) == (8, 16, 32, 64) and resumed_disc_widths(None) == DISC_WIDTHS


def test_cuda_bench_times_both_batches_and_the_loops_on_cpu():
    from soundstep_factory.cuda_bench import time_unet
    from soundstep_factory.tango_spec import TINY, build_unet

    rows = time_unet(build_unet(TINY).eval(), (TINY.latent_channels, 16, 4), 5, TINY.hidden_size, repeats=1,
                     device="cpu")
    for key in ("batch1_float32_eager_ms", "batch2_float32_eager_ms", "batch1_bfloat16_eager_ms"):
        assert rows[key] > 0
    loop = rows["loops_float32_eager"]
    assert loop["ratio"] == loop["teacher_200_guided_ms"] / loop["student_25_ms"] > 0
    assert not any("graph" in key for key in rows)  # CUDA graphs only on a GPU
