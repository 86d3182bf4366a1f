"""compress.py's small student into a pack that already exists, beside the student it learnt from.

Every other file stays byte for byte. The entry is a student of the source's weighting and step
count whose `distilled_from` is the source itself (manifest.compressed_students tells such entries
from distillation rounds); its `teacher_sha256` is the source's, the teacher both come from.
"""
from __future__ import annotations

import json
from pathlib import Path

from .compress import compressed_id, source_round, trained_student
from .config import CompressConfig, PackConfig
from .graphs import DENOISER_AXES, DenoiserGraph, export_graph
from .manifest import PackRefusal, files_entry, files_within_budget, write_manifest
from .pack_students import denoiser_inputs


def add_compressed(cfg: PackConfig, c: CompressConfig, pack: Path) -> dict:
    """Export the finished small student into `pack` (replacing an earlier one of the same id);
    returns its id, parity and the pack's new size. Refuses, changing nothing, when the pack does
    not ship the source or would grow past the recipe's pack_budget_mb."""
    manifest = json.loads((pack / "manifest.json").read_text())
    entries = {d["id"]: d for d in manifest["denoisers"]}
    source = entries.get(c.source)
    if source is None:
        raise PackRefusal(f"compress --ship: {pack} ships no {c.source}, the student the small U-Net "
                         f"learnt from; ship that pack's own student first (pack_students)")
    method, n = source_round(c.source)
    hidden_size = manifest["text"]["hidden_size"]
    entry_id = compressed_id(c)
    entry = {"id": entry_id, "file": f"denoisers/{entry_id}.onnx", "role": "student", "method": method, "steps": [n],
             "guidance": {"type": "folded"}, "distilled_from": source["id"]}
    if "teacher_sha256" in source:
        entry["teacher_sha256"] = source["teacher_sha256"]
    path = pack / entry["file"]
    before = path.read_bytes() if path.exists() else None
    parity = export_graph(DenoiserGraph(trained_student(cfg, c, hidden_size)), denoiser_inputs(cfg, hidden_size),
                          "v_prediction", path, DENOISER_AXES, c.unet.storage)
    files_within_budget(pack, path, before, entry_id, cfg.pack_budget_mb)
    order = [d for d in manifest["denoisers"] if d["id"] != entry_id]
    at = next(i for i, d in enumerate(order) if d["id"] == source["id"]) + 1
    manifest["denoisers"] = order[:at] + [entry] + order[at:]
    log_path = pack / "build_log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"parity_max_abs_error": {}}
    log["parity_max_abs_error"][entry["file"]] = parity
    log_path.write_text(json.dumps(log, indent=1))
    manifest["files"] = files_entry(pack)  # after the log: its size and SHA-256 changed too
    write_manifest(pack, manifest)
    total = sum(f["bytes"] for f in manifest["files"].values())
    return {"pack": str(pack), "added": entry_id, "parity_max_abs_error": parity, "bytes": total}
