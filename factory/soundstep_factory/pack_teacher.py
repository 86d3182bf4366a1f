"""A recipe's teacher into a pack that already exists, its students kept: a better teacher lands
before every weighting has been distilled from it again.

Usage: python -m soundstep_factory.pack_teacher --config small-next-loud --pack ../public/models/soundstep-small-next

Why: a machine starts without factory/work, and distilling five weightings again from a new
teacher takes longer than a session on two cores. The pack is the one checkpoint that survives
(from_pack.py), so the teacher lands first and its students follow, weighting by weighting
(pack_students.py). Until then some students come from the earlier teacher, and the manifest says
so: each student's `teacher_sha256` is the SHA-256 of the teacher graph it was distilled from
(docs/pack-format.md). A student whose value is not the pack's teacher file came from an earlier
teacher; from_pack does not continue it (distill starts its weighting again from the teacher).

What changes: denoisers/teacher.onnx (with its parity check), golden.json's trajectory (it runs
the teacher), build_log.json (the parity error, and the teacher's steps, which from_pack reads),
the manifest's `factory` (this recipe, so that from_pack continues with it) and files. The
metrics rows of the replaced teacher go: they measured another network. Every other file stays
byte for byte; a pack whose latent space differs from the recipe's is refused.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from . import checkpoint
from .checkpoint import load_trained
from .config import PackConfig
from .files import sha256
from .graph_weights import read_state
from .graphs import DENOISER_AXES, DenoiserGraph, export_graph
from .manifest import PackRefusal, factory_entry, files_entry, write_manifest
from .models import build_unet
from .pack_cli import pack_tool_main
from .pack_students import denoiser_inputs

__all__ = ["check_same_teacher", "main", "put_teacher", "stale_students", "teacher_file"]

# How far a weight may move when the pack stores it, relative to its tensor's largest magnitude:
# half a step of float16's 10-bit mantissa, or of int8's 127 levels (per tensor or finer).
STORED_RELATIVE_ERROR = {"float32": 1e-6, "float16": 1e-3, "int8": 1 / 200}


def teacher_file(manifest: dict) -> str:
    """The pack-relative file of the manifest's teacher."""
    return str(next(d["file"] for d in manifest["denoisers"] if d["role"] == "teacher"))


def stale_students(manifest: dict) -> list[str]:
    """The ids of the students distilled from another teacher than the pack's (their teacher_sha256
    is not the teacher file's); a student without the field counts as the pack's own (packs from
    before the field were exported whole)."""
    current = manifest["files"][teacher_file(manifest)]["sha256"]
    return [str(d["id"]) for d in manifest["denoisers"]
            if d["role"] == "student" and d.get("teacher_sha256", current) != current]


def check_same_teacher(cfg: PackConfig, pack: Path, manifest: dict) -> None:
    """Raise PackRefusal unless the recipe's trained teacher is the pack's teacher graph (equal up to
    the storage's rounding): students distilled in the work dir are stamped with the pack teacher's
    SHA-256, so the two have to be one network."""
    hidden_size = manifest["text"]["hidden_size"]
    unet = load_trained(cfg, "teacher", build_unet(cfg, hidden_size))
    file = teacher_file(manifest)
    in_pack = read_state(pack / file, DenoiserGraph(unet), denoiser_inputs(cfg, hidden_size), "v_prediction",
                         DENOISER_AXES)
    tolerance = STORED_RELATIVE_ERROR[cfg.unet.teacher_storage]
    for key, stored in in_pack.items():
        trained = unet.state_dict()[key].float()
        moved = float((stored - trained).abs().max()) / max(float(trained.abs().max()), 1e-12)
        if moved > tolerance:
            raise PackRefusal(
                f"{pack / file} is not the teacher in {cfg.work_dir / 'teacher'} (weight {key} differs by {moved:.2g} "
                f"of its largest value; storing as {cfg.unet.teacher_storage} moves it by at most {tolerance:g}), so "
                "the work dir's students were not distilled from the pack's teacher and nothing was changed. Put "
                f"this teacher in first (python -m soundstep_factory.pack_teacher --config {cfg.recipe} --pack {pack}), "
                "or import the pack's (python -m soundstep_factory.from_pack --only teacher) and distill again.")


