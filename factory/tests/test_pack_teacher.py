"""A teacher trained further lands in a pack that has students (pack_teacher.py): the teacher graph,
golden.json and the build log change and nothing else does; the students are marked as an earlier
teacher's, from_pack leaves them out, and students distilled from the new teacher replace them.
On the micro build of conftest.py."""
import dataclasses
import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from soundstep_factory.files import sha256

SHARED = ("data", "text", "features.pt", "latents.pt")
CHANGED = {"denoisers/teacher.onnx", "golden.json", "build_log.json"}


def _eps(cfg, rounds=1):
    return dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, methods=("eps",), rounds=rounds))


@pytest.fixture(scope="module")
def landed(micro, tmp_path_factory):
    """The micro pack with eps-100 distilled from its teacher, then that teacher trained 4 steps more
    in another work dir and put into the pack."""
    from soundstep_factory.distill import distill
    from soundstep_factory.pack_students import add_students
    from soundstep_factory.pack_teacher import put_teacher
    from soundstep_factory.train import train_teacher

    pack = tmp_path_factory.mktemp("pack") / "micro"
    shutil.copytree(micro["pack"], pack)
    old_cfg = _eps(micro["cfg"])
    first = tmp_path_factory.mktemp("first")
    second = tmp_path_factory.mktemp("second")
    for root in (first, second):
        (root / "micro").mkdir()
        for name in SHARED:
            (root / "micro" / name).symlink_to(micro["root"] / "micro" / name)
    (first / "micro" / "teacher").symlink_to(micro["root"] / "micro" / "teacher")
    shutil.copytree(micro["root"] / "micro" / "teacher", second / "micro" / "teacher")
    new_cfg = dataclasses.replace(old_cfg, unet=dataclasses.replace(old_cfg.unet, steps=old_cfg.unet.steps + 4),
                                  name="micro, its teacher trained further")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("SOUNDSTEP_WORK", str(first))
        distill(old_cfg, "eps")
        add_students(old_cfg, pack)
        manifest = json.loads((pack / "manifest.json").read_text())
        manifest["metrics"] = {"judge": "test", "runs": 1, "rows": [
            {"denoiser": d, "steps": n, "nfe": nfe, **{k: {"mean": 1.0, "ci95": None} for k in ("fad_judge", "fd_mel", "adherence")}}
            for d, n, nfe in (("teacher", 25, 50), ("eps-100", 100, 100))]}
        (pack / "manifest.json").write_text(json.dumps(manifest))
        (pack / "metrics.json").write_text(json.dumps({"table": manifest["metrics"]["rows"], "ears": {"free_form": {
            "set": "free-form", "rows": {"teacher:200": {}, "eps-100:100": {}}}, "vocoders": {"rows": {"shipped": {}}}}}))
        before = {name: sha256(pack / name) for name in json.loads((pack / "manifest.json").read_text())["files"]}
        golden_before = json.loads((pack / "golden.json").read_text())
        mp.setenv("SOUNDSTEP_WORK", str(second))
        train_teacher(new_cfg)
        report = put_teacher(new_cfg, pack)
    finally:
        mp.undo()
    return {"pack": pack, "before": before, "golden_before": golden_before, "report": report, "cfg": new_cfg,
            "first": first, "second": second, "old_cfg": old_cfg}


