#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c as a libFuzzer target (clang, AddressSanitizer, UBSan) and runs
# each briefly: untrusted-file parsers must never crash. A fuzz file names what it needs in
# comment lines:  // FUZZ-SOURCES: src/a.c src/b.c   and   // FUZZ-PKGS: jansson
# Seeds come from tests/fuzz/corpus/<name>/ when present. Skipped (77) without clang's libFuzzer.
source "$(dirname "$0")/lib.sh"
SRC=${BEND_SOURCE_DIR:?}
SECONDS_EACH=${BEND_FUZZ_SECONDS:-5}
command -v clang >/dev/null || { echo "SKIP: clang is not installed"; exit 77; }
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' >"$WORK/probe.c"
clang -fsanitize=fuzzer "$WORK/probe.c" -o "$WORK/probe" 2>/dev/null || { echo "SKIP: clang has no libFuzzer"; exit 77; }
shopt -s nullglob
targets=("$SRC"/tests/fuzz/fuzz_*.c)
[ ${#targets[@]} -gt 0 ] || { echo "SKIP: no fuzz targets yet"; exit 77; }
for f in "${targets[@]}"; do
  name=$(basename "$f" .c)
  srcs=$(sed -n 's|^// FUZZ-SOURCES:||p' "$f" | tr '\n' ' ')
  pkgs=$(sed -n 's|^// FUZZ-PKGS:||p' "$f" | tr '\n' ' ')
  flags=""; [ -n "${pkgs// }" ] && flags=$(pkg-config --cflags --libs $pkgs)
  (cd "$SRC" && clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -D_GNU_SOURCE -DBEND_VERSION='"fuzz"' -Isrc "$f" $srcs $flags -lm -o "$WORK/$name") 2>"$WORK/$name.build" \
    || { fail "$name does not build: $(tail -5 "$WORK/$name.build")"; continue; }
  mkdir -p "$WORK/corpus_$name"
  [ -d "$SRC/tests/fuzz/corpus/$name" ] && cp "$SRC/tests/fuzz/corpus/$name"/* "$WORK/corpus_$name/" 2>/dev/null
  if "$WORK/$name" -max_total_time="$SECONDS_EACH" -rss_limit_mb=1024 -timeout=10 "$WORK/corpus_$name" >"$WORK/$name.log" 2>&1; then
    pass "$name: $(grep -Eo 'Done [0-9]+ runs' "$WORK/$name.log" | head -1) without a crash"
  else
    fail "$name found a crash: $(grep -E 'ERROR|SUMMARY|Test unit written' "$WORK/$name.log" | head -5)"
  fi
done
finish
