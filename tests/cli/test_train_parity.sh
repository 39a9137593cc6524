#!/usr/bin/env bash
# End-to-end parity of `bend train` with upstream BEND's own trainer (BaseTrainer + CNN of
# bend/utils/task_trainer.py and bend/models/downstream.py), recorded by
# tools/reference/make_train_loop_fixtures.py in tests/fixtures/train_loop/<task>/:
# histone_modification (BCE, 18-label AUROC, window 512), gene_finding (cross-entropy with -100
# padding, MCC) and enhancer_annotation (BCE with class weight 82.86, AUPRC, window 128, fold 3).
# Both start from the fixture's initial weights (saved as bend's checkpoint epoch_1, so bend's
# epochs 2, 3 are upstream's 1, 2), on the demo data's one-hot store, batches in store order.
#
# Tolerances (why):
#  - losses (train, val, test): relative 1e-6. Both sides are float32 with different summation
#    orders (bend's packed convolutions vs torch's, per-rank partial sums under MPI), over up to
#    27 AdamW steps an epoch; the differences seen are <= 7e-8 relative. A wrong normalisation,
#    learning rate, class weight or gradient sign moves them by 1e-4 or more; 2 ranks padding
#    their halves of a gene_finding batch to their own longest sample (not the batch's) moved
#    them by 2.9e-6.
#  - metrics against upstream_prob64_*.csv (upstream's own _calculate_metric, with validate()'s
#    sigmoid taken in float64 as bend does): absolute 5e-5. They are rank statistics or counts;
#    seen: exact except enhancer AUPRC at 7e-7, where bins with near-identical logits (< 1e-7
#    apart) may order differently.
#  - metrics against upstream_*.csv (BEND exactly): absolute 2e-3. BEND's probabilities are
#    float32 sigmoids, whose rounding ties distinct logits (histone test: 88 distinct values of
#    90 in label 2); each tie moves AUROC by 1/(2PN) (seen: up to 4.0e-4). Which logits tie
#    depends on the hardware's expf (CPU SIMD vs CUDA), so bend does not copy it.
source "$(dirname "$0")/lib.sh"
: "${BEND_TEST_FIXTURES:?tests/fixtures directory}"
FIX=$BEND_TEST_FIXTURES/train_loop
[ -f "$FIX/SOURCE" ] || die "missing fixture $FIX"
LOSS_RTOL=1e-6 METRIC_ATOL=5e-5 BEND_ATOL=2e-3
TASKS=(histone_modification gene_finding enhancer_annotation)

D=$WORK/data
"$BEND" demo-data --out "$D" >/dev/null || die "demo-data failed"   # default seed and scale, as the fixture
(cd "$D" && md5sum -c --quiet "$FIX/demo_data.md5") \
  || die "the demo data differ from those the fixture was made from: regenerate it (tools/reference/README.md)"
for t in "${TASKS[@]}"; do
  "$BEND" embed task="$t" model=onehot data_dir="$D" >"$WORK/embed_$t.log" 2>&1 \
    || die "embed $t failed: $(tail -3 "$WORK/embed_$t.log")"
done

# compare OURS KIND ATOL LABEL REF: KIND losses (upstream rows = epochs 1..n, bend's n+1) or best
# (one row each). Headers must be equal; columns named *loss are compared with LOSS_RTOL
# (relative), the others (metrics) with ATOL (absolute). Prints each mismatch; status 1 on any.
compare() {
  awk -F, -v kind="$2" -v rtol="$LOSS_RTOL" -v atol="$3" -v label="$4" '
    function abs(x) { return x < 0 ? -x : x }
    FNR == 1 { if (FILENAME == ARGV[1]) { oh = $0; split($0, on, ",") } else rh = $0; next }
    FILENAME == ARGV[1] { ours[$1 + 0] = $0; nours++; next }
    { ref[++nref] = $0 }
    END {
      bad = 0
      if (oh != rh) { printf "%s: header differs:\n  bend:     %s\n  upstream: %s\n", label, oh, rh; exit 1 }
      if (nref == 0) { printf "%s: no upstream rows\n", label; exit 1 }
      if (kind == "best" && nours != 1) { printf "%s: bend wrote %d rows, expected 1\n", label, nours; exit 1 }
      for (i = 1; i <= nref; i++) {
        n = split(ref[i], r, ",")
        e = r[1] + 1                          # bend epoch = upstream epoch + 1
        if (!(e in ours)) { printf "%s: bend has no row for epoch %d (upstream %s)\n", label, e, r[1]; bad = 1; continue }
        m = split(ours[e], o, ",")
        if (m != n) { printf "%s: epoch %d: %d columns, upstream %d\n", label, e, m, n; bad = 1; continue }
        for (c = 2; c <= n; c++) {
          if (o[c] == "" || r[c] == "") {
            if (o[c] != r[c]) { printf "%s: epoch %d %s: bend \"%s\", upstream \"%s\"\n", label, e, on[c], o[c], r[c]; bad = 1 }
            continue
          }
          d = abs(o[c] - r[c])
          if (on[c] ~ /loss$/) { rel = d / (abs(r[c]) > 0 ? abs(r[c]) : 1); if (rel > maxl) maxl = rel; ok = rel <= rtol }
          else { if (d > maxm) maxm = d; ok = d <= atol }
          if (!ok) { printf "%s: epoch %d %s: bend %s, upstream %s (diff %.3g)\n", label, e, on[c], o[c], r[c], d; bad = 1 }
        }
      }
      printf "%s: max loss rel diff %.2g, max metric abs diff %.2g\n", label, maxl, maxm
      exit bad
    }' "$1" "$5"
}

# train_and_check NAME [launcher...]: bend train on every task, compared with the fixture.
train_and_check() {
  local name=$1; shift
  local t out args
  for t in "${TASKS[@]}"; do
    out=$WORK/$name/$t
    mkdir -p "$out"
    cp -r "$FIX/$t/checkpoints" "$out/"
    read -r -a args <"$FIX/$t/bend_args"
    if ! "$@" "$BEND" train task="$t" embedder=onehot data_dir="$D" output_dir="$out" \
        params.load_checkpoint=1 params.epochs=3 data.shuffle=false seed=0 device=cpu \
        "${args[@]}" >"$out/train.log" 2>&1; then
      fail "$name $t: bend train failed: $(tail -5 "$out/train.log")"; continue
    fi
    local ok=1
    compare "$out/losses.csv" losses "$METRIC_ATOL" "$name $t losses.csv vs prob64" "$FIX/$t/upstream_prob64_losses.csv" || ok=0
    compare "$out/best_model_metrics.csv" best "$METRIC_ATOL" "$name $t best_model_metrics.csv vs prob64" "$FIX/$t/upstream_prob64_best_model_metrics.csv" || ok=0
    compare "$out/losses.csv" losses "$BEND_ATOL" "$name $t losses.csv vs BEND" "$FIX/$t/upstream_losses.csv" || ok=0
    compare "$out/best_model_metrics.csv" best "$BEND_ATOL" "$name $t best_model_metrics.csv vs BEND" "$FIX/$t/upstream_best_model_metrics.csv" || ok=0
    [ "$ok" = 1 ] && pass "$name $t: matches upstream BaseTrainer" || fail "$name $t differs from upstream (see above)"
  done
}

train_and_check serial
command -v "${MPIEXEC%% *}" >/dev/null 2>&1 || die "MPIEXEC '$MPIEXEC' not found"
train_and_check mpi2 $MPIEXEC -np 2
finish
