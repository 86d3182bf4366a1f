"""The report's ranking of weightings: means with intervals, and leads judged seed by seed."""
import pytest

from soundstep_factory.evaluate import mean_ci95
from soundstep_factory.report import against_reference_markdown, paired_difference, ranking_cell, winners


def _row(denoiser: str, steps: int, values: list[float]) -> dict:
    mean, half = mean_ci95(values)
    return {"denoiser": denoiser, "steps": steps, "fad_judge_vae_mel": {"mean": mean, "ci95": half, "values": values}}


# Seeds 0..4 share their noise across models, so the per-seed spread (50..58) is common to all.
SEEDS = [50.0, 52.0, 54.0, 56.0, 58.0]


def test_paired_difference_cancels_the_shared_seed_spread() -> None:
    a = {"values": [v + 1.0 + e for v, e in zip(SEEDS, [0.1, -0.1, 0.0, 0.1, -0.1])]}
    diff = paired_difference(a, {"values": SEEDS})
    assert diff["mean"] == pytest.approx(1.0)
    assert 0 < diff["ci95"] < 0.2  # the unpaired intervals are each about 3.9 wide
    with pytest.raises(ValueError, match="differ in number"):
        paired_difference({"values": [1.0, 2.0]}, {"values": SEEDS})


def test_winners_rank_by_mean_and_mark_ties_seed_by_seed() -> None:
    table = {"rows": [
        _row("bsa-25", 25, [v + 1.0 for v in SEEDS]),                                # 1 worse on every seed
        _row("eps-25", 25, SEEDS),                                                    # the best
        _row("snr+1-25", 25, [v + 9.0 for v in SEEDS]),
        _row("bsa-50", 50, SEEDS),
        _row("eps-50", 50, [v + e for v, e in zip(SEEDS, [1.0, -1.0, 1.0, -1.0, 0.5])]),  # no consistent lead
        _row("teacher", 25, [40.0] * 5)]}
    by_steps = {w["steps"]: w for w in winners(table, ("bsa", "eps", "snr+1"), "fad_judge_vae_mel")}
    assert sorted(by_steps) == [25, 50]  # no 100-step rows; the teacher is not a method
    assert [x["method"] for x in by_steps[25]["ranking"]] == ["eps", "bsa", "snr+1"]
    # A 1-point lead inside intervals of +-3.9 is still clear, because it holds on every seed.
    assert by_steps[25]["clear_lead"] and not by_steps[50]["clear_lead"]
    assert ranking_cell(by_steps[25]) == "eps 54 ± 3.9, bsa 55 ± 3.9, snr+1 63 ± 3.9"
    assert ranking_cell(by_steps[50]).startswith("bsa 54 ± 3.9 (tie), eps 54.1")
    assert ranking_cell(None) == "—"


def test_against_reference_table() -> None:
    table = {"rows": [_row("bsa-25", 25, SEEDS), _row("eps-25", 25, [v - 2.0 for v in SEEDS]),
                      _row("snr+1-25", 25, [v + e for v, e in zip(SEEDS, [1.0, -1.0, 1.0, -1.0, 0.5])])]}
    lines = against_reference_markdown(table, ("bsa", "eps", "snr+1"), "bsa", "fad_judge_vae_mel")
    assert "| student steps | eps | snr+1 |" in lines
    assert "| 100 | — | — |" in lines
    row25 = next(line for line in lines if line.startswith("| 25 |"))
    assert row25.startswith("| 25 | **-2.00 ± 0.00** | +0.10 ± ")


def test_distillation_table_lists_an_imported_round_without_its_training_record(tmp_path, monkeypatch) -> None:
    """A round from_pack brought back has no validation history here: the report says so instead of failing."""
    import dataclasses

    import torch

    from soundstep_factory import checkpoint
    from soundstep_factory.config import load_config
    from soundstep_factory.report_markdown import distillation_markdown

    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path))
    cfg = load_config("micro")
    cfg = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, rounds=2))  # 200 -> 100 -> 50
    model = torch.nn.Linear(1, 1)
    trained = {"done": True, "best": 0.0123, "stopped": "budget", "device": "cpu", "seconds": 9.5}
    imported = {"done": True, "method": "bsa", "n_student": 50, "factor": 2, "imported": {"pack": "p"}}
    first, second = (cfg.work_dir / "distill" / "bsa" / f"n{n}" / "checkpoint.pt" for n in (100, 50))
    checkpoint.save(first, cfg=cfg, stage="distill", step=6, model=model, history=[{"step": 0, "val_loss": 0.5}], extra=trained)
    checkpoint.save(second, cfg=cfg, stage="distill", step=0, model=model, extra=imported)
    lines = [line for line in distillation_markdown(cfg, None) if line.startswith("| bsa |")]
    assert lines == ["| bsa | 100 | 6 | budget | 0.5 | 0.0123 | cpu | 9.5 |",
                     "| bsa | 50 | — | imported from the pack | — | — | — | — |"]


def test_commands_name_the_recipe_that_trained_and_the_one_that_judged() -> None:
    """A pack trained as one recipe and judged with another's judge: each command names the right one."""
    from soundstep_factory.config import load_config
    from soundstep_factory.eval_data import EvalConfig
    from soundstep_factory.report import commands

    judged, trained = load_config("small-next"), load_config("small-next-loud")
    same = commands(judged, judged, EvalConfig())
    assert same[0].startswith("python -m soundstep_factory.build --config small-next ")
    assert same[-1] == "python -m soundstep_factory.report --config small-next"
    split = commands(judged, trained, EvalConfig())
    assert split[0].startswith("python -m soundstep_factory.build --config small-next-loud ")
    assert any(c.startswith("python -m soundstep_factory.distill --config small-next-loud ") for c in split)
    assert any(c.startswith("python -m soundstep_factory.pack_students --config small-next-loud ") for c in split)
    assert all("small-next-loud" not in c for c in split if "evaluate" in c)  # judged by small-next's judge
    assert split[-1] == "python -m soundstep_factory.report --config small-next --trained-in small-next-loud --pack <pack>"
