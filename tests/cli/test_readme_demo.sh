#!/usr/bin/env bash
# The demo command of README.md runs and ends with both stores complete. (The test passes BEND, so
# the demo skips its install-and-build step, which the test command has already done.)
source "$(dirname "$0")/lib.sh"
SRC=${BEND_SOURCE_DIR:?}
cmd=$(sed -n '/<!-- demo-command -->/{n;n;p;}' "$SRC/README.md")
[ "$cmd" = "bash tools/demo.sh" ] || die "README's demo command is '$cmd', expected 'bash tools/demo.sh'"
(cd "$SRC" && DEMO_DIR="$WORK/demo" BEND="$BEND" $cmd) >"$WORK/demo.out" 2>"$WORK/demo.err" \
  || die "the demo failed: $(tail -20 "$WORK/demo.err")"
for t in histone_modification gene_finding; do
  grep -q "store $WORK/demo/$t/onehot/embeddings.h5" "$WORK/demo.out" || fail "no summary for $t: $(cat "$WORK/demo.out")"
done
grep -q "600 of 600 samples embedded" "$WORK/demo.out" && grep -q "150 of 150 samples embedded" "$WORK/demo.out" \
  && pass "README demo: both stores complete" || fail "stores incomplete: $(cat "$WORK/demo.out")"
grep -q "on 2 ranks" "$WORK/demo.err" && pass "README demo ran on 2 MPI ranks" || fail "the demo did not use 2 ranks"
# ... then trains and tests on both tasks and ends with the table of test metrics.
tail -3 "$WORK/demo.out" | grep -Eq '^task +embedder +runs +metric' \
  && tail -2 "$WORK/demo.out" | grep -Eq '^gene_finding +onehot +1 +MCC +[0-9.]+ ± ' \
  && tail -1 "$WORK/demo.out" | grep -Eq '^histone_modification +onehot +1 +AUROC +[0-9.]+ ± ' \
  && pass "README demo ends with the table of test metrics" || fail "no results table: $(tail -5 "$WORK/demo.out")"
for t in histone_modification gene_finding; do
  [ -s "$WORK/demo/downstream_tasks/$t/onehot/best_model_metrics.csv" ] || fail "no best_model_metrics.csv for $t"
done
finish
