#!/bin/bash
# bend train end to end on the demo data: BEND's output files and columns, N ranks = 1 rank,
# resume after SIGKILL = an uninterrupted run, params.mode=test, cross-validation folds, a metric
# far above chance on the planted signal, and clear errors for bad input.
source "$(dirname "$0")/lib.sh"

D=$WORK/data
demo_data "$D"
for t in histone_modification gene_finding enhancer_annotation; do
  "$BEND" embed task=$t model=onehot data_dir="$D" >/dev/null 2>&1 || die "embed $t failed"
done
train() { "$BEND" train data_dir="$D" embedder=onehot seed=3 "$@"; }

# ---- files and columns -----------------------------------------------------------------------
O=$WORK/hm
train task=histone_modification output_dir="$O" params.epochs=2 data.batch_size=64 >/dev/null 2>&1 \
  || fail "histone training failed"
[ "$(head -1 "$O/losses.csv")" = "Epoch,train_loss,val_loss,val_auroc" ] && [ "$(wc -l <"$O/losses.csv")" = 3 ] \
  && pass "losses.csv has BEND's header and one row per epoch" || fail "losses.csv: $(cat "$O/losses.csv")"
hdr=$(head -1 "$O/best_model_metrics.csv")
want="Epoch,train_loss,val_loss,val_auroc,test_loss,test_auroc_avg"
for i in $(seq 0 17); do want="$want,test_auroc_$i"; done
[ "$hdr" = "$want" ] && [ "$(wc -l <"$O/best_model_metrics.csv")" = 2 ] \
  && pass "best_model_metrics.csv has BEND's columns for a multi-label AUROC task" \
  || fail "best_model_metrics.csv header: $hdr"
for e in 1 2; do
  for f in model.safetensors optimizer.safetensors state.json; do
    [ -s "$O/checkpoints/epoch_$e/$f" ] || fail "missing checkpoints/epoch_$e/$f"
  done
done
grep -q '^seed: 3$' "$O/config.yaml" && pass "config.yaml records the seed" || fail "config.yaml: no seed line"
# The best epoch is the one with the highest val_auroc (first on ties), as BEND's test() picks.
best=$(awk -F, 'NR>1 && (NR==2 || $4>b) {b=$4; e=$1} END {print e}' "$O/losses.csv")
[ "$(awk -F, 'NR==2 {print $1}' "$O/best_model_metrics.csv")" = "$best" ] \
  && pass "tested the epoch with the best validation metric ($best)" || fail "best epoch mismatch"
# test_predictions.h5 holds what the metric was computed on: its AUROC per label equals the CSV's.
h5dump -d y_pred -H "$O/test_predictions.h5" 2>/dev/null | grep -q 'DATASPACE  SIMPLE { ( 90, 18 )' \
  && pass "test_predictions.h5 y_pred is [test samples, labels]" || fail "test_predictions.h5 shape"

# gene finding: per-nucleotide classes, MCC with BEND's recall/precision columns.
G=$WORK/gf
train task=gene_finding output_dir="$G" params.epochs=1 >/dev/null 2>&1 || fail "gene finding failed"
head -1 "$G/best_model_metrics.csv" | grep -Eq '^Epoch,train_loss,val_loss,val_mcc,test_loss,test_mcc,test_recall_0,.*,test_precision_0' \
  && pass "gene finding writes MCC, recall and precision columns" || fail "gene finding columns: $(head -1 "$G/best_model_metrics.csv")"
n_true=$(h5dump -d y_true -H "$G/test_predictions.h5" | grep -o 'SIMPLE { ( [0-9]*' | grep -o '[0-9]*$')
n_nt=$(awk -F'\t' 'NR>1 && $NF=="test" {s+=$3-$2} END {print s}' "$D/gene_finding/gene_finding.bed")
[ "$n_true" = "$n_nt" ] && pass "gene finding predictions cover every test nucleotide, no padding ($n_nt)" \
  || fail "gene finding: $n_true predictions for $n_nt test nucleotides"

# enhancer annotation: fold k tests part k and validates on part k+1 (BEND's 10-fold CV).
E=$WORK/enh
train task=enhancer_annotation output_dir="$E" data.cross_validation=10 params.epochs=1 >/dev/null 2>&1 \
  || fail "enhancer fold 10 failed"
head -1 "$E/best_model_metrics.csv" | grep -q '^Epoch,train_loss,val_loss,val_auprc,test_loss,test_auprc$' \
  && pass "enhancer writes BEND's AUPRC columns" || fail "enhancer columns"
