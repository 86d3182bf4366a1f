"""The report's tables, as markdown lines for docs/results.md: the generated-clips table, the
distillation section (rounds, rankings, paired differences, goals, the cost of int8 weights),
adherence by composition, and seen against unseen captions.
"""
from __future__ import annotations

import math

from .config import PackConfig
from .eval_data import eval_dir
from .files import load_json
from .metrics import MIXES
from .report_checks import distill_rounds, distillation_checks, half_width, paired_difference, table_row, winners


def fmt(cell: dict | None, digits: int = 3) -> str:
    """'mean ± ci95' of a summarize_runs entry; the interval is left out for a single run."""
    if cell is None:
        return "—"
    mean, half = cell["mean"], cell.get("ci95")
    if half is None or (isinstance(half, float) and math.isnan(half)):
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} ± {half:.2g}"



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
        ref = table_row(table, f"{reference}-{n}", n)
        cells = []
        for m in others:
            r = table_row(table, f"{m}-{n}", n)
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
    def shown(value: object, spec: str = "") -> str:
        return "—" if value is None else format(value, spec)

    for r in rounds:
        lines.append(f"| {r['method']} | {r['steps']} | {shown(r['trained'])} | {r['stopped']} | {shown(r['val_start'], '.3g')} | "
                     f"{shown(r['val_best'], '.3g')} | {shown(r['device'])} | {shown(r['seconds'])} |")
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
    ref, now = table_row(float32, "teacher", 200), table_row(table, "teacher", 200)
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
    reconstructions, the teacher at 200 steps and every method's 25-step student. A composition
    the test prompts do not have (a small split) reads "—"."""
    if not any(f"adherence_{m}" in floor["real"] for m in MIXES):
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
        r = table_row(table, denoiser, steps)
        if r is None or not any(f"adherence_{m}" in r for m in MIXES):
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
