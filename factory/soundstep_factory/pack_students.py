"""Distilled students in and out of a pack that already exists, so that distillation, like the
teacher, continues across sessions on machines that start without factory/work.

Usage: python -m soundstep_factory.pack_students --config small-next --pack ../public/models/soundstep-small-next

`add_students` writes the students a full export would ship (export.distilled_students) into
the pack and leaves every other file byte for byte as it is: re-exporting the text encoder, the
VAE and the vocoder would change their bytes for no reason. A student the pack has already is
kept as it is, unless an earlier teacher made it (pack_teacher.py): then the recipe's replaces
it. One the recipe no longer ships (a halving round superseded by the next one) goes; an earlier
teacher's student of a round not yet distilled here stays until that round is. Each added
student's `teacher_sha256` names the pack's teacher graph, the one it was distilled from: the
recipe's trained teacher has to be that graph (from_pack, or pack_teacher), or nothing is added.
`student_checkpoints` is from_pack's half: each student graph of the pack read back into the
recipe's U-Net, as the finished round `distill` would have written, so the next round starts
from it.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .config import PackConfig
from .graph_weights import read_state
from .graphs import DENOISER_AXES, DenoiserGraph, export_graph
from .manifest import OverBudget, compressed_students, factory_entry, files_entry, write_manifest
from .models import LATENT_DOWNSAMPLE, build_unet
from .pack_cli import pack_tool_main


def denoiser_inputs(cfg: PackConfig, hidden_size: int) -> dict[str, torch.Tensor]:
    """Example inputs of a denoiser graph (batch 2: a prompt and the empty prompt), as export uses."""
    g = torch.Generator().manual_seed(0)
    C, T, Fb = cfg.vae.latent_channels, cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE
    L = cfg.text.max_tokens
    mask = torch.ones(2, L, dtype=torch.int64)
    mask[1, 5:] = 0
    return {"sample": torch.randn(2, C, T, Fb, generator=g), "timestep": torch.tensor([999, 500]),
            "encoder_hidden_states": torch.randn(2, L, hidden_size, generator=g), "encoder_attention_mask": mask}


def add_students(cfg: PackConfig, pack: Path) -> dict:
    """Export the recipe's finished students into `pack` (see the module's docstring); returns
    the ids added and removed and the pack's new size."""
    from .export import distilled_students  # export imports this module's neighbours; import late
    from .pack_teacher import check_same_teacher, stale_students, teacher_file

    manifest = json.loads((pack / "manifest.json").read_text())
    check_same_teacher(cfg, pack, manifest)  # each added student is stamped with the pack teacher's SHA-256
    hidden_size = manifest["text"]["hidden_size"]
    present = {d["id"]: d for d in manifest["denoisers"]}
    shipped = distilled_students(cfg, hidden_size)
    log_path = pack / "build_log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"parity_max_abs_error": {}}
    inputs = denoiser_inputs(cfg, hidden_size)
    teacher_sha = manifest["files"][teacher_file(manifest)]["sha256"]
    stale = set(stale_students(manifest))
    added, overwritten = [], {}  # overwritten: the bytes of an earlier teacher's student with the same id
    for entry, model in shipped:
        entry["teacher_sha256"] = teacher_sha
        if entry["id"] in present and entry["id"] not in stale:
            continue
        if entry["id"] in present:
            overwritten[entry["file"]] = (pack / entry["file"]).read_bytes()
        log["parity_max_abs_error"][entry["file"]] = export_graph(
            DenoiserGraph(model), inputs, "v_prediction", pack / entry["file"], DENOISER_AXES, cfg.unet.storage)
        added.append(entry["id"])
    keep_ids = {entry["id"] for entry, _ in shipped}
    # Only a method with a finished round in the work dir replaces its students: one whose rounds
    # are not there (not imported, not distilled here) keeps what the pack has. So does an earlier
    # teacher's student of a round still to come here (bsa-5 while the new teacher's bsa-25 lands):
    # marked as the earlier teacher's, it stays in the comparison until its round is distilled again.
    methods_here = {entry["method"] for entry, _ in shipped}
    to_come = _rounds_to_come(cfg, shipped)
    compressed = compressed_students(manifest)  # compress.py's, not a distillation round's: kept
    removed = [d["id"] for d in manifest["denoisers"]
               if d["role"] == "student" and d["method"] in methods_here and d["id"] not in keep_ids
               and d["id"] not in compressed and not (d["id"] in stale and d["id"] in to_come)]
    # variants (int8_variant.py's) were made from a graph that is replaced or removed now: they go too
    replaced_or_removed = [*removed, *(i for i in added if i in present)]
    old_variants = {v["file"] for i in replaced_or_removed for v in present[i].get("variants", [])}
    dropped = {present[student_id]["file"] for student_id in removed} | old_variants
    files = {name: f for name, f in files_entry(pack).items() if name not in dropped}
    total = sum(f["bytes"] for f in files.values())
    if total > cfg.pack_budget_mb * 1e6:  # undo the exports: the pack stays as it was, within budget
        for entry, _ in shipped:
            if entry["id"] in added:
                (pack / entry["file"]).unlink()
        for file, data in overwritten.items():
            (pack / file).write_bytes(data)
        raise OverBudget(", ".join(added), pack, total, cfg.pack_budget_mb)
    for file in old_variants:
        (pack / file).unlink(missing_ok=True)
    for student_id in removed:
        (pack / present[student_id]["file"]).unlink()
        log["parity_max_abs_error"].pop(present[student_id]["file"], None)
    # the pack's order (the page's grid follows it): a replaced student in its place, a new one last
    replacing = {entry["id"]: entry for entry, _ in shipped if entry["id"] in added}
    manifest["denoisers"] = [replacing.pop(d["id"], d) for d in manifest["denoisers"] if d["id"] not in removed]
    manifest["denoisers"] += list(replacing.values())
    manifest["name"] = cfg.name  # the recipe's, which may have changed since the export (the page shows it)
    manifest["factory"].update(factory_entry(cfg))  # the recipe whose work dir distilled them, as it is now
    log_path.write_text(json.dumps(log, indent=1))
    manifest["files"] = files_entry(pack)
    write_manifest(pack, manifest)
    total = sum(f["bytes"] for f in manifest["files"].values())
    return {"pack": str(pack), "added": added, "removed": removed, "bytes": total}


