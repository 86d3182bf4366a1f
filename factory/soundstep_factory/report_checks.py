"""The report's judgements of the evaluation's figures: the teacher's and the distillation's quality
bars (the issue's checks), the distillation rounds as trained, and the ranking of weightings with
leads judged seed by seed (paired_difference). Plain data in, plain data out; no files written.
"""
from __future__ import annotations

import math

from . import checkpoint
from .config import PackConfig
from .metrics import mean_ci95


def table_row(table: dict | None, denoiser: str, steps: int) -> dict | None:
    """The row of eval/table.json for one denoiser at one step count, None when it was not evaluated."""
    return next((r for r in (table or {}).get("rows", []) if r["denoiser"] == denoiser and r["steps"] == steps), None)


def teacher_checks(floor: dict, table: dict | None) -> list[dict]:
    """Teacher at 200 steps: adherence >= 0.8 x the judge's adherence on the real clips of the same
    prompts, and FAD_judge <= 2 x the reconstruction floor (real -> VAE -> vocoder)."""
    row = table_row(table, "teacher", 200)
    if row is None:
        return [{"check": "teacher at 200 steps evaluated", "passed": False, "detail": "no runs in eval/table.json"}]
    real_adh, floor_fad = floor["real"]["adherence"], floor["vae+vocoder"]["fad_judge"]
    adh, fad = row["adherence"]["mean"], row["fad_judge"]["mean"]
    checks = [
        {"check": "adherence >= 0.8 x judge on real clips", "passed": adh >= 0.8 * real_adh,
         "detail": f"{adh:.3f} vs 0.8 x {real_adh:.3f} = {0.8 * real_adh:.3f} (ratio {adh / max(real_adh, 1e-9):.2f})"},
        {"check": "FAD_judge <= 2 x reconstruction floor", "passed": fad <= 2 * floor_fad,
         "detail": f"{fad:.3f} vs 2 x {floor_fad:.3f} = {2 * floor_fad:.3f} (ratio {fad / max(floor_fad, 1e-9):.2f})"},
    ]
    if "adherence_vae_mel" in row and "vae (mel)" in floor:  # the same bars before the vocoder (diagnostic)
        adh_m, fad_m, floor_m = row["adherence_vae_mel"]["mean"], row["fad_judge_vae_mel"]["mean"], floor["vae (mel)"]["fad_judge"]
        checks += [
            {"check": "diagnostic, log-mel before the vocoder: adherence >= 0.8 x judge on real clips",
             "passed": adh_m >= 0.8 * real_adh, "detail": f"{adh_m:.3f} vs {0.8 * real_adh:.3f}"},
            {"check": "diagnostic, log-mel before the vocoder: FAD_judge <= 2 x VAE floor",
             "passed": fad_m <= 2 * floor_m, "detail": f"{fad_m:.3f} vs 2 x {floor_m:.3f} = {2 * floor_m:.3f}"},
        ]
    return checks


# ---------------------------------------------------------------- distillation (issue: Table 1)
def distill_rounds(cfg: PackConfig) -> list[dict]:
    """Each method's rounds as trained: steps, why they stopped, validation loss, where and how long."""
    from .distill import student_steps
    rows = []
    for method in cfg.distill.methods:
        for n in student_steps(cfg, method):
            state = checkpoint.load(cfg.work_dir / "distill" / method / f"n{n}" / "checkpoint.pt")
            if state is None or not state["extra"].get("done"):
                break
            extra = state["extra"]
            if "imported" in extra:  # from_pack: trained in another session; its figures stayed with that work dir
                rows.append({"method": method, "steps": n, "trained": None, "stopped": "imported from the pack",
                             "val_start": None, "val_best": None, "device": None, "seconds": None})
                continue
            rows.append({"method": method, "steps": n, "trained": state["step"], "stopped": extra["stopped"],
                         "val_start": state["history"][0]["val_loss"], "val_best": extra["best"],
                         "device": extra.get("device", "cpu"), "seconds": extra.get("seconds")})
    return rows


def winners(table: dict | None, methods: tuple[str, ...], key: str) -> list[dict]:
    """Per student step count: every method's {method, mean, ci95, values} of `key` (lower is better),
    best first, and whether the seeds support the lead over the runner-up (paired_difference)."""
    out = []
    for n in (100, 50, 25):
        scored = sorted(({"method": m, **r[key]} for m in methods if (r := table_row(table, f"{m}-{n}", n)) and key in r),
                        key=lambda x: x["mean"])
        if scored:
            lead = paired_difference(scored[1], scored[0]) if len(scored) > 1 else None
            out.append({"steps": n, "ranking": scored,
                        "clear_lead": lead is None or lead["mean"] - half_width(lead) > 0})
    return out


def paired_difference(a: dict, b: dict) -> dict:
    """a - b seed by seed, as {mean, ci95}. Every model samples run s from the same noise, so the
    seeds' shared spread cancels: far tighter than comparing the two means' own intervals."""
    if len(a["values"]) != len(b["values"]):
        raise ValueError(f"paired runs differ in number: {len(a['values'])} vs {len(b['values'])}")
    mean, half = mean_ci95([x - y for x, y in zip(a["values"], b["values"])])
    return {"mean": mean, "ci95": half}


def half_width(cell: dict) -> float:
    """A {mean, ci95} figure's interval half-width; 0 where there is none (a single run)."""
    half = cell.get("ci95")
    return 0.0 if half is None or math.isnan(half) else half


def distillation_checks(table: dict | None, methods: tuple[str, ...]) -> list[dict]:
    """The best 25-step student within 5% of the 200-step teacher's FAD_judge, at 1/16 of its NFE;
    on the VAE log-mel, where the vocoder does not mask the generator, and on the audio."""
    teacher = table_row(table, "teacher", 200)
    students = [r for m in methods if (r := table_row(table, f"{m}-25", 25))]
    if teacher is None or not students:
        return [{"check": "teacher at 200 and students at 25 evaluated", "passed": False, "detail": "runs missing"}]
    checks = []
    # Both: the audio figure is what a listener gets, the log-mel one is free of the vocoder's error.
    for key, label in (("fad_judge_vae_mel", "log-mel before the vocoder"), ("fad_judge", "audio")):
        best = min(students, key=lambda r: r[key]["mean"])
        ratio = best[key]["mean"] / teacher[key]["mean"]
        checks.append({"check": f"{label}: best 25-step student FAD_judge <= 1.05 x teacher at 200",
                       "passed": ratio <= 1.05,
                       "detail": f"{best['denoiser']}: {best[key]['mean']:.3f} vs {teacher[key]['mean']:.3f} "
                                 f"({ratio - 1:+.1%})"})
    nfe = min(r["nfe"]["mean"] for r in students) / teacher["nfe"]["mean"]
    checks.append({"check": "NFE of a 25-step student = 1/16 of the teacher's at 200", "passed": abs(nfe - 1 / 16) < 1e-9,
                   "detail": f"{int(min(r['nfe']['mean'] for r in students))} vs {int(teacher['nfe']['mean'])} ({nfe:.4f})"})
    return checks
