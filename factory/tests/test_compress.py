"""A smaller U-Net taught a finished student's steps (compress.py, compress_pack.py), on the micro
build of conftest.py: it learns (validation loss falls), ships beside its source leaving every other
file of the pack as it was, and from_pack and pack_students leave it alone."""
import dataclasses
import json
import shutil

import pytest
import torch

from soundstep_factory.files import sha256

SHARED = ("data", "text", "features.pt", "latents.pt", "teacher")


@pytest.fixture(scope="module")
def compressed(micro, linked_work_dir, tmp_path_factory):
    """eps distilled 200 -> 100 on micro, a smaller U-Net taught eps-100, both added to a copy of the pack."""
    from soundstep_factory.compress import compress
    from soundstep_factory.compress_pack import add_compressed
    from soundstep_factory.config import CompressConfig
    from soundstep_factory.distill import distill
    from soundstep_factory.pack_students import add_students

    root = linked_work_dir(tmp_path_factory.mktemp("work"), SHARED)
    pack = tmp_path_factory.mktemp("pack") / "micro"
    shutil.copytree(micro["pack"], pack)
    cfg = micro["cfg"]
    cfg = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, methods=("eps",), rounds=1))
    # the tiny variant: two levels of the micro U-Net's three, a random start
    variant = CompressConfig(source="eps-100", suffix="small", max_steps=40, eval_every=10, patience=10, val_size=16,
                             batch_size=8, lr=2e-3, warmup_steps=5,
                             unet=dataclasses.replace(cfg.unet, block_out_channels=(8, 16), attention_head_dim=1))
    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(root))
    try:
        distill(cfg, "eps")
        add_students(cfg, pack)
        before = {name: sha256(pack / name) for name in json.loads((pack / "manifest.json").read_text())["files"]}
        summary = compress(cfg, variant)
        report = add_compressed(cfg, variant, pack)
    finally:
        mp.undo()
    return {"root": root, "pack": pack, "cfg": cfg, "variant": variant, "summary": summary, "report": report,
            "before": before}


def test_the_small_unet_learns_its_source(compressed):
    from soundstep_factory import checkpoint

    state = checkpoint.load(compressed["root"] / "micro" / "compress" / "eps-100-small" / "checkpoint.pt")
    history = state["history"]
    assert compressed["summary"]["done"] and compressed["summary"]["steps_trained"] == 40
    assert compressed["summary"]["best"] < 0.8 * history[0]["val_loss"]  # step 0: the random U-Net
    big = sum(p.numel() for p in torch.load(compressed["root"] / "micro" / "distill" / "eps" / "n100" / "checkpoint.pt",
                                            weights_only=False)["model"].values())
    assert compressed["summary"]["parameters"] < big


def test_shipping_puts_it_beside_its_source_and_changes_nothing_else(compressed):
    from soundstep_factory.manifest import compressed_students

    pack = compressed["pack"]
    manifest = json.loads((pack / "manifest.json").read_text())
    assert [d["id"] for d in manifest["denoisers"]] == ["teacher", "eps-100", "eps-100-small"]
    entry = manifest["denoisers"][2]
    assert entry["distilled_from"] == "eps-100" and entry["steps"] == [100] and entry["method"] == "eps"
    assert entry["teacher_sha256"] == manifest["denoisers"][1]["teacher_sha256"]
    assert compressed_students(manifest) == {"eps-100-small"}
    for name, digest in compressed["before"].items():
        if name not in ("build_log.json",):
            assert sha256(pack / name) == digest, name
    assert compressed["report"]["parity_max_abs_error"]["float32_max_abs_error"] <= 1e-3
    # every file as it is now, build_log.json's new parity line included (the app checks each one it fetches)
    assert manifest["files"] == {name: {"bytes": (pack / name).stat().st_size, "sha256": sha256(pack / name)}
                                 for name in manifest["files"]}
    assert set(manifest["files"]) == {p.relative_to(pack).as_posix() for p in pack.rglob("*")
                                      if p.is_file() and p.name != "manifest.json"}


