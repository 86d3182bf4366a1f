"""The independent ears in the report: what prompt_eval (generated rows, on the template test
split and on the free-form prompts) and vocoder_eval (the vocoder floor) measured with
torchcrepe and silero-vad, as docs/results.md tables, metrics.json's "ears" and a compact
`ears` figure set on each manifest metrics row (the app's grid shows it).

Reads, when present (each is optional: a section is left out when its stage has not run):
  <work>/eval/prompts-test-<pack>.json, <work>/eval/prompts-free-form-<pack>.json   prompt_eval
  <work>/eval/vocoders.json                                                        vocoder_eval

`report.py` puts them in a full report. Alone, `python -m soundstep_factory.report_ears --config small`
adds them to a pack whose judge table was scored in an earlier session (its work/ gone): the rows of
its metrics.json and manifest gain their `ears`, and docs/results.md its "Independent ears" section;
no other number of the pack changes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .config import REPO_DIR, default_out, load_config
from .eval_data import eval_dir
from .files import load_json

PROMPT_SETS = {"test": "template test split", "free_form": "free-form prompts"}
TARGETS = ("targets (issue 17): speech found in >= 90% of clips whose prompt names speech and <= 5% of the others; "
           "high/low pairs ordered >= 90%; speech mostly in the second half of 'X followed by <speech>' >= 70%; "
           "no clip of an in-vocabulary prompt below -35 dBFS")


def load_ears(eval_dir: Path, pack_name: str) -> dict:
    """{"test": ..., "free_form": ..., "vocoders": ...}, each the stage's JSON or absent."""
    found = {"test": load_json(eval_dir / f"prompts-test-{pack_name}.json"),
             "free_form": load_json(eval_dir / f"prompts-free-form-{pack_name}.json"),
             "vocoders": load_json(eval_dir / "vocoders.json")}
    return {k: v for k, v in found.items() if v is not None}


def compact(row: dict) -> dict:
    """A prompt_eval row as the manifest's `ears` figures: fractions (null: no such prompts)."""
    known = row["known_clips"]
    return {"clips": row["clips"],
            "speech_when_named": row.get("speech_present[speaking]"),
            "speech_when_not": row.get("speech_present[no speech]"),
            "quiet": row["known_below_35"] / known if known else None,
            "pairs_ordered": row.get("pairs_ordered"),
            "speech_second_half": row.get("speech_second_half")}


