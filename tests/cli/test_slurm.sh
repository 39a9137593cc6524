#!/usr/bin/env bash
# The Slurm templates on a real single-node cluster: an MPI job launched with srun --mpi=pmix, and
# a job array over chunks sharing one store. Skipped (77) where Slurm cannot start.
source "$(dirname "$0")/lib.sh"
SRC=${BEND_SOURCE_DIR:?}
export SLURM_DIR=$WORK/slurm SLURM_PORT=$((20000 + RANDOM % 20000))
trap 'bash "$SRC/tools/slurm/stop_local.sh"' EXIT
if ! SLURM_CONF=$(bash "$SRC/tools/slurm/start_local.sh" 2>"$WORK/slurm-start.err"); then
  echo "SKIP: Slurm could not start here: $(tail -3 "$WORK/slurm-start.err")"; exit 77
fi
export SLURM_CONF BEND
D=$WORK/data; demo_data "$D"
T=cpg_methylation
"$BEND" embed task=$T model=onehot data_dir="$D" >/dev/null 2>&1 || die "reference run failed"
cp "$(store_of "$D" $T)" "$WORK/reference.h5"; rm -rf "$D/$T/onehot"

cd "$WORK"
sbatch --wait --ntasks=2 --cpus-per-task=1 -o "$WORK/mpi.out" "$SRC/slurm/embed.sbatch" \
  task=$T model=onehot data_dir="$D" work_nucleotides=20000 >/dev/null || die "sbatch embed.sbatch failed: $(cat "$WORK/mpi.out")"
grep -q "on 2 ranks" "$WORK/mpi.out" || fail "srun --mpi=pmix did not give 2 ranks: $(cat "$WORK/mpi.out")"
cmp "$(store_of "$D" $T)" "$WORK/reference.h5" && pass "embed.sbatch (srun --mpi=pmix, 2 ranks) == one plain run" \
  || fail "the srun store differs"

rm -rf "$D/$T/onehot"
# chunk_size 100: train (420) has chunks 0..4, valid and test (90) chunk 0: array 0-4 covers all
sbatch --wait --array=0-4 --cpus-per-task=1 -o "$WORK/arr_%a.out" "$SRC/slurm/embed_array.sbatch" \
  task=$T model=onehot data_dir="$D" chunk_size=100 >/dev/null || die "array job failed: $(cat "$WORK"/arr_*.out)"
cmp "$(store_of "$D" $T)" "$WORK/reference.h5" && pass "embed_array.sbatch --array=0-4 (one chunk each, one shared store) == one plain run" \
  || fail "the array-job store differs: $("$BEND" info "$(store_of "$D" $T)" --chunk-size 100)"
grep -q "chunk 4 is not a valid chunk id for split 'valid'" "$WORK/arr_4.out" || fail "array task 4 should skip valid's chunk 4"

# train.sbatch: 2 data-parallel ranks give the losses of one plain run.
"$BEND" train task=$T embedder=onehot data_dir="$D" output_dir="$WORK/train1" params.epochs=2 seed=5 >/dev/null 2>&1 \
  || die "plain bend train failed"
sbatch --wait --ntasks=2 --cpus-per-task=1 -o "$WORK/train.out" "$SRC/slurm/train.sbatch" task=$T embedder=onehot \
  data_dir="$D" output_dir="$WORK/train2" params.epochs=2 seed=5 >/dev/null || die "train.sbatch failed: $(cat "$WORK/train.out")"
paste -d, "$WORK/train1/losses.csv" "$WORK/train2/losses.csv" | awk -F, 'NR>1 { for (i = 2; i <= 3; i++) {
    d = $i - $(i + 4); if (d < 0) d = -d; if (d > 1e-5 * $i) bad = 1 } } END { exit bad }' \
  && [ "$(wc -l <"$WORK/train2/losses.csv")" = 3 ] \
  && pass "train.sbatch (srun --mpi=pmix, 2 ranks) gives one plain run's losses" || fail "train.sbatch losses differ"
# ... and as an array, one cross-validation fold per array task.
"$BEND" embed task=enhancer_annotation model=onehot data_dir="$D" >/dev/null 2>&1 || die "enhancer embed failed"
sbatch --wait --array=2-3 --cpus-per-task=1 -o "$WORK/cv_%a.out" "$SRC/slurm/train.sbatch" task=enhancer_annotation \
  embedder=onehot data_dir="$D" params.epochs=1 >/dev/null || die "train.sbatch array failed: $(cat "$WORK"/cv_*.out)"
[ -s "$WORK/downstream_tasks/enhancer_annotation/onehot/split_2/best_model_metrics.csv" ] \
  && [ -s "$WORK/downstream_tasks/enhancer_annotation/onehot/split_3/best_model_metrics.csv" ] \
  && pass "train.sbatch --array=2-3 trains folds 2 and 3" || fail "array folds missing: $(ls -R "$WORK/downstream_tasks")"
finish
