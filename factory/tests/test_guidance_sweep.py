"""guidance_sweep on the micro pack: each scale is sampled on the same noise rows, stored apart from
evaluate's runs, and the pack's own scale reuses evaluate's run (which it reproduces exactly)."""
import numpy as np
import torch

from soundstep_factory import evaluate as ev
from soundstep_factory.config import load_config
from soundstep_factory.generate import PackRunner, Timing
from soundstep_factory.guidance_sweep import markdown_row, run_folder, template_split_row
from soundstep_factory.judge import judge_path, load_judge
from soundstep_factory.prompt_eval import generate, load_free_form


def test_each_scale_on_the_same_noise_and_the_default_reused(micro_build, linked_work_dir, tmp_path, monkeypatch):
    source = micro_build["root"] / "micro"
    root = linked_work_dir(tmp_path / "work", [p.name for p in source.iterdir() if p.name not in ("eval", "judge")])
    monkeypatch.setenv("SOUNDSTEP_WORK", str(root))
    cfg = load_config("micro")
    ev.stage_judge(cfg, ev.JudgeConfig(widths=(4, 8), steps=6, batch_size=4, checkpoint_every=3))
    judge = load_judge(judge_path(cfg))
    ecfg = ev.EvalConfig(runs=1, num_prompts=cfg.data.num_test, batch_size=3, examples=2)
    real = ev.test_prompts(cfg, ecfg)
    runner = PackRunner(micro_build["pack"], threads=1)
    assert runner.guidance_for("teacher") == 3.0

    default = torch.load(ev.generate_run(cfg, ecfg, runner, "teacher", 4, 0, real), weights_only=False)
    rows = {w: template_split_row(cfg, ecfg, runner, judge, w, 4, 1, real) for w in (1.0, 3.0)}
    unguided = torch.load(run_folder(cfg, "test", 1.0, 4) / "seed0.pt", weights_only=False)
    assert unguided["guidance"] == 1.0 and default["guidance"] == 3.0
    assert not run_folder(cfg, "test", 3.0, 4).exists()  # the pack's scale reused evaluate's run
    assert (unguided["z0"] - default["z0"]).abs().max() > 1e-3  # the scale changes the sample
    again = ev.sample_latents(ecfg, runner, "teacher", 4, real["captions"], 0, Timing(), 3.0)
    np.testing.assert_array_equal(again, default["z0"].numpy())  # the same noise rows: reuse is exact
    assert rows[1.0]["fad_judge"]["mean"] != rows[3.0]["fad_judge"]["mean"]
    assert all(0 <= r["adherence"]["mean"] <= 1 and r["fd_mel"]["mean"] > 0 for r in rows.values())

    prompts = load_free_form()[:3]
    waves = {w: generate(runner, "teacher", 4, prompts, 0, tmp_path / f"w{w}.npy", scale=w) for w in (1.0, 3.0)}
    assert waves[1.0].shape == waves[3.0].shape and np.abs(waves[1.0] - waves[3.0]).max() > 1e-4
    free = {"speech_present[speaking]": 0.5, "speech_present[no speech]": 0.0, "known_below_35": 1,
            "rms_dbfs_min_known": -40.0, "pairs_ordered": 1.0, "judge_adherence": 0.25}
    assert markdown_row(1.0, rows[1.0], free).startswith(f"| 1 | {rows[1.0]['fad_judge']['mean']:.2f}")

