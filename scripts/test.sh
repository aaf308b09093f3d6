#!/usr/bin/env bash
# Builds everything and runs the whole test suite (unit and end-to-end);
# exits non-zero when any test fails. Run as root for the full suite: the
# end-to-end tests also run the files as an unprivileged user they create,
# and without root those parts are skipped. This is what CI runs.
#
#   scripts/test.sh [CTEST_ARGS...]   e.g. scripts/test.sh -R 'e2e: basics'
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ELEMENTS_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
# Tests that must not overlap say so themselves (RESOURCE_LOCK, RUN_SERIAL).
ctest --test-dir "$build" --output-on-failure --no-tests=error \
  --parallel "$(nproc)" "$@"
