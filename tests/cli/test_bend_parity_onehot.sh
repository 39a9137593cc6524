#!/usr/bin/env bash
# Upstream parity of the one-hot pipeline: bend's stores for histone_modification, gene_finding
# and enhancer_annotation must hold exactly what upstream BEND's embed_from_bed + OneHotEmbedder
# produced on the same inputs (tests/fixtures/bend_onehot/expected.h5, made by
# tools/reference/make_onehot_fixture.py; see tools/reference/README.md).
# histone_modification is also run under MPI with 2 ranks. The comparison is
# tests/tools/compare_bend_onehot.py, run with Debian's python3 (python3-h5py, python3-numpy);
# exit 77 (skipped) only when that python cannot import h5py.
set -euo pipefail

: "${BEND:?path of the bend binary}"
: "${BEND_TEST_FIXTURES:?tests/fixtures directory}"
: "${BEND_TEST_TMP:?scratch directory}"
MPIEXEC=${MPIEXEC:-mpirun}
PY=/usr/bin/python3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checker="$here/../tools/compare_bend_onehot.py"
fixture="$BEND_TEST_FIXTURES/bend_onehot"
expected="$fixture/expected.h5"

if ! "$PY" -c 'import h5py' 2>/dev/null; then
    echo "SKIP: $PY cannot import h5py/numpy (install python3-h5py python3-numpy)"
    exit 77
fi
[ -f "$expected" ] || { echo "FAIL: missing fixture $expected"; exit 1; }
[ -f "$checker" ] || { echo "FAIL: missing checker $checker"; exit 1; }

tasks=(histone_modification gene_finding enhancer_annotation)
work="$BEND_TEST_TMP/bend_parity_onehot"
rm -rf "$work"
mkdir -p "$work"

# A fresh copy of the fixture inputs (bend writes the FASTA's .fai and the stores there).
copy_inputs() {
    local dst=$1
    mkdir -p "$dst"
    cp -r "$fixture/genomes" "$dst/"
    local t
    for t in "${tasks[@]}"; do cp -r "$fixture/$t" "$dst/"; done
    rm -f "$dst"/genomes/*.fai
    rm -rf "$dst"/*/onehot
}

fail=0
run() {
    echo "+ $*"
    if ! "$@" >"$work/last.log" 2>&1; then
        cat "$work/last.log"
        echo "FAIL: command exited non-zero: $*"
        fail=1
        return 1
    fi
}

# 1. one process, all three tasks
plain="$work/plain"
copy_inputs "$plain"
for t in "${tasks[@]}"; do
    run "$BEND" embed task="$t" model=onehot data_dir="$plain" || true
done
echo "== checking single-process stores against BEND"
"$PY" "$checker" --expected "$expected" --data-dir "$plain" || fail=1

# 2. histone_modification on 2 MPI ranks
if command -v "${MPIEXEC%% *}" >/dev/null 2>&1; then
    mpi="$work/mpi"
    copy_inputs "$mpi"
    run $MPIEXEC -np 2 "$BEND" embed task=histone_modification model=onehot data_dir="$mpi" || true
    echo "== checking the 2-rank histone_modification store against BEND"
    "$PY" "$checker" --expected "$expected" --data-dir "$mpi" --task histone_modification || fail=1
else
    echo "FAIL: MPIEXEC '$MPIEXEC' not found"
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    echo "FAIL: bend's one-hot output differs from upstream BEND (see above)"
    exit 1
fi
echo "PASS: bend one-hot == upstream BEND on histone_modification, gene_finding, enhancer_annotation (1 rank; histone also on 2 ranks)"
