#!/usr/bin/env bash
# Nothing outlives a run (DESIGN.md section 3), for one mode: after a normal
# exit and after SIGKILL of the runtime itself, the host has the same mounts
# and loop devices as before, no process of the container is left and
# nothing is left in TMPDIR.
# Registered RUN_SERIAL: the host-wide counts compared here would also see
# the mounts of tests running beside it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: cleanup.sh MODE}"
e2e_pack probe

e2e_snapshot_host

e2e_run_expect 0 "$E2E_APP" -- sleep 0 "$E2E_TOKEN"
e2e_check_nothing_left "after a normal exit"

e2e_start "$E2E_APP" -- sleep 300 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  kill -KILL "$E2E_PID"
  e2e_wait
  expect_eq "the runtime died of SIGKILL" "$E2E_RC" 137
  e2e_check_nothing_left "after SIGKILL of the runtime"
else
  e2e_wait
fi

if [[ $E2E_EXPECT_PATH == extract ]]; then
  # Hidden entries beside it are the cache's own bookkeeping.
  dirs=$(find "$E2E_WORK/cache/elements" -mindepth 1 -maxdepth 1 -type d -name '[!.]*' | wc -l)
  expect_eq "one extracted payload in the cache" "$dirs" 1
  expect_eq "no temp dir left in the cache" \
    "$(find "$E2E_WORK/cache/elements" -mindepth 1 -maxdepth 1 -iname '*tmp*')" ""
fi

e2e_done
