#!/usr/bin/env bash
# bend inspect on the reference checkpoints of tests/fixtures/models (made by
# tools/reference/make_model_fixtures.py): for every weights file a fixture has, `bend inspect
# FILE --json` parses, names the right family, and lists exactly the tensors (name, dtype, shape)
# that torch / safetensors read from that file (the fixture's tensors.json), with the same
# parameter count; safetensors and .bin copies of a checkpoint hold the same tensors (the .bin
# only adds the tied duplicates); the text form lists the tokenizer files; bad input fails with
# the right exit code and a message naming the file and the key.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: $PY not available"; exit 77; }
: "${BEND_TEST_FIXTURES:?BEND_TEST_FIXTURES must point to tests/fixtures}"
MODELS=$BEND_TEST_FIXTURES/models
[ -d "$MODELS" ] || die "no fixtures in $MODELS"

# fixture directory -> family bend must detect
declare -A FAMILY=(
  [dnabert6]=dnabert [grover]=grover [nt_v1]=nucleotide_transformer [dnabert2]=dnabert2
  [gena_lm_bert]=gena_lm [gena_lm_bigbird]=gena_lm [hyenadna]=hyenadna [awdlstm]=awdlstm
  [resnetlm]=resnetlm
)

# compare OUT.json TENSORS.json FILE FAMILY: inspect's JSON against what PyTorch read
compare() {
  "$PY" - "$@" <<'EOF'
import json, sys
out_path, ref_path, fname, family = sys.argv[1:5]
try:
    out = json.load(open(out_path))
except ValueError as e:
    sys.exit(f"output is not JSON: {e}")
ref = json.load(open(ref_path))["files"][fname]
if sorted(out) != ["check", "config", "family", "parameters", "tensors"]:
    sys.exit(f"top-level keys {sorted(out)}")
if out["check"].get("ok") is not True:
    sys.exit(f"check failed: {out['check']}")
if out["family"] != family:
    sys.exit(f"family {out['family']!r}, expected {family!r}")
if out["config"].get("family") != family:
    sys.exit(f"config.family {out['config'].get('family')!r}")
got, want = out["tensors"], ref["tensors"]
if len(got) != ref["count"]:
    sys.exit(f"{len(got)} tensors, torch has {ref['count']}: "
             f"extra {sorted(set(got) - set(want))[:5]}, missing {sorted(set(want) - set(got))[:5]}")
for name, t in want.items():
    if name not in got:
        sys.exit(f"tensor {name} missing")
    if got[name] != {"dtype": t["dtype"], "shape": t["shape"]}:
        sys.exit(f"tensor {name}: {got[name]}, torch has {t}")
if out["parameters"] != ref["parameters"]:
    sys.exit(f"parameters {out['parameters']}, expected {ref['parameters']}")
EOF
}

for dir in $(printf '%s\n' "${!FAMILY[@]}" | sort); do
  fix=$MODELS/$dir
  [ -f "$fix/tensors.json" ] || { fail "$dir: no tensors.json"; continue; }
  files=$("$PY" -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["files"])))' "$fix/tensors.json")
  for f in $files; do
    out=$WORK/$dir.$f.json
    if ! "$BEND" inspect "$fix/$f" --json >"$out" 2>"$WORK/err"; then
      fail "$dir/$f: bend inspect failed: $(cat "$WORK/err")"; continue
    fi
    if msg=$(compare "$out" "$fix/tensors.json" "$f" "${FAMILY[$dir]}" 2>&1); then
      pass "$dir/$f: family ${FAMILY[$dir]}, tensors and parameter count as torch reads them"
    else
      fail "$dir/$f: $msg"
    fi
  done
  # the directory itself: the loader's first choice (safetensors before .bin)
  first=$(for f in model.safetensors pytorch_model.bin weights.ckpt; do [ -f "$fix/$f" ] && { echo $f; break; }; done)
  if "$BEND" inspect "$fix" --json >"$WORK/$dir.json" 2>"$WORK/err" &&
     msg=$(compare "$WORK/$dir.json" "$fix/tensors.json" "$first" "${FAMILY[$dir]}" 2>&1); then
    pass "$dir: the directory reads as $first"
  else
    fail "$dir: directory: ${msg:-$(cat "$WORK/err")}"
  fi
done

# safetensors vs .bin: the same tensors, the .bin adding only the tied duplicates, same count
for dir in dnabert6 grover nt_v1 gena_lm_bert; do
  fix=$MODELS/$dir
  a=$WORK/$dir.model.safetensors.json b=$WORK/$dir.pytorch_model.bin.json
  [ -s "$a" ] && [ -s "$b" ] || { fail "$dir: both formats expected"; continue; }
  if msg=$("$PY" - "$a" "$b" "$fix/tensors.json" <<'EOF' 2>&1
import json, sys
st, pt, ref = (json.load(open(p)) for p in sys.argv[1:4])
ts, tb = st["tensors"], pt["tensors"]
for name, t in ts.items():
    if tb.get(name) != t:
        sys.exit(f"{name}: safetensors {t}, bin {tb.get(name)}")
only_bin = sorted(set(tb) - set(ts))
ref_only = sorted(set(ref["files"]["pytorch_model.bin"]["tensors"]) -
                  set(ref["files"]["model.safetensors"]["tensors"]))
if only_bin != ref_only:
    sys.exit(f"only in .bin: {only_bin}, expected the tied {ref_only}")
if st["parameters"] != pt["parameters"]:
    sys.exit(f"parameters {st['parameters']} vs {pt['parameters']}")
if st["config"] != pt["config"]:
    sys.exit("configs differ")
EOF
  ); then
    pass "$dir: safetensors and pytorch_model.bin hold the same tensors"
  else
    fail "$dir: $msg"
  fi
