#!/usr/bin/env bash
# `bend env` alone and under mpirun: every rank reports, with its node-local rank (which picks the
# GPU) and where that came from; without a GPU every rank runs on the CPU.
source "$(dirname "$0")/lib.sh"
"$BEND" env >"$WORK/one.out" 2>&1 || die "bend env failed: $(cat "$WORK/one.out")"
grep -q "ranks: 1" "$WORK/one.out" && grep -Eq "rank 0 on .*: local rank 0" "$WORK/one.out" \
  && pass "bend env alone" || fail "bend env alone: $(cat "$WORK/one.out")"
"$MPIEXEC" -np 3 "$BEND" env >"$WORK/three.out" 2>&1 || die "bend env under mpirun failed: $(cat "$WORK/three.out")"
for r in 0 1 2; do
  grep -Eq "rank $r on .*: local rank $r \\(OMPI_COMM_WORLD_LOCAL_RANK\\), device" "$WORK/three.out" \
    || fail "rank $r's line is missing or wrong: $(cat "$WORK/three.out")"
done
grep -q "ranks: 3" "$WORK/three.out" && pass "bend env under mpirun -np 3: one line per rank, local ranks 0..2"
if ! "$BEND" env | grep -q "visible GPUs on rank 0: 0"; then echo "a GPU is visible: skipping the CPU-fallback checks"; finish; fi
grep -q "device cpu (CPU)" "$WORK/three.out" && pass "no GPU: every rank on the CPU" || fail "expected CPU devices: $(cat "$WORK/three.out")"
out=$("$BEND" env device=cuda 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "device error: device=cuda, but no GPU is usable" <<<"$out" \
  && pass "device=cuda without a GPU: exit 1 with the reason" || fail "device=cuda without a GPU: rc=$rc $out"
finish
