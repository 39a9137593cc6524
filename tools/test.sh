#!/usr/bin/env bash
# The test command of README.md: installs dependencies, builds, runs every test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-2}" "$@"
