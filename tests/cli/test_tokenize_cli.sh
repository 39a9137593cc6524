#!/usr/bin/env bash
# `bend tokenize`: the --json output for fixtures of tests/fixtures/tokenizers equals the values
# recorded from the upstream tokenizers (copied from expected.json), the plain listing, the
# stdin mode (one sequence per line, one JSON object per line), options, and clear errors.
source "$(dirname "$0")/lib.sh"
: "${BEND_TEST_FIXTURES:?BEND_TEST_FIXTURES must point to tests/fixtures}"
F=$BEND_TEST_FIXTURES/tokenizers

# expect_out NAME EXPECTED -- command...: stdout must equal EXPECTED exactly, exit code 0
expect_out() {
  local name=$1 want=$2; shift 3
  local out rc
  out=$("$@" 2>"$WORK/stderr"); rc=$?
  if [ "$rc" != 0 ]; then fail "$name: exit code $rc: $(cat "$WORK/stderr")"; return; fi
  if [ "$out" != "$want" ]; then fail "$name: got
$out
expected
$want"; return; fi
  pass "$name"
}

# expected.json: nt_v1 / with_n, nt_v1 / with_n_nospecial, nt_v1 / short10, dnabert6 / short10,
# dnabert2_bpe / bend_example
NT_WITH_N='{"ids":[3,4100,4102,4103,4104,726,4103,4101],"tokens":["<cls>","A","C","G","N","ACGTAC","G","T"],"spans":[[0,0],[0,1],[1,2],[2,3],[3,4],[4,10],[10,11],[11,12]]}'
NT_WITH_N_NOSPECIAL='{"ids":[4100,4102,4103,4104,726,4103,4101],"tokens":["A","C","G","N","ACGTAC","G","T"],"spans":[[0,1],[1,2],[2,3],[3,4],[4,10],[10,11],[11,12]]}'
NT_SHORT10='{"ids":[3,726,4103,4101,4100,4102],"tokens":["<cls>","ACGTAC","G","T","A","C"],"spans":[[0,0],[0,6],[6,7],[7,8],[8,9],[9,10]]}'
DNABERT6_SHORT10='{"ids":[2,727,2896,3378,1209,727,3],"tokens":["[CLS]","ACGTAC","CGTACG","GTACGT","TACGTA","ACGTAC","[SEP]"],"spans":[[0,0],[0,6],[1,7],[2,8],[3,9],[4,10],[0,0]]}'
DNABERT2_EXAMPLE='{"ids":[1,7,89,35,195,53,38,108,11,63,5,2],"tokens":["[CLS]","G","ATTT","ATT","AGGGG","AGAT","TTT","ATAT","AT","CCCG","A","[SEP]"],"spans":[[0,0],[0,1],[1,5],[5,8],[8,13],[13,17],[17,20],[20,24],[24,26],[26,30],[30,31],[0,0]]}'

expect_out "nt_v1 --json" "$NT_WITH_N" -- "$BEND" tokenize "$F/nt_v1" ACGNACGTACGT --json
expect_out "nt_v1 --json --no-special-tokens" "$NT_WITH_N_NOSPECIAL" -- \
  "$BEND" tokenize "$F/nt_v1" ACGNACGTACGT --json --no-special-tokens
expect_out "dnabert6 --json (k from vocab.txt)" "$DNABERT6_SHORT10" -- "$BEND" tokenize "$F/dnabert6" ACGTACGTAC --json
expect_out "dnabert6 --kind kmer --kmer 6" "$DNABERT6_SHORT10" -- \
  "$BEND" tokenize "$F/dnabert6" ACGTACGTAC --json --kind kmer --kmer 6
expect_out "dnabert2 BPE --json" "$DNABERT2_EXAMPLE" -- \
  "$BEND" tokenize "$F/dnabert2_bpe" GATTTATTAGGGGAGATTTTATATATCCCGA --json
expect_out "--upper" "$NT_WITH_N" -- "$BEND" tokenize "$F/nt_v1" acgnacgtacgt --json --upper

# stdin: one JSON object per line, in order (a CRLF line ending is not part of the sequence)
expect_out "stdin --json" "$NT_WITH_N
$NT_SHORT10
$NT_WITH_N" -- bash -c "printf 'ACGNACGTACGT\nACGTACGTAC\r\nACGNACGTACGT\n' | \"\$0\" tokenize \"\$1\" - --json" "$BEND" "$F/nt_v1"
out=$(printf '' | "$BEND" tokenize "$F/nt_v1" - --json); rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] && pass "stdin without lines: no output" || fail "empty stdin: rc=$rc out=$out"

# plain listing: id, token, start, end per line; sequences from stdin separated by a blank line
printf '%s\t%s\t%s\t%s\n' 3 '<cls>' 0 0 4100 A 0 1 4102 C 1 2 4103 G 2 3 4104 N 3 4 726 ACGTAC 4 10 \
  4103 G 10 11 4101 T 11 12 >"$WORK/plain.want"
"$BEND" tokenize "$F/nt_v1" ACGNACGTACGT >"$WORK/plain.out" 2>&1 && cmp -s "$WORK/plain.out" "$WORK/plain.want" \
  && pass "plain listing" || fail "plain listing: $(cat "$WORK/plain.out")"
n=$(printf 'ACGT\nAC\n' | "$BEND" tokenize "$F/nt_v1" - | grep -c '^$')
[ "$n" = 1 ] && pass "plain stdin: sequences separated by one blank line" || fail "plain stdin: $n blank lines"

# errors
expect_fail "missing directory" 1 "model directory .*/no-such-model" -- "$BEND" tokenize "$WORK/no-such-model" ACGT
mkdir -p "$WORK/badjson" && printf '{"model": ' >"$WORK/badjson/tokenizer.json"
expect_fail "tokenizer.json that is not JSON" 2 "badjson/tokenizer.json is not valid JSON" -- \
  "$BEND" tokenize "$WORK/badjson" ACGT
mkdir -p "$WORK/emptyvocab" && : >"$WORK/emptyvocab/vocab.txt"
expect_fail "empty vocab.txt" 2 "emptyvocab/vocab.txt is empty" -- "$BEND" tokenize "$WORK/emptyvocab" ACGT
expect_fail "unknown kind" 2 "unknown tokenizer kind 'wordpiece'" -- "$BEND" tokenize "$F/nt_v1" ACGT --kind wordpiece
expect_fail "k that disagrees with vocab.txt" 2 "holds 6-mers but k = 3" -- \
  "$BEND" tokenize "$F/dnabert6" ACGT --kmer 3
expect_fail "bad --kmer" 2 "--kmer expects an integer" -- "$BEND" tokenize "$F/dnabert6" ACGT --kmer x
expect_fail "missing sequence" 2 "usage: bend tokenize" -- "$BEND" tokenize "$F/nt_v1"
expect_fail "unknown option" 2 "unknown or incomplete option '--bogus'" -- "$BEND" tokenize "$F/nt_v1" ACGT --bogus
"$BEND" tokenize --help | grep -q "usage: bend tokenize" && pass "--help" || fail "--help"
finish
