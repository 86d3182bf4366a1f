"""The whole factory on the micro recipe: data -> text -> VAE -> vocoder -> teacher -> pack.

Runs every stage for real on a few clips (about two minutes on 2 CPU cores; the `micro` fixture,
conftest.py, builds it once per session) and checks the pack the way the app will read it. The
evaluation stages on the same pack: test_micro_eval.py.
"""
import dataclasses
import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from soundstep_factory import sampling
from soundstep_factory.build import build
from soundstep_factory.config import load_config


def _session(pack, name):
    return ort.InferenceSession(str(pack / name), providers=["CPUExecutionProvider"])


def test_manifest_lists_every_file_with_size_and_hash(micro):
    pack = micro["pack"]
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["format"] == "soundstep-pack/1"
    on_disk = {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, entry in manifest["files"].items():
        data = (pack / name).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    cfg = micro["cfg"]
    assert manifest["latent"]["frames"] * 4 == manifest["audio"]["frames"] == cfg.audio.frames
    assert manifest["latent"]["scale"] > 0


def test_the_app_accepts_the_pack(micro):
    """The app's own validator (src/cli/validate-pack.ts: the schema, the cross-field checks, every
    file's size and SHA-256) on the pack the factory built: drift between the two sides fails here."""
    repo = Path(__file__).resolve().parents[2]
    tsx = repo / "node_modules" / ".bin" / "tsx"
    if not tsx.exists():
        pytest.skip("node_modules is not installed (npm ci)")
    run = subprocess.run([str(tsx), "src/cli/validate-pack.ts", str(micro["pack"])], cwd=repo,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert f'pack "{micro["cfg"].pack_id}"' in run.stdout, run.stdout


def test_every_graph_matches_pytorch(micro):
    log = json.loads((micro["pack"] / "build_log.json").read_text())
    errors = log["parity_max_abs_error"]
    cfg = micro["cfg"]
    stored = {"denoisers/teacher.onnx": cfg.unet.teacher_storage, "vae_encoder.onnx": cfg.vae.storage,
              "vae_decoder.onnx": cfg.vae.storage, "vocoder.onnx": cfg.vocoder.storage}
    for name, storage in stored.items():
        assert errors[name]["float32_max_abs_error"] <= 1e-3, name
        assert errors[name]["storage"] == storage
        if storage != "float32":  # the weights as shipped still give PyTorch's output within 5% RMS
            # (the istft vocoder's on its mel: its phases drift slowly, export.log_mel_relative_error)
            key = "stored_log_mel_relative_rms_error" if name == "vocoder.onnx" else "stored_relative_rms_error"
            assert 0 < errors[name][key] <= 0.05, name
    text = errors["text_encoder.onnx"]
    assert text["float_max_abs_error"] <= 1e-3
    assert text["int8_min_cosine"] >= 0.99
    # The pruned vocabulary keeps every caption's hidden states exactly.
    assert text["kept_rows"] < text["vocab_size"] and text["captions_max_abs_error"] == 0.0


def test_text_encoder_is_batch_invariant(micro):
    """A prompt's hidden states must not depend on its batch-mates (students encode alone)."""
    pack = micro["pack"]
    traj = json.loads((pack / "golden.json").read_text())["trajectory"]
    ids, mask = np.array(traj["input_ids"]), np.array(traj["attention_mask"])
    encoder = _session(pack, "text_encoder.onnx")
    batched = encoder.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    for row in range(2):
        alone = encoder.run(None, {"input_ids": ids[row:row + 1], "attention_mask": mask[row:row + 1]})[0]
        np.testing.assert_allclose(batched[row:row + 1], alone, atol=1e-5)


def test_golden_trajectory_replays_through_onnx(micro):
    """sampling.sample over the exported graphs: the stored network outputs come back, and so does z."""
    pack = micro["pack"]
    golden = json.loads((pack / "golden.json").read_text())
    traj = golden["trajectory"]
    assert golden["grids"]["25"] == sampling.trailing_grid(25)
    ids, mask = np.array(traj["input_ids"]), np.array(traj["attention_mask"])
    hidden = _session(pack, "text_encoder.onnx").run(None, {"input_ids": ids, "attention_mask": mask})[0]
    denoiser = _session(pack, "denoisers/teacher.onnx")
    grid = traj["timesteps"]

    def denoise(z2, t):  # (2, C, T, F): the prompt's row, then the empty prompt's
        k = grid.index(t)
        v = denoiser.run(None, {"sample": z2.numpy(), "timestep": np.array([t, t]),
                                "encoder_hidden_states": hidden, "encoder_attention_mask": mask})[0]
        np.testing.assert_allclose(v[0].ravel(), traj["v_cond"][k], atol=1e-4)
        np.testing.assert_allclose(v[1].ravel(), traj["v_uncond"][k], atol=1e-4)
        return torch.from_numpy(v)

    def check_z(k, z):
        np.testing.assert_allclose(z.numpy().ravel(), traj["z"][k], atol=1e-4)
        steps.append(k)

    steps = []
    noise = torch.tensor(traj["noise"], dtype=torch.float32).reshape(1, *traj["latent_shape"])
    sampling.sample(denoise, noise, grid, sampling.alphas_cumprod(), traj["guidance_scale"], on_step=check_z)
    assert steps == list(range(traj["steps"]))


def test_decoder_and_vocoder_make_a_clip_of_the_manifest_length(micro):
    pack = micro["pack"]
    manifest = json.loads((pack / "manifest.json").read_text())
    lat = manifest["latent"]
    z = np.random.default_rng(0).standard_normal((1, lat["channels"], lat["frames"], lat["bins"])).astype(np.float32)
    log_mel = _session(pack, "vae_decoder.onnx").run(None, {"latent": z / lat["scale"]})[0]
    assert log_mel.shape == (1, 1, manifest["audio"]["frames"], manifest["audio"]["n_mels"])
    wave = _session(pack, "vocoder.onnx").run(None, {"log_mel": log_mel[:, 0].transpose(0, 2, 1).copy()})[0]
    assert wave.shape == (1, manifest["audio"]["num_samples"])
    assert np.isfinite(wave).all()


def test_checkpoints_describe_themselves_and_builds_resume(micro):
    cfg = micro["cfg"]
    state = torch.load(micro["root"] / "micro" / "teacher" / "checkpoint.pt", weights_only=False)
    assert state["step"] == cfg.unet.steps
    assert state["config"]["unet"]["block_out_channels"] == list(cfg.unet.block_out_channels) or \
        tuple(state["config"]["unet"]["block_out_channels"]) == cfg.unet.block_out_channels
    assert state["ema"] is not None and state["optimizer"] is not None and state["revision"]
    # A second build finds every stage done: no rendering, no training, only the export.
    again = build("micro", out=micro["root"] / "pack2")
    trained = sum(again["stage_seconds"][s] for s in ("data", "vae", "vocoder", "teacher"))
    assert trained < 0.25 * sum(micro["result"]["stage_seconds"][s] for s in ("data", "vae", "vocoder", "teacher"))


def test_a_distillation_round_lowers_the_loss(micro):
    """Round one (guided teacher at 200 -> student at 100) with BSA weights."""
    from soundstep_factory.distill import distill

    summaries = distill(micro["cfg"], "bsa")
    assert [s["n_student"] for s in summaries] == [100]
    for n in (100,):
        state = torch.load(micro["root"] / "micro" / "distill" / "bsa" / f"n{n}" / "checkpoint.pt", weights_only=False)
        history = state["history"]
        assert history[0]["step"] == 0 and state["extra"]["done"]
        # The best validation loss is clearly below the loss of the student's initialization.
        assert state["extra"]["best"] < 0.9 * history[0]["val_loss"], history

    # A second round for BSA, two for eps, and one past the paper's halvings for both (50 -> 10,
    # each student step matching five): the pack ships every BSA round, and eps's last halving
    # round and the one past it, each distilled from its nearest shipped ancestor, unguided.
    from soundstep_factory.export import export_pack

    cfg = dataclasses.replace(micro["cfg"], distill=dataclasses.replace(
        micro["cfg"].distill, rounds=2, beyond_steps=(10,), beyond_methods=("bsa", "eps")))
    for method in ("bsa", "eps"):
        assert [s["factor"] for s in distill(cfg, method)][-1] == 5
    export_pack(cfg, micro["root"] / "pack-students")
    manifest = json.loads((micro["root"] / "pack-students" / "manifest.json").read_text())
    students = [d for d in manifest["denoisers"] if d["role"] == "student"]
    # each says its largest weight tensor, as its graph file holds it (tensor_sizes.py)
    from soundstep_factory.tensor_sizes import largest_tensor_bytes
    # and the teacher graph it was distilled from (pack_teacher.stale_students): this pack's own
    teacher_sha = hashlib.sha256((micro["root"] / "pack-students" / "denoisers" / "teacher.onnx").read_bytes()).hexdigest()
    for d in students:
        assert d.pop("largest_tensor_bytes") == largest_tensor_bytes(micro["root"] / "pack-students" / d["file"]) > 0
        assert d.pop("teacher_sha256") == teacher_sha == manifest["files"]["denoisers/teacher.onnx"]["sha256"]
    assert students == [
        {"id": "bsa-100", "file": "denoisers/bsa-100.onnx", "role": "student", "method": "bsa",
         "steps": [100], "guidance": {"type": "folded"}, "distilled_from": "teacher"},
        {"id": "bsa-50", "file": "denoisers/bsa-50.onnx", "role": "student", "method": "bsa",
         "steps": [50], "guidance": {"type": "folded"}, "distilled_from": "bsa-100"},
        {"id": "bsa-10", "file": "denoisers/bsa-10.onnx", "role": "student", "method": "bsa",
         "steps": [10], "guidance": {"type": "folded"}, "distilled_from": "bsa-50"},
        {"id": "eps-50", "file": "denoisers/eps-50.onnx", "role": "student", "method": "eps",
         "steps": [50], "guidance": {"type": "folded"}, "distilled_from": "teacher"},
        {"id": "eps-10", "file": "denoisers/eps-10.onnx", "role": "student", "method": "eps",
         "steps": [10], "guidance": {"type": "folded"}, "distilled_from": "eps-50"},
    ]
    log = json.loads((micro["root"] / "pack-students" / "build_log.json").read_text())
    for student in students:
        assert log["parity_max_abs_error"][student["file"]]["float32_max_abs_error"] <= 1e-3


def test_round1_targets_are_computed_once_and_change_no_student(micro, tmp_path, monkeypatch):
    """eps's round 1 read the targets bsa's stored; computing its own gives the same student."""
    from soundstep_factory.distill import distill, distill_data

    cfg = micro["cfg"]
    for method in ("bsa", "eps"):
        distill(cfg, method)
    [folder] = (micro["root"] / "micro" / "distill" / "round1-targets").iterdir()
    chunks = sorted(p.name for p in folder.iterdir())
    assert chunks == ["steps-00000.pt", "steps-00005.pt", "steps-00010.pt"]  # 15 steps, 5 per chunk
    assert torch.load(folder / chunks[0], weights_only=True).shape == (5, cfg.distill.batch_size, *distill_data(cfg)["x0"].shape[1:])

    # The same round without sharing, in a work folder that sees the same teacher and data.
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path))
    (tmp_path / "micro").mkdir()
    for entry in (micro["root"] / "micro").iterdir():
        if entry.name != "distill":
            (tmp_path / "micro" / entry.name).symlink_to(entry)
    alone = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, share_round1_targets=False))
    distill(alone, "eps")
    assert not (tmp_path / "micro" / "distill" / "round1-targets").exists()
    shared_state = torch.load(micro["root"] / "micro" / "distill" / "eps" / "n100" / "checkpoint.pt", weights_only=False)
    alone_state = torch.load(tmp_path / "micro" / "distill" / "eps" / "n100" / "checkpoint.pt", weights_only=False)
    assert shared_state["extra"]["targets_read_from_shared"] == 15  # every step of eps's round 1
    assert alone_state["extra"]["targets_read_from_shared"] == 0
    assert [h["val_loss"] for h in alone_state["history"]] == pytest.approx(
        [h["val_loss"] for h in shared_state["history"]], rel=1e-5)
    for name, weight in alone_state["model"].items():
        assert torch.allclose(weight, shared_state["model"][name], atol=1e-6), name


