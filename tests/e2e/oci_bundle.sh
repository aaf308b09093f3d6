#!/usr/bin/env bash
# The container for an outside OCI runtime, for one mode and one runtime
# (runc or crun): --elements-oci-bundle DIR writes config.json and rootfs/
# that `RUNTIME run` starts with the same output and exit status as the
# built-in runtime (args, env, a read-write bind as workdir, a read-only
# root, network none, the exit code), and ELEMENTS_OCI_RUNTIME=RUNTIME makes
# the file (and its extracted AppRun) hand its container to that runtime,
# forward signals to it and leave nothing behind. Bad input: a folder that
# is not empty, a writable extracted tree, a runtime that is not there.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: oci_bundle.sh MODE RUNTIME}"
runtime=${2:?usage: oci_bundle.sh MODE RUNTIME}
command -v "$runtime" >/dev/null || e2e_skip "$runtime is not installed (scripts/deps.sh installs it)"
W=$E2E_WORK

# crun refuses a host whose cgroup2 hierarchy sits beside v1 with
# controllers enabled ("hybrid mode"); runc takes it. Where this host is
# one, crun runs in a mount namespace of its own without that hierarchy.
if [[ $runtime == crun ]] && [[ -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
  ((EUID == 0)) || e2e_skip "crun refuses this host's hybrid cgroup layout; as root the test hides it"
  _e2e_as=(unshare --mount --propagation private -- sh -c \
    'umount /sys/fs/cgroup/unified && exec "$@"' sh "${_e2e_as[@]}")
fi

# shellcheck disable=SC2016 # the runtime expands these, not bash
e2e_pack oci '{
    "command": ["/bin/probe"],
    "extraArgs": true,
    "workdir": "/data",
    "args": [
      {"name": "data", "positional": true, "bind": "/data"},
      {"name": "greeting", "short": "g", "env": "GREETING", "default": "hello"},
      {"name": "instance", "short": "n", "instance": true}
    ],
    "env": {"PATH": "/bin", "HOME": "/root", "E2E_ID": "${ELEMENTS_ID}"},
    "network": "none"
  }'
mkdir "$W/data"
echo "from the host" >"$W/data/in"
if [[ $E2E_WHO == user ]] && ((EUID == 0)); then chown -R "$E2E_USER:" "$W/data"; fi
mkdir "$W/state" "$W/mine"
if [[ $E2E_WHO == user ]] && ((EUID == 0)); then chown "$E2E_USER:" "$W/state" "$W/mine"; fi
# The runtime's own state stays in the work dir: rootless runc needs a
# writable --root, and crun takes one too.
run_bundle() {  # BUNDLE ID
  e2e_run "$runtime" --root "$W/state" run --bundle "$1" "$2"
}

words=(do args env "cat:in" "write:/data/out=written" "write:/refused" net "$E2E_TOKEN" exit:3)
args=(data -g hi -n t1 -- "${words[@]}")

# --- 1. The built-in runtime's run: what the others must match.
e2e_run_expect 3 "$E2E_APP" "${args[@]}"
builtin_out=$E2E_OUT
expect_line "the built-in run reads the bind as its workdir" "$builtin_out" "cat:in=from the host"
expect_line "the built-in run has only loopback" "$builtin_out" "net=lo:up"
rm -f "$W/data/out"

# --- 2. The bundle, started by the runtime itself.
B=$W/mine/bundle
if e2e_ran 0 "$E2E_APP" --elements-oci-bundle mine/bundle "${args[@]}"; then
  expect_match "the file says how to run the bundle" "$E2E_ERR" "runc run --bundle $B oci.t1"
  expect_eq "the file prints nothing on stdout" "$E2E_OUT" ""
  [[ -f $B/config.json && -x $B/rootfs/bin/probe ]] ||
    e2e_abort "no config.json and rootfs/bin/probe in $B"
  expect_eq "the bundle has the bind's real host source" \
    "$(jq -r '.mounts[] | select(.destination == "/data") | .source' "$B/config.json")" \
    "$W/data"
  if [[ $E2E_WHO == user ]]; then
    expect_eq "an unprivileged caller gets a user namespace" \
      "$(jq -r '[.linux.namespaces[].type] | index("user") != null' "$B/config.json")" true
  fi
  run_bundle "$B" bundle-run
  expect_eq "$runtime run: the exit status of the built-in run" "$E2E_RC" 3
  expect_eq "$runtime run: the output of the built-in run" "$E2E_OUT" "$builtin_out"
  expect_eq "$runtime run wrote through the read-write bind" "$(cat "$W/data/out" 2>&1)" written
  rm -f "$W/data/out"
fi

# --- 3. ELEMENTS_OCI_RUNTIME: the file hands its container over.
# A user's PATH often lacks /usr/sbin, where runc lives: the file looks there too.
_e2e_env+=(ELEMENTS_OCI_RUNTIME="$runtime" PATH=/usr/local/bin:/usr/bin:/bin)
e2e_run_expect 3 "$E2E_APP" "${args[@]}"
expect_eq "ELEMENTS_OCI_RUNTIME=$runtime: the output of the built-in run" "$E2E_OUT" "$builtin_out"
expect_eq "ELEMENTS_OCI_RUNTIME=$runtime wrote through the bind" "$(cat "$W/data/out" 2>&1)" written
e2e_check_tmpdir "after ELEMENTS_OCI_RUNTIME=$runtime"

# An extracted AppRun hands over its tree as it is, as the bundle's root.
(cd "$W/mine" && "$E2E_APP" --appimage-extract >/dev/null)
if [[ $E2E_WHO == user ]] && ((EUID == 0)); then chown -R "$E2E_USER:" "$W/mine/squashfs-root"; fi
e2e_run_expect 3 "$W/mine/squashfs-root/AppRun" "${args[@]}"
expect_eq "ELEMENTS_OCI_RUNTIME=$runtime from an extracted AppRun: the built-in run's output" \
  "$(grep -v '^ELEMENTS_ARGV0=' <<<"$E2E_OUT")" "$(grep -v '^ELEMENTS_ARGV0=' <<<"$builtin_out")"
rm -f "$W/data/out"
e2e_check_tmpdir "after ELEMENTS_OCI_RUNTIME=$runtime from an extracted AppRun"

# Signals reach the command through the runtime; bundle and state go.
e2e_start "$E2E_APP" data -- wait-signal "$E2E_TOKEN"
if e2e_wait_output ready; then
  kill -TERM "$E2E_PID"
  e2e_wait
  expect_line "SIGTERM reached the command under $runtime" "$E2E_OUT" "SIGTERM"
fi
e2e_wait_no_token_process || e2e_fail "a process of the signalled run is still there"
e2e_check_tmpdir "after a signalled ELEMENTS_OCI_RUNTIME=$runtime run"

# With a terminal on stdin, the process gets a terminal of its own.
if command -v script >/dev/null; then
  tty_out=$(cd "$W" && timeout -k 5 60 script -qec "$(printf '%q ' "${_e2e_as[@]}" \
    "${_e2e_env[@]}" "$E2E_APP" --elements-shell data -- -c tty)" /dev/null 2>&1) || true
  expect_match "a terminal on stdin gives the command one under $runtime" "$tty_out" \
    '/dev/pts/[0-9]+'
  e2e_check_tmpdir "after a run with a terminal"
fi

# --- 4. Bad input: one line, the documented status, nothing written.
mkdir "$W/full" && touch "$W/full/keep"
_e2e_env=("${_e2e_env[@]/ELEMENTS_OCI_RUNTIME=*/ELEMENTS_OCI_RUNTIME=}")
e2e_run_expect 2 "$E2E_APP" --elements-oci-bundle full data
expect_eq "a folder that is not empty is refused in one line" "$E2E_ERR" \
  "oci.AppImage: --elements-oci-bundle: \"$W/full\" is not empty (give a new or empty folder)"
expect_eq "the folder that is not empty is left as it was" "$(ls -A "$W/full")" keep
# A writable container from an extracted tree would write into the tree.
app=$E2E_APP
e2e_pack writable '{"command": ["/bin/probe"], "writable": "tmpfs"}'
rm -rf "$W/mine/squashfs-root"
(cd "$W/mine" && "$E2E_APP" --appimage-extract >/dev/null)
_e2e_env+=(ELEMENTS_OCI_RUNTIME="$runtime")
e2e_run_expect 125 "$W/mine/squashfs-root/AppRun"
expect_eq "a writable extracted tree is refused in one line" "$E2E_ERR" \
  "AppRun: an extracted tree with \"writable\" cannot go to an OCI runtime: it would change the tree itself (hint: run the AppImage file instead of its extracted AppRun)"
E2E_APP=$app
_e2e_env+=(ELEMENTS_OCI_RUNTIME=no-such-runtime)
e2e_run_expect 125 "$E2E_APP" data
expect_match "a missing runtime is named with the fix" "$E2E_ERR" \
  '^oci.AppImage: ELEMENTS_OCI_RUNTIME=no-such-runtime: not found in PATH or the sbin folders \(hint: install runc or crun'
e2e_check_tmpdir "after a missing runtime"

e2e_done
