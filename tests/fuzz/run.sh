#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS on its seed corpus and fails when it
# finds a crash (ASan, UBSan, an abort on a broken property), a leak, a
# timeout or runaway memory. New inputs go to a scratch corpus that is
# removed afterwards; the input that failed is kept in FUZZ_ARTIFACTS (the
# build folder) and printed, to be added to the seed corpus with its fix.
#
#   tests/fuzz/run.sh FUZZER CORPUS SECONDS [DICTIONARY]
set -euo pipefail

fuzzer=$1 corpus=$2 seconds=$3 dict=${4:-}
artifacts=${FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}
[[ -x $fuzzer ]] || { echo "run.sh: $fuzzer was not built (configure with -DELEMENTS_FUZZ=ON)" >&2; exit 1; }
[[ -d $corpus ]] || { echo "run.sh: no seed corpus at $corpus" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/elements-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"

options=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=65536
         -print_final_stats=1 -print_funcs=0 -artifact_prefix="$artifacts/")
[[ -z $dict ]] || options+=(-dict="$dict")
status=0
"$fuzzer" "${options[@]}" "$scratch" "$corpus" || status=$?
if ((status != 0)); then
  echo "run.sh: $(basename "$fuzzer") failed (status $status); the input is in $artifacts:" >&2
  ls -l "$artifacts" >&2
  exit 1
fi