def test_gpu_bundle_carries_the_distillation_inputs_and_brings_students_back(micro, tmp_path, monkeypatch):
    """pack -> unpack rebuilds what distillation reads (text states, latents, teacher); collect ->
    restore brings a student back within the float16 rounding of its difference from the teacher."""
    from soundstep_factory import gpu_bundle
    from soundstep_factory.distill import distill, distill_data

    cfg = micro["cfg"]
    packed = gpu_bundle.pack(cfg, tmp_path / "bundle", micro["pack"])
    assert packed["rows"] == cfg.data.num_train and packed["teacher_tensors_from_graph"] > 0
    here = distill_data(cfg)
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "there"))
    there_cfg = load_config("micro")
    assert gpu_bundle.unpack(there_cfg, tmp_path / "bundle", micro["pack"])["text_max_abs_error"] < 1e-4
    there = distill_data(there_cfg)
    assert torch.equal(there["mask"], here["mask"])
    assert (there["hidden"] - here["hidden"]).abs().max() < 1e-4
    assert (there["x0"] - here["x0"]).abs().max() <= here["x0"].abs().max() * 2 ** -11  # float16 rounding
    teacher_there = gpu_bundle._teacher(there_cfg).state_dict()
    monkeypatch.setenv("SOUNDSTEP_WORK", str(micro["root"]))
    teacher_here = gpu_bundle._teacher(cfg).state_dict()
    assert all(torch.equal(teacher_there[k], teacher_here[k]) for k in teacher_here)

    # Two rounds, so that a restore adding round 2's difference to anything but the teacher shows.
    cfg = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, rounds=2))
    distill(cfg, "bsa")  # done already by the test above: this only loads it
    report = gpu_bundle.collect(cfg, tmp_path / "students", ["bsa"])
    gpu_bundle.restore(cfg, [tmp_path / "students" / "students-bsa.pt"], tmp_path / "restored")
    assert sorted(report) == ["bsa/n100", "bsa/n50"]
    for n in (100, 50):
        original = torch.load(micro["root"] / "micro" / "distill" / "bsa" / f"n{n}" / "checkpoint.pt", weights_only=False)
        restored = torch.load(tmp_path / "restored" / "bsa" / f"n{n}" / "checkpoint.pt", weights_only=False)
        error = max(float((restored["model"][k] - v).abs().max()) for k, v in original["model"].items())
        assert error == pytest.approx(report[f"bsa/n{n}"]["restore_max_abs_error"]) and error < 1e-3
        assert restored["history"] == original["history"] and restored["extra"]["best"] == original["extra"]["best"]


