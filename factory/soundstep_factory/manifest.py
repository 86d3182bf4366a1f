"""The one writer of a pack's manifest.json, validated against the pack contract.

docs/soundstep-pack-1.schema.json (JSON Schema 2020-12) is the source of truth for
`soundstep-pack/1`; the app compiles the same file (src/runtime/pack-schema.ts). export.py,
repack.py and report.py write every manifest through `write_manifest`, which refuses one the
schema does not accept, naming the field. What a schema cannot say (shapes that must agree,
step counts the schedule has, every named file listed) is checked by the app's own validator,
which the micro build test runs on the pack it builds (tests/test_micro_build.py).

Usage:
    from soundstep_factory.manifest import files_entry, write_manifest
    manifest["files"] = files_entry(out)
    write_manifest(out, manifest)
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import jsonschema

from .checkpoint import git_revision
from .config import PackConfig
from .files import sha256
from .tensor_sizes import with_tensor_sizes

FORMAT = "soundstep-pack/1"
MANIFEST = "manifest.json"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "soundstep-pack-1.schema.json"


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def field_path(parts) -> str:
    """A field as the app names it: audio.sample_rate, denoisers[1].steps, files["vocoder.onnx"].sha256."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "the manifest"


def schema_errors(manifest: dict) -> list[str]:
    """Every way `manifest` breaks the schema, as 'field: problem' lines ([] when it conforms)."""
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{field_path(e.absolute_path)}: {e.message}" for e in errors]


def validate_manifest(manifest: dict) -> None:
    """Raises ValueError listing the schema's refusals, if any."""
    errors = schema_errors(manifest)
    if errors:
        raise ValueError(f"{MANIFEST} does not match {SCHEMA_PATH.name}:\n  " + "\n  ".join(errors))


def files_entry(pack: Path) -> dict:
    """`files`: every file of the pack except manifest.json, sorted, with its size and SHA-256."""
    return {p.relative_to(pack).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256(p)}
            for p in sorted(pack.rglob("*")) if p.is_file() and p.relative_to(pack).as_posix() != MANIFEST}


class PackRefusal(RuntimeError):
    """A pack tool refused to change a pack and changed nothing; the message says what to do
    (pack_cli prints it as the command's one line)."""


class OverBudget(PackRefusal):
    """A pack tool refused to grow a pack past its recipe's pack_budget_mb."""

    def __init__(self, added: str, pack: Path, total_bytes: int, budget_mb: float):
        super().__init__(f"adding {added} would make the pack {total_bytes / 1e6:.1f} MB, over the recipe's "
                         f"pack_budget_mb {budget_mb} ({pack}); nothing was changed: raise pack_budget_mb in the "
                         "recipe (every pack under public/models together stays <= 100 MB) or ship fewer students")


def files_within_budget(pack: Path, written: Path, before: bytes | None, added: str, budget_mb: float) -> dict:
    """`files` of `pack` after a tool wrote one graph file, `written` (whose earlier bytes were
    `before`, None if it is new). Past the recipe's budget the file is put back as it was (removed,
    if new) and OverBudget is raised, so the pack stays as it was."""
    files = files_entry(pack)
    total = sum(f["bytes"] for f in files.values())
    if total > budget_mb * 1e6:
        if before is None:
            written.unlink()
        else:
            written.write_bytes(before)
        raise OverBudget(added, pack, total, budget_mb)
    return files


def write_manifest(pack: Path, manifest: dict) -> Path:
    """Sets each graph's largest_tensor_bytes from its file in `pack` (tensor_sizes.py: the app's
    WebGPU buffer check needs it), validates `manifest` and writes it as `pack`/manifest.json
    (indented, as every pack has it)."""
    with_tensor_sizes(pack, manifest)
    validate_manifest(manifest)
    path = pack / MANIFEST
    path.write_text(json.dumps(manifest, indent=2))
    return path


def factory_entry(cfg: PackConfig) -> dict:
    """The manifest's `factory`: the revision and recipe that built the pack's networks, the command
    that builds them again, and the recipe itself (from_pack continues training with it)."""
    return {"revision": git_revision(), "recipe": cfg.recipe,
            "command": f"python -m soundstep_factory.build --config {cfg.recipe}", "config": cfg.to_dict()}


def compressed_students(manifest: dict) -> set[str]:
    """The ids of the students that a smaller U-Net learnt from another student at the same step
    count (compress.py), not from a distillation round: their graphs do not fit the recipe's U-Net,
    so from_pack does not read them back and pack_students leaves them alone."""
    steps = {d["id"]: d["steps"] for d in manifest["denoisers"]}
    return {d["id"] for d in manifest["denoisers"]
            if d["role"] == "student" and steps.get(d["distilled_from"]) == d["steps"]}
