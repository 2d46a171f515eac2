#!/usr/bin/env bash
# Quick start, second command: installs what is missing, builds, and runs the whole test suite:
# once in Release (with warnings as errors), once under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== Release build and tests"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DREGULA_WERROR=ON
cmake --build build-test -j2
ctest --test-dir build-test --output-on-failure -j2

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREGULA_SANITIZE=ON -DREGULA_WERROR=ON \
  -DREGULA_BUILD_TOOLS=OFF -DREGULA_BUILD_BENCH=OFF -DREGULA_BUILD_EXAMPLES=OFF
cmake --build build-asan -j2
UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j2 -L unit
