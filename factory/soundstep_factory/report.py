"""Write docs/results.md, its plots, and the pack's metrics from what the evaluation stages left.

Usage: python -m soundstep_factory.report --config small [--trained-in RECIPE] [--pack DIR] [--docs DIR]

--trained-in: the recipe whose work dir holds the teacher's training and the distillation rounds, when
it is not --config's (small-next's pack: trained and distilled as small-next-loud, judged by small-next's
judge on small-next's test split).

Reads <work>/judge/report.json, <work>/eval/floor.json, <work>/eval/table.json, the training
histories in the stage checkpoints and, when they have run, the independent ears
(report_ears.py: prompt_eval, vocoder_eval); writes
  docs/results.md and docs/results/*.png   the report (tables, curves, spectrograms, Figure 2)
  <pack>/metrics.json                      every number of the report, for the app
  <pack>/manifest.json                     "metrics": the table rows (docs/pack-format.md), files re-hashed
Nothing here measures anything: rerun the stages to change a number. The parts live beside it:
report_checks.py (quality bars, rankings), report_markdown.py (tables), report_plots.py (pictures),
pack_metrics.py (metrics.json and the manifest's table).
"""
from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from . import checkpoint
from .config import REPO_DIR, PackConfig, default_out, load_config
from .eval_data import EvalConfig, eval_dir
from .files import load_json
from .pack_metrics import metrics_rows, write_pack_metrics
from .report_checks import distill_rounds, distillation_checks, paired_difference, teacher_checks, winners
from .report_ears import ears_markdown, load_ears
from .report_markdown import (against_reference_markdown, composition_markdown, distillation_markdown, fmt,
                              ranking_cell, seen_markdown, table_markdown)
from .report_plots import plot_distill_curves, plot_fad_vs_steps, plot_spectrograms, plot_training_curves

__all__ = [  # re-exported: the tests import them from here
    "against_reference_markdown", "main", "metrics_rows", "paired_difference", "ranking_cell", "report",
    "winners", "write_pack_metrics",
]

DOCS = REPO_DIR / "docs"
JUDGE_NOTE = ("AudioCaps, VGGish and PANNs cannot be downloaded here: every FAD_judge, FD_mel and adherence "
              "below comes from our own judge (a CNN trained on our rendered clips) and our own test split, "
              "and is not comparable with the paper's numbers.")


def revision() -> str:
    """The factory code's revision (checkpoint.git_revision): '-dirty' when factory/ has
    uncommitted changes; a previous report's docs and pack files do not count."""
    return checkpoint.git_revision()


def commands(cfg: PackConfig, trained: PackConfig, ecfg: EvalConfig) -> list[str]:
    """How the numbers were made: training and distillation in `trained`'s work dir, evaluation in `cfg`'s."""
    r, t = cfg.recipe, trained.recipe
    if t == r:
        train = [f"python -m soundstep_factory.build --config {r}            # data, VAE, vocoder, teacher, pack"]
    else:
        train = [f"python -m soundstep_factory.build --config {t}            # the teacher (its pack's other graphs imported)"]
    train += [f"python -m soundstep_factory.evaluate --config {r} --stage judge",
              f"python -m soundstep_factory.evaluate --config {r} --stage floor",
              f"python -m soundstep_factory.distill --config {t}          # every weighting, 3 rounds (or scripts/distill_on_gpu.sh)"]
    if t == r:
        train += [f"python -m soundstep_factory.export --config {r}           # the shipped pack (int8 U-Nets)",
                  f"python -m soundstep_factory.export --config {r} --every-round   # every round of every method, for the table",
                  f"python -m soundstep_factory.evaluate --config {r} --stage generate   # {ecfg.runs} seeds per model and step count",
                  f"python -m soundstep_factory.evaluate --config {r} --stage generate --pack work/{r}/pack-every-round"]
    else:
        train += [f"python -m soundstep_factory.pack_teacher --config {t} --pack <pack>    # float16 teacher into the pack",
                  f"python -m soundstep_factory.pack_students --config {t} --pack <pack>   # every round into the pack (int8)",
                  f"python -m soundstep_factory.evaluate --config {r} --stage generate --pack <pack>   # {ecfg.runs} seeds per model and step count"]
    return train + [
        f"python -m soundstep_factory.evaluate --config {r} --stage decode   # stored runs, after a new VAE decoder or vocoder",
        f"python -m soundstep_factory.evaluate --config {r} --stage table",
        f"python -m soundstep_factory.report --config {r}" + ("" if t == r else f" --trained-in {t} --pack <pack>")]


def report(cfg: PackConfig, ecfg: EvalConfig, pack: Path, docs: Path = DOCS, trained: PackConfig | None = None) -> dict:
    trained = trained or cfg  # where the training histories and distillation rounds are
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
        "training": plot_training_curves(trained, pics / "training-curves.png", judged=cfg),
        "distill": plot_distill_curves(trained, pics / "distillation-curves.png"),
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
        f"Generated by `python -m soundstep_factory.report --config {cfg.recipe}"
        f"{'' if trained is cfg else f' --trained-in {trained.recipe}'}` at revision `{rev}` on "
        f"{datetime.date.today().isoformat()}. Do not edit by hand.",
        "",
        f"> {JUDGE_NOTE}",
        "",
        "## How these numbers were made",
        "",
        "```",
        *commands(cfg, trained, ecfg),
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
    lines += distillation_markdown(trained, table)
    ears = load_ears(eval_dir(cfg), pack.name)
    lines += ears_markdown(ears)
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
               "distillation": {"rounds": distill_rounds(trained), "checks": distillation_checks(table, trained.distill.methods)},
               "table": metrics_rows(table, ears), "seen": seen, "ears": ears}
    write_pack_metrics(pack, metrics, ecfg.runs, (table or {}).get("decoders"))
    return {"report": str(docs / "results.md"), "checks": checks, "plots": {k: str(v) for k, v in plots.items() if v}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path, default=None)
    ap.add_argument("--docs", type=Path, default=DOCS)
    ap.add_argument("--trained-in", default=None, help="the recipe whose work dir has the training and distillation")
    args = ap.parse_args()
    cfg = load_config(args.config)
    trained = load_config(args.trained_in) if args.trained_in else None
    print(json.dumps(report(cfg, EvalConfig(), args.pack or default_out(cfg), args.docs, trained), indent=1))


if __name__ == "__main__":
    main()