[ -d "$D/../downstream_tasks" ] && fail "output_dir ignored"
( cd "$WORK" && "$BEND" train data_dir="$D" task=enhancer_annotation embedder=onehot params.epochs=1 data.cross_validation=2 >/dev/null 2>&1 )
[ -s "$WORK/downstream_tasks/enhancer_annotation/onehot/split_2/losses.csv" ] \
  && pass "default output_dir is downstream_tasks/{task}/{embedder}/split_{fold}" || fail "enhancer default output_dir"

# bend results: BEND's list_metrics.py table, mean and population std over the folds.
( cd "$WORK" && "$BEND" train data_dir="$D" task=enhancer_annotation embedder=onehot params.epochs=1 data.cross_validation=5 >/dev/null 2>&1 )
"$BEND" results "$WORK/downstream_tasks" >"$WORK/results.out" 2>&1 || fail "bend results failed"
f2=$(awk -F, 'NR==2 {print $6}' "$WORK/downstream_tasks/enhancer_annotation/onehot/split_2/best_model_metrics.csv")
f5=$(awk -F, 'NR==2 {print $6}' "$WORK/downstream_tasks/enhancer_annotation/onehot/split_5/best_model_metrics.csv")
want=$(awk -v a="$f2" -v b="$f5" 'BEGIN { m = (a + b) / 2; s = (a - m) * (a - m) + (b - m) * (b - m);
    printf "enhancer_annotation +onehot +2 +AUPRC +%.4f ± %.4f", m, sqrt(s / 2) }')
grep -Eq "^$want\$" "$WORK/results.out" && pass "bend results: 2 folds, mean ± std" \
  || fail "bend results: expected /$want/ in $(cat "$WORK/results.out")"

# BEND's supervised baselines train on the one-hot store; embedder=a,b sweeps as Hydra multirun.
( cd "$WORK" && "$BEND" train data_dir="$D" task=histone_modification embedder=basset-supervised,resnet-supervised \
    params.epochs=1 supervised_encoder.resnet-supervised.n_layers=2 supervised_encoder.resnet-supervised.hidden_size=16 \
    >"$WORK/sweep.out" 2>&1 ) || fail "baseline sweep failed: $(tail -3 "$WORK/sweep.out")"
for e in basset-supervised resnet-supervised; do
  [ -s "$WORK/downstream_tasks/histone_modification/$e/best_model_metrics.csv" ] || fail "sweep: no results for $e"
done
grep -q "sweep run 2 of 2" "$WORK/sweep.out" && pass "embedder=basset-supervised,resnet-supervised sweeps both baselines" \
  || fail "no sweep: $(cat "$WORK/sweep.out")"

# ---- data parallel: 3 ranks equal 1 rank with the same global batch --------------------------
P1=$WORK/np1; P3=$WORK/np3
train task=histone_modification output_dir="$P1" params.epochs=3 data.batch_size=50 >/dev/null 2>&1
$MPIEXEC -np 3 "$BEND" train data_dir="$D" embedder=onehot seed=3 task=histone_modification \
  output_dir="$P3" params.epochs=3 data.batch_size=50 >/dev/null 2>&1 || fail "mpirun -np 3 train failed"
# Losses agree to float32 rounding (gradients are summed in another order); the AUROC is a rank
# statistic, so a prediction moving past a tied neighbour can change it by one pair's weight
# (about 1/(positives * negatives * labels) ~ 1e-4 here).
paste -d, "$P1/losses.csv" "$P3/losses.csv" | awk -F, 'NR>1 {
    for (i = 2; i <= 4; i++) { a = $i; b = $(i + 4); d = a - b; if (d < 0) d = -d;
      tol = i < 4 ? 1e-5 * (b < 0 ? -b : b) : 1e-3;
      if (d > tol) { print "row " NR " column " i ": " a " vs " b; bad = 1 } } }
    END { exit bad }' && [ "$(wc -l <"$P3/losses.csv")" = 4 ] \
  && pass "3 ranks give 1 rank's losses (1e-5 relative) and metrics (1e-3)" || fail "3 ranks differ from 1 rank"

# ---- gradient accumulation: 2 batches of 30 per step = batches of 60 (420 train samples) --------
# BEND divides each batch's loss by the steps before logging it, so train_loss halves.
A1=$WORK/acc1; A2=$WORK/acc2
train task=histone_modification output_dir="$A1" params.epochs=2 data.batch_size=60 >/dev/null 2>&1
train task=histone_modification output_dir="$A2" params.epochs=2 data.batch_size=30 \
  params.gradient_accumulation_steps=2 >/dev/null 2>&1 || fail "gradient accumulation run failed"
