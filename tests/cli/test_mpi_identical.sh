#!/usr/bin/env bash
# The same store, byte for byte, from 1, 2 and 3 ranks; chunk= and splits= select work as in BEND
# (without BEND's bug that reuses the first split's chunk list).
source "$(dirname "$0")/lib.sh"
D=$WORK/data; demo_data "$D"
for task in histone_modification gene_finding enhancer_annotation; do
  for n in 1 2 3; do
    rm -rf "$D/$task/onehot"
    if [ "$n" = 1 ]; then cmd=("$BEND"); else cmd=("$MPIEXEC" -np "$n" "$BEND"); fi
    "${cmd[@]}" embed task=$task model=onehot data_dir="$D" work_nucleotides=20000 >"$WORK/out.$n" 2>"$WORK/err.$n" \
      || die "$task on $n ranks failed: $(cat "$WORK/err.$n")"
    cp "$(store_of "$D" $task)" "$WORK/$task.np$n.h5"
  done
  cmp "$WORK/$task.np1.h5" "$WORK/$task.np2.h5" && cmp "$WORK/$task.np1.h5" "$WORK/$task.np3.h5" \
    && pass "$task: identical files from 1, 2 and 3 ranks" || fail "$task: stores differ between rank counts"
done
grep -q "on 3 ranks" "$WORK/err.3" || fail "the 3-rank run did not report 3 ranks"

# Selection: chunk_size=50 gives train (420 samples) chunks 0..8 and valid (90) chunks 0..1.
rm -rf "$D/histone_modification/onehot"
"$MPIEXEC" -np 2 "$BEND" embed task=histone_modification model=onehot data_dir="$D" chunk_size=50 \
  'chunk=[1,5]' 'splits=[valid,train]' >/dev/null 2>"$WORK/sel.err" || die "selective run failed: $(cat "$WORK/sel.err")"
grep -q "chunk 5 is not a valid chunk id for split 'valid'" "$WORK/sel.err" || fail "no warning for valid's chunk 5"
"$BEND" info "$(store_of "$D" histone_modification)" --chunk-size 50 >"$WORK/info" || die "bend info failed"
# valid: chunk 1 = samples 50..89 (40); train: chunks 1 and 5 = 100 samples (BEND would skip train's chunk 5)
grep -Eq "^  train +420 +100 " "$WORK/info" || fail "train should have 100 samples done: $(cat "$WORK/info")"
grep -Eq "^  valid +90 +40 " "$WORK/info" || fail "valid should have 40 samples done: $(cat "$WORK/info")"
grep -Eq "^  test +90 +0 " "$WORK/info" || fail "test should be untouched: $(cat "$WORK/info")"
pass "chunk=[1,5] splits=[valid,train] selected exactly chunks 1 and 5 of train and chunk 1 of valid"
# Finishing the rest gives the same file as one full run.
"$BEND" embed task=histone_modification model=onehot data_dir="$D" >/dev/null 2>&1 || die "finishing run failed"
cmp "$(store_of "$D" histone_modification)" "$WORK/histone_modification.np1.h5" \
  && pass "selected runs + a full run == one full run" || fail "store after selective runs differs"
# Progress: rank 0 alone reports, one line per interval when stderr is not a terminal.
rm -rf "$D/enhancer_annotation/onehot"
"$MPIEXEC" -np 2 "$BEND" embed task=enhancer_annotation model=onehot data_dir="$D" work_nucleotides=100096 \
  progress_interval=0.000001 >/dev/null 2>"$WORK/progress.err" || die "progress run failed"
lines=$(grep -c "enhancer_annotation/onehot: .* samples (.*%), .*nt/s, ETA" "$WORK/progress.err")
[ "$lines" -ge 2 ] && ! grep -q $'\r' "$WORK/progress.err" && grep -q "20/20 samples (100.0%), .*took" "$WORK/progress.err" \
  && pass "progress: $lines interval lines (samples, nt/s, ETA) and a final line, no carriage returns" \
  || fail "progress lines: $(cat "$WORK/progress.err")"
grep -q "^bend\[rank 1\].*samples (" "$WORK/progress.err" && fail "rank 1 printed progress"
grep -Eq "^bend\[rank 0\]: warning: rank [01]: [0-9]+ letters? other than" "$WORK/progress.err" \
  && ! grep -q "^bend\[rank 1\]" "$WORK/progress.err" \
  && pass "the ranks' notes (IUPAC letters) are printed by rank 0 only" || fail "notes not gathered: $(cat "$WORK/progress.err")"
finish
