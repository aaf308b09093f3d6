#!/usr/bin/env bash
# SIGKILL of the runtime at each stage of a run, for one mode (see lib.sh):
# after the spec is read (nothing set up yet), once the namespaces exist,
# once the payload is mounted (loop device, FUSE server or extracted tree),
# in the container's PID 1 once its root filesystem is set up, and while the
# command runs. Each time the host has the same mounts and loop devices as
# before, no process of the run, no instance socket and nothing in TMPDIR.
# For the extract path also: a kill in the middle of an extraction and
# several first runs at once never leave or serve a half-extracted tree.
#
# The runtime is held at a stage with ELEMENTS_STOP_AT=STEP, which makes it
# print "stopped at" and wait at the first --elements-debug step starting
# with STEP, so the kill lands at a known point every time; polling from
# outside could not see the steps inside PID 1 or mid-extraction. The hook
# only makes the caller's own run wait, as kill -STOP would.
# Registered RUN_SERIAL: the host-wide counts would see tests beside it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: faults.sh MODE}"
# A name of its own: the instance sockets checked carry it.
name=faults-${E2E_TOKEN##*-}
e2e_pack "$name"
e2e_snapshot_host

# Starts a run held at STEP, kills the runtime there and checks the host.
kill_at() {  # STEP
  local i
  _e2e_env+=(ELEMENTS_STOP_AT="$1")
  e2e_start "$E2E_APP" -- sleep 300 "$E2E_TOKEN"
  unset '_e2e_env[-1]'
  for ((i = 0; i < 100; i++)); do
    grep -q "stopped at \"$1" "$E2E_WORK/stderr" && break
    [[ $(_e2e_state "$E2E_PID") == [ZX-] ]] && break
    sleep 0.1
  done
  if ! grep -q "stopped at \"$1" "$E2E_WORK/stderr"; then
    e2e_fail "the runtime did not reach the step '$1' within 10 s; stderr:
$(<"$E2E_WORK/stderr")"
  fi
  kill -KILL "$E2E_PID"
  e2e_wait
  expect_eq "killed at '$1': the runtime died of SIGKILL" "$E2E_RC" 137
  e2e_check_nothing_left "killed at '$1'" "$name"
  if [[ $1 == extracting* ]]; then
    # Killed half-way indeed: a temp tree with files in it, no finished one.
    local cache=$E2E_WORK/cache/elements
    expect_match "killed at '$1': a half-extracted temp tree is left in the cache" \
      "$(find "$cache" -mindepth 2 -path "$cache/.tmp-*" -type f | wc -l)" '^[1-9]'
    expect_eq "killed at '$1': no extracted tree in the cache" \
      "$(find "$cache" -mindepth 1 -maxdepth 1 -name '[!.]*' | wc -l)" 0
  fi
}

ns_step="mount namespace"
[[ $E2E_WHO == user ]] && ns_step="user and mount namespaces"
steps=("spec read" "$ns_step")
[[ $E2E_EXPECT_PATH == extract ]] && steps+=("extracting: first file written")
steps+=("payload:" "root filesystem ready")
for step in "${steps[@]}"; do kill_at "$step"; done

# While the command runs.
e2e_start "$E2E_APP" -- sleep 300 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  kill -KILL "$E2E_PID"
  e2e_wait
  expect_eq "killed while the command runs: the runtime died of SIGKILL" "$E2E_RC" 137
  e2e_check_nothing_left "killed while the command runs" "$name"
else
  e2e_wait
fi

# A run after all the kills works: no state was left to block it.
if e2e_ran 0 "$E2E_APP" -- "do" cat:/etc/passwd; then
  expect_line "a run after the kills reads the image" "$E2E_OUT" \
    "cat:/etc/passwd=root:x:0:0:root:/root:/bin/sh"
fi

if [[ $E2E_EXPECT_PATH == extract ]]; then
  cache=$E2E_WORK/cache/elements
  # The tree the cache holds, against the payload as unsquashfs reads it.
  expect_complete_tree() {  # WHEN
    local trees
    trees=$(find "$cache" -mindepth 1 -maxdepth 1 -type d -name '[!.]*')
    if [[ $(wc -l <<<"$trees") != 1 || -z $trees ]]; then
      e2e_fail "$1: expected one extracted tree in the cache, found: $trees"
      return
    fi
    rm -rf "$E2E_WORK/unpacked"
    unsquashfs -q -n -d "$E2E_WORK/unpacked" -o "$("$E2E_APP" --appimage-offset)" "$E2E_APP" \
      >/dev/null
    if diff -r --no-dereference "$E2E_WORK/unpacked/rootfs" "$trees/rootfs" >"$E2E_WORK/diff"; then
      e2e_pass "$1: the cached tree is the whole payload"
    else
      e2e_fail "$1: the cached tree differs from the payload: $(head -n 5 "$E2E_WORK/diff")"
    fi
    rm -rf "$E2E_WORK/unpacked"
    expect_eq "$1: no temp dir left in the cache" "$(find "$cache" -maxdepth 1 -name '.tmp-*')" ""
  }
  expect_complete_tree "after a kill mid-extraction and a normal run"

  # Several first runs at once, each with its own exit status, all reading
  # the image; one extracts, the others wait for it or reuse its tree.
  chmod -R u+w "$cache" && rm -rf "$cache"
  runs=8
  E2E_PIDS=()
  for ((i = 0; i < runs; i++)); do
    e2e_start_one_of_many "$E2E_WORK/out.$i" "$E2E_APP" -- "do" cat:/etc/passwd "exit:$((10 + i))" \
      "$E2E_TOKEN"
  done
  wrong=
  for ((i = 0; i < runs; i++)); do
    rc=0
    wait "${E2E_PIDS[i]}" || rc=$?
    grep -qxF "cat:/etc/passwd=root:x:0:0:root:/root:/bin/sh" "$E2E_WORK/out.$i" || rc="$rc (no /etc/passwd)"
    [[ $rc == $((10 + i)) ]] || wrong+=" run $i: $rc $(tr '\n' ' ' <"$E2E_WORK/out.$i");"
  done
  if [[ -z $wrong ]]; then e2e_pass "$runs concurrent first runs all read the image and exit right"
  else e2e_fail "concurrent first runs:$wrong"; fi
  expect_complete_tree "after $runs concurrent first runs"
fi

e2e_done
