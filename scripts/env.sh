# Sourced by the other scripts: where builds go, and the tools on PATH.
# The cargo target directory lives outside the clone so that repeated runs (and CI on the same
# machine) reuse the compiled dependencies; a fresh machine simply starts it empty.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/consistency-models/target}"
export PATH="$HOME/.cargo/bin:$PATH"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