done

# text form: family, config, tensors and the tokenizer files present
if out=$("$BEND" inspect "$MODELS/dnabert6" 2>&1); then
  for want in "family      dnabert" "k=6" "vocab 4101" "bert.embeddings.word_embeddings.weight" \
              "vocab.txt" "tokenizer_config.json" "special_tokens_map.json" "78693 parameters"; do
    grep -qF -- "$want" <<<"$out" || fail "text output lacks '$want'"
  done
  pass "text output of dnabert6"
else
  fail "bend inspect dnabert6 (text) failed: $out"
fi
out=$("$BEND" inspect "$MODELS/hyenadna" 2>&1)
grep -q "no tokenizer files" <<<"$out" && grep -q '"l_max":66' <<<"$out" &&
  grep -q "lightning" <<<"$out" && pass "text output of hyenadna" || fail "hyenadna text output: $out"
out=$("$BEND" inspect "$MODELS/dnabert2" 2>&1)
grep -q "tokenizer.json" <<<"$out" && grep -q "positions alibi" <<<"$out" &&
  pass "text output of dnabert2" || fail "dnabert2 text output: $out"

# the tensor check: a config that disagrees with the weights fails, naming the tensor
mkdir -p "$WORK/mixer"
cp "$MODELS/hyenadna/weights.ckpt" "$WORK/mixer/"
sed 's/"checkpoint_mixer": true/"checkpoint_mixer": false/' "$MODELS/hyenadna/config.json" >"$WORK/mixer/config.json"
expect_fail "tensor check" 2 "tensor 'model.backbone.layers.0.mixer.in_proj.weight' .* is missing; similar names present: 'model.backbone.layers.0.mixer.layer.in_proj.weight'" -- "$BEND" inspect "$WORK/mixer"
grep -q "^check: all 37 tensors the dnabert forward pass needs are present" <<<"$("$BEND" inspect "$MODELS/dnabert6")" &&
  pass "text output ends with the tensor check" || fail "no check line in the text output"

# an explicit family overrides detection; onehot needs no files
"$BEND" inspect "$MODELS/dnabert6" --family grover --json >"$WORK/fam.json" &&
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["family"]=="grover", j["family"]' "$WORK/fam.json" &&
  pass "--family overrides detection" || fail "--family grover on dnabert6"
"$BEND" inspect "$WORK" --family onehot --json >"$WORK/onehot.json" &&
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["family"]=="onehot" and j["tensors"]=={} and j["parameters"]==0 and j["config"]["hidden_size"]==5, j' "$WORK/onehot.json" &&
  pass "--family onehot" || fail "--family onehot"

# bad input
mkdir -p "$WORK/bad" "$WORK/nocfg"
cp "$MODELS/grover/pytorch_model.bin" "$WORK/bad/"
cp "$MODELS/grover/pytorch_model.bin" "$WORK/nocfg/"
expect_fail "missing directory" 1 "/no/such/model" -- "$BEND" inspect /no/such/model
expect_fail "no config.json" 1 "nocfg/config.json" -- "$BEND" inspect "$WORK/nocfg"
echo '{"model_type": "bert", "hidden_size": 16,,}' >"$WORK/bad/config.json"
expect_fail "config.json not JSON" 2 "bad/config.json:1:.*not valid JSON" -- "$BEND" inspect "$WORK/bad" --json
sed 's/"hidden_size": 16,//' "$MODELS/grover/config.json" >"$WORK/bad/config.json"
expect_fail "missing key" 2 "bad/config.json: key 'hidden_size' is missing" -- "$BEND" inspect "$WORK/bad"
sed 's/"num_attention_heads": 4/"num_attention_heads": "4"/' "$MODELS/grover/config.json" >"$WORK/bad/config.json"
expect_fail "wrong type" 2 "key 'num_attention_heads' must be an integer, not a string" -- "$BEND" inspect "$WORK/bad"
echo '{"model_type": "llama", "hidden_size": 16}' >"$WORK/bad/config.json"
expect_fail "unknown model type" 2 "cannot tell the model family.*llama" -- "$BEND" inspect "$WORK/bad"
expect_fail "unknown family" 2 "unknown model family 'bert'" -- "$BEND" inspect "$MODELS/grover" --family bert
expect_fail "unknown option" 2 "unknown option '--bogus'" -- "$BEND" inspect "$MODELS/grover" --bogus
expect_fail "no argument" 2 "usage: bend inspect" -- "$BEND" inspect
cp "$MODELS/grover/config.json" "$WORK/bad/config.json"
head -c 1000 "$MODELS/grover/pytorch_model.bin" >"$WORK/bad/pytorch_model.bin"
expect_fail "truncated weights" 2 "pytorch_model.bin" -- "$BEND" inspect "$WORK/bad"

finish