def test_the_teacher_graph_and_golden_change_and_every_other_file_stays(landed):
    pack, report = landed["pack"], landed["report"]
    manifest = json.loads((pack / "manifest.json").read_text())
    assert report["steps"] == landed["cfg"].unet.steps and report["sha256"] != report["replaced_sha256"]
    assert report["replaced_sha256"] == landed["before"]["denoisers/teacher.onnx"]
    for name, digest in landed["before"].items():
        if name not in CHANGED:
            assert sha256(pack / name) == digest, name
    assert manifest["files"]["denoisers/teacher.onnx"]["sha256"] == sha256(pack / "denoisers/teacher.onnx")
    assert manifest["factory"]["recipe"] == "micro" and manifest["name"] == "micro, its teacher trained further"
    log = json.loads((pack / "build_log.json").read_text())
    assert log["histories"]["teacher"]["steps"] == landed["cfg"].unet.steps  # what from_pack continues from
    assert report["parity"]["float32_max_abs_error"] <= 1e-3
    # golden.json: the new teacher's trajectory, its first network output that of the graph as shipped
    golden, old = json.loads((pack / "golden.json").read_text()), landed["golden_before"]
    assert golden["grids"] == old["grids"] and golden["trajectory"]["noise"] == old["trajectory"]["noise"]
    t = golden["trajectory"]
    hidden, mask = _embed(landed["cfg"], landed["second"], pack, [t["prompt"], ""])
    session = ort.InferenceSession(str(pack / "denoisers/teacher.onnx"), providers=["CPUExecutionProvider"])
    C, T, F = t["latent_shape"]
    noise = np.asarray(t["noise"], np.float32).reshape(1, C, T, F)
    v = session.run(None, {"sample": np.concatenate([noise, noise]), "timestep": np.array([t["timesteps"][0]] * 2),
                           "encoder_hidden_states": hidden, "encoder_attention_mask": mask})[0]
    assert np.abs(v[0].ravel() - np.asarray(t["v_cond"][0], np.float32)).max() < 1e-4
    assert np.abs(np.asarray(t["v_cond"][0]) - np.asarray(old["trajectory"]["v_cond"][0])).max() > 1e-4


def _embed(cfg, root, pack, prompts):
    """The prompts' text states as export embeds them (the work dir's tokenizer, the pack's encoder graph)."""
    from soundstep_factory.text import TextEmbedder

    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(root))
    try:
        return TextEmbedder(cfg, cfg.work_dir / "text", pack / "text_encoder.onnx")(prompts)
    finally:
        mp.undo()


def test_the_students_are_marked_as_the_earlier_teachers_and_its_metrics_rows_go(landed):
    from soundstep_factory.pack_teacher import stale_students

    manifest = json.loads((landed["pack"] / "manifest.json").read_text())
    student = next(d for d in manifest["denoisers"] if d["id"] == "eps-100")
    assert student["teacher_sha256"] == landed["report"]["replaced_sha256"]
    assert stale_students(manifest) == ["eps-100"] == landed["report"]["stale_students"]
    assert [r["denoiser"] for r in manifest["metrics"]["rows"]] == ["eps-100"]
    assert landed["report"]["metrics_rows_dropped"] == 1
    metrics = json.loads((landed["pack"] / "metrics.json").read_text())
    assert [r["denoiser"] for r in metrics["table"]] == ["eps-100"] and metrics["checks"] is None
    assert metrics["ears"] == {"free_form": {"set": "free-form", "rows": {"eps-100:100": {}}},
                               "vocoders": {"rows": {"shipped": {}}}}  # the vocoder floor is no teacher's