def row_ears(ears: dict, denoiser: str, steps: int) -> dict | None:
    """The manifest row's `ears`: {"test": figures, "free_form": figures}, the sets measured."""
    key = f"{denoiser}:{steps}"
    out = {name: compact(ears[name]["rows"][key]) for name in PROMPT_SETS if key in ears.get(name, {}).get("rows", {})}
    return out or None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def prompts_markdown(name: str, result: dict) -> list[str]:
    lines = [f"**{PROMPT_SETS[name].capitalize()}** ({result['prompts']} prompts, {result['pack']}):", "",
             ("| row | clips | known below -35 dBFS | quietest known (dBFS) | speech: speaking | speech: whispering "
              "| speech: none | high/low ordered | speech second half | V/UV F1 | RPA |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row, r in result["rows"].items():
        quietest = r.get("rms_dbfs_min_known")
        lines.append(
            f"| {row} | {r['clips']} | {r['known_below_35']} | {'—' if quietest is None else f'{quietest:.1f}'} | "
            f"{_pct(r.get('speech_present[speaking]'))} | {_pct(r.get('speech_present[whispering]'))} | "
            f"{_pct(r.get('speech_present[no speech]'))} | {_pct(r.get('pairs_ordered'))} | "
            f"{_pct(r.get('speech_second_half'))} | {_num(r.get('vuv_f1'))} | {_num(r.get('raw_pitch_accuracy'))} |")
    return lines + [""]


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def vocoders_markdown(result: dict) -> list[str]:
    lines = [(f"**Vocoders on {result['num_clips']} real test clips** (V/UV F1 and raw pitch accuracy within 50 "
              "cents against the real clip; tones: sines 100 Hz-4 kHz and a chord, peak within 1% and sidebands "
              "20 dB down; level lost: the median of real minus vocoded RMS dB):"), "",
             "| vocoder | V/UV F1 | RPA | periodicity error | mel L1 | MR-STFT | level lost (dB) | tones passed |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in result["rows"].items():
        passed, tried = r.get("tones_passed"), len(r.get("tones", []))
        lines.append(f"| {name} | {_num(r.get('vuv_f1'))} | {_num(r.get('raw_pitch_accuracy'))} | "
                     f"{_num(r.get('periodicity_error'))} | {_num(r.get('mel_l1'))} | {_num(r.get('mrstft'))} | "
                     f"{_num(r.get('level_gap_db'))} | {'—' if passed is None else f'{passed}/{tried}'} |")
    return lines + [""]


def ears_markdown(ears: dict) -> list[str]:
    """docs/results.md's section; empty when no ears stage has run."""
    if not ears:
        return []
    lines = ["", "## Independent ears", "",
             ("Pretrained models nobody here trained: torchcrepe (pitch, periodicity) and silero-vad (speech). "
              "Rows are `denoiser:steps`; 'real clips' are the rendered test clips themselves. Commands: "
              "`python -m soundstep_factory.prompt_eval --set test` and `--set free-form`, "
              "`python -m soundstep_factory.vocoder_eval`."), "", f"_{TARGETS}._", ""]
    if "vocoders" in ears:
        lines += vocoders_markdown(ears["vocoders"])
    for name in PROMPT_SETS:
        if name in ears:
            lines += prompts_markdown(name, ears[name])
    return lines


SECTION = "## Independent ears"


def splice_section(markdown: str, section: list[str], before: str = "## Plots") -> str:
    """`markdown` with its "Independent ears" section replaced by `section` (inserted before the
    `before` heading, or at the end, when it has none yet)."""
    lines = markdown.split("\n")
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        del lines[start:end]
        at = start
    else:
        at = lines.index(before) if before in lines else len(lines)
    body = section[1:] if section and section[0] == "" else section  # the blank line above stays in place
    return "\n".join(lines[:at] + body + [""] + lines[at:]).replace("\n\n\n", "\n\n")


def attach_ears(pack: Path, ears: dict, results: Path | None = None) -> list[str]:
    """Add `ears` to a scored pack: metrics.json's "ears" and every measured row's `ears` figures,
    the manifest's rows with them (write_pack_metrics re-hashes the files) and, given `results`,
    that markdown's section. Returns the rows that gained figures."""
    from .pack_metrics import write_pack_metrics  # pack_metrics imports this module

    metrics = load_json(pack / "metrics.json")
    if metrics is None:
        raise FileNotFoundError(f"{pack}/metrics.json: score the pack first (python -m soundstep_factory.report)")
    metrics["ears"] = ears
    heard = []
    for row in metrics["table"]:
        figures = row_ears(ears, row["denoiser"], row["steps"])
        row.pop("ears", None)
        if figures:
            row["ears"] = figures
            heard.append(f"{row['denoiser']}:{row['steps']}")
    write_pack_metrics(pack, metrics, metrics["runs"])
    if results is not None:
        results.write_text(splice_section(results.read_text(), ears_markdown(ears)))
    return heard


def main() -> None:
    ap = argparse.ArgumentParser(description="Add the independent ears to a pack scored earlier (metrics.json, "
                                             "manifest rows, docs/results.md)")
    ap.add_argument("--config", default="small")
    ap.add_argument("--pack", type=Path, default=None)
    ap.add_argument("--results", type=Path, default=REPO_DIR / "docs" / "results.md")
    args = ap.parse_args()
    cfg = load_config(args.config)
    pack = args.pack or default_out(cfg)
    ears = load_ears(eval_dir(cfg), pack.name)
    if not ears:
        raise SystemExit(f"no prompt_eval or vocoder_eval results in {eval_dir(cfg)}: run them first")
    print(json.dumps({"rows_with_ears": attach_ears(pack, ears, args.results), "sets": sorted(ears)}))


if __name__ == "__main__":
    main()
