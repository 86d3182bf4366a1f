"""File helpers shared by the stages that write packs (export, repack, report)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (graphs can be gigabytes)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_json(path: Path) -> dict | None:
    """A JSON file's content, None when the file does not exist (a stage that has not run)."""
    return json.loads(path.read_text()) if path.exists() else None
