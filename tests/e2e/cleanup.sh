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

mount_count() { wc -l </proc/self/mountinfo; }
loop_count() { if ((EUID == 0)); then losetup -a | wc -l; else echo 0; fi; }

check_nothing_left() {  # WHEN
  local i mounts loops
  # The kernel tears a namespace down asynchronously after its last process.
  for ((i = 0; i < 50; i++)); do
    mounts=$(mount_count)
    loops=$(loop_count)
    ((mounts == mounts_before && loops == loops_before)) && break
    sleep 0.1
  done
  expect_eq "$1: host mount count (/proc/self/mountinfo)" "$mounts" "$mounts_before"
  expect_eq "$1: loop device count (losetup -a)" "$loops" "$loops_before"
  if ((EUID == 0)); then
    expect_eq "$1: no loop device over the file" "$(losetup -n -O NAME -j "$E2E_APP")" ""
  fi
  e2e_check_tmpdir "$1"
  if e2e_wait_no_token_process; then
    e2e_pass "$1: no process of the container left"
  else
    e2e_fail "$1: processes left: $(pgrep -a -f -- "$E2E_TOKEN" | tr '\n' ';')"
  fi
}

mounts_before=$(mount_count)
loops_before=$(loop_count)

e2e_run_expect 0 "$E2E_APP" -- sleep 0 "$E2E_TOKEN"
check_nothing_left "after a normal exit"

e2e_start "$E2E_APP" -- sleep 300 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  kill -KILL "$E2E_PID"
  e2e_wait
  expect_eq "the runtime died of SIGKILL" "$E2E_RC" 137
  check_nothing_left "after SIGKILL of the runtime"
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
