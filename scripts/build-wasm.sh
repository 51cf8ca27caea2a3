#!/usr/bin/env bash
# Builds the browser library into pkg/ (wasm-pack, ES module for the web, size-tuned profile).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
wasm-pack build --target web --out-dir pkg --no-pack --profile wasm-release "$@"
ls -l pkg/*.wasm
