#!/usr/bin/env bash
# Load, for one mode (see lib.sh): CONCURRENT runs of the same file at once
# all succeed with their own exit status, and SEQUENTIAL runs one after the
# other leave the host exactly as before: the same mounts, the caller's
# same open fds, the same entries in /tmp and nothing in TMPDIR, no process
# and no instance socket.
#   load.sh MODE [CONCURRENT [SEQUENTIAL]]     defaults 50 and 1000
# Registered RUN_SERIAL: the host-wide counts would see tests beside it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: load.sh MODE [CONCURRENT [SEQUENTIAL]]}"
concurrent=${2:-50}
sequential=${3:-1000}
name=load-${E2E_TOKEN##*-}
e2e_pack "$name"

# The first run extracts or warms up; the counts start after it.
e2e_run_expect 0 "$E2E_APP" -- exit 0 "$E2E_TOKEN"

# By numeric ids: a thousand user lookups would also see the moment another
# test run deletes and creates the test user again.
runner=$(id -un)
if ((${#_e2e_as[@]} > 0)); then
  _e2e_as=(setpriv --reuid="$(id -u "$E2E_USER")" --regid="$(id -g "$E2E_USER")" --clear-groups --)
  runner=$E2E_USER
fi

# What a run must not change on the host. In /tmp: what the runs' user owns
# there, but for the work dirs of tests (what else comes and goes in /tmp is
# other processes' business).
# Entries of other programs may vanish while find looks at them: not an error.
tmp_entries() {
  { find /tmp -mindepth 1 -maxdepth 1 -user "$runner" ! -name 'elements-e2e.*' 2>/dev/null ||
    true; } | sort
}
# Listed by find into a file, outside a command substitution, which would
# hold a pipe of its own in the list.
caller_fds() { find "/proc/$$/fd" -mindepth 1 -printf '%f -> %l\n' >"$E2E_WORK/fds.$1"; }
e2e_snapshot_host
tmp_before=$(tmp_entries)
caller_fds before

check_host() {  # WHEN
  e2e_check_nothing_left "$1" "$name"
  caller_fds after
  expect_eq "$1: the caller's open fds" "$(sort -n "$E2E_WORK/fds.after" | tr '\n' ' ')" \
    "$(sort -n "$E2E_WORK/fds.before" | tr '\n' ' ')"
  local tmp_after
  tmp_after=$(tmp_entries)
  if [[ $tmp_after == "$tmp_before" ]]; then e2e_pass "$1: the same entries in /tmp"
  else e2e_fail "$1: /tmp changed: $(diff <(echo "$tmp_before") <(echo "$tmp_after") | tr '\n' ' ')"; fi
}

# --- CONCURRENT runs at once, run i exiting with status i % 100
start=$(date +%s%N)
E2E_PIDS=()
for ((i = 0; i < concurrent; i++)); do
  e2e_start_one_of_many "$E2E_WORK/out.$i" "$E2E_APP" -- exit $((i % 100)) "$E2E_TOKEN"
done
wrong=
for ((i = 0; i < concurrent; i++)); do
  rc=0
  wait "${E2E_PIDS[i]}" || rc=$?
  ((rc == i % 100)) || wrong+=" run $i exited $rc: $(tr '\n' ' ' <"$E2E_WORK/out.$i");"
  rm -f "$E2E_WORK/out.$i"
done
ms=$((($(date +%s%N) - start) / 1000000))
if [[ -z $wrong ]]; then
  e2e_pass "$concurrent concurrent runs all exited with their own status ($ms ms in all)"
else
  e2e_fail "of $concurrent concurrent runs:$wrong"
fi
check_host "after $concurrent concurrent runs"

# --- SEQUENTIAL runs, one after the other
start=$(date +%s%N)
failed=0
first_failure=
for ((i = 0; i < sequential; i++)); do
  rc=0
  timeout -k 5 60 "${_e2e_as[@]}" "${_e2e_env[@]}" "$E2E_APP" -- exit $((i % 7)) "$E2E_TOKEN" \
    </dev/null >/dev/null 2>"$E2E_WORK/stderr" || rc=$?
  if ((rc != i % 7)); then
    failed=$((failed + 1))
    [[ -n $first_failure ]] || first_failure="run $i exited $rc: $(<"$E2E_WORK/stderr")"
  fi
done
ms=$((($(date +%s%N) - start) / 1000000))
if ((failed == 0)); then
  e2e_pass "$sequential sequential runs all exited with their own status" \
    "($ms ms in all, $((ms / sequential)) ms a run)"
else
  e2e_fail "$failed of $sequential sequential runs went wrong; the first: $first_failure"
fi
check_host "after $sequential sequential runs"

e2e_done
