"""Distillation across sessions through the pack (pack_students.py, from_pack.py): students added
to a pack that exists leave its other files as they are; a fresh work dir gets them back as
finished rounds; distill goes on from the last one, skipping the rounds the pack does not ship.
On the micro build of conftest.py (15 distillation steps per round)."""
import dataclasses
import json
import shutil

import pytest
import torch

from soundstep_factory.files import sha256

SHARED = ("data", "text", "features.pt", "latents.pt", "teacher")


def _work_dir(root, micro):
    """A work dir with the micro build's data, features, latents and teacher, and no students."""
    (root / "micro").mkdir(parents=True)
    for name in SHARED:
        (root / "micro" / name).symlink_to(micro["root"] / "micro" / name)
    return root


def _eps_rounds(cfg, rounds):
    return dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, methods=("eps",), rounds=rounds))


@pytest.fixture(scope="module")
def two_rounds(micro, tmp_path_factory):
    """eps distilled 200 -> 100 -> 50 in one work dir, then added to a copy of the micro pack."""
    from soundstep_factory.distill import distill
    from soundstep_factory.pack_students import add_students

    root = _work_dir(tmp_path_factory.mktemp("first-session"), micro)
    pack = tmp_path_factory.mktemp("pack") / "micro"
    shutil.copytree(micro["pack"], pack)
    before = {name: sha256(pack / name) for name in json.loads((pack / "manifest.json").read_text())["files"]}
    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(root))
    try:
        # renamed since the pack's export: the page shows the recipe's name as it is now
        cfg = dataclasses.replace(_eps_rounds(micro["cfg"], 2), name="micro, renamed since its export")
        distill(cfg, "eps")
        report = add_students(cfg, pack)
    finally:
        mp.undo()
    return {"root": root, "pack": pack, "before": before, "report": report, "cfg": cfg}


def test_adding_students_writes_the_last_round_and_leaves_every_other_file(two_rounds):
    pack = two_rounds["pack"]
    assert two_rounds["report"]["added"] == ["eps-50"] and two_rounds["report"]["removed"] == []
    manifest = json.loads((pack / "manifest.json").read_text())
    assert [d["id"] for d in manifest["denoisers"]] == ["teacher", "eps-50"]
    assert manifest["name"] == "micro, renamed since its export"
    student = manifest["denoisers"][1]
    assert student["distilled_from"] == "teacher" and student["steps"] == [50] and student["largest_tensor_bytes"] > 0
    for name, digest in two_rounds["before"].items():  # byte for byte, build_log.json aside (its parity grew)
        if name != "build_log.json":
            assert sha256(pack / name) == digest, name
    assert manifest["files"]["denoisers/eps-50.onnx"]["sha256"] == sha256(pack / "denoisers/eps-50.onnx")
    log = json.loads((pack / "build_log.json").read_text())
    assert log["parity_max_abs_error"]["denoisers/eps-50.onnx"]["float32_max_abs_error"] <= 1e-3


def test_a_student_over_the_budget_leaves_the_pack_as_it_was(micro, two_rounds, tmp_path, monkeypatch):
    """Over pack_budget_mb, add_students says so and changes nothing: no new graph, the same manifest."""
    from soundstep_factory.pack_students import add_students

    pack = tmp_path / "micro"
    shutil.copytree(micro["pack"], pack)
    before = {p.relative_to(pack).as_posix(): sha256(p) for p in pack.rglob("*") if p.is_file()}
    size = sum((pack / name).stat().st_size for name in before)
    monkeypatch.setenv("SOUNDSTEP_WORK", str(two_rounds["root"]))
    cfg = dataclasses.replace(two_rounds["cfg"], pack_budget_mb=size / 1e6)  # the pack as it is fits; one more does not
    with pytest.raises(RuntimeError, match=r"adding eps-50 would make the pack .* nothing was changed"):
        add_students(cfg, pack)
    assert {p.relative_to(pack).as_posix(): sha256(p) for p in pack.rglob("*") if p.is_file()} == before
    # The command says the same in one line (no traceback) and exits non-zero, the pack still as it was.
    from soundstep_factory import pack_cli, pack_students

    monkeypatch.setattr(pack_cli, "load_config", lambda name: cfg if name == "the-recipe" else None)
    with pytest.raises(SystemExit) as exit_info:
        pack_students.main(["--config", "the-recipe", "--pack", str(pack)])
    assert str(exit_info.value).startswith("adding eps-50 would make the pack ")
    assert "raise pack_budget_mb in the recipe" in str(exit_info.value)
    assert {p.relative_to(pack).as_posix(): sha256(p) for p in pack.rglob("*") if p.is_file()} == before


def test_a_fresh_work_dir_distills_on_from_the_packs_last_round(micro, two_rounds, tmp_path, monkeypatch):
    from soundstep_factory.distill import distill
    from soundstep_factory.from_pack import import_pack
    from soundstep_factory.pack_students import add_students

    root = _work_dir(tmp_path, micro)
    monkeypatch.setenv("SOUNDSTEP_WORK", str(root))
    cfg = two_rounds["cfg"]
    report = import_pack(cfg, two_rounds["pack"], only=frozenset({"students"}))
    n50 = root / "micro" / "distill" / "eps" / "n50" / "checkpoint.pt"
    assert report["students"] == {"eps-50": str(n50)}
    imported = torch.load(n50, weights_only=False)
    trained = torch.load(two_rounds["root"] / "micro" / "distill" / "eps" / "n50" / "checkpoint.pt",
                         weights_only=False)["model"]
    assert imported["extra"]["done"] and imported["extra"]["factor"] == 2
    for key, w in trained.items():  # int8 storage: within a step of each output channel's scale
        assert float((imported["model"][key] - w).abs().max()) <= float(w.abs().max()) / 127 + 1e-6, key

    longer = _eps_rounds(micro["cfg"], 3)
    summaries = distill(longer, "eps")
    assert summaries[0] == {"n_student": 100, "factor": 2, "skipped": "a later round is done"}
    assert summaries[1]["imported"]["graphs"] == ["denoisers/eps-50.onnx"]
    assert summaries[2]["n_student"] == 25 and summaries[2]["done"] and "imported" not in summaries[2]
    assert not (root / "micro" / "distill" / "eps" / "n100").exists()

    pack = tmp_path / "pack"
    shutil.copytree(two_rounds["pack"], pack)
    report = add_students(longer, pack)
    assert report["added"] == ["eps-25"] and report["removed"] == ["eps-50"]
    manifest = json.loads((pack / "manifest.json").read_text())
    assert [d["id"] for d in manifest["denoisers"]] == ["teacher", "eps-25"]
    assert not (pack / "denoisers" / "eps-50.onnx").exists() and "denoisers/eps-50.onnx" not in manifest["files"]
