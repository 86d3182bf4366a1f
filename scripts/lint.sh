#!/usr/bin/env bash
# Static checks; any finding fails the run:
#   eslint on src and e2e (eslint.config.js), the TypeScript type check (tsconfig.json),
#   ruff and mypy on the factory (factory/pyproject.toml).
# Needs node_modules (npm ci) and factory/.venv (scripts/setup-factory.sh): scripts/test.sh
# installs both before it runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x factory/.venv/bin/ruff ] || [ ! -x factory/.venv/bin/mypy ]; then
  echo "factory/.venv has no ruff or mypy: run bash scripts/setup-factory.sh" >&2
  exit 1
fi
echo "== eslint"
npx eslint --max-warnings 0 src e2e
echo "== typecheck"
npx tsc -p tsconfig.json --noEmit
echo "== ruff"
(cd factory && .venv/bin/ruff check .)
echo "== mypy"
(cd factory && .venv/bin/mypy)
