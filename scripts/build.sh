#!/usr/bin/env bash
# Installs what is missing (deps.sh), configures and builds everything:
# common, the runtime, elements-pack, the hello example and the tests.
#
#   scripts/build.sh         build into build/ (ELEMENTS_BUILD_DIR overrides)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ELEMENTS_BUILD_DIR:-$root/build}

"$root/scripts/deps.sh"
cmake -S "$root" -B "$build"
cmake --build "$build" --parallel "$(nproc)"