def test_from_pack_and_pack_students_leave_the_small_student_alone(compressed, tmp_path, monkeypatch):
    from soundstep_factory.pack_students import add_students, student_checkpoints

    manifest = json.loads((compressed["pack"] / "manifest.json").read_text())
    monkeypatch.setenv("SOUNDSTEP_WORK", str(compressed["root"]))
    read_back = student_checkpoints(compressed["cfg"], compressed["pack"], manifest)
    assert [entry["id"] for entry, _ in read_back.values()] == ["eps-100"]
    pack = tmp_path / "micro"
    shutil.copytree(compressed["pack"], pack)
    report = add_students(compressed["cfg"], pack)
    assert report["removed"] == [] and (pack / "denoisers" / "eps-100-small.onnx").exists()


def test_the_variants_load_with_their_file_names_as_suffixes():
    from soundstep_factory.config import load_compress

    coarsest, mid = load_compress("coarsest"), load_compress("mid")
    assert (coarsest.suffix, coarsest.init_from_source, coarsest.unet.attention_levels) == ("coarsest", True, "coarsest")
    assert coarsest.unet.block_out_channels == (32, 64, 64)
    assert (mid.suffix, mid.init_from_source, mid.unet.block_out_channels) == ("mid", False, (16, 16, 32, 64))


def test_a_unet_without_a_levels_attention_inherits_every_other_weight():
    """BK-SDM's block removal: dropping the 32x8 cross-attention keeps every other tensor's name and shape."""
    from soundstep_factory.compress import shared_weights
    from soundstep_factory.config import load_config
    from soundstep_factory.models import build_unet

    cfg = load_config("micro")
    source = build_unet(cfg, 16).state_dict()
    small = build_unet(dataclasses.replace(cfg, unet=dataclasses.replace(cfg.unet, attention_levels="coarsest")), 16)
    inherited = shared_weights(source, small.state_dict())
    assert set(inherited) == set(small.state_dict()) and len(source) > len(inherited)
    assert all(torch.equal(inherited[k], source[k]) for k in inherited)


def test_a_finished_run_is_read_back_not_trained_again(compressed, monkeypatch):
    from soundstep_factory.compress import compress

    monkeypatch.setenv("SOUNDSTEP_WORK", str(compressed["root"]))
    assert compress(compressed["cfg"], compressed["variant"]) == compressed["summary"]


def test_shipping_to_a_pack_without_the_source_or_its_budget_refuses_and_changes_nothing(compressed, tmp_path,
                                                                                        monkeypatch):
    from soundstep_factory.compress_pack import add_compressed
    from soundstep_factory.manifest import OverBudget, PackRefusal

    monkeypatch.setenv("SOUNDSTEP_WORK", str(compressed["root"]))
    cfg, variant = compressed["cfg"], compressed["variant"]
    pack = tmp_path / "micro"
    shutil.copytree(compressed["pack"], pack)
    before = {p.relative_to(pack).as_posix(): sha256(p) for p in pack.rglob("*") if p.is_file()}
    with pytest.raises(PackRefusal, match=r"ships no eps-50, the student the small U-Net learnt from"):
        add_compressed(cfg, dataclasses.replace(variant, source="eps-50"), pack)
    size = sum((pack / name).stat().st_size for name in before if name != "manifest.json")  # what the budget counts
    small = dataclasses.replace(cfg, pack_budget_mb=(size - 1) / 1e6)  # re-exporting the same student no longer fits
    with pytest.raises(OverBudget, match=r"adding eps-100-small would make the pack .* nothing was changed"):
        add_compressed(small, variant, pack)
    assert {p.relative_to(pack).as_posix(): sha256(p) for p in pack.rglob("*") if p.is_file()} == before