def test_from_pack_leaves_them_out_and_the_new_teachers_students_replace_them(landed, tmp_path, monkeypatch):
    from soundstep_factory.distill import distill
    from soundstep_factory.from_pack import import_pack
    from soundstep_factory.manifest import files_entry, write_manifest
    from soundstep_factory.pack_students import add_students
    from soundstep_factory.pack_teacher import stale_students

    pack = tmp_path / "micro"
    shutil.copytree(landed["pack"], pack)
    root = tmp_path / "work"
    (root / "micro").mkdir(parents=True)
    for name in (*SHARED, "teacher"):
        (root / "micro" / name).symlink_to(landed["second"] / "micro" / name)
    monkeypatch.setenv("SOUNDSTEP_WORK", str(root))
    assert import_pack(landed["cfg"], pack, only=frozenset({"students"}))["students"] == {}
    distill(landed["cfg"], "eps")  # from the new teacher: nothing imported to skip
    # an earlier teacher's eps-50 too, the round after eps-100 (its graph: a copy of eps-100's)
    manifest = json.loads((pack / "manifest.json").read_text())
    old_100 = next(d for d in manifest["denoisers"] if d["id"] == "eps-100")
    manifest["denoisers"].append({**old_100, "id": "eps-50", "file": "denoisers/eps-50.onnx", "steps": [50],
                                  "distilled_from": "eps-100"})
    shutil.copy(pack / old_100["file"], pack / "denoisers/eps-50.onnx")
    # and an int8 variant of the old eps-100 (int8_variant.py; a copy of its graph stands in): made
    # from the graph being replaced, it goes with it
    old_100["variants"] = [{"dtype": "int8", "file": "denoisers/eps-100.int8.onnx"}]
    shutil.copy(pack / old_100["file"], pack / "denoisers/eps-100.int8.onnx")
    manifest["files"] = files_entry(pack)
    write_manifest(pack, manifest)
    two_rounds = _eps(landed["cfg"], rounds=2)  # only its first round is distilled in this work dir

    report = add_students(two_rounds, pack)
    assert report["added"] == ["eps-100"] and report["removed"] == []
    manifest = json.loads((pack / "manifest.json").read_text())
    assert stale_students(manifest) == ["eps-50"]  # kept, as the earlier teacher's, until its round is run
    assert [d["id"] for d in manifest["denoisers"]] == ["teacher", "eps-100", "eps-50"]  # replaced in its place
    assert (pack / "denoisers/eps-50.onnx").exists()
    student = next(d for d in manifest["denoisers"] if d["id"] == "eps-100")
    assert student["teacher_sha256"] == manifest["files"]["denoisers/teacher.onnx"]["sha256"]
    assert sha256(pack / "denoisers/eps-100.onnx") != sha256(landed["pack"] / "denoisers/eps-100.onnx")
    assert "variants" not in student and not (pack / "denoisers/eps-100.int8.onnx").exists()
    assert "denoisers/eps-100.int8.onnx" not in manifest["files"]


def test_students_of_another_teacher_than_the_packs_are_refused(landed, tmp_path, monkeypatch):
    """The first work dir's eps-100 came from the teacher the pack no longer has: stamping it with the
    new teacher's SHA-256 would hide that, so add_students says so and changes nothing, and the
    command ends on that one line (no traceback)."""
    from soundstep_factory import pack_cli, pack_students
    from soundstep_factory.manifest import PackRefusal

    pack = tmp_path / "micro"
    shutil.copytree(landed["pack"], pack)
    before = {p.name: p.read_bytes() for p in sorted(pack.rglob("*")) if p.is_file()}
    monkeypatch.setenv("SOUNDSTEP_WORK", str(landed["first"]))
    with pytest.raises(PackRefusal, match=r"is not the teacher in .*pack_teacher --config micro"):
        pack_students.add_students(landed["old_cfg"], pack)
    monkeypatch.setattr(pack_cli, "load_config", lambda name: landed["old_cfg"] if name == "old" else None)
    with pytest.raises(SystemExit) as exit_info:
        pack_students.main(["--config", "old", "--pack", str(pack)])
    assert str(exit_info.value).startswith(f"{pack / 'denoisers/teacher.onnx'} is not the teacher in ")
    assert "\n" not in str(exit_info.value)
    assert {p.name: p.read_bytes() for p in sorted(pack.rglob("*")) if p.is_file()} == before


def test_a_teacher_of_another_latent_space_is_refused(landed, tmp_path, monkeypatch):
    """put_teacher refuses a pack whose latent scale is not the recipe's, and changes nothing."""
    from soundstep_factory.manifest import PackRefusal
    from soundstep_factory.pack_teacher import put_teacher

    pack = tmp_path / "micro"
    shutil.copytree(landed["pack"], pack)
    manifest = json.loads((pack / "manifest.json").read_text())
    manifest["latent"]["scale"] *= 1.5
    (pack / "manifest.json").write_text(json.dumps(manifest, indent=1))
    before = {p.name: p.read_bytes() for p in sorted(pack.rglob("*")) if p.is_file()}
    monkeypatch.setenv("SOUNDSTEP_WORK", str(landed["second"]))
    with pytest.raises(PackRefusal, match=r"latent scale .* is not the recipe .*Export the whole pack instead"):
        put_teacher(landed["cfg"], pack)
    assert {p.name: p.read_bytes() for p in sorted(pack.rglob("*")) if p.is_file()} == before


