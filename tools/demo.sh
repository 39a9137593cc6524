#!/usr/bin/env bash
# The README demo, the whole benchmark on the synthetic data: installs what is missing and builds
# (skipped when BEND names a built binary), writes the demo data, embeds two BEND tasks with two
# MPI ranks into their stores, trains and tests BEND's CNN on each (data parallel over the same two
# ranks), and ends with the table of test metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BEND:-}" ]; then
  bash tools/setup.sh
  BEND=$PWD/${BUILD_DIR:-build}/bend
fi
DEMO=${DEMO_DIR:-demo}
"$BEND" demo-data --out "$DEMO"
# mpirun refuses root and more ranks than cores unless told; both are harmless here.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
echo
echo "== embedding histone_modification and gene_finding with one-hot, 2 MPI ranks =="
mpirun -np 2 "$BEND" embed task=histone_modification,gene_finding model=onehot data_dir="$DEMO"
echo
echo "Stores: $DEMO/histone_modification/onehot/embeddings.h5 and $DEMO/gene_finding/onehot/embeddings.h5"
echo "Layout: docs/STORE.md. Describe one again: $BEND info $DEMO/gene_finding/onehot/embeddings.h5"
echo
# BEND's task settings, shortened for a demo: fewer epochs, smaller batches, a larger step.
echo "== training BEND's CNN on both stores, 2 MPI ranks (data parallel) =="
mpirun -np 2 "$BEND" train task=histone_modification,gene_finding embedder=onehot data_dir="$DEMO" \
  'output_dir=${data_dir}/downstream_tasks/${task}/${embedder}' \
  params.epochs=8 data.batch_size=16 optimizer.lr=0.01 seed=1
echo
echo "== test metrics (bend results, as BEND's list_metrics.py) =="
"$BEND" results "$DEMO/downstream_tasks"
