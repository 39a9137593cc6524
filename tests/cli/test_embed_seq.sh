# bend embed-seq on the fixture checkpoints (tests/fixtures/models): datasets named by FASTA id /
# seq_N with [L, D] shapes, the options, and bad input (missing file, bad letters, empty record,
# duplicate ids) failing with a message naming file and record and leaving no output file. Then
# `bend embed` of a demo task with a fixture language model. Exit 77 when the fixture model's
# forward pass is not in this build. (Values are checked against BEND in unit_lm_embedder.)
. "$(dirname "$0")/lib.sh"
F=${BEND_TEST_FIXTURES:-$BEND_SOURCE_DIR/tests/fixtures}/models
M=$F/dnabert2                     # ALiBi: no position limit for the demo's 512-nt windows
command -v h5ls >/dev/null || { echo "SKIP: h5ls (hdf5-tools) not installed"; exit 77; }

echo ACGTACGTAC | "$BEND" embed-seq "$M" --out "$WORK/probe.h5" --device cpu >"$WORK/probe.log" 2>&1
if grep -q "no forward pass" "$WORK/probe.log"; then
  echo "SKIP: $(grep -o 'family .*' "$WORK/probe.log")"; exit 77
fi
[ -f "$WORK/probe.h5" ] || die "probe run failed: $(cat "$WORK/probe.log")"

# shape SHAPE_FILE DATASET: the "{L, D}" h5ls prints for it
shape() { h5ls "$1" | awk -v d="$2" '$1 == d { sub(/^[^{]*/, ""); print }'; }
dim=24

long=$(printf 'ACGTTGCAAGGCTTAC%.0s' $(seq 44) | head -c 700)
{ printf ">chr1 some description\nACGTACGTTTGACCAGGT\n"; printf ">rec/2\nacgtnnACGTACGGGGTTTAAACCCGG\n>long\n%s\n" "$long"; } > "$WORK/in.fa"
"$BEND" embed-seq "$M" --fasta "$WORK/in.fa" --out "$WORK/out.h5" --device cpu 2>"$WORK/err.log" \
  || fail "embed-seq on a FASTA failed: $(cat "$WORK/err.log")"
[ "$(shape "$WORK/out.h5" chr1)" = "{18, $dim}" ] && pass "dataset named by the FASTA id, [18, $dim]" \
  || fail "chr1: $(h5ls "$WORK/out.h5")"
[ "$(shape "$WORK/out.h5" rec_2)" = "{27, $dim}" ] && pass "'/' in an id becomes '_'; lower case accepted" \
  || fail "rec_2: $(h5ls "$WORK/out.h5")"
[ "$(shape "$WORK/out.h5" long)" = "{700, $dim}" ] && pass "700-nt record: one row per nucleotide" \
  || fail "long: $(h5ls "$WORK/out.h5")"
[ ! -e "$WORK/out.h5.tmp" ] || fail "temporary file left behind"

printf "ACGTAC\n\nGGGTTTAAACCA\n" | "$BEND" embed-seq "$M" --out "$WORK/stdin.h5" --device cpu 2>/dev/null \
  || fail "embed-seq from stdin failed"
[ "$(shape "$WORK/stdin.h5" seq_1)" = "{6, $dim}" ] && [ "$(shape "$WORK/stdin.h5" seq_2)" = "{12, $dim}" ] \
  && pass "stdin lines become seq_1, seq_2 (blank lines skipped)" || fail "stdin: $(h5ls "$WORK/stdin.h5")"
printf "ACGTAC\n" | "$BEND" embed-seq "$M" --fasta - --out "$WORK/dash.h5" --device cpu 2>/dev/null \
  && [ "$(shape "$WORK/dash.h5" seq_1)" = "{6, $dim}" ] && pass "--fasta - reads stdin" || fail "--fasta -"

# Without upsampling: one row per token, and CLS/SEP rows with remove_special_tokens=false.
"$BEND" embed-seq "$M" --fasta "$WORK/in.fa" --out "$WORK/tok.h5" --device cpu upsample_embeddings=false 2>/dev/null \
  || fail "upsample_embeddings=false failed"
"$BEND" embed-seq "$M" --fasta "$WORK/in.fa" --out "$WORK/tok2.h5" --device cpu upsample_embeddings=false \
  remove_special_tokens=false 2>/dev/null || fail "remove_special_tokens=false failed"
a=$(shape "$WORK/tok.h5" long | tr -dc '0-9,' | cut -d, -f1); b=$(shape "$WORK/tok2.h5" long | tr -dc '0-9,' | cut -d, -f1)
if [ -n "$a" ] && [ "$a" -lt 700 ] && [ "$b" = $((a + 2)) ]; then pass "token rows: $a without, $b with CLS/SEP"
else fail "token rows: '$a' / '$b'"; fi
"$BEND" embed-seq "$M" --fasta "$WORK/in.fa" --out "$WORK/l0.h5" --device cpu layer=0 2>/dev/null \
  && [ "$(shape "$WORK/l0.h5" long)" = "{700, $dim}" ] && pass "layer=0" || fail "layer=0"

