# Shared by tests/cli/test_*.sh. ctest sets BEND (the binary), BEND_TEST_TMP, MPIEXEC and the
# OMPI_* variables that let root run mpirun with more ranks than cores.
set -u
: "${BEND:?BEND must point to the bend binary}"
: "${BEND_TEST_TMP:=/tmp}"
MPIEXEC=${MPIEXEC:-mpirun}
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "$BEND_TEST_TMP/$TEST_NAME.XXXXXX")
FAILED=0

fail() { echo "FAIL: $*" >&2; FAILED=1; }
die() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
finish() { if [ "$FAILED" = 0 ]; then echo "$TEST_NAME: all checks passed"; exit 0; else exit 1; fi; }

# demo_data DIR [SCALE]: the synthetic BEND data directory
demo_data() { "$BEND" demo-data --out "$1" --scale "${2:-1}" --seed 7 >/dev/null || die "demo-data failed"; }

# expect_fail NAME EXPECTED_RC MESSAGE_REGEX -- command...: the command must exit with the given
# code and print a message matching the regex on stderr.
expect_fail() {
  local name=$1 want_rc=$2 regex=$3; shift 4
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  out=$(tr '\n' ' ' <<<"$out")   # messages may span lines; match them as one
  if [ "$rc" != "$want_rc" ]; then fail "$name: exit code $rc, expected $want_rc; output: $out"; return; fi
  if ! grep -Eq -- "$regex" <<<"$out"; then fail "$name: message does not match /$regex/: $out"; return; fi
  if grep -Eq "Segmentation|core dumped|Assertion|MPI_ABORT" <<<"$out"; then fail "$name: crashed: $out"; return; fi
  pass "$name"
}

store_of() { echo "$1/$2/onehot/embeddings.h5"; }
