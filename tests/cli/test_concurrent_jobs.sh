#!/usr/bin/env bash
# Independent jobs sharing one store, as Slurm array tasks over chunks do: they race to create it
# (exactly one creation wins), fill disjoint chunks at the same time, and the result equals one
# run. Also the sweep syntax of BEND users (Hydra multirun).
source "$(dirname "$0")/lib.sh"
D=$WORK/data; demo_data "$D"
T=histone_modification
"$BEND" embed task=$T model=onehot data_dir="$D" >/dev/null 2>&1 || die "reference run failed"
cp "$(store_of "$D" $T)" "$WORK/reference.h5"
rm -rf "$D/$T/onehot"
# 9 train chunks + 2 valid + 2 test with chunk_size=50: four jobs, each a different set, all at once
pids=()
for sel in '[0,4,8]' '[1,5]' '[2,6]' '[3,7]'; do
  "$BEND" embed task=$T model=onehot data_dir="$D" chunk_size=50 "chunk=$sel" >"$WORK/job$sel.out" 2>&1 &
  pids+=($!)
done
"$MPIEXEC" -np 2 "$BEND" embed task=$T model=onehot data_dir="$D" chunk_size=50 'chunk=[1]' 'splits=[test,valid]' >"$WORK/mpi.out" 2>&1 &
pids+=($!)
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent job failed: $(cat "$WORK"/job*.out "$WORK/mpi.out")"; done
ls "$D/$T/onehot/" | grep -q tmp && fail "a temporary store file was left behind: $(ls "$D/$T/onehot/")"
cmp "$(store_of "$D" $T)" "$WORK/reference.h5" && pass "five concurrent jobs on disjoint chunks == one run" \
  || fail "the store filled by concurrent jobs differs: $("$BEND" info "$(store_of "$D" $T)" --chunk-size 50)"

# Hydra-style sweep: two tasks in one command, each into its own store.
"$BEND" embed task=cpg_methylation,chromatin_accessibility model=onehot data_dir="$D" >"$WORK/sweep.out" 2>"$WORK/sweep.err" || die "sweep failed: $(cat "$WORK/sweep.err")"
[ -s "$(store_of "$D" cpg_methylation)" ] && [ -s "$(store_of "$D" chromatin_accessibility)" ] \
  && grep -q "sweep run 2 of 2" "$WORK/sweep.err" && pass "task=a,b sweeps over both tasks" || fail "the sweep did not make both stores"

# BEND's own override: a different BED for the task and a different data_dir, as in its README.
mkdir -p "$WORK/other"
head -n 11 "$D/$T/$T.bed" >"$WORK/my.bed"
"$BEND" embed task=$T "$T.bed=$WORK/my.bed" data_dir="$WORK/other" "$T.reference_fasta=$D/genomes/GRCh38.primary_assembly.genome.fa" \
  model=onehot >"$WORK/ovr.out" 2>&1 || die "override run failed: $(cat "$WORK/ovr.out")"
grep -q "store $WORK/other/$T/onehot/embeddings.h5" "$WORK/ovr.out" && grep -q "10 of 10 samples embedded" "$WORK/ovr.out" \
  && pass "$T.bed=my.bed data_dir=other embeds my.bed into other/$T/onehot/" || fail "override run: $(cat "$WORK/ovr.out")"
finish
