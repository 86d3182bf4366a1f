"""The evaluation on the micro pack (conftest.py builds it once per session): caption use,
the batched ONNX sampler, judge -> floor -> generate -> table -> report, and mixed-step diagnosis.
"""
import dataclasses
import hashlib
import json
import math

import numpy as np
import pytest
import torch

from soundstep_factory.config import load_config
from soundstep_factory.models import build_unet


def test_caption_use_is_zero_for_a_teacher_deaf_to_the_text(micro, tmp_path, monkeypatch):
    """evaluate --stage captions: the trained micro teacher's error depends on the caption; with its
    cross-attention outputs zeroed it cannot hear the text, and own, other and empty errors agree."""
    from soundstep_factory import checkpoint
    from soundstep_factory.evaluate import CAPTION_TIMESTEPS, stage_captions

    cfg = micro["cfg"]
    heard = stage_captions(cfg)
    assert len(heard["v_mse"]["own"]) == len(CAPTION_TIMESTEPS) and heard["clips"] == cfg.data.num_test
    assert all(0 < v < 10 for v in heard["mean_v_mse"].values())
    assert heard["caption_gain"] != 0 and heard["mean_v_mse"]["own"] != heard["mean_v_mse"]["other"]

    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path))
    deaf_cfg = load_config("micro")
    deaf_cfg.work_dir.mkdir(parents=True)
    for name in ("features.pt", "latents.pt"):
        (deaf_cfg.work_dir / name).symlink_to(micro["root"] / "micro" / name)
    state = checkpoint.load(micro["root"] / "micro" / "teacher" / "checkpoint.pt")
    weights = {k: torch.zeros_like(v) if ".attn2.to_out." in k else v for k, v in state["ema"].items()}
    assert any(".attn2.to_out." in k for k in weights)
    unet = build_unet(deaf_cfg, state["model"]["down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"].shape[1])
    unet.load_state_dict(weights)
    checkpoint.save(deaf_cfg.work_dir / "teacher" / "checkpoint.pt", cfg=deaf_cfg, stage="teacher", step=1, model=unet)
    deaf = stage_captions(deaf_cfg)
    assert deaf["caption_gain"] == pytest.approx(0, abs=1e-6)
    assert deaf["wrong_caption_gain"] == pytest.approx(0, abs=1e-6)


def test_pack_runner_replays_the_golden_trajectory(micro):
    """The evaluation's batched ONNX sampler is the app's sampler: same z after every step."""
    from soundstep_factory.generate import PackRunner

    pack = micro["pack"]
    traj = json.loads((pack / "golden.json").read_text())["trajectory"]
    runner = PackRunner(pack, threads=1)
    hidden, mask = runner.encode([traj["prompt"]])
    noise = np.asarray(traj["noise"], np.float32).reshape(1, *traj["latent_shape"])
    z0 = runner.sample("teacher", traj["steps"], hidden, mask, noise, traj["guidance_scale"])
    np.testing.assert_allclose(z0.ravel(), traj["z"][-1], atol=1e-4)
    assert runner.decode(z0).shape == (1, micro["cfg"].audio.num_samples)