def test_the_teacher_stage_imports_what_distillation_imports():
    """A lent GPU machine runs `train --stage teacher` with the packages distillation needs: the
    rendering, mel and text modules (soundfile, transformers.audio_utils) load only when used."""
    import subprocess
    import sys

    code = ("import sys, soundstep_factory.train, soundstep_factory.distill; "
            "print(sorted(m for m in sys.modules if m in ('soundfile', 'soundstep_factory.data', "
            "'soundstep_factory.mel', 'soundstep_factory.text', 'transformers.audio_utils')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gpu_bundle_without_a_teacher_brings_back_the_teacher_trained_there(micro, tmp_path, monkeypatch):
    """pack --train-teacher -> unpack (no teacher) -> train --stage teacher -> distill -> collect
    returns teacher.pt; restore makes it the teacher checkpoint, and the students restore onto it."""
    import shutil

    from soundstep_factory import checkpoint, gpu_bundle, train
    from soundstep_factory.distill import distill

    cfg = micro["cfg"]
    packed = gpu_bundle.pack(cfg, tmp_path / "bundle", micro["pack"], train_teacher=True)
    assert packed["teacher_tensors_from_graph"] == 0
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "there"))
    there_cfg = load_config("micro")
    assert gpu_bundle.unpack(there_cfg, tmp_path / "bundle", micro["pack"])["teacher"] == "to be trained here"
    assert not (there_cfg.work_dir / "teacher" / "checkpoint.pt").exists()
    train.train_teacher(there_cfg, device="cpu")
    distill(there_cfg, "bsa")
    report = gpu_bundle.collect(there_cfg, tmp_path / "returned", ["bsa"], with_teacher=True)
    assert report["teacher"]["steps"] == there_cfg.unet.steps
    teacher_there = gpu_bundle._teacher(there_cfg).state_dict()
    student_there = checkpoint.load(there_cfg.work_dir / "distill" / "bsa" / "n100" / "checkpoint.pt")["model"]

    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path / "back"))  # a work dir with no teacher yet
    back_cfg = load_config("micro")
    shutil.copytree(micro["root"] / "micro" / "text", back_cfg.work_dir / "text")
    restored = gpu_bundle.restore(back_cfg, sorted((tmp_path / "returned").glob("*.pt")), back_cfg.work_dir / "distill")
    assert restored["teacher"]["steps"] == there_cfg.unet.steps and "bsa/n100" in restored
    teacher_back = gpu_bundle._teacher(back_cfg).state_dict()
    assert all(torch.equal(teacher_back[k], v) for k, v in teacher_there.items())
    student_back = checkpoint.load(back_cfg.work_dir / "distill" / "bsa" / "n100" / "checkpoint.pt")["model"]
    assert max(float((student_back[k] - v).abs().max()) for k, v in student_there.items()) < 1e-3


