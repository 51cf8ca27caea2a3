#!/usr/bin/env bash
# Runs every test: native unit and integration tests, the GPU path on a software Vulkan driver,
# the wasm build, the library's wasm-bindgen tests in headless Chromium, and the page's browser
# tests (after writing their fixture). Installs what it needs first.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "set-up"
./scripts/setup.sh --browser

step "native tests (cargo test --release --features train)"
cargo test --release --features train

step "GPU path on SwiftShader's software Vulkan (cargo test --release --features gpu --test gpu)"
# The software Vulkan driver that Debian's chromium ships, through Debian's Vulkan loader (both
# installed by setup.sh --browser): burn's wgpu backend runs on it as on a GPU, only slowly, so the
# GPU code path is tested on any machine.
# (A headless machine has no XDG_RUNTIME_DIR; without one, a display probe during wgpu's start-up
# prints "error: XDG_RUNTIME_DIR is invalid" although nothing is wrong.)
runtime_dir=${XDG_RUNTIME_DIR:-$(mktemp -d)}
XDG_RUNTIME_DIR=$runtime_dir VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
  cargo test --release --features gpu --test gpu

step "wasm build into pkg/"
./scripts/build-wasm.sh

step "wasm-bindgen tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --profile wasm-release --test wasm

step "the browser tests' fixture (cargo run --release --features train --example browser_fixture)"
# A small random model and teacher, and the pixels this native build makes from the model, into
# test-results/fixture/: the browser tests hold both backends to those pixels.
cargo run --release --features train --example browser_fixture

step "browser tests (playwright-core + Debian's chromium)"
node --test --test-concurrency=1 tests/browser/

step "all tests passed"
