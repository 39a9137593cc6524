#!/usr/bin/env bash
# GPU checks of the CUDA backend (src/ops/ops_cuda.h, kernels/ops_cuda_*.cu) and of the
# transformer encoder on CUDA, for a session that has a device machine (the `run` tool). Nothing is
# built there: the test programs are built here with nvcc, then carried.
#
# 1. Here (the build machine, nvcc present; no GPU needed):
#      cmake -S /work/main -B /work/main/build-cuda -DCMAKE_BUILD_TYPE=Release
#      cmake --build /work/main/build-cuda -j8
#      bash tools/gpu/run_gpu_checks.sh stage      # -> .carry/gpu (git-ignored), ~30 MB
#    `stage` copies the CUDA test programs (and the CPU encoder / ops tests, as a control) to
#    .carry/gpu/bin and packs the Debian shared libraries they need (HDF5, Open MPI, htslib,
#    OpenBLAS, cmocka, ...; not glibc, not cuBLAS: the device image has CUDA 13's own, and
#    libcublasLt alone is 500 MB) into .carry/gpu/libs.tar.gz.
# 2. With the device tool, from the repository root (the fixtures under tests/fixtures travel with
#    the working tree):
#      run(command="bash tools/gpu/run_gpu_checks.sh", carry=[".carry/gpu"], timeout_s=600)
#    It unpacks the libraries, finds libcublas.so.13 on the machine, runs each program with the
#    fixtures' environment, keeps every log under $OUT, and prints a pass / fail table last.
#    Exit status 0 only if every program passed and the CUDA ones really ran (not skipped).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
carry=$here/.carry/gpu
cuda_tests="test_ops_cuda test_encoder_cuda"
control_tests="test_ops test_encoder"

if [ "${1:-}" = stage ]; then
    build=${BUILD:-$here/build-cuda}
    rm -rf "$carry" && mkdir -p "$carry/bin" "$carry/lib" || exit 1
    for t in $cuda_tests $control_tests; do
        [ -x "$build/tests/$t" ] || { echo "missing $build/tests/$t: build first" >&2; exit 1; }
        cp "$build/tests/$t" "$carry/bin/"
    done
    # every shared library but the C / C++ runtimes and CUDA's (the device image has newer ones, and CUDA 13)
    for t in $cuda_tests $control_tests; do ldd "$build/tests/$t"; done | awk '$3 ~ /^\// {print $3}' |
        sort -u | grep -v -E '/(libc|libm|libpthread|librt|libdl|libresolv|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|libcublas|libcudart|libcuda\.' |
        while read -r lib; do cp -L "$lib" "$carry/lib/"; done
    (cd "$carry" && tar czf libs.tar.gz lib && rm -rf lib)
    du -sh "$carry"
    exit 0
fi

[ -d "$carry/bin" ] || { echo "no $carry/bin: run '$0 stage' here and carry .carry/gpu" >&2; exit 2; }
OUT=${OUT:-/tmp/gpu-checks-out}
mkdir -p "$OUT" /tmp/bend-gpu-lib /tmp/bend-test-tmp
tar xzf "$carry/libs.tar.gz" -C /tmp/bend-gpu-lib || exit 2
libdirs=/tmp/bend-gpu-lib/lib
cublas=$(ls /usr/local/cuda/lib64/libcublas.so.13 /usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.13 2>/dev/null | head -1)
[ -n "$cublas" ] || cublas=$(find / -xdev -name 'libcublas.so.13' 2>/dev/null | head -1)
if [ -z "$cublas" ]; then echo "libcublas.so.13 not found on this machine" >&2; exit 2; fi
libdirs=$libdirs:$(dirname "$cublas")
export LD_LIBRARY_PATH=$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export BEND_TEST_FIXTURES=$here/tests/fixtures BEND_TEST_TMP=/tmp/bend-test-tmp BEND_SOURCE_DIR=$here
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "cuBLAS: $cublas"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2

table=""
status=0
for t in $cuda_tests $control_tests; do
    log=$OUT/$t.log
    start=$(date +%s.%N)
    timeout 200 "$carry/bin/$t" >"$log" 2>&1
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    skipped=$(grep '^\[  SKIPPED \] test' "$log" | sort -u | wc -l)
    failed=$(grep '^\[  FAILED  \] test' "$log" | sort -u | wc -l)
    verdict=PASS
    [ "$rc" -ne 0 ] && verdict="FAIL(rc=$rc)"
    case " $cuda_tests " in *" $t "*) [ "$skipped" -gt 0 ] && [ "$rc" -eq 0 ] && verdict=SKIPPED ;; esac
    [ "$verdict" = PASS ] || status=1
    echo "===== $t: $verdict"
    grep -E 'rel err|relative error|FAILED|ERROR|SKIP|running on|LINE' "$log" | tail -60
    table+=$(printf '%-20s %-14s %6ss  skipped=%s failed=%s' "$t" "$verdict" "$secs" "$skipped" "$failed")$'\n'
done
echo
echo "program              result         time   (logs under \$OUT)"
printf '%s' "$table"
exit $status