def test_evaluation_stages_and_report(micro, tmp_path, monkeypatch):
    """judge -> floor -> generate (2 seeds) -> table -> report, on the micro pack."""
    import shutil

    from soundstep_factory import evaluate as ev
    from soundstep_factory.generate import PackRunner
    from soundstep_factory.report import metrics_rows, report

    cfg = micro["cfg"]
    pack = tmp_path / "pack"
    shutil.copytree(micro["pack"], pack)
    judged = ev.stage_judge(cfg, ev.JudgeConfig(widths=(4, 8), steps=6, batch_size=4, checkpoint_every=3))
    assert judged["num_test"] == cfg.data.num_test and 0 <= judged["summary"]["micro_f1"]["mean"] <= 1
    ecfg = ev.EvalConfig(runs=2, num_prompts=cfg.data.num_test, batch_size=3, examples=2)
    floor = ev.stage_floor(cfg, ecfg, pack)
    assert floor["real"]["fad_judge"] == 0.0 and floor["vae+vocoder"]["mel_l1"] > 0 and floor["vae (mel)"]["mel_l1"] > 0
    # the VAE floor from checkpoints (float32) is the pack's (float16 decoder) within storage error
    vae_stage = ev.stage_vae(cfg, ecfg)
    vae_floor = vae_stage["vae (mel)"]
    named = {s for srcs in ev.test_prompts(cfg, ecfg)["sources"] for s in srcs}
    assert set(vae_stage["source_recall"]["real"]) == set(vae_stage["source_recall"]["vae (mel)"]) == named
    assert np.mean(vae_stage["found"]["vae (mel)"]) == pytest.approx(vae_floor["adherence"])
    assert len(vae_stage["clip_ids"]) == len(vae_stage["found"]["real"]) == ecfg.num_prompts
    assert vae_floor["mel_l1"] == pytest.approx(floor["vae (mel)"]["mel_l1"], abs=2e-3)
    assert vae_floor["fd_mel"] == pytest.approx(floor["vae (mel)"]["fd_mel"], rel=0.05)
    runner = PackRunner(pack, threads=1)
    for seed in range(ecfg.runs):
        ev.generate_run(cfg, ecfg, runner, "teacher", 25, seed)
    assert ev.redecode_runs(cfg, ecfg, pack) == []  # already decoded by this pack's decoder and vocoder
    table = ev.stage_table(cfg, ecfg)
    (row,) = table["rows"]
    assert (row["denoiser"], row["steps"], row["runs"]) == ("teacher", 25, 2)
    assert row["nfe"]["values"] == [50.0, 50.0]  # guided: two evaluations per step
    runs = [torch.load(ev.generated_path(cfg, "teacher", 25, seed), weights_only=False) for seed in range(2)]
    assert (runs[0]["z0"] - runs[1]["z0"]).abs().max() > 0.1  # the seeds differ
    assert all(math.isfinite(v) for k in ("fad_judge", "fd_mel", "adherence_vae_mel") for v in row[k]["values"])
    assert sum(floor["mix_counts"].values()) == ecfg.num_prompts
    assert all(0 <= floor["real"][f"adherence_{m}"] <= 1 for m in floor["mix_counts"] if floor["mix_counts"][m])
    seen = ev.stage_seen(cfg, ecfg, pack, steps=25)
    assert set(seen["splits"]) == {"train", "test"} and seen["runs"] == ecfg.runs
    for split in seen["splits"].values():
        assert len(split["teacher"]["adherence"]["values"]) == ecfg.runs
        assert 0 <= split["teacher"]["adherence_vae_mel"]["mean"] <= 1 and 0 <= split["real"]["adherence"] <= 1
    out = report(cfg, ecfg, pack, docs=tmp_path / "docs")
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "| teacher | 25 | 50 |" in text and "Teacher quality bars" in text
    assert "### Adherence by composition" in text and "| real clips | " in text and "| teacher 200 steps" not in text  # no 200-step run here
    assert "### Seen and unseen captions" in text and "| training prompts (seen) |" in text
    assert (tmp_path / "docs" / "results" / "training-curves.png").stat().st_size > 1000
    assert (tmp_path / "docs" / "results" / "fad-vs-steps.png").exists()
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["metrics"]["rows"][0]["denoiser"] == "teacher" and manifest["metrics"]["runs"] == 2
    # the manifest row: the audio figures, and the same figures on the VAE's log-mel (before the vocoder)
    (shipped,) = manifest["metrics"]["rows"]
    for k in ("fad_judge", "fd_mel", "adherence"):
        assert shipped[k]["mean"] == row[k]["mean"]
        assert shipped["log_mel"][k]["mean"] == row[f"{k}_vae_mel"]["mean"]
        assert shipped["log_mel"][k]["ci95"] == row[f"{k}_vae_mel"]["ci95"] >= 0  # two runs: an interval
    assert shipped["log_mel"]["fad_judge"]["mean"] != shipped["fad_judge"]["mean"]  # a different measurement
    assert 0 <= shipped["log_mel"]["adherence"]["mean"] <= 1
    old = {k: v for k, v in row.items() if not k.endswith("_vae_mel")}  # a table scored before the log-mel figures
    assert "log_mel" not in metrics_rows({"rows": [old]})[0]
    metrics = (pack / "metrics.json").read_bytes()
    assert manifest["files"]["metrics.json"]["sha256"] == hashlib.sha256(metrics).hexdigest()
    assert json.loads(metrics)["seen"]["splits"]["train"]["teacher"] == seen["splits"]["train"]["teacher"]
    assert out["checks"][0]["check"].startswith("teacher at 200") and not out["checks"][0]["passed"]


