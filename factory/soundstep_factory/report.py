"""Write docs/results.md, its plots, and the pack's metrics from what the evaluation stages left.

Usage: python -m soundstep_factory.report --config small

Reads <work>/judge/report.json, <work>/eval/floor.json, <work>/eval/table.json and the training
histories in the stage checkpoints; writes
  docs/results.md and docs/results/*.png   the report (tables, curves, spectrograms, Figure 2)
  <pack>/metrics.json                      every number of the report, for the app
  <pack>/manifest.json                     "metrics": the table rows (docs/pack-format.md), files re-hashed
Nothing here measures anything: rerun the stages to change a number.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from . import checkpoint  # noqa: E402
from .config import REPO_DIR, PackConfig, load_config  # noqa: E402
from .evaluate import MIXES, EvalConfig, eval_dir, generated_path, mean_ci95, test_prompts  # noqa: E402
from .config import default_out  # noqa: E402
from .files import sha256  # noqa: E402
from .manifest import write_manifest  # noqa: E402

DOCS = REPO_DIR / "docs"
JUDGE_NOTE = ("AudioCaps, VGGish and PANNs cannot be downloaded here: every FAD_judge, FD_mel and adherence "
              "below comes from our own judge (a CNN trained on our rendered clips) and our own test split, "
              "and is not comparable with the paper's numbers.")


def revision() -> str:
    """The factory code's revision (checkpoint.git_revision): '-dirty' when factory/ has
    uncommitted changes; a previous report's docs and pack files do not count."""
    return checkpoint.git_revision()


def fmt(cell: dict | None, digits: int = 3) -> str:
    """'mean ± ci95' of a summarize_runs entry; the interval is left out for a single run."""
    if cell is None:
        return "—"
    mean, half = cell["mean"], cell.get("ci95")
    if half is None or (isinstance(half, float) and math.isnan(half)):
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} ± {half:.2g}"


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


# ---------------------------------------------------------------- checks (the quality bars)
def teacher_checks(floor: dict, table: dict | None) -> list[dict]:
    """Teacher at 200 steps: adherence >= 0.8 x the judge's adherence on the real clips of the same
    prompts, and FAD_judge <= 2 x the reconstruction floor (real -> VAE -> vocoder)."""
    row = next((r for r in (table or {}).get("rows", []) if r["denoiser"] == "teacher" and r["steps"] == 200), None)
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
        for n in student_steps(cfg):
            state = checkpoint.load(cfg.work_dir / "distill" / method / f"n{n}" / "checkpoint.pt")
            if state is None or not state["extra"].get("done"):
                break
            extra = state["extra"]
            rows.append({"method": method, "steps": n, "trained": state["step"], "stopped": extra["stopped"],
                         "val_start": state["history"][0]["val_loss"], "val_best": extra["best"],
                         "device": extra.get("device", "cpu"), "seconds": extra.get("seconds")})
    return rows


def _row(table: dict | None, denoiser: str, steps: int) -> dict | None:
    return next((r for r in (table or {}).get("rows", []) if r["denoiser"] == denoiser and r["steps"] == steps), None)


