#!/usr/bin/env bash
# The runtime stub as it goes in front of every payload: static (no loader
# on the host is involved), within its stripped size budget, with the
# AppImage type 2 magic and the three reserved sections.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

runtime=${E2E_RUNTIME:?}
budget=${E2E_RUNTIME_BUDGET:?}
[[ -f $runtime ]] || e2e_abort "$runtime was not built"
[[ ${E2E_SANITIZE:-OFF} != ON ]] ||
  e2e_skip "this build has ELEMENTS_SANITIZE=ON: ASan needs a dynamically linked runtime," \
    "so static linking and the size budget are checked only in a build without it"

expect_match "file(1): statically linked" "$(file -b "$runtime")" 'statically linked'
ldd_out=$(ldd "$runtime" 2>&1 || true)
expect_match "ldd: not a dynamic executable" "$ldd_out" 'not a dynamic executable'

size=$(stat -c %s "$runtime")
echo "stripped runtime: $size bytes (budget $budget)"
if ((size <= budget)); then e2e_pass "size $size <= budget $budget"
else e2e_fail "the stripped runtime is $size bytes, over its budget of $budget"; fi
if readelf -S -W "$runtime" | grep -q '\.symtab'; then e2e_fail "the runtime still has a symbol table (not stripped)"
else e2e_pass "stripped"; fi

expect_eq "AppImage type 2 magic at e_ident[8..10]" \
  "$(od -An -tx1 -j8 -N3 "$runtime" | tr -d ' \n')" 414902

sections=$(readelf -S -W "$runtime" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk '{print $1, $5}')
for want in ".upd_info 000400" ".sha256_sig 000400" ".sig_key 002000"; do
  expect_line "section ${want% *} of ${want#* } bytes (hex)" "$sections" "$want"
done

e2e_done