def test_diagnose_mixes_student_and_teacher_steps(micro):
    """sample_mixed with one denoiser throughout is `sample`; a mixed plan really switches; diagnose
    scores every plan and takes each one's gap to the teacher seed by seed."""
    from soundstep_factory import evaluate as ev
    from soundstep_factory.diagnose import diagnose, plans
    from soundstep_factory.distill import distill
    from soundstep_factory.export import export_pack
    from soundstep_factory.generate import PackRunner, noise_for

    cfg = dataclasses.replace(micro["cfg"], distill=dataclasses.replace(micro["cfg"].distill, rounds=2))
    pack = micro["root"] / "pack-students"
    if not (pack / "manifest.json").exists():  # made by the distillation test when it ran first
        distill(cfg, "bsa")
        export_pack(cfg, pack)
    runner = PackRunner(pack, threads=1)
    hidden, mask = runner.encode(["a dog barks while a man speaks", "a siren"])
    noise = noise_for(0, 2, runner.latent_shape)
    teacher = runner.sample("teacher", 100, hidden, mask, noise, 3.0)
    student = runner.sample("bsa-100", 100, hidden, mask, noise, None)
    np.testing.assert_array_equal(runner.sample_mixed(lambda i: ("teacher", 3.0), 100, hidden, mask, noise), teacher)
    np.testing.assert_array_equal(runner.sample_mixed(lambda i: ("bsa-100", None), 100, hidden, mask, noise), student)
    mixed = runner.sample_mixed(plans("bsa-100", 100, 3.0)["teacher-first-50"], 100, hidden, mask, noise)
    assert np.abs(mixed - teacher).max() > 1e-4 and np.abs(mixed - student).max() > 1e-4

    assert [plans("bsa-100", 100, 3.0)["student-first-10"](i) for i in (9, 10)] == [("bsa-100", None), ("teacher", 3.0)]
    ev.stage_judge(micro["cfg"], ev.JudgeConfig(widths=(4, 8), steps=6, batch_size=4, checkpoint_every=3))
    judge, vocab = ev.load_judge(ev.judge_path(micro["cfg"]))
    real = ev.test_prompts(micro["cfg"], ev.EvalConfig(num_prompts=micro["cfg"].data.num_test))
    result = diagnose(runner, judge, vocab, real, "bsa-100", seeds=[0, 1], batch=4)
    fad, gap = result["fad_judge_vae_mel"], result["gap_to_teacher"]
    assert sorted(fad) == sorted(["student", "teacher", "teacher-first-10", "student-first-10",
                                  "teacher-first-50", "student-first-50"])
    assert all(len(v) == 2 and all(math.isfinite(x) for x in v) for v in fad.values())
    assert gap["teacher"]["mean"] == 0.0
    assert gap["student"]["mean"] == pytest.approx(np.mean(np.subtract(fad["student"], fad["teacher"])))
