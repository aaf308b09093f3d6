#!/usr/bin/env bash
# Builds everything and runs the embedded example: hello.AppImage greets from
# inside its own container. Arguments go to the file, e.g.
#   scripts/example.sh --help
#   scripts/example.sh -- ps
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ELEMENTS_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
echo "+ $build/examples/hello.AppImage $*" >&2
exec "$build/examples/hello.AppImage" "$@"
