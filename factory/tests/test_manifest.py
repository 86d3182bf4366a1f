"""The pack contract: every manifest the factory writes goes through manifest.write_manifest,
which validates it against docs/soundstep-pack-1.schema.json (the app compiles the same file)."""
import copy
import json
from pathlib import Path

import pytest

from soundstep_factory.manifest import MANIFEST, SCHEMA_PATH, schema_errors, write_manifest

SHIPPED = Path(__file__).resolve().parents[2] / "public" / "models" / "soundstep-small" / MANIFEST


@pytest.fixture
def shipped() -> dict:
    return json.loads(SHIPPED.read_text())


def test_the_shipped_manifest_conforms(shipped):
    assert SCHEMA_PATH.is_file()
    assert schema_errors(shipped) == []


@pytest.mark.parametrize("edit, where", [
    (lambda m: m["audio"].pop("sample_rate"), "audio"),
    (lambda m: m["denoisers"][1].update(steps=[100, 50]), "denoisers[1].steps"),
    (lambda m: m["denoisers"][0].update(guidance={"type": "folded"}), "denoisers[0].guidance"),
    (lambda m: m["denoisers"][1].update(method="magic"), "denoisers[1].method"),
    (lambda m: m["schedule"].update(spacing="leading"), "schedule.spacing"),
    (lambda m: m["files"].update({"../secret.onnx": {"bytes": 1, "sha256": "a" * 64}}), "files"),
    (lambda m: m["files"].update({MANIFEST: {"bytes": 1, "sha256": "a" * 64}}), "files"),
    (lambda m: m["files"]["vocoder.onnx"].update(sha256="XYZ"), 'files["vocoder.onnx"].sha256'),
    (lambda m: m.update(metrics="metrics.json"), "metrics"),
    (lambda m: m["metrics"]["rows"][0]["adherence"].update(mean=1.5), "metrics.rows[0].adherence.mean"),
    (lambda m: m["vocoder"].update(external_data=[]), "vocoder.external_data"),
    (lambda m: m["vocoder"].update(variants=[{"dtype": "int4", "file": "v.onnx"}]), "vocoder.variants[0].dtype"),
])
def test_write_manifest_refuses_what_the_schema_refuses_naming_the_field(shipped, tmp_path, edit, where):
    edit(shipped)
    with pytest.raises(ValueError) as refused:
        write_manifest(tmp_path, shipped)
    assert f"\n  {where}: " in str(refused.value)
    assert not (tmp_path / MANIFEST).exists()


def test_write_manifest_keeps_unknown_fields_and_writes_indented_json(shipped, tmp_path):
    shipped["factory"]["repack"] = {"command": "python -m soundstep_factory.repack --fp16", "log": "repack_log.json",
                                    "float16_tolerance": {"denoiser": 0.05, "vae": 0.005}}
    shipped["something_new"] = {"a": 1}
    path = write_manifest(tmp_path, copy.deepcopy(shipped))
    assert json.loads(path.read_text()) == shipped
    assert path.read_text().startswith('{\n  "format": "soundstep-pack/1"')


def test_report_writes_the_metrics_table_through_the_writer(shipped, tmp_path):
    from soundstep_factory.report import write_pack_metrics

    rows = shipped["metrics"]["rows"]
    (tmp_path / MANIFEST).write_text(json.dumps({**shipped, "metrics": None}))
    write_pack_metrics(tmp_path, {"table": rows}, runs=5)
    written = json.loads((tmp_path / MANIFEST).read_text())
    assert written["metrics"]["rows"] == rows and written["metrics"]["runs"] == 5
    assert "metrics.json" in written["files"] and schema_errors(written) == []
    with pytest.raises(ValueError, match=r"\n  metrics\.runs: "):
        write_pack_metrics(tmp_path, {"table": rows}, runs=0)


def test_report_names_the_best_25_step_student_as_the_default_denoiser(shipped, tmp_path):
    from soundstep_factory.pack_metrics import default_denoiser, write_pack_metrics

    rows = shipped["metrics"]["rows"]
    (tmp_path / MANIFEST).write_text(json.dumps({**shipped, "metrics": None}))
    write_pack_metrics(tmp_path, {"table": rows}, runs=5)
    written = json.loads((tmp_path / MANIFEST).read_text())
    # the shipped table: snr+1-25 has the lowest audio FAD_judge of the 25-step students (55.4); the
    # teacher (53.5 at 200 steps) and bsa-100 are not 25-step students
    assert written["default_denoiser"] == "snr+1-25" and schema_errors(written) == []

    denoisers = shipped["denoisers"]

    def row(d: str, n: int, fad: float) -> dict:
        return {"denoiser": d, "steps": n, "fad_judge": {"mean": fad, "ci95": None}}

    assert default_denoiser(denoisers, [row("eps-25", 25, 9.0), row("bsa-25", 25, 9.5), row("teacher", 25, 1.0)]) == "eps-25"
    assert default_denoiser(denoisers, [row("bsa-50", 50, 1.0)]) == "bsa-25"  # no 25-step row: the first 25-step student
    assert default_denoiser(denoisers, []) == "bsa-25"
    assert default_denoiser([d for d in denoisers if d["steps"] != [25]], []) == "teacher"
    assert default_denoiser([], []) is None


def test_a_default_denoiser_must_be_a_nonempty_id(shipped, tmp_path):
    shipped["default_denoiser"] = ""
    with pytest.raises(ValueError, match=r"\n  default_denoiser: "):
        write_manifest(tmp_path, shipped)