def _rounds_to_come(cfg: PackConfig, shipped: list[tuple[dict, torch.nn.Module]]) -> set[str]:
    """The student ids of the rounds the recipe runs after the last one finished in the work dir,
    for each method with a finished round (rounds run in order: the last finished is shipped)."""
    from .distill import student_steps

    last: dict[str, int] = {}
    for entry, _ in shipped:
        last[entry["method"]] = min(last.get(entry["method"], entry["steps"][0]), entry["steps"][0])
    return {f"{method}-{n}" for method, done in last.items() for n in student_steps(cfg, method) if n < done}


def student_checkpoints(cfg: PackConfig, pack: Path, manifest: dict) -> dict[Path, tuple[dict, torch.nn.Module]]:
    """Every student graph of the pack as (manifest entry, the recipe's U-Net with its weights),
    keyed by the checkpoint path distill.distill_round reads for that method and step count. A
    student distilled from an earlier teacher (pack_teacher.stale_students) is left out: its
    weighting starts again from the pack's teacher."""
    from .pack_teacher import stale_students  # pack_teacher imports this module

    hidden_size = manifest["text"]["hidden_size"]
    inputs = denoiser_inputs(cfg, hidden_size)
    skip = set(stale_students(manifest)) | compressed_students(manifest)  # compressed: another U-Net
    out = {}
    for entry in manifest["denoisers"]:
        if entry["role"] != "student" or entry["id"] in skip:
            continue
        unet = build_unet(cfg, hidden_size)
        state = read_state(pack / entry["file"], DenoiserGraph(unet), inputs, "v_prediction", DENOISER_AXES)
        unet.load_state_dict({**unet.state_dict(), **state})
        [n] = entry["steps"]
        out[cfg.work_dir / "distill" / entry["method"] / f"n{n}" / "checkpoint.pt"] = (entry, unet.eval())
    return out


def main(argv: list[str] | None = None) -> None:
    pack_tool_main(__doc__, add_students, "the recipe whose finished distillation rounds are added",
                   "the pack folder (with manifest.json) to add them to", argv)


if __name__ == "__main__":
    main()
