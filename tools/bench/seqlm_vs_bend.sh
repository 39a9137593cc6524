#!/usr/bin/env bash
# bend's CPU HyenaDNA, AWD-LSTM and ResNet-LM forward against upstream BEND's own PyTorch modules
# in one run, on the same random weights (BEND's classes, released sizes) and ids: HyenaDNA
# tiny-1k / small-32k / medium-160k at 1k, 32k and 160k nt, AWD-LSTM and ResNet-LM at 512 and
# 12,000 nt, batch 1 and batched, fp32, with 1 and 2 threads (OPENBLAS_NUM_THREADS for bend,
# torch.set_num_threads for PyTorch). Not a test: prints a table for docs/BENCHMARKS.md.
#   PYTHON=/path/to/venv/bin/python BEND_SRC=/path/to/BEND-checkout [BUILD=build] \
#   [SCRATCH=/tmp/bend-bench-seqlm] [THREADS=1,2 REPS=3 REPS_LARGE=1 TORCH_LIMIT_S=300 CASES=model:L:B,...] \
#   [LAYERS=hyena-small-32k=1,hyena-medium-160k=1,resnetlm=6] bash tools/bench/seqlm_vs_bend.sh
# The default LAYERS run fewer blocks (widths and lengths exact) so that the run fits in about
# fifteen minutes on two cores; nt/s are per full-depth model, by scaling. ResNet-LM at 6 layers
# is one whole dilation cycle (1..32), so the scaled mix of dilations is the released one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}; SCRATCH=${SCRATCH:-/tmp/bend-bench-seqlm}; PYTHON=${PYTHON:-python3}
: "${BEND_SRC:?set BEND_SRC to an upstream BEND checkout (frederikkemarin/BEND)}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target bench_seqlm >/dev/null
rm -rf "$SCRATCH"; mkdir -p "$SCRATCH"
ARGS=(--bend-src "$BEND_SRC" --bench "$BUILD/tools/bench/bench_seqlm" --scratch "$SCRATCH"
      --threads "${THREADS:-1,2}" --reps "${REPS:-3}" --reps-large "${REPS_LARGE:-1}"
      --layers "${LAYERS:-hyena-small-32k=1,hyena-medium-160k=1,resnetlm=6}"
      --torch-limit-s "${TORCH_LIMIT_S:-300}")
[ -n "${CASES:-}" ] && ARGS+=(--cases "$CASES")
"$PYTHON" -W ignore "$ROOT/tools/bench/bench_seqlm.py" "${ARGS[@]}"
rm -rf "$SCRATCH"
