"""The pack's metrics: <pack>/metrics.json and the manifest's inline `metrics` table
(docs/pack-format.md), written through the one manifest writer with the files re-hashed.

Usage (rows measured again, merged into a pack scored in an earlier session):
  python -m soundstep_factory.pack_metrics --config small-next-loud --pack ../public/models/soundstep-small-next
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .config import load_config
from .eval_data import eval_dir
from .files import load_json, sha256
from .manifest import write_manifest
from .report_checks import distillation_checks, teacher_checks
from .report_ears import PROMPT_SETS, load_ears, row_ears

# the figures of a manifest metrics row, on the audio and (as "log_mel") on the VAE's log-mel
METRIC_FIGURES = ("fad_judge", "fd_mel", "adherence")


def metrics_rows(table: dict | None, ears: dict | None = None) -> list[dict]:
    """The manifest's `metrics.rows` (docs/pack-format.md): JSON has no NaN, so a missing interval is null.
    `log_mel` carries the same figures measured before the vocoder (the table's `*_vae_mel`): the audio
    ones include the vocoder's error, which can hide the denoisers' differences. A table scored
    without them gives rows without `log_mel`. `ears` (report_ears.load_ears) adds each row's
    independent-ears figures, where prompt_eval measured that row."""
    def cell(c: dict) -> dict:
        half = c.get("ci95")
        return {"mean": c["mean"], "ci95": None if half is None or math.isnan(half) else half}

    def row(r: dict) -> dict:
        out = {"denoiser": r["denoiser"], "steps": r["steps"], "nfe": int(r["nfe"]["mean"]),
               **{k: cell(r[k]) for k in METRIC_FIGURES}, "seconds": cell(r["seconds_per_clip"])}
        if all(f"{k}_vae_mel" in r for k in METRIC_FIGURES):
            out["log_mel"] = {k: cell(r[f"{k}_vae_mel"]) for k in METRIC_FIGURES}
        heard = row_ears(ears or {}, r["denoiser"], r["steps"])
        if heard:
            out["ears"] = heard
        return out
    return [row(r) for r in (table or {}).get("rows", [])]


# the step count of the students a page starts on (the app's src/domain/default-denoiser.ts)
DEFAULT_STUDENT_STEPS = 25


def default_denoiser(denoisers: list[dict], rows: list[dict]) -> str | None:
    """The manifest's `default_denoiser`, by the app's own rule: the 25-step student with the lowest
    audio fad_judge in `rows`, else the first 25-step student, else the teacher (the page starts it at
    its fewest steps); None for a pack without denoisers."""
    students = [d for d in denoisers if d["role"] == "student" and DEFAULT_STUDENT_STEPS in d["steps"]]
    fad = {r["denoiser"]: r["fad_judge"]["mean"] for r in rows if r["steps"] == DEFAULT_STUDENT_STEPS}
    measured = [d for d in students if d["id"] in fad]
    if measured:
        return str(min(measured, key=lambda d: fad[d["id"]])["id"])  # min keeps the first of equals
    if students:
        return str(students[0]["id"])
    teacher = next((d for d in denoisers if d["role"] == "teacher"), denoisers[0] if denoisers else None)
    return None if teacher is None else str(teacher["id"])


def current_decoders(manifest: dict) -> str:
    """The pack's VAE decoder and vocoder as eval_runs.decoders_id names them (their SHA-256, shortened)."""
    return "+".join(manifest["files"][manifest[k]["file"]]["sha256"][:12] for k in ("vae_decoder", "vocoder"))


def write_pack_metrics(pack: Path, metrics: dict, runs: int, decoders: str | None = None) -> None:
    """metrics.json beside the manifest, and the manifest's inline table and `default_denoiser` (the best
    25-step student by that table), with the files re-hashed. `decoders`: the table's (table.json); when
    they are the pack's own, the marks ship_graph left (factory.<part>_of_metrics) are done with."""
    (pack / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    manifest_path = pack / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    rows = [r for r in metrics["table"] if r["denoiser"] in {d["id"] for d in manifest["denoisers"]}]
    manifest["metrics"] = {"judge": "soundstep judge CNN over log-mel (factory/soundstep_factory/evaluate.py)",
                           "runs": runs, "rows": rows} if rows else None
    if decoders is not None and decoders == current_decoders(manifest):
        for key in ("vae_decoder_of_metrics", "vocoder_of_metrics"):
            manifest.get("factory", {}).pop(key, None)
    best = default_denoiser(manifest["denoisers"], rows)
    if best is not None:
        manifest["default_denoiser"] = best
    manifest["files"]["metrics.json"] = {"bytes": (pack / "metrics.json").stat().st_size,
                                         "sha256": sha256(pack / "metrics.json")}
    manifest["files"] = dict(sorted(manifest["files"].items()))
    write_manifest(pack, manifest)


def as_table_row(row: dict) -> dict:
    """A metrics row (the manifest's form) as evaluate's table.json words it, for report_checks."""
    out = {"denoiser": row["denoiser"], "steps": row["steps"], "nfe": {"mean": row["nfe"]},
           **{k: row[k] for k in METRIC_FIGURES}}
    if "log_mel" in row:
        out.update({f"{k}_vae_mel": row["log_mel"][k] for k in METRIC_FIGURES})
    return out


def merge_rows(pack: Path, table: dict, ears: dict, methods: tuple[str, ...]) -> list[str]:
    """Put the rows of `table` (evaluate's table.json) and of `ears` (prompt_eval's, by prompt set)
    into the pack's metrics in place of the rows of the same denoiser and steps: a denoiser measured
    again (a new teacher, pack_teacher.py) while the other rows stay as an earlier session scored
    them. That is sound only with the same judge: check it first (evaluate --stage floor gives the
    floor metrics.json records). The checks against the teacher are made again. Returns the rows put in."""
    metrics = load_json(pack / "metrics.json")
    if metrics is None:
        raise FileNotFoundError(f"{pack}/metrics.json: the pack was never scored; run report.py instead")
    heard = dict(metrics.get("ears") or {})
    for name in PROMPT_SETS:
        if name in ears:
            earlier = heard.get(name) or {**ears[name], "rows": {}}
            heard[name] = {**earlier, "rows": {**earlier["rows"], **ears[name]["rows"]}}
    new = metrics_rows(table, heard)
    replaced = {(r["denoiser"], r["steps"]): r for r in new}
    rows = [replaced.pop((r["denoiser"], r["steps"]), r) for r in metrics["table"]] + list(replaced.values())
    as_table = {"rows": [as_table_row(r) for r in rows]}
    metrics.update({"table": rows, "ears": heard, "checks": teacher_checks(metrics["floor"], as_table)})
    metrics["distillation"] = {**(metrics.get("distillation") or {}),
                               "checks": distillation_checks(as_table, methods)}
    metrics.pop("teacher_replaced", None)
    write_pack_metrics(pack, metrics, metrics["runs"], table.get("decoders"))
    return [f"{r['denoiser']}:{r['steps']}" for r in new]


def main() -> None:
    ap = argparse.ArgumentParser(description="Merge rows measured again into a scored pack's metrics")
    ap.add_argument("--config", required=True, help="the recipe whose eval/table.json and prompt_eval results are merged")
    ap.add_argument("--pack", type=Path, required=True)
    args = ap.parse_args()
    cfg = load_config(args.config)
    table = load_json(eval_dir(cfg) / "table.json")
    if table is None:
        raise SystemExit(f"no {eval_dir(cfg) / 'table.json'}: run evaluate --stage generate, then --stage table")
    print(json.dumps({"merged": merge_rows(args.pack, table, load_ears(eval_dir(cfg), args.pack.name),
                                           cfg.distill.methods)}))


if __name__ == "__main__":
    main()
