"""The report's ranking of weightings: means with intervals, and a lead the seeds support."""
from soundstep_factory.report import intervals_apart, ranking_cell, winners


def _row(denoiser: str, steps: int, mean: float, ci95: float | None) -> dict:
    return {"denoiser": denoiser, "steps": steps, "fad_judge_vae_mel": {"mean": mean, "ci95": ci95}}


def test_intervals_apart() -> None:
    assert intervals_apart({"mean": 60.0, "ci95": 1.0}, {"mean": 62.5, "ci95": 1.0})
    assert not intervals_apart({"mean": 60.0, "ci95": 1.0}, {"mean": 61.5, "ci95": 1.0})
    assert intervals_apart({"mean": 60.0, "ci95": None}, {"mean": 60.5, "ci95": 0.4})  # one run: no interval
    assert not intervals_apart({"mean": 60.0, "ci95": float("nan")}, {"mean": 60.5, "ci95": 0.6})


def test_winners_rank_by_mean_and_mark_ties() -> None:
    table = {"rows": [_row("bsa-25", 25, 65.0, 1.0), _row("eps-25", 25, 64.0, 0.5), _row("snr+1-25", 25, 80.0, 2.0),
                      _row("bsa-50", 50, 60.0, 0.5), _row("eps-50", 50, 70.0, 0.5), _row("teacher", 25, 50.0, 0.1)]}
    by_steps = {w["steps"]: w for w in winners(table, ("bsa", "eps", "snr+1"), "fad_judge_vae_mel")}
    assert sorted(by_steps) == [25, 50]  # no 100-step rows; the teacher is not a method
    assert [x["method"] for x in by_steps[25]["ranking"]] == ["eps", "bsa", "snr+1"]
    assert not by_steps[25]["clear_lead"] and by_steps[50]["clear_lead"]
    assert ranking_cell(by_steps[25]) == "eps 64 ± 0.5 (tie), bsa 65 ± 1, snr+1 80 ± 2"
    assert ranking_cell(by_steps[50]) == "bsa 60 ± 0.5, eps 70 ± 0.5"
    assert ranking_cell(None) == "—"
