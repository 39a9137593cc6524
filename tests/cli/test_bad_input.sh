#!/usr/bin/env bash
# Every kind of bad input: a clear message naming the file and line (or record), a non-zero exit,
# no crash, and a store written before is left exactly as it was.
source "$(dirname "$0")/lib.sh"
D=$WORK/data; demo_data "$D"
T=histone_modification
BED=$D/$T/$T.bed
S=$(store_of "$D" $T)
"$BEND" embed task=$T model=onehot data_dir="$D" >/dev/null 2>&1 || die "setup run failed"
GOOD_MD5=$(md5sum <"$S")
cp "$BED" "$WORK/good.bed"
store_intact() { [ "$(md5sum <"$S")" = "$GOOD_MD5" ] || fail "$1: the existing store was modified"; }

# bad_bed NAME LINE REGEX: replaces data line 3 (file line 4) of the BED, runs, restores.
bad_bed() {
  local name=$1 line=$2 regex=$3
  awk -v repl="$line" 'NR==4{print repl; next} {print}' "$WORK/good.bed" >"$BED"
  expect_fail "$name" 2 "$BED:4: $regex" -- "$BEND" embed task=$T model=onehot data_dir="$D"
  store_intact "$name"
  cp "$WORK/good.bed" "$BED"
}
tab=$'\t'
bad_bed "wrong column count" "chr1${tab}100${tab}612${tab}+${tab}1" "expected 6 tab-separated columns \\(as in the header\\), found 5"
bad_bed "start > end" "chr1${tab}700${tab}612${tab}+${tab}1${tab}train" "start 700 is greater than end 612"
bad_bed "negative coordinate" "chr1${tab}-100${tab}612${tab}+${tab}1${tab}train" "start coordinate -100 is negative"
bad_bed "non-numeric coordinate" "chr1${tab}1e5${tab}612${tab}+${tab}1${tab}train" "start coordinate '1e5' is not a non-negative integer"
bad_bed "bad strand" "chr1${tab}100${tab}612${tab}*${tab}1${tab}train" "strand must be '\\+' or '-', got '\\*'"
bad_bed "label out of range" "chr1${tab}100${tab}612${tab}+${tab}1,18${tab}train" "label id 18 is out of range: label_depth is 18"
bad_bed "unknown chromosome" "chr9${tab}100${tab}612${tab}+${tab}1${tab}train" "chromosome 'chr9' is not in reference FASTA"
bad_bed "chromosome prefix mismatch" "1${tab}100${tab}612${tab}+${tab}1${tab}train" "chromosome '1' is not in reference FASTA .*the FASTA has 'chr1'"
len1=$(awk '/^>/{n++} n==1 && !/^>/{s+=length($0)} END{print s}' "$D/genomes/GRCh38.primary_assembly.genome.fa")
bad_bed "region past chromosome end" "chr1$tab$((len1-10))$tab$((len1+5))$tab+${tab}1${tab}train" "region chr1:$((len1-10))-$((len1+5)) ends past the end of chr1 \\(length $len1\\)"

expect_fail "missing BED file" 1 "cannot open BED file $D/nope.bed" -- "$BEND" embed task=$T model=onehot data_dir="$D" $T.bed="$D/nope.bed"
store_intact "missing BED file"
expect_fail "missing FASTA" 1 "cannot open reference FASTA $D/nope.fa" -- "$BEND" embed task=$T model=onehot data_dir="$D" $T.reference_fasta="$D/nope.fa"
store_intact "missing FASTA"
printf ">chr1\nACGT\nAC\nACGT\n" >"$WORK/ragged.fa"
expect_fail "malformed FASTA" 2 "cannot index reference FASTA $WORK/ragged.fa" -- "$BEND" embed task=$T model=onehot data_dir="$D" $T.reference_fasta="$WORK/ragged.fa"

# An HDF5 label file whose row count does not match the BED.
G=gene_finding
"$BEND" embed task=$G model=onehot data_dir="$D" >/dev/null 2>&1 || die "gene_finding setup failed"
GS=$(store_of "$D" $G); G_MD5=$(md5sum <"$GS")
head -n -1 "$D/$G/$G.bed" >"$WORK/short.bed"
rows=$(($(wc -l <"$WORK/short.bed") - 1))
expect_fail "HDF5 label count" 2 "$D/$G/$G.hdf5 holds $((rows + 1)) rows in 'labels', but BED file $WORK/short.bed has $rows data rows" \
  -- "$BEND" embed task=$G model=onehot data_dir="$D" overwrite=true $G.bed="$WORK/short.bed"
[ "$(md5sum <"$GS")" = "$G_MD5" ] || fail "HDF5 label count: the gene_finding store was modified"
expect_fail "missing HDF5 label file" 1 "cannot read HDF5 label file $D/none.h5" -- "$BEND" embed task=$G model=onehot data_dir="$D" overwrite=true $G.hdf5_file="$D/none.h5"

