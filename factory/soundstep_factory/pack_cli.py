"""The command line the pack tools share: a recipe, a pack folder, one function that changes the
pack and returns what it did (printed as JSON). A refusal (manifest.PackRefusal: over the pack's
budget, say) ends the command with its message and no traceback: nothing was changed, and the message
says what to do."""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from .config import PackConfig, load_config
from .manifest import PackRefusal


def pack_tool_main(doc: str | None, change: Callable[[PackConfig, Path], dict], config_help: str,
                   pack_help: str, argv: list[str] | None = None) -> None:
    """doc: the tool's module docstring (its first line is the description)."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    ap.add_argument("--config", required=True, help=config_help)
    ap.add_argument("--pack", type=Path, required=True, help=pack_help)
    args = ap.parse_args(argv)
    try:
        print(json.dumps(change(load_config(args.config), args.pack), indent=2))
    except PackRefusal as refusal:
        raise SystemExit(str(refusal)) from None
