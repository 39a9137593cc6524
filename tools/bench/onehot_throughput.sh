#!/usr/bin/env bash
# One-hot embedding throughput on the demo data scaled up: bend with 1 and 2 ranks on the
# enhancer task (about 50 Mnt at scale 25), and bend against upstream BEND's own pipeline on the
# same histone samples. Not a test: prints a table for docs/BENCHMARKS.md.
#   BEND=build/bend [SCALE=25] [BENCH_DIR=/tmp/bend-bench] \
#   [UPSTREAM=/path/to/BEND-checkout PYTHON=/path/to/venv/bin/python] bash tools/bench/onehot_throughput.sh
set -euo pipefail
BEND=${BEND:-build/bend}; SCALE=${SCALE:-25}; DIR=${BENCH_DIR:-/tmp/bend-bench}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
rm -rf "$DIR"; mkdir -p "$DIR"
"$BEND" demo-data --out "$DIR/data" --scale "$SCALE" >/dev/null
# Upstream BEND's one-hot encoder stops on IUPAC letters: give both sides a genome without them.
for f in "$DIR"/data/genomes/*.fa; do sed -i '/^>/!y/RYKMSWBDHVrykmswbdhv/NNNNNNNNNNnnnnnnnnnn/' "$f"; done
sync

run() { # ranks task extra... -> "rate" "stage line"
  local n=$1 task=$2; shift 2
  rm -rf "$DIR/data/$task/onehot"
  local cmd=("$BEND"); [ "$n" -gt 1 ] && cmd=(mpirun -np "$n" "$BEND")
  "${cmd[@]}" embed task="$task" model=onehot data_dir="$DIR/data" "$@" >"$DIR/out" 2>"$DIR/err"
  echo "$(grep 'this run' "$DIR/out" | sed 's/^ *//') | $(grep 'time by stage' "$DIR/err" | sed 's/^bend: //')"
}
echo "== bend one-hot, enhancer_annotation (scale $SCALE), $(nproc) cores =="
for n in 1 2; do for rep in 1 2 3; do echo "ranks=$n rep=$rep: $(run $n enhancer_annotation)"; done; done
echo "== bend one-hot, histone_modification (scale $SCALE) =="
for n in 1 2; do echo "ranks=$n: $(run $n histone_modification)"; done
ls -ls "$DIR/data/histone_modification/onehot/embeddings.h5"
if [ -n "${UPSTREAM:-}" ]; then
  CS=${CHUNK:-2000}
  echo "== the same $CS train samples of histone_modification: upstream BEND vs bend (1 process) =="
  "$PYTHON" "$(dirname "$0")/bend_onehot_baseline.py" --bend "$UPSTREAM" --data "$DIR/data" \
    --task histone_modification --split train --chunk-size "$CS" --out "$DIR/shards"
  echo "bend: $(run 1 histone_modification chunk_size=$CS 'chunk=[0]' 'splits=[train]')"
  ls -ls "$DIR/shards"
fi
