#!/usr/bin/env bash
# Every test, on a fresh machine: installs what it needs, then runs
#   0. the static checks (scripts/lint.sh: eslint, the TypeScript type check, ruff, mypy),
#   1. the factory's tests (math, data, and the micro configuration end to end with ONNX parity),
#   2. the TypeScript unit tests (engine vs the factory's golden files, the real pack),
#   3. the Playwright tests in Debian's chromium (WASM generation, WebGPU parity on SwiftShader),
#   4. the built site served as docs/deploying.md says (playwright.deploy.config.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
bash scripts/setup-factory.sh
npm ci --no-audit --no-fund

bash scripts/lint.sh
echo "== factory tests"
(cd factory && .venv/bin/python -m pytest -q)
echo "== unit tests"
npx vitest run
echo "== browser tests"
npx playwright test
echo "== the deployed site (npm run build's dist/ under serve + serve.json)"
npx playwright test -c playwright.deploy.config.ts
