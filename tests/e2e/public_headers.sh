#!/usr/bin/env bash
# The seam between builder and runtime: builder/ includes only the container
# library's public headers, the ones runtime/container.hpp's top comment lists.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

src=${E2E_SOURCE:?}
public=$(sed -n '1,/^#pragma/p' "$src/runtime/container.hpp" | grep -o '[a-z_]*\.hpp' | sort -u)
[[ -n $public ]] || e2e_abort "runtime/container.hpp's top comment lists no public header"
checked=0
for file in "$src"/builder/*.cpp "$src"/builder/*.hpp; do
  while read -r header; do
    [[ -f $src/builder/$header || ! -f $src/runtime/$header ]] && continue
    checked=$((checked + 1))
    if grep -qx "$header" <<<"$public"; then e2e_pass "builder/${file##*/} includes $header (public)"
    else e2e_fail "builder/${file##*/} includes runtime/$header, internal to the container library"; fi
  done < <(sed -n 's/^#include "\([^"/]*\)".*/\1/p' "$file")
done
((checked > 0)) || e2e_fail "no builder file includes the container library: is the seam gone?"
e2e_done
