#!/usr/bin/env bash
# A run killed by SIGKILL and started again finishes only what is missing, and the store is
# byte-identical to an uninterrupted run.
source "$(dirname "$0")/lib.sh"
D=$WORK/data; demo_data "$D"
S=$(store_of "$D" enhancer_annotation)
"$BEND" embed task=enhancer_annotation model=onehot data_dir="$D" >/dev/null 2>&1 || die "reference run failed"
cp "$S" "$WORK/reference.h5"; rm -rf "$D/enhancer_annotation/onehot"

# 1. Killed at a known point: rank 1 dies by SIGKILL after its 3rd work item (a test hook).
BEND_TEST_KILL_AFTER_ITEMS=3 "$MPIEXEC" -np 2 "$BEND" embed task=enhancer_annotation model=onehot \
  data_dir="$D" work_nucleotides=100096 >/dev/null 2>"$WORK/kill.err"
rc=$?; [ "$rc" != 0 ] || die "the killed run exited 0"
"$BEND" info "$S" >"$WORK/partial.info" || die "the killed run left an unreadable store"
done_after_kill=$(grep -Eo "^  [0-9]+ of 20 samples" "$WORK/partial.info" | awk '{print $1}')
[ -n "$done_after_kill" ] && [ "$done_after_kill" -gt 0 ] && [ "$done_after_kill" -lt 20 ] \
  || fail "expected a partly filled store after the kill, got: $(cat "$WORK/partial.info")"
"$MPIEXEC" -np 2 "$BEND" embed task=enhancer_annotation model=onehot data_dir="$D" \
  work_nucleotides=100096 >"$WORK/resume.out" 2>&1 || die "resumed run failed: $(cat "$WORK/resume.out")"
missing=$((20 - done_after_kill))
grep -q "this run: $missing samples" "$WORK/resume.out" || fail "the resumed run should embed only the $missing missing samples: $(grep 'this run' "$WORK/resume.out")"
cmp "$S" "$WORK/reference.h5" && pass "killed after 3 items ($done_after_kill done), resumed: identical to an uninterrupted run" \
  || fail "resumed store differs from the uninterrupted one"

# 2. Killed from outside at an arbitrary moment, twice, then finished: still identical.
rm -rf "$D/enhancer_annotation/onehot"
for t in 0.05 0.3; do
  timeout -s KILL "$t" "$BEND" embed task=enhancer_annotation model=onehot data_dir="$D" work_nucleotides=50000 >/dev/null 2>&1
done
"$BEND" embed task=enhancer_annotation model=onehot data_dir="$D" >/dev/null 2>&1 || die "final run after external kills failed"
cmp "$S" "$WORK/reference.h5" && pass "killed from outside twice, finished: identical" || fail "store differs after external kills"

# 3. Nothing left to do: a rerun writes nothing.
md5_before=$(md5sum <"$S")
"$BEND" embed task=enhancer_annotation model=onehot data_dir="$D" >"$WORK/again.out" 2>&1 || die "no-op rerun failed"
grep -q "this run: 0 samples" "$WORK/again.out" || fail "a complete store should need no work"
[ "$(md5sum <"$S")" = "$md5_before" ] && pass "a rerun of a complete store changes nothing" || fail "a no-op rerun changed the file"
finish
