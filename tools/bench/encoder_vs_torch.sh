#!/usr/bin/env bash
# bend's CPU transformer encoder against PyTorch + transformers in one run, on the same random
# weights and ids: a BERT-base-sized (DNABERT-like) and an NT-500M-sized (ESM) encoder at 512 and
# 1000 tokens, batch 1 and 32, fp32, with 1 and 2 threads (OPENBLAS_NUM_THREADS for bend,
# torch.set_num_threads for PyTorch). Not a test: prints a table for docs/BENCHMARKS.md.
#   PYTHON=/path/to/venv/bin/python [BUILD=build] [SCRATCH=/tmp/bend-bench-encoder] \
#   [BERT_LAYERS=1 NT_LAYERS=1 REPS=5 REPS_LARGE=2 THREADS=1,2 \
#    BREAKDOWN=bert-base:1000:1,nt-500m:1000:1] \
#   bash tools/bench/encoder_vs_torch.sh
# The layer counts are reduced (widths exact) so that the whole run fits in about ten minutes on
# two cores; tok/s are reported per full-depth model (12 / 24 layers) by scaling.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}; SCRATCH=${SCRATCH:-/tmp/bend-bench-encoder}; PYTHON=${PYTHON:-python3}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target bench_encoder >/dev/null
rm -rf "$SCRATCH"; mkdir -p "$SCRATCH"
"$PYTHON" "$ROOT/tools/bench/bench_encoder.py" --bench "$BUILD/tools/bench/bench_encoder" \
  --scratch "$SCRATCH" --bert-layers "${BERT_LAYERS:-1}" --nt-layers "${NT_LAYERS:-1}" \
  --reps "${REPS:-5}" --reps-large "${REPS_LARGE:-2}" --threads "${THREADS:-1,2}" \
  --breakdown "${BREAKDOWN:-bert-base:1000:1,nt-500m:1000:1}"
rm -rf "$SCRATCH"
