#!/usr/bin/env bash
# The seam between builder and runtime: builder/ includes only the container
# library's public headers, the ones runtime/container/container.hpp's top
# comment lists.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

src=${E2E_SOURCE:?}
public=$(sed -n '1,/^#pragma/p' "$src/runtime/container/container.hpp" |
  grep -o 'runtime/[a-z_/]*\.hpp' | sort -u)
[[ -n $public ]] || e2e_abort "runtime/container/container.hpp's top comment lists no public header"
checked=0
while IFS= read -r -d '' file; do
  while read -r header; do
    checked=$((checked + 1))
    [[ -f $src/$header ]] || e2e_fail "${file#"$src"/} includes $header, which does not exist"
    if grep -qx "$header" <<<"$public"; then e2e_pass "${file#"$src"/} includes $header (public)"
    else e2e_fail "${file#"$src"/} includes $header, internal to the container library"; fi
  done < <(sed -n 's/^#include "\(runtime\/[^"]*\)".*/\1/p' "$file")
done < <(find "$src/builder" \( -name '*.cpp' -o -name '*.hpp' \) -print0)
((checked > 0)) || e2e_fail "no builder file includes the container library: is the seam gone?"
e2e_done
