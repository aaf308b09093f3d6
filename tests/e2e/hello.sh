#!/usr/bin/env bash
# The embedded example (build/examples/hello.AppImage) greets from inside its
# container, for one mode (see lib.sh). Its command prints the greeting,
# then runs the extra args after -- (here ps, to show the PID namespace).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: hello.sh MODE}"
[[ -x ${E2E_HELLO:?} ]] || e2e_abort "$E2E_HELLO was not built (target hello-example)"
# A copy in the work dir: the build tree may not be readable by the user.
cp "$E2E_HELLO" "$E2E_WORK/hello.AppImage"
E2E_APP=$E2E_WORK/hello.AppImage

if e2e_ran 0 "$E2E_APP"; then
  expect_match "the greeting shows the container's hostname, PID and init" "$E2E_OUT" \
    "^Hello from hello\.[a-z0-9]{12}! I am PID 2; PID 1 is the container's init \(elements-init\)\.\$"
fi

# The greeting, the header of ps, then one line per process.
if e2e_ran 0 "$E2E_APP" -- ps -o pid,comm; then
  expect_match "extra args run inside: ps sees only init and itself" \
    "$(sed 1,2d <<<"$E2E_OUT" | tr -s ' \n' ' ')" '^ ?1 elements-init 2 ps ?$'
fi

# Extraction, and only it, leaves the payload in the cache.
cached=$(find "$E2E_WORK/cache" -mindepth 2 -maxdepth 2 -type d -name '[!.]*' | head -n 1)
if [[ $E2E_EXPECT_PATH == extract ]]; then
  if [[ -n $cached ]]; then e2e_pass "extracted under XDG_CACHE_HOME"
  else e2e_fail "expected the extract path, but nothing was extracted under XDG_CACHE_HOME"; fi
else
  expect_eq "nothing extracted on the $E2E_EXPECT_PATH path" "$cached" ""
fi

e2e_done
