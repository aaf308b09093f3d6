#!/usr/bin/env bash
# Containment, for one mode (see lib.sh): a hostile image tries every way
# out that a process inside can reach (SECURITY.md, "Ways out of the
# container"). The probe's "escape" word follows every /proc/*/fd/*,
# /proc/*/cwd and /proc/*/root it can open and proves each stays inside the
# rootfs, and tries PTRACE_SEIZE, process_vm_readv, /proc/PID/mem, environ,
# maps, auxv and pidfd_getfd on every process that is not a copy of itself:
# PID 1 (the runtime's init) and a runtime joining with --elements-exec,
# held at the last step before its command starts. It runs as "user": "root"
# and "keep", with a bind, an output folder, an instance name and persistent
# layers, so every host descriptor the runtime opens exists during the run.
# Also: the container's session keyring is its own, and a caller that is
# root only in a user namespace of its own runs the file as an unprivileged
# caller does.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: containment.sh MODE}"
e2e_require_tools "install keyutils: scripts/deps.sh does" keyctl
uniq=${E2E_WORK##*.}

mkdir -p "$E2E_WORK/bindsrc" "$E2E_WORK/data" "$E2E_WORK/outputs"
echo "$E2E_TOKEN" >"$E2E_WORK/bindsrc/marker"
if [[ $E2E_WHO == user ]] && ((EUID == 0)); then
  chown "$E2E_USER:" "$E2E_WORK/bindsrc" "$E2E_WORK/data" "$E2E_WORK/outputs"
fi

# RUN JSON of a file that runs the probe as USER, with every kind of host
# folder the runtime opens: a spec bind, an arg bind, /out, persist layers.
escape_run() {  # USER
  cat <<EOF
{
    "command": ["/bin/probe", "do"],
    "extraArgs": true,
    "user": "$1",
    "env": {"PATH": "/bin"},
    "writable": "persist",
    "args": [
      {"name": "data", "positional": true, "bind": "/data", "readOnly": false,
       "required": false},
      {"name": "instance", "short": "n", "instance": true},
      {"name": "output", "short": "o", "output": true}
    ],
    "binds": [{"source": "$E2E_WORK/bindsrc", "target": "/mnt/bound", "readOnly": true}]
  }
EOF
}

# The probe's report had no hole and attacked at least ATTACKED, a pid:comm
# list as "escape_processes" shows it (in order).
expect_shut() {  # DESCRIPTION ATTACKED_ERE
  local holes attacked
  holes=$(grep '^escape:' <<<"$E2E_OUT" || true)
  attacked=$(probe_value "$E2E_OUT" escape_processes)
  expect_match "$1: the probe attacked $attacked" "$attacked" "$2"
  if [[ $(probe_value "$E2E_OUT" escape) == none && -z $holes ]]; then
    e2e_pass "$1: no way out"
  else
    e2e_fail "$1: ways out of the container:
$holes
$(grep '^escape=' <<<"$E2E_OUT")"
  fi
}

for user in root keep; do
  e2e_pack "escape-$user" "$(escape_run "$user")"
  app=$E2E_APP

  # --- PID 1 and every descriptor, with the command running as USER.
  if e2e_ran 0 "$app" -n "c-$user-$uniq" -o "outputs/res-$user" "$E2E_WORK/data" -- \
    cat:/mnt/bound/marker write:/out/result=ok escape "$E2E_TOKEN"; then
    expect_line "$user: the spec bind is there" "$E2E_OUT" "cat:/mnt/bound/marker=$E2E_TOKEN"
    expect_shut "$user" '(^|,)1:elements-init(,|$)'
  fi
  expect_eq "$user: /out was delivered" "$(cat "$E2E_WORK/outputs/res-$user" 2>&1)" ok

  # --- A runtime joining the running instance: held by the fault hook at the
  # last step before its command replaces it, it is in the container's PID
  # namespace for the probe to attack.
  id=escape-$user.x-$user-$uniq
  e2e_start "$app" -n "x-$user-$uniq" "$E2E_WORK/data" -- escape-watch:8 "$E2E_TOKEN"
  main_pid=$E2E_PID
  if e2e_wait_output watching; then
    # Seen from the host (root may look at what the container may not):
    # PID 1 holds stdio and nothing else once the command runs.
    if ((EUID == 0)); then
      init_pid=$(awk '{print $1}' /proc/"$main_pid"/task/"$main_pid"/children)
      expect_eq "$user: PID 1 holds only stdio" \
        "$(find /proc/"$init_pid"/fd -mindepth 1 -printf '%f\n' | sort -n | paste -sd,)" 0,1,2
    fi
    (
      _e2e_close_fds
      cd "$E2E_WORK"
      exec "${_e2e_as[@]}" "${_e2e_env[@]}" ELEMENTS_STOP_AT="command: exec" \
        "$app" --elements-exec "$id" -- /bin/probe exit 0 "$E2E_TOKEN"
    ) </dev/null >"$E2E_WORK/join.out" 2>"$E2E_WORK/join.err" &
    join_pid=$!
    e2e_defer "kill -KILL $join_pid 2>/dev/null"
    for _ in $(seq 100); do
      grep -q 'stopped at "command: exec' "$E2E_WORK/join.err" && break
      sleep 0.1
    done
    if grep -q 'stopped at "command: exec' "$E2E_WORK/join.err"; then
      e2e_pass "$user: the joining runtime is held before its command starts"
    else
      e2e_fail "$user: the joining runtime did not reach 'command: exec': $(<"$E2E_WORK/join.err")"
    fi
    # The watch ends by itself; the held joiner goes with the container.
    for _ in $(seq 200); do
      [[ $(_e2e_state "$main_pid") == [ZX-] ]] && break
      sleep 0.1
    done
    E2E_OUT=$(<"$E2E_WORK/stdout")
    expect_shut "$user, joined by --elements-exec" '^1:elements-init,[0-9]+:'
    kill -KILL "$join_pid" 2>/dev/null || true
    wait "$join_pid" 2>/dev/null || true
  fi
done

# --- The session keyring: a host secret is not readable inside, and a key
# added inside does not reach the host's keyring. In a session keyring of
# the test's own, gone when it ends.
key=elements-e2e-$uniq
e2e_pack keys "$E2E_PROBE_RUN"
# shellcheck disable=SC2016 # expanded by the inner shell
e2e_run keyctl session - sh -c '
  keyctl add user "$1" "secret-$1" @s >/dev/null || exit 99
  echo "host-own=$(keyctl pipe "$(keyctl search @s user "$1")")"
  "$2" -- do "key-read:$1" "key-add:$1-inside=leaked" "key-read:$1-inside" || exit
  echo "host-inside=$(keyctl search @s user "$1-inside" 2>&1)"' sh "$key" "$E2E_APP"
if ((E2E_RC == 0)); then
  expect_line "the host reads its own key" "$E2E_OUT" "host-own=secret-$key"
  expect_match "a host key is not readable inside" "$(probe_value "$E2E_OUT" "key-read:$key")" \
    '^no \(ENOKEY\)$'
  expect_line "the container keeps keys of its own" "$E2E_OUT" "key-read:$key-inside=leaked"
  expect_match "a key added inside does not reach the host's session keyring" \
    "$(probe_value "$E2E_OUT" host-inside)" 'not available'
else
  e2e_fail "the keyring run exited $E2E_RC; stderr:
$E2E_ERR"
fi

# --- Root of a user namespace of its own is not the host's root.
if [[ $E2E_MOUNT == auto ]]; then
  if "${_e2e_as[@]}" unshare -Ur true 2>/dev/null; then
    e2e_run unshare -Ur "$E2E_APP" -- info "$E2E_TOKEN"
    if ((E2E_RC == 0)); then
      e2e_pass "'unshare -Ur $(basename "$E2E_APP") -- info' exits 0"
      expect_eq "root of a user namespace is root inside" "$(probe_value "$E2E_OUT" uid)" 0
    else
      e2e_fail "'unshare -Ur $(basename "$E2E_APP") -- info' exited $E2E_RC; stderr:
$E2E_ERR"
    fi
  else
    e2e_fail "unshare -Ur failed, though the mode's user namespaces work"
  fi
fi

e2e_done