def test_an_experiment_pack_can_reuse_another_packs_vocoder(micro, tmp_path):
    """export --vocoder-from: the vocoder graph is copied byte for byte, the rest exported as usual;
    a pack whose mel front end differs is refused."""
    from soundstep_factory.export import copy_vocoder, export_pack

    cfg = micro["cfg"]
    out = tmp_path / "experiment"
    export_pack(cfg, out, students=False, vocoder_from=micro["pack"])
    assert (out / "vocoder.onnx").read_bytes() == (micro["pack"] / "vocoder.onnx").read_bytes()
    log = json.loads((out / "build_log.json").read_text())["parity_max_abs_error"]
    assert log["vocoder.onnx"]["copied_from"] == str(micro["pack"]) and "vae_decoder.onnx" in log
    manifest = json.loads((out / "manifest.json").read_text())
    assert [d["id"] for d in manifest["denoisers"]] == ["teacher"]
    other_rate = dataclasses.replace(cfg.audio, sample_rate=22050)
    with pytest.raises(ValueError, match="mel front end"):
        copy_vocoder(micro["pack"], tmp_path, other_rate)


def test_vocoder_gan_stage_trains_and_resumes(micro):
    """HiFi-GAN fine-tuning: discriminator outputs per sub-discriminator, a checkpoint that resumes."""
    import dataclasses

    from soundstep_factory.gan import Discriminators, discriminator_loss, feature_matching_loss
    from soundstep_factory.train import train_vocoder_gan, vocoder_stage

    disc = Discriminators()
    real, fake = torch.randn(2, 1600), torch.zeros(2, 1600)
    out_real, out_fake = disc(real), disc(fake)
    assert len(out_real) == 8  # 5 periods + 3 scales
    assert float(discriminator_loss(out_real, out_fake)) > 0 and float(feature_matching_loss(out_real, out_real)) == 0

    cfg = micro["cfg"]
    gan = dataclasses.replace(cfg, vocoder=dataclasses.replace(cfg.vocoder, gan_steps=2))
    assert vocoder_stage(cfg) == "vocoder" and vocoder_stage(gan) == "vocoder-gan"
    train_vocoder_gan(gan)
    path = micro["root"] / "micro" / "vocoder-gan" / "checkpoint.pt"
    assert torch.load(path, weights_only=False)["step"] == 2
    train_vocoder_gan(dataclasses.replace(gan, vocoder=dataclasses.replace(gan.vocoder, gan_steps=3)))
    state = torch.load(path, weights_only=False)
    assert state["step"] == 3 and "discriminators" in state["extra"]
