#!/usr/bin/env bash
# Installs what the build needs, builds the wasm library, and serves the demo page with the
# shipped weights on http://127.0.0.1:8080 (pass --port N to change).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
./scripts/setup.sh
./scripts/build-wasm.sh
exec node scripts/serve.mjs "$@"
