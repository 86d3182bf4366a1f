#!/usr/bin/env bash
# Serve the app on the default shipped pack (public/models/soundstep-small-next) at http://127.0.0.1:5173
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npx vite --host 127.0.0.1 --port "${PORT:-5173}" --strictPort