paste -d, "$A1/losses.csv" "$A2/losses.csv" | awk -F, 'NR>1 { d = $2 - 2 * $6; if (d < 0) d = -d;
    if (d > 1e-5 * $2) { print $2 " vs 2 x " $6; bad = 1 } } END { exit bad }' \
  && pass "gradient_accumulation_steps=2 with batches of 30 trains as batches of 60" \
  || fail "gradient accumulation differs from the larger batch"

# ---- resume after SIGKILL = uninterrupted --------------------------------------------------
R=$WORK/resume
train task=histone_modification output_dir="$R" params.epochs=4 data.batch_size=32 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -d "$R/checkpoints/epoch_2" ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
[ -d "$R/checkpoints/epoch_4" ] && fail "the run finished before it could be killed"
train task=histone_modification output_dir="$R" params.epochs=4 data.batch_size=32 \
  params.load_checkpoint=true seed=null >"$WORK/resume.out" 2>&1 || fail "resume failed: $(cat "$WORK/resume.out")"
U=$WORK/uninterrupted
train task=histone_modification output_dir="$U" params.epochs=4 data.batch_size=32 >/dev/null 2>&1
cmp -s "$R/losses.csv" "$U/losses.csv" && cmp -s "$R/best_model_metrics.csv" "$U/best_model_metrics.csv" \
  && pass "killed after epoch 2 and resumed: same losses and test metrics as an uninterrupted run" \
  || fail "resume differs: $(diff "$R/losses.csv" "$U/losses.csv")"

# ---- params.mode=test re-tests the best epoch of an earlier run -----------------------------
cp "$U/best_model_metrics.csv" "$WORK/before.csv"; rm "$U/best_model_metrics.csv" "$U/test_predictions.h5"
train task=histone_modification output_dir="$U" params.mode=test data.batch_size=32 >/dev/null 2>&1 \
  || fail "mode=test failed"
cmp -s "$U/best_model_metrics.csv" "$WORK/before.csv" && [ -s "$U/test_predictions.h5" ] \
  && pass "params.mode=test reproduces the test of the best epoch" || fail "mode=test differs"

# ---- learning: far above chance on the planted motifs ----------------------------------------
L=$WORK/learn
train task=histone_modification output_dir="$L" params.epochs=15 data.batch_size=16 optimizer.lr=0.01 >/dev/null 2>&1
auc=$(awk -F, 'NR==2 {print $6}' "$L/best_model_metrics.csv")
awk -v a="$auc" 'BEGIN { exit !(a > 0.6) }' && pass "test AUROC $auc on the planted histone motifs (> 0.6; chance 0.5)" \
  || fail "test AUROC $auc is not above 0.6"

# ---- errors ------------------------------------------------------------------------------------
expect_fail "unknown task" 2 "unknown task 'nope'.*gene_finding" -- "$BEND" train task=nope data_dir="$D"
expect_fail "unknown key" 2 "params.epoch" -- "$BEND" train task=histone_modification data_dir="$D" params.epoch=3
expect_fail "missing store" 1 "cpg_methylation/onehot/embeddings.h5.*bend embed" -- \
  "$BEND" train task=cpg_methylation embedder=onehot data_dir="$D" output_dir="$WORK/x"
"$BEND" embed task=cpg_methylation model=onehot data_dir="$D" splits=[train] >/dev/null 2>&1
expect_fail "incomplete store" 2 "split 'valid' has 0 of [0-9]+ samples embedded.*bend embed" -- \
  "$BEND" train task=cpg_methylation embedder=onehot data_dir="$D" output_dir="$WORK/x"
expect_fail "bad metric" 2 "params.metric.*mcc" -- \
  "$BEND" train task=histone_modification data_dir="$D" params.metric=accuracy output_dir="$WORK/x"
expect_fail "label/output mismatch" 2 "does not match the labels.*model.output_size" -- \
  "$BEND" train task=histone_modification data_dir="$D" model.output_size=7 output_dir="$WORK/x"
expect_fail "bad fold" 2 "data.cross_validation.*fold 11" -- \
  "$BEND" train task=enhancer_annotation data_dir="$D" data.cross_validation=11 output_dir="$WORK/x"
expect_fail "resume without checkpoints" 1 "no checkpoint of epoch 5" -- \
  "$BEND" train task=histone_modification data_dir="$D" params.load_checkpoint=5 output_dir="$WORK/x"
finish