def test_rows_measured_again_replace_their_own_and_the_checks_follow(landed, tmp_path):
    """pack_metrics.merge_rows: the new teacher's rows and ears go in, eps-100's stay as scored."""
    from soundstep_factory.pack_metrics import merge_rows

    pack = tmp_path / "micro"
    shutil.copytree(landed["pack"], pack)

    def cell(mean):
        return {"mean": mean, "ci95": 0.1}

    def manifest_row(denoiser, steps, nfe, fad):
        return {"denoiser": denoiser, "steps": steps, "nfe": nfe, "fad_judge": cell(fad), "fd_mel": cell(9.0),
                "adherence": cell(0.3), "seconds": cell(0.5), "log_mel": {k: cell(v) for k, v in
                                                                        (("fad_judge", fad - 2), ("fd_mel", 8.0), ("adherence", 0.35))}}
    eps = manifest_row("eps-100", 100, 100, 42.0)
    metrics = {"runs": 2, "floor": {"real": {"adherence": 0.5}, "vae+vocoder": {"fad_judge": 30.0}, "vae (mel)": {"fad_judge": 25.0}},
               "table": [manifest_row("teacher", 200, 400, 50.0), eps], "checks": None,
               "distillation": {"rounds": [], "checks": None},
               "ears": {"free_form": {"set": "free-form", "pack": "micro", "prompts": 3, "rows": {"eps-100:100": {"x": 1}}}}}
    (pack / "metrics.json").write_text(json.dumps(metrics))
    table = {"rows": [{"denoiser": "teacher", "steps": 200, "nfe": {"mean": 400.0}, "fad_judge": cell(40.0),
                       "fd_mel": cell(7.0), "adherence": cell(0.45), "seconds_per_clip": cell(6.0),
                       "fad_judge_vae_mel": cell(38.0), "fd_mel_vae_mel": cell(6.0), "adherence_vae_mel": cell(0.5)}]}
    teacher_ears = {"clips": 6, "known_clips": 4, "known_below_35": 1, "speech_present[speaking]": 0.5,
                    "speech_present[no speech]": 0.0, "pairs_ordered": 1.0, "speech_second_half": None}  # prompt_eval's
    ears = {"free_form": {"set": "free-form", "pack": "micro", "prompts": 3, "rows": {"teacher:200": teacher_ears}}}

    assert merge_rows(pack, table, ears, ("eps",)) == ["teacher:200"]
    merged = json.loads((pack / "metrics.json").read_text())
    assert [(r["denoiser"], r["steps"], r["fad_judge"]["mean"]) for r in merged["table"]] == [
        ("teacher", 200, 40.0), ("eps-100", 100, 42.0)]
    assert merged["table"][1] == eps
    assert merged["table"][0]["log_mel"]["adherence"]["mean"] == 0.5
    assert set(merged["ears"]["free_form"]["rows"]) == {"eps-100:100", "teacher:200"}
    assert merged["table"][0]["ears"] == {"free_form": {"clips": 6, "speech_when_named": 0.5, "speech_when_not": 0.0,
                                                        "quiet": 0.25, "pairs_ordered": 1.0, "speech_second_half": None}}
    assert merged["checks"][0]["passed"] is True and merged["checks"][0]["detail"].startswith("0.450 vs 0.8 x 0.500")
    # no 25-step student in this pack: the distillation checks say so rather than compare
    assert merged["distillation"]["checks"] == [{"check": "teacher at 200 and students at 25 evaluated",
                                                 "passed": False, "detail": "runs missing"}]
    manifest = json.loads((pack / "manifest.json").read_text())
    assert [r["denoiser"] for r in manifest["metrics"]["rows"]] == ["teacher", "eps-100"]
    assert manifest["files"]["metrics.json"]["sha256"] == sha256(pack / "metrics.json")