# bad input: clear message, non-zero exit, no output file
no_output() { [ ! -e "$1" ] && [ ! -e "$1.tmp" ] || fail "$2: output file left behind"; }
expect_fail "missing FASTA" 1 "nope.fa" -- "$BEND" embed-seq "$M" --fasta "$WORK/nope.fa" --out "$WORK/x1.h5" --device cpu
no_output "$WORK/x1.h5" "missing FASTA"
printf ">good\nACGT\n>bad\nAC1T\n" > "$WORK/bad.fa"
expect_fail "bad letter" 2 "bad.fa record 'bad': character '1'.*position 3" -- "$BEND" embed-seq "$M" --fasta "$WORK/bad.fa" --out "$WORK/x2.h5" --device cpu
no_output "$WORK/x2.h5" "bad letter"
printf ">a\nACGTAAAA\n>e\n>c\nACGTTT\n" > "$WORK/empty.fa"
expect_fail "empty record" 2 "empty.fa record 'e': empty sequence" -- "$BEND" embed-seq "$M" --fasta "$WORK/empty.fa" --out "$WORK/x3.h5" --device cpu
no_output "$WORK/x3.h5" "empty record"
printf ">a\nACGTAAAA\n>a\nACGTTT\n" > "$WORK/dup.fa"
expect_fail "duplicate ids" 2 "dup.fa: 2 records but 1 distinct ids" -- "$BEND" embed-seq "$M" --fasta "$WORK/dup.fa" --out "$WORK/x4.h5" --device cpu
expect_fail "bad stdin line" 2 "standard input line 2 \(seq_2\): character '\*'" -- \
  bash -c "printf 'ACGT\nAC*T\n' | \"$BEND\" embed-seq \"$M\" --out \"$WORK/x5.h5\" --device cpu"
no_output "$WORK/x5.h5" "bad stdin line"
# output=logits: the MLM head's rows, upsampled like the embeddings (values: unit_encoder).
vocab=$(grep -o '"vocab_size": *[0-9]*' "$M/config.json" | grep -o '[0-9]*$')
"$BEND" embed-seq "$M" --fasta "$WORK/in.fa" --out "$WORK/logits.h5" --device cpu output=logits 2>"$WORK/err.log" \
  || fail "output=logits failed: $(cat "$WORK/err.log")"
[ "$(shape "$WORK/logits.h5" long)" = "{700, $vocab}" ] && pass "output=logits: [700, vocabulary $vocab]" \
  || fail "logits: $(h5ls "$WORK/logits.h5")"
expect_fail "logits without a head" 1 "no masked-language-model head" -- \
  "$BEND" embed-seq "$F/grover" --fasta "$WORK/in.fa" --out "$WORK/x6.h5" --device cpu output=logits
expect_fail "logits and layer" 2 "output=logits and layer=N exclude each other" -- \
  "$BEND" embed-seq "$M" --fasta "$WORK/in.fa" --out "$WORK/x6.h5" output=logits layer=1
expect_fail "layer out of range" 2 "layer 99: .*config.json has hidden states 0..2" -- "$BEND" embed-seq "$M" --fasta "$WORK/in.fa" --out "$WORK/x7.h5" --device cpu layer=99
expect_fail "not an LM family" 1 "family onehot is not embedded by the language-model embedder" -- "$BEND" embed-seq "$M" --family onehot --fasta "$WORK/in.fa" --out "$WORK/x8.h5" --device cpu
expect_fail "missing --out" 2 "--out OUT.h5 is required" -- "$BEND" embed-seq "$M" --fasta "$WORK/in.fa"

# bend embed: a demo task through the registry with the fixture model
D=$WORK/data; demo_data "$D"
"$BEND" embed task=histone_modification model=dnabert2 data_dir="$D" device=cpu embedders_dir="$F" \
  dnabert2.model_name="$M" dnabert2.embedding_dim=$dim >"$WORK/embed.log" 2>&1 || fail "bend embed with dnabert2 failed: $(tail -5 "$WORK/embed.log")"
grep -q "$dim-dim float32 embeddings" "$WORK/embed.log" && grep -Eq "([0-9]+) of \1 samples embedded" "$WORK/embed.log" \
  && pass "bend embed task=histone_modification model=dnabert2 (fixture checkpoint)" || fail "bend embed: $(cat "$WORK/embed.log")"
expect_fail "embedding_dim mismatch" 2 "dnabert2.embedding_dim' is 768, but the model's hidden states have 24 dimensions \(.*dnabert2/config.json\)" -- \
  "$BEND" embed task=histone_modification model=dnabert2 data_dir="$D" device=cpu embedders_dir="$F" dnabert2.model_name="$M" overwrite=true
finish