def put_teacher(cfg: PackConfig, pack: Path) -> dict:
    """Export the recipe's trained teacher over the pack's (see the module's docstring)."""
    from .export import golden_trajectory  # export imports pack_students, which this module imports too
    from .text import TextEmbedder

    work = cfg.work_dir
    manifest = json.loads((pack / "manifest.json").read_text())
    scale = float(torch.load(work / "latents.pt", weights_only=False)["scale"])
    if abs(scale - manifest["latent"]["scale"]) > 1e-6 * abs(scale):
        raise PackRefusal(f"{pack}: the pack's latent scale {manifest['latent']['scale']} is not the recipe "
                         f"{cfg.recipe}'s {scale}: its teacher denoises another latent space, and the pack's "
                         "students and VAE would not fit it. Export the whole pack instead (export.py).")
    state = checkpoint.load(work / "teacher" / "checkpoint.pt")
    if state is None:
        raise FileNotFoundError(f"{work / 'teacher'}: no teacher checkpoint; train it first (build --config {cfg.recipe})")
    hidden_size = manifest["text"]["hidden_size"]
    unet = load_trained(cfg, "teacher", build_unet(cfg, hidden_size), state)
    file = teacher_file(manifest)
    replaced = manifest["files"][file]["sha256"]
    for entry in manifest["denoisers"]:  # students exported before the field came from the teacher they shipped with
        if entry["role"] == "student":
            entry.setdefault("teacher_sha256", replaced)

    log_path = pack / "build_log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"parity_max_abs_error": {}}
    log["parity_max_abs_error"][file] = export_graph(DenoiserGraph(unet), denoiser_inputs(cfg, hidden_size),
                                                     "v_prediction", pack / file, DENOISER_AXES,
                                                     cfg.unet.teacher_storage)
    last = state["history"][-1]["loss"] if state["history"] else None
    log.setdefault("histories", {})["teacher"] = {"steps": state["step"], "final_loss": last}
    log_path.write_text(json.dumps(log, indent=1))

    golden_path = pack / str(manifest["golden"])
    golden = json.loads(golden_path.read_text())
    embed = TextEmbedder(cfg, work / "text", pack / manifest["text"]["encoder"])
    golden["trajectory"] = golden_trajectory(cfg, pack, embed, scale)
    golden_path.write_text(json.dumps(golden))

    manifest["factory"].update(factory_entry(cfg))
    manifest["name"] = cfg.name
    dropped = _drop_teacher_rows(pack, manifest)
    manifest["files"] = files_entry(pack)
    write_manifest(pack, manifest)
    return {"pack": str(pack), "teacher": file, "steps": state["step"], "replaced_sha256": replaced,
            "sha256": sha256(pack / file), "stale_students": stale_students(manifest),
            "metrics_rows_dropped": dropped, "parity": log["parity_max_abs_error"][file]}


def _drop_teacher_rows(pack: Path, manifest: dict) -> int:
    """Remove the teacher's rows from the manifest's table and metrics.json's (they measured the
    replaced network); the figures that compare with the teacher go too. Returns how many rows went."""
    teacher_id = next(d["id"] for d in manifest["denoisers"] if d["role"] == "teacher")
    inline = manifest.get("metrics") or None
    dropped = 0
    if inline is not None:
        rows = [r for r in inline["rows"] if r["denoiser"] != teacher_id]
        dropped = len(inline["rows"]) - len(rows)
        manifest["metrics"] = {**inline, "rows": rows} if rows else None
    metrics_path = pack / "metrics.json"
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        metrics["table"] = [r for r in metrics.get("table", []) if r["denoiser"] != teacher_id]
        for heard in (metrics.get("ears") or {}).values():  # prompt_eval's rows, keyed "<denoiser>:<steps>"
            if isinstance(heard, dict) and isinstance(heard.get("rows"), dict) and "set" in heard:
                heard["rows"] = {k: v for k, v in heard["rows"].items() if k.split(":")[0] != teacher_id}
        for key in ("checks", "seen"):  # the teacher's quality bars and its seen-prompts test
            metrics[key] = None
        if metrics.get("distillation"):
            metrics["distillation"]["checks"] = None  # best student against the teacher at 200
        metrics["teacher_replaced"] = {"recipe": manifest["factory"]["recipe"],
                                       "note": "the teacher's rows and checks are measured again "
                                               "(evaluate, prompt_eval) before they come back"}
        metrics_path.write_text(json.dumps(metrics, indent=1) + "\n")
    return dropped


def main(argv: list[str] | None = None) -> None:
    pack_tool_main(__doc__, put_teacher, "the recipe whose trained teacher goes into the pack",
                   "the pack folder (with manifest.json) to put it in", argv)


if __name__ == "__main__":
    main()