def winners(table: dict | None, methods: tuple[str, ...], key: str) -> list[dict]:
    """Per student step count: every method's {method, mean, ci95, values} of `key` (lower is better),
    best first, and whether the seeds support the lead over the runner-up (paired_difference)."""
    out = []
    for n in (100, 50, 25):
        scored = sorted(({"method": m, **r[key]} for m in methods if (r := _row(table, f"{m}-{n}", n)) and key in r),
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
    teacher = _row(table, "teacher", 200)
    students = [r for m in methods if (r := _row(table, f"{m}-25", 25))]
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


# ---------------------------------------------------------------- plots
def _history(cfg: PackConfig, stage_dir: str) -> list[dict]:
    state = checkpoint.load(cfg.work_dir / stage_dir / "checkpoint.pt")
    return state["history"] if state else []


def plot_training_curves(cfg: PackConfig, out: Path) -> Path:
    stages = [("vae", "VAE"), ("vocoder", "vocoder"), ("teacher", "teacher U-Net"), ("judge", "judge")]
    fig, axes = plt.subplots(1, len(stages), figsize=(4 * len(stages), 3))
    for ax, (stage, title) in zip(axes, stages):
        hist = [h for h in _history(cfg, stage) if "loss" in h]
        if stage == "judge" and hist:  # per-step losses: smooth over 50 steps
            hist = [{"step": hist[i]["step"], "loss": sum(h["loss"] for h in hist[max(0, i - 49):i + 1]) / min(50, i + 1)}
                    for i in range(49, len(hist), 50)]
        ax.plot([h["step"] for h in hist], [h["loss"] for h in hist])
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training loss")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def plot_distill_curves(cfg: PackConfig, out: Path) -> Path | None:
    folders = sorted((cfg.work_dir / "distill").glob("*/n*"))
    if not folders:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for folder in folders:
        hist = [h for h in _history(cfg, str(folder.relative_to(cfg.work_dir))) if "val_x_mse" in h or h["step"] == 0]
        ax.plot([h["step"] for h in hist], [h.get("val_x_mse", h["val_loss"]) for h in hist],
                label=f"{folder.parent.name} N={folder.name[1:]}")
    ax.set_xlabel("step")
    ax.set_ylabel("validation x-space MSE")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def plot_spectrograms(cfg: PackConfig, ecfg: EvalConfig, denoisers: list[tuple[str, int]], out: Path) -> Path | None:
    """Real clips and the seed-0 generations for the same first prompts, as log-mel pictures: the
    VAE decoder's log-mel (before the vocoder) and the log-mel of the audio the vocoder made."""
    from .evaluate import waves_to_mel
    real = test_prompts(cfg, ecfg)
    columns = [("real", real["mel"][: ecfg.examples])]
    for denoiser, steps in denoisers:
        path = generated_path(cfg, denoiser, steps, 0)
        if path.exists():
            run = torch.load(path, weights_only=False)
            columns.append((f"{denoiser}, {steps} steps: VAE log-mel", run["vae_mel"][: ecfg.examples].float()))
            columns.append((f"{denoiser}, {steps} steps: audio", waves_to_mel(cfg, run["examples"])))
    if len(columns) < 2:
        return None
    n = min(len(c[1]) for c in columns)
    fig, axes = plt.subplots(n, len(columns), figsize=(3 * len(columns), 1.9 * n), squeeze=False)
    for r in range(n):
        for c, (title, mels) in enumerate(columns):
            ax = axes[r][c]
            ax.imshow(mels[r].T.numpy(), origin="lower", aspect="auto", vmin=-11.5, vmax=2, cmap="magma")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0:
                ax.set_ylabel("\n".join(_wrap(real["captions"][r], 28)), fontsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]


def plot_fad_vs_steps(table: dict, floor: dict, out: Path) -> Path | None:
    """The paper's Figure 2: FAD against sampling steps, one line per model (teacher, each method);
    left on the audio, right on the VAE decoder's log-mel (before the vocoder)."""
    rows = table.get("rows", []) if table else []
    if not rows:
        return None
    panels = [("fad_judge", "audio", floor["vae+vocoder"]["fad_judge"]),
              ("fad_judge_vae_mel", "log-mel before the vocoder", floor.get("vae (mel)", {}).get("fad_judge"))]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    names = sorted({r["denoiser"].rsplit("-", 1)[0] if r["denoiser"] != "teacher" else "teacher" for r in rows})
    for ax, (key, title, floor_value) in zip(axes, panels):
        for name in names:
            mine = sorted((r for r in rows if key in r and (r["denoiser"] == name if name == "teacher"
                                                           else r["denoiser"].rsplit("-", 1)[0] == name)),
                          key=lambda r: r["steps"])
            if not mine:
                continue
            half = [r[key]["ci95"] for r in mine]
            ax.errorbar([r["steps"] for r in mine], [r[key]["mean"] for r in mine],
                        yerr=[0 if h is None or math.isnan(h) else h for h in half], marker="o", capsize=3, label=name)
        if floor_value is not None:
            ax.axhline(floor_value, color="gray", ls="--", lw=1, label="reconstruction floor")
        ax.set_xscale("log", base=2)
        ax.set_xticks([25, 50, 100, 200], ["25", "50", "100", "200"])
        ax.set_xlabel("sampling steps")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("FAD_judge (lower is better)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


# ---------------------------------------------------------------- the report
def table_markdown(table: dict | None) -> list[str]:
    if not table or not table.get("rows"):
        return ["No generated runs yet: `python -m soundstep_factory.evaluate --stage generate`."]
    lines = ["| model | steps | NFE / clip | FAD_judge ↓ | FD_mel ↓ | adherence ↑ | FAD_judge, log-mel ↓ | adherence, log-mel ↑ "
             "| CPU s / clip (batched) | runs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    order = sorted(table["rows"], key=lambda r: (r["denoiser"] != "teacher", r["denoiser"], -r["steps"]))
    for r in order:
        lines.append(f"| {r['denoiser']} | {r['steps']} | {int(r['nfe']['mean'])} | {fmt(r['fad_judge'])} | "
                     f"{fmt(r['fd_mel'])} | {fmt(r['adherence'])} | {fmt(r.get('fad_judge_vae_mel'))} | "
                     f"{fmt(r.get('adherence_vae_mel'))} | {fmt(r['seconds_per_clip'], 2)} | {r['runs']} |")
    return lines


def ranking_cell(winner: dict | None) -> str:
    """"bsa 65.0 ± 1.6, eps 210 ± 1.9, ..." for one step count of `winners`, '(tie)' after an unclear lead."""
    if winner is None:
        return "—"
    ranked = [f"{x['method']} {fmt(x)}" for x in winner["ranking"]]
    if not winner["clear_lead"]:
        ranked[0] += " (tie)"
    return ", ".join(ranked)


def against_reference_markdown(table: dict | None, methods: tuple[str, ...], reference: str, key: str) -> list[str]:
    """Each method minus `reference` at each step count, seed by seed (paired_difference)."""
    others = [m for m in methods if m != reference]
    rows = []
    for n in (100, 50, 25):
        ref = _row(table, f"{reference}-{n}", n)
        cells = []
        for m in others:
            r = _row(table, f"{m}-{n}", n)
            if ref is None or r is None or key not in r:
                cells.append("—")
                continue
            diff = paired_difference(r[key], ref[key])
            text = f"{diff['mean']:+.2f} ± {half_width(diff):.2f}"
            cells.append(f"**{text}**" if abs(diff["mean"]) > half_width(diff) else text)
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return ["", f"Each method against {reference}, seed by seed ({key}: the method's minus {reference}'s, mean ± 95% "
            f"interval over the paired runs; negative is better than {reference}, bold where the interval excludes 0):",
            "", "| student steps | " + " | ".join(others) + " |", "|---" * (len(others) + 1) + "|", *rows]


def distillation_markdown(cfg: PackConfig, table: dict | None) -> list[str]:
    rounds = distill_rounds(cfg)
    if not rounds:
        return []
    d = cfg.distill
    lines = ["", "## Distillation", "",
             f"Algorithm 1 on the trailing grid, {d.teacher_steps} -> "
             + " -> ".join(str(d.teacher_steps // 2 ** r) for r in range(1, d.rounds + 1))
             + f" steps; round 1 distills the guided teacher (s = {cfg.guidance_scale}). Every method and round had the "
             f"same budget of {d.max_steps} steps at batch {d.batch_size} (early stop after {d.patience} validations "
             f"every {d.eval_every} steps without a better validation loss), round 1 at lr {d.lr:g}, later rounds at "
             f"{d.later_lr:g} with a {d.warmup_steps}-step warm-up. Validation: the method's own weighted loss on "
             f"{d.val_size} fixed examples, so it compares rounds, not methods.", "",
             "| method | student steps | steps trained | stopped | validation loss at start | best | device | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rounds:
        lines.append(f"| {r['method']} | {r['steps']} | {r['trained']} | {r['stopped']} | {r['val_start']:.3g} | "
                     f"{r['val_best']:.3g} | {r['device']} | {r['seconds'] if r['seconds'] is not None else '—'} |")
    lines += ["", "### Which weighting wins", "",
              "Mean ± 95% interval over the seeds, best first (lower is better); 'audio' is the vocoder's output, "
              "'log-mel' the VAE decoder's output before the vocoder. '(tie)' marks a leader whose difference from "
              "the runner-up, taken seed by seed, has a 95% interval that includes 0.", "",
              "| student steps | FAD_judge, log-mel | FD_mel, log-mel | FAD_judge, audio |", "|---|---|---|---|"]
    by_key = {k: {w["steps"]: w for w in winners(table, d.methods, k)}
              for k in ("fad_judge_vae_mel", "fd_mel_vae_mel", "fad_judge")}
    for n in (100, 50, 25):
        cells = [ranking_cell(by_key[k].get(n)) for k in by_key]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    for key in ("fad_judge_vae_mel", "fad_judge"):  # before the vocoder, and the audio a listener gets
        lines += against_reference_markdown(table, d.methods, "bsa", key)
    checks = distillation_checks(table, d.methods)
    lines += ["", "### Goals", "", "| check | passed | numbers |", "|---|---|---|"] + [
        f"| {c['check']} | {'yes' if c['passed'] else '**no**'} | {c['detail']} |" for c in checks]
    float32 = load_json(eval_dir(cfg) / "table-teacher-float32.json")
    ref, now = _row(float32, "teacher", 200), _row(table, "teacher", 200)
    if ref and now:
        lines += ["", "### What int8 weights cost", "",
                  "The pack stores every U-Net's weights as int8 (float32 compute) to fit eight of them in the budget. "
                  "The 200-step teacher with float32 weights (and float32 VAE decoder and vocoder), against the shipped "
                  "int8 weights. The float32 row is the table stage's output for the pack before int8 storage, kept "
                  "by hand as eval/table-teacher-float32.json (this section is left out when that file is absent):", "",
                  "| teacher weights | FAD_judge | FAD_judge, log-mel | adherence, log-mel |", "|---|---|---|---|",
                  # the audio figure depends on the vocoder: comparable only when both were decoded by the same one
                  f"| float32 | {fmt(ref['fad_judge']) if float32.get('decoders') == table.get('decoders') else '— (another vocoder)'} "
                  f"| {fmt(ref.get('fad_judge_vae_mel'))} | {fmt(ref.get('adherence_vae_mel'))} |",
                  f"| int8 (shipped) | {fmt(now['fad_judge'])} | {fmt(now.get('fad_judge_vae_mel'))} | "
                  f"{fmt(now.get('adherence_vae_mel'))} |"]
    return lines


def composition_markdown(floor: dict, table: dict | None, methods: tuple[str, ...]) -> list[str]:
    """Adherence per composition (single source, "X while Y", "X then Y"): real clips, the
    reconstructions, the teacher at 200 steps and every method's 25-step student."""
    if not all(f"adherence_{m}" in floor["real"] for m in MIXES):
        return []

    def cell(value: dict | float | None) -> str:  # a table row's summary, or a floor figure
        if isinstance(value, dict):
            return fmt(value)
        return "—" if value is None else f"{value:.2f}"

    def cells(figures: dict, suffix: str = "") -> str:
        keys = [f"adherence{mix}{suffix}" for mix in [""] + [f"_{m}" for m in MIXES]] + [f"order_then{suffix}"]
        return " | ".join(cell(figures.get(key)) for key in keys)

    rows = [f"| {name} | {cells(floor[key])} |" for key, name in
            (("real", "real clips"), ("vae (mel)", "VAE (log-mel)"), ("vocoder", "vocoder"), ("vae+vocoder", "VAE + vocoder"))
            if key in floor]
    for denoiser, steps in [("teacher", 200)] + [(f"{m}-25", 25) for m in methods]:
        r = _row(table, denoiser, steps)
        if r is None or "adherence_single" not in r:
            continue
        label = f"teacher {steps} steps" if denoiser == "teacher" else denoiser
        if denoiser == "teacher":
            rows.append(f"| {label}, log-mel | {cells(r, '_vae_mel')} |")
        rows.append(f"| {label}, audio | {cells(r)} |")
    counts = floor.get("mix_counts", {})
    return ["", "### Adherence by composition", "",
            "The fraction of clips in which the judge finds every prompted source, over all test prompts and over "
            "those of each composition: one source, two mixed (\"X while Y\") and two in "
            "sequence (\"X followed by Y\"). *then, in order*: the sequences in which the judge hears X in the "
            "first half only and Y in the second half only (`evaluate.order_adherence`), which a mixture of the "
            "two fails. Generated rows: mean ± 95% interval over the seeds.", "",
            "| clips | all | " + " | ".join(f"{m} ({counts.get(m, '?')} prompts)" for m in MIXES) + " | then, in order |",
            "|---|---|---|---|---|---|", *rows]


def seen_markdown(seen: dict | None) -> list[str]:
    """The teacher on training prompts against test prompts (evaluate --stage seen)."""
    if not seen:
        return []
    rows = []
    for split, label in (("train", "training prompts (seen)"), ("test", "test prompts (unseen pairs and phrasings)")):
        d = seen["splits"].get(split)
        if d is None:
            continue
        real, teacher = d["real"]["adherence"], d["teacher"]
        ratio = f"{teacher['adherence']['mean'] / real:.2f}" if real > 0 else "—"
        rows.append(f"| {label} | {real:.2f} | {fmt(teacher['adherence_vae_mel'])} | {fmt(teacher['adherence'])} | {ratio} |")
    return ["", "### Seen and unseen captions", "",
            f"The guided teacher at {seen['steps']} steps on the first {seen['num_prompts']} prompts of the training "
            "split and of the test split, each against the real clips of its own prompts "
            f"(`evaluate --stage seen`, {seen['runs']} seeds). A ratio as low on training prompts as on test "
            "prompts means the teacher does not follow captions it was trained on, whatever their pairs.", "",
            "| prompts | adherence, real clips | teacher, log-mel | teacher, audio | teacher audio / real |",
            "|---|---|---|---|---|", *rows]


# the figures of a manifest metrics row, on the audio and (as "log_mel") on the VAE's log-mel
METRIC_FIGURES = ("fad_judge", "fd_mel", "adherence")


def metrics_rows(table: dict | None) -> list[dict]:
    """The manifest's `metrics.rows` (docs/pack-format.md): JSON has no NaN, so a missing interval is null.
    `log_mel` carries the same figures measured before the vocoder (the table's `*_vae_mel`): the audio
    ones include the vocoder's error, which can hide the denoisers' differences. A table scored
    without them gives rows without `log_mel`."""
    def cell(c: dict) -> dict:
        half = c.get("ci95")
        return {"mean": c["mean"], "ci95": None if half is None or math.isnan(half) else half}

    def row(r: dict) -> dict:
        out = {"denoiser": r["denoiser"], "steps": r["steps"], "nfe": int(r["nfe"]["mean"]),
               **{k: cell(r[k]) for k in METRIC_FIGURES}, "seconds": cell(r["seconds_per_clip"])}
        if all(f"{k}_vae_mel" in r for k in METRIC_FIGURES):
            out["log_mel"] = {k: cell(r[f"{k}_vae_mel"]) for k in METRIC_FIGURES}
        return out
    return [row(r) for r in (table or {}).get("rows", [])]


def write_pack_metrics(pack: Path, metrics: dict, runs: int) -> None:
    """metrics.json beside the manifest, and the manifest's inline table, with the files re-hashed."""
    (pack / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    manifest_path = pack / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    rows = [r for r in metrics["table"] if r["denoiser"] in {d["id"] for d in manifest["denoisers"]}]
    manifest["metrics"] = {"judge": "soundstep judge CNN over log-mel (factory/soundstep_factory/evaluate.py)",
                           "runs": runs, "rows": rows} if rows else None
    manifest["files"]["metrics.json"] = {"bytes": (pack / "metrics.json").stat().st_size,
                                         "sha256": sha256(pack / "metrics.json")}
    manifest["files"] = dict(sorted(manifest["files"].items()))
    write_manifest(pack, manifest)


def report(cfg: PackConfig, ecfg: EvalConfig, pack: Path, docs: Path = DOCS) -> dict:
    judge = load_json(cfg.work_dir / "judge" / "report.json")
    floor = load_json(eval_dir(cfg) / "floor.json")
    table = load_json(eval_dir(cfg) / "table.json")
    dataset = load_json(cfg.work_dir / "data" / "dataset.json")
    if judge is None or floor is None:
        raise FileNotFoundError("run the judge and floor stages first (python -m soundstep_factory.evaluate --stage judge, "
                                "then --stage floor)")
    rev = revision()  # before anything here is rewritten: the revision of the code that made the numbers
    pics = docs / "results"
    pics.mkdir(parents=True, exist_ok=True)
    checks = teacher_checks(floor, table)
    plots = {
        "training": plot_training_curves(cfg, pics / "training-curves.png"),
        "distill": plot_distill_curves(cfg, pics / "distillation-curves.png"),
        # The teacher, and the first and last weighting of the recipe (bsa and eps) at 25 steps: every
        # column is a 1.9-inch picture per prompt, and all methods made the file 3 MB.
        "spectrograms": plot_spectrograms(cfg, ecfg, [("teacher", 200), ("teacher", 25)] +
                                          [(f"{m}-25", 25) for m in (cfg.distill.methods[0], cfg.distill.methods[-1])],
                                          pics / "spectrograms.png"),
        "figure2": plot_fad_vs_steps(table, floor, pics / "fad-vs-steps.png"),
    }
    js = judge["summary"]
    lines = [
        "# Results",
        "",
        f"Generated by `python -m soundstep_factory.report --config {cfg.recipe}` at revision `{rev}` on "
        f"{datetime.date.today().isoformat()}. Do not edit by hand.",
        "",
        f"> {JUDGE_NOTE}",
        "",
        "## How these numbers were made",
        "",
        "```",
        f"python -m soundstep_factory.build --config {cfg.recipe}            # data, VAE, vocoder, teacher, pack",
        f"python -m soundstep_factory.evaluate --config {cfg.recipe} --stage judge",
        f"python -m soundstep_factory.evaluate --config {cfg.recipe} --stage floor",
        f"python -m soundstep_factory.distill --config {cfg.recipe}          # every weighting, 3 rounds (or scripts/distill_on_gpu.sh)",
        f"python -m soundstep_factory.export --config {cfg.recipe}           # the shipped pack (int8 U-Nets)",
        f"python -m soundstep_factory.export --config {cfg.recipe} --every-round   # every round of every method, for the table",
        f"python -m soundstep_factory.evaluate --config {cfg.recipe} --stage generate   # {ecfg.runs} seeds per model and step count",
        f"python -m soundstep_factory.evaluate --config {cfg.recipe} --stage generate --pack work/{cfg.recipe}/pack-every-round",
        f"python -m soundstep_factory.evaluate --config {cfg.recipe} --stage decode   # stored runs, after a new VAE decoder or vocoder",
        f"python -m soundstep_factory.evaluate --config {cfg.recipe} --stage table",
        f"python -m soundstep_factory.report --config {cfg.recipe}",
        "```",
        "",
        f"Test prompts: the first {floor['num_prompts']} clips of the held-out test split "
        f"({dataset['config']['num_test'] if dataset else '?'} clips; source pairs and the phrasings "
        f"{', '.join(repr(t) for t in (dataset or {}).get('test_templates', []))} never appear in training). "
        f"Each generated figure is the mean over {ecfg.runs} sampling seeds with a Student-t 95% interval, as in the "
        "paper's Table 1. FAD_judge and FD_mel compare the generated clips with the real clips of the same prompts.",
        "",
        "## The judge",
        "",
        f"A multi-label CNN over log-mel, trained on the {judge['num_train']} rendered training clips "
        f"(plus on-the-fly compositions of single-source clips) to name which of {judge['vocab_size']} sources "
        f"are heard, with {judge['judge_config'].get('pooling', 'mean')} pooling over time"
        + (" (each source weighs the moments where it is heard, so one that fills half the clip counts fully)"
           if judge['judge_config'].get('pooling') == "attention" else "")
        + f"; scored on the {judge['num_test']} real test clips:",
        "",
        "| exact set | macro F1 | micro F1 | adherence (all true sources found) |",
        "|---|---|---|---|",
        f"| {fmt(js['exact_set_accuracy'])} | {fmt(js['macro_f1'])} | {fmt(js['micro_f1'])} | {fmt(js['adherence'])} |",
        "",
        "## Reconstruction floor (VAE and vocoder)",
        "",
        "Real test clips through the pack's vocoder alone, and through mel -> VAE latent -> VAE decoder -> "
        "vocoder. No generator can sound better than the second row.",
        "",
        "| path | mel L1 (log) | multi-res STFT | FAD_judge | FD_mel | adherence |",
        "|---|---|---|---|---|---|",
        f"| real clips | 0 | 0 | 0 | 0 | {floor['real']['adherence']:.3f} |",
    ]
    for name in ("vocoder", "vae+vocoder", "vae (mel)"):
        f = floor.get(name)
        if f is not None:
            lines.append(f"| {name} | {f['mel_l1']:.3f} | {f['mrstft']:.3f} | {f['fad_judge']:.3f} | "
                         if "mrstft" in f else f"| {name} | {f['mel_l1']:.3f} | — (no audio) | {f['fad_judge']:.3f} | ")
            lines[-1] += f"{f['fd_mel']:.3f} | {f['adherence']:.3f} |"
    if "vae (mel)" in floor:
        lines += ["", f"The judge finds every prompted source in {floor['real']['adherence']:.0%} of the real clips, "
                  f"in {floor['vae (mel)']['adherence']:.0%} of their VAE reconstructions (log-mel) and in "
                  f"{floor['vae+vocoder']['adherence']:.0%} once the vocoder has made audio of them: whatever the "
                  "generator does, the audio columns below cannot do better than the last figure."]
    lines += ["", "## Generated clips (our Table 1)", ""] + table_markdown(table) + [
        "",
        "The log-mel columns judge the VAE decoder's log-mel directly, before the vocoder: they separate the "
        "generator's quality from the vocoder's (compare them with the `vae (mel)` floor).",
        "",
        "NFE: network evaluations per clip (the guided teacher runs its U-Net twice per step). CPU seconds: "
        "denoising plus decoding of a batch of clips with onnxruntime on this 2-core machine, divided by the "
        "clips; a single generation in the app is timed by `npm run soundstep -- bench`.",
        "",
        "## Teacher quality bars",
        "",
        "| check | passed | numbers |",
        "|---|---|---|",
    ] + [f"| {c['check']} | {'yes' if c['passed'] else '**no**'} | {c['detail']} |" for c in checks]
    lines += composition_markdown(floor, table, cfg.distill.methods)
    seen = load_json(eval_dir(cfg) / "seen.json")
    lines += seen_markdown(seen)
    lines += distillation_markdown(cfg, table)
    lines += ["", "## Plots", ""]
    captions = {"training": "Training curves (loss per 50 steps)", "distill": "Distillation: validation error per round",
                "spectrograms": "Log-mel spectrograms: real test clips and generations (seed 0) for the same prompts",
                "figure2": "FAD_judge against sampling steps (the paper's Figure 2): audio, and log-mel before the vocoder"}
    for key, path in plots.items():
        if path is not None:
            lines += [f"**{captions[key]}**", "", f"![{captions[key]}](results/{path.name})", ""]
    (docs / "results.md").write_text("\n".join(lines) + "\n")

    metrics = {"format": "soundstep-metrics/1", "revision": rev, "note": JUDGE_NOTE, "runs": ecfg.runs,
               "num_prompts": floor["num_prompts"], "judge": js, "floor": floor, "checks": checks,
               "distillation": {"rounds": distill_rounds(cfg), "checks": distillation_checks(table, cfg.distill.methods)},
               "table": metrics_rows(table), "seen": seen}
    write_pack_metrics(pack, metrics, ecfg.runs)
    return {"report": str(docs / "results.md"), "checks": checks, "plots": {k: str(v) for k, v in plots.items() if v}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path, default=None)
    ap.add_argument("--docs", type=Path, default=DOCS)
    args = ap.parse_args()
    cfg = load_config(args.config)
    print(json.dumps(report(cfg, EvalConfig(), args.pack or default_out(cfg), args.docs), indent=1))


if __name__ == "__main__":
    main()
