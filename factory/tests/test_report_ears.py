"""The independent ears in the report: prompt_eval's rows become the manifest's compact `ears`
figures (validated by the pack schema) and docs/results.md tables."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from soundstep_factory.files import sha256
from soundstep_factory.manifest import schema_errors
from soundstep_factory.pack_metrics import metrics_rows
from soundstep_factory.report_ears import attach_ears, compact, ears_markdown, load_ears, row_ears, splice_section

ROW = {"seeds": 5, "clips": 290, "known_clips": 240, "rms_dbfs_min_known": -78.2, "known_below_35": 13,
       "unknown_below_35": 2, "speech_present[speaking]": 0.96, "speech_present[whispering]": 0.2,
       "speech_present[no speech]": 0.016, "pairs_ordered": 0.85, "speech_second_half": 0.6}
TABLE_ROW = {"denoiser": "bsa-25", "steps": 25, "nfe": {"mean": 25}, "seconds_per_clip": {"mean": 0.14, "ci95": 0.01},
             **{k: {"mean": 0.5, "ci95": 0.1} for k in ("fad_judge", "fd_mel", "adherence")}}


def write_sets(folder: Path) -> None:
    free = {"set": "free-form", "pack": "public/models/soundstep-small", "prompts": 58, "rows": {"bsa-25:25": ROW}}
    test = {"set": "test", "pack": "public/models/soundstep-small", "prompts": 100,
            "rows": {"real clips": {**ROW, "vuv_f1": 1.0}, "bsa-25:25": {**ROW, "pairs_ordered": None, "vuv_f1": 0.41}}}
    (folder / "prompts-free-form-soundstep-small.json").write_text(json.dumps(free))
    (folder / "prompts-test-soundstep-small.json").write_text(json.dumps(test))


def test_compact_figures_are_shares_of_the_right_clips() -> None:
    assert compact(ROW) == {"clips": 290, "speech_when_named": 0.96, "speech_when_not": 0.016,
                            "quiet": 13 / 240, "pairs_ordered": 0.85, "speech_second_half": 0.6}


def test_rows_carry_the_ears_of_both_sets_and_the_schema_accepts_them(tmp_path: Path) -> None:
    write_sets(tmp_path)
    ears = load_ears(tmp_path, "soundstep-small")
    assert set(ears) == {"test", "free_form"}  # no vocoders.json: that section is left out
    assert row_ears(ears, "teacher", 200) is None
    rows = metrics_rows({"rows": [TABLE_ROW, {**TABLE_ROW, "denoiser": "teacher", "steps": 200}]}, ears)
    assert rows[0]["ears"]["free_form"]["quiet"] == 13 / 240
    assert rows[0]["ears"]["test"]["pairs_ordered"] is None
    assert "ears" not in rows[1]
    errors = schema_errors({"metrics": {"judge": "j", "runs": 5, "rows": rows}})
    assert not [e for e in errors if e.startswith("metrics")], errors
    bad = [{**rows[0], "ears": {"test": {**rows[0]["ears"]["test"], "quiet": 1.5}}}]
    assert any(e.startswith("metrics.rows[0].ears.test.quiet") for e in
               schema_errors({"metrics": {"judge": "j", "runs": 5, "rows": bad}}))


def test_markdown_tables_both_sets_with_the_real_clips_row(tmp_path: Path) -> None:
    write_sets(tmp_path)
    lines = ears_markdown(load_ears(tmp_path, "soundstep-small"))
    assert "## Independent ears" in lines
    rows = [line for line in lines if line.startswith("| bsa-25:25 |")]
    # the test split first (with V/UV F1 against its real clips), then the free-form prompts
    assert rows == ["| bsa-25:25 | 290 | 13 | -78.2 | 96% | 20% | 2% | — | 60% | 0.410 | — |",
                    "| bsa-25:25 | 290 | 13 | -78.2 | 96% | 20% | 2% | 85% | 60% | — | — |"]
    assert any(line.startswith("| real clips | 290 | 13 |") and line.endswith("| 1.000 | — |") for line in lines)
    assert ears_markdown({}) == []


def test_attach_ears_adds_figures_to_a_scored_pack_and_is_idempotent(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "public" / "models" / "soundstep-small"
    pack = tmp_path / "soundstep-small"
    pack.mkdir()
    for name in ("manifest.json", "metrics.json"):
        shutil.copy(shipped / name, pack / name)
    results = tmp_path / "results.md"
    results.write_text("# Results\n\n## Distillation\n\ntext\n\n## Plots\n\npictures\n")
    write_sets(tmp_path)
    ears = load_ears(tmp_path, "soundstep-small")
    assert attach_ears(pack, ears, results) == ["bsa-25:25"]
    manifest = json.loads((pack / "manifest.json").read_text())
    [row] = [r for r in manifest["metrics"]["rows"] if "ears" in r]
    assert (row["denoiser"], row["ears"]["free_form"]["quiet"]) == ("bsa-25", 13 / 240)
    assert manifest["files"]["metrics.json"]["sha256"] == sha256(pack / "metrics.json")
    assert json.loads((pack / "metrics.json").read_text())["ears"]["free_form"]["prompts"] == 58
    once = results.read_text()
    assert once.index("## Distillation") < once.index("## Independent ears") < once.index("## Plots")
    attach_ears(pack, ears, results)
    assert results.read_text() == once  # the section is replaced, not added again


def test_splice_section_replaces_an_old_section() -> None:
    old = "# R\n\n## Independent ears\n\nold figures\n\n## Plots\n\np\n"
    assert splice_section(old, ["", "## Independent ears", "", "new"]) == "# R\n\n## Independent ears\n\nnew\n\n## Plots\n\np\n"