# An output directory that cannot be created (a file stands where a directory should).
touch "$WORK/plainfile"
cp -r "$D/genomes" "$D/$T" "$WORK/" 2>/dev/null
expect_fail "unwritable output directory" 1 "cannot create output directory $WORK/plainfile" -- "$BEND" embed task=$T model=onehot \
  data_dir="$WORK/plainfile/out" $T.bed="$BED" $T.reference_fasta="$D/genomes/GRCh38.primary_assembly.genome.fa"

# A store written for another configuration is refused, unless overwrite=true.
expect_fail "store of another configuration" 2 "was written for another model or configuration:.*dtype: float32.*dtype: float16.*overwrite=true" \
  -- "$BEND" embed task=$T model=onehot data_dir="$D" dtype=float16
store_intact "store of another configuration"
sed -i '2s/\ttrain$/\tvalid/' "$BED"   # the BED changed since the store was made
expect_fail "store of another BED" 2 "another model or configuration:.*bed_fnv1a64" -- "$BEND" embed task=$T model=onehot data_dir="$D"
store_intact "store of another BED"
cp "$WORK/good.bed" "$BED"
echo "not an hdf5 file" >"$WORK/fake.h5"; mkdir -p "$WORK/fd/$T/onehot"; cp "$WORK/fake.h5" "$WORK/fd/$T/onehot/embeddings.h5"
expect_fail "not a store" 2 "not an HDF5 file|not a bend.*store" -- "$BEND" embed task=$T model=onehot data_dir="$WORK/fd" \
  $T.bed="$BED" $T.reference_fasta="$D/genomes/GRCh38.primary_assembly.genome.fa"
cmp -s "$WORK/fake.h5" "$WORK/fd/$T/onehot/embeddings.h5" || fail "not a store: the file was modified"
"$BEND" embed task=$T model=onehot data_dir="$D" dtype=float16 overwrite=true >/dev/null 2>&1 \
  && /usr/bin/python3 - "$S" <<'PY' && pass "overwrite=true replaces the store (now float16, h5py reads it)" || fail "overwrite=true did not produce a float16 store"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
assert f.attrs["dtype"] == "float16"
e = f["train"]["embeddings"]
assert e.dtype == np.float16, e.dtype
x = e[:1000].astype(np.float32)
assert set(np.unique(x)) <= {0.0, 1.0} and (x.sum(1) == 1).all()
PY
"$BEND" embed task=$T model=onehot data_dir="$D" overwrite=true >/dev/null 2>&1 || die "restoring the float32 store failed"
GOOD_MD5=$(md5sum <"$S")

# Configuration mistakes
expect_fail "unknown key" 2 "unknown config key 'histone_modification.bedd'.*did you mean 'histone_modification.bed'" \
  -- "$BEND" embed task=$T model=onehot data_dir="$D" histone_modification.bedd=x
expect_fail "unknown task" 2 "unknown task 'histone'.*histone_modification" -- "$BEND" embed task=histone model=onehot data_dir="$D"
expect_fail "unknown model" 2 "unknown model 'onehot2'" -- "$BEND" embed task=$T model=onehot2 data_dir="$D"
expect_fail "model not built yet" 1 "model 'gpn' \\(family gpn\\) is not available" -- "$BEND" embed task=$T model=gpn data_dir="$D"
expect_fail "bad dtype" 2 "'dtype': expected float32 or float16, got 'float64'" -- "$BEND" embed task=$T model=onehot data_dir="$D" dtype=float64
expect_fail "bad chunk list" 2 "config key 'chunk" -- "$BEND" embed task=$T model=onehot data_dir="$D" 'chunk=[a,b]'
expect_fail "unknown split" 2 "'splits': 'validation' is not a split of .*\\(its splits: train, test, valid\\)|'splits': 'validation' is not a split" \
  -- "$BEND" embed task=$T model=onehot data_dir="$D" 'splits=[validation]'
expect_fail "device=cuda without GPU" 1 "device=cuda, but no GPU is usable" -- "$BEND" embed task=$T model=onehot data_dir="$D" device=cuda
store_intact "configuration mistakes"

# The same failures under MPI: every rank stops cleanly, one message, no MPI_ABORT.
awk -v repl="chr1${tab}700${tab}612${tab}+${tab}1${tab}train" 'NR==4{print repl; next} {print}' "$WORK/good.bed" >"$BED"
expect_fail "bad BED under 3 ranks" 2 "$BED:4: start 700 is greater than end 612" -- "$MPIEXEC" -np 3 "$BEND" embed task=$T model=onehot data_dir="$D"
cp "$WORK/good.bed" "$BED"
n=$("$MPIEXEC" -np 3 "$BEND" embed task=$T model=onehot data_dir="$D" dtype=float16 2>&1 | grep -c "error:")
[ "$n" = 1 ] && pass "a shared error is reported once, not once per rank" || fail "expected one error line from 3 ranks, got $n"
store_intact "MPI failures"
finish
