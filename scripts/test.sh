#!/usr/bin/env bash
# Builds everything and runs the whole test suite (unit and end-to-end);
# exits non-zero when any test fails. Run as root for the full suite: the
# end-to-end tests also run the files as an unprivileged user they create,
# and without root those parts are skipped. This is what CI runs.
#
# Then the same suites again on a second build with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang, ELEMENTS_SANITIZE and ELEMENTS_FUZZ),
# which also fuzzes each parser for ELEMENTS_FUZZ_SECONDS (10) seconds
# ("fuzz: ..." tests). ELEMENTS_HARDENING=0 skips that second build.
#
#   scripts/test.sh [CTEST_ARGS...]   e.g. scripts/test.sh -R 'e2e: basics'
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ELEMENTS_BUILD_DIR:-$root/build}
hardened=${ELEMENTS_SANITIZE_BUILD_DIR:-$root/build-sanitize}

"$root/scripts/build.sh"
# Tests that must not overlap say so themselves (RESOURCE_LOCK, RUN_SERIAL).
ctest --test-dir "$build" --output-on-failure --no-tests=error \
  --parallel "$(nproc)" "$@"

[[ ${ELEMENTS_HARDENING:-1} != 0 ]] || exit 0
echo "test.sh: the suites again with ASan and UBSan, then the fuzz targets ($hardened)"
cmake -S "$root" -B "$hardened" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DELEMENTS_SANITIZE=ON -DELEMENTS_FUZZ=ON \
  -DELEMENTS_FUZZ_SECONDS="${ELEMENTS_FUZZ_SECONDS:-10}"
cmake --build "$hardened" --parallel "$(nproc)"
# A sanitizer's report ends the program with status 1, with a stack trace.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
ctest --test-dir "$hardened" --output-on-failure --no-tests=error \
  --parallel "$(nproc)" "$@"
