#!/usr/bin/env bash
# The registry of instance names (runtime/container/instance.hpp, SECURITY.md), for
# root or the unprivileged user as the caller:
#   - another real user (nobody) who binds the old abstract name
#     @elements/UID/ID first neither blocks the caller's start nor receives
#     its --elements-exec, and cannot connect to the caller's socket;
#   - a container on the host network that binds that name (and paths it
#     can reach) does not receive --elements-exec: with no such instance the
#     caller is told so, with one it reaches the real instance;
#   - the container does not see the registry;
#   - the joining runtime shows as elements-exec, holds only fds 0, 1 and 2
#     and is not dumpable while its command runs;
#   - the duplicate check holds from another network namespace;
#   - after SIGKILL of the runtime the name can be started again at once;
#   - the folder is refused, with one line naming it and the fix, when it is
#     a symlink, another user's or writable by others, under XDG_RUNTIME_DIR
#     and at the fallback /tmp/elements-UID (pre-made by another user in a
#     /tmp of the test's own); an XDG_RUNTIME_DIR that is not the caller's
#     own 0700 folder is not used.
# Acts as another user and makes namespaces: root only.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: instance_registry.sh root|user}"
((EUID == 0)) || e2e_skip "acts as another user and in other namespaces: run ctest as root"
: "${E2E_SQUATTER:?run the end-to-end tests through ctest}"
e2e_require_tools "install util-linux" unshare setpriv
other=nobody
id "$other" >/dev/null 2>&1 || e2e_skip "no user $other to act as another user"
other_uid=$(id -u "$other")
other_gid=$(id -g "$other")
if [[ $E2E_WHO == user ]]; then victim=$E2E_USER; else victim=root; fi
uid=$(id -u "$victim")
uniq=${E2E_WORK##*.}

# lib.sh gives the runs XDG_RUNTIME_DIR=$E2E_WORK/run, the caller's 0700
# folder: the registry is $run/elements.
run=$E2E_WORK/run
registry=$run/elements

e2e_rootfs
cp "$E2E_SQUATTER" "$E2E_WORK/rootfs/bin/squatter"
chmod 0755 "$E2E_WORK/rootfs/bin/squatter"
# shellcheck disable=SC2016 # the runtime expands these, not bash
e2e_pack hostile '{
    "command": ["/bin/squatter", "listen", "40"],
    "extraArgs": true,
    "network": "host",
    "env": {"PATH": "/bin"}
  }'
hostile_app=$E2E_APP
# shellcheck disable=SC2016
e2e_pack inst '{
    "command": ["/bin/probe", "do"],
    "extraArgs": true,
    "hostname": "h-${ELEMENTS_INSTANCE}",
    "network": "none",
    "args": [{"name": "instance", "short": "n", "instance": true}],
    "env": {"PATH": "/bin"}
  }'
app=$E2E_APP
name=$(basename "$app")

already_running() {  # ID
  echo "$name: an instance named \"inst.$1\" is already running (hint: choose another instance name, or use --elements-exec inst.$1 -- CMD to run a command in it)"
}
none_running() {  # ID
  echo "$name: no running instance named \"inst.$1\" (hint: ELEMENTS_ID is NAME.INSTANCE; start the file first, with its instance option if it has one)"
}
refused() {  # FOLDER WHY: the runtime's line for a folder it will not use
  case $2 in
    link) echo "$name: the instance folder $1 is a symlink or not a folder (hint: remove it, or set XDG_RUNTIME_DIR to a folder of your own with mode 0700)" ;;
    owner) echo "$name: the instance folder $1 belongs to uid $other_uid, not to you (hint: remove it, or set XDG_RUNTIME_DIR to a folder of your own with mode 0700)" ;;
    mode) echo "$name: the instance folder $1 is writable by group or others (mode 0777) (hint: chmod 0700 $1)" ;;
  esac
}

# Another user's process in the background, its output in FILE; waits
# until it printed "squatting".
other_pids=()
start_as_other() {  # FILE COMMAND...
  local out=$1 i
  shift
  (
    _e2e_close_fds
    cd /
    exec setpriv --reuid="$other" --regid="$other_gid" --clear-groups -- "$@"
  ) </dev/null >"$out" 2>&1 &
  other_pids+=($!)
  e2e_defer "kill -KILL $! 2>/dev/null"
  wait_line "$out" squatting || true
}
wait_line() {  # FILE LINE: up to 10 s
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qxF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  e2e_fail "no line '$2' within 10 s in $1: $(cat "$1")"
  return 1
}
expect_not_connected() {  # DESCRIPTION FILE
  expect_no_match "$1" "$(cat "$2")" '^connected:'
}
expect_entries() {  # DESCRIPTION ID EXPECTED ("lock socket", "" for none)
  local got=
  [[ -f $registry/inst.$2.lock ]] && got+=lock
  [[ -S $registry/inst.$2.sock ]] && got+="${got:+ }socket"
  expect_eq "$1" "$got" "$3"
}

# --- Another user holds the abstract name the runtime used to take.
id1=squat-$uniq
start_as_other "$E2E_WORK/other.out" "$E2E_SQUATTER" listen 40 "@elements/$uid/inst.$id1" "$E2E_TOKEN"
expect_line "$other can bind @elements/$uid/inst.$id1" "$(cat "$E2E_WORK/other.out")" \
  "listen:@elements/$uid/inst.$id1=yes"
e2e_start "$app" -n "$id1" -- info sleep:40 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  e2e_pass "$other's abstract socket does not block the name inst.$id1"
  expect_eq "the registry is the caller's, mode 0700" "$(stat -c '%U %a' "$registry")" "$victim 700"
  expect_entries "the running instance holds inst.$id1.lock and inst.$id1.sock" "$id1" "lock socket"
  expect_eq "$other cannot connect to the instance's socket" \
    "$(setpriv --reuid="$other" --regid="$other_gid" --clear-groups -- \
      "$E2E_SQUATTER" connect "$registry/inst.$id1.sock")" \
    "connect:$registry/inst.$id1.sock=no (Permission denied)"
  if e2e_ran 0 "$app" --elements-exec "$id1" -- /bin/probe do info \
    "ls:/tmp" "ls:/run" "ls:$registry" "$E2E_TOKEN"; then
    expect_eq "--elements-exec reaches the real instance" "$(probe_value "$E2E_OUT" hostname)" "h-$id1"
    expect_eq "the container's /tmp holds nothing of the host" "$(probe_value "$E2E_OUT" ls:/tmp)" ""
    expect_eq "the container's /run is the image's" "$(probe_value "$E2E_OUT" ls:/run)" ""
    expect_match "the container does not see the registry" \
      "$(probe_value "$E2E_OUT" "ls:$registry")" '^no \('
  fi
  expect_not_connected "$other's socket received nothing" "$E2E_WORK/other.out"

  # The joining runtime, while its command runs: recognisable, holding
  # nothing but the terminal's descriptors, non-dumpable (its /proc entries
  # closed to its own user).
  E2E_PIDS=()
  e2e_start_one_of_many "$E2E_WORK/exec.out" "$app" --elements-exec "$id1" -- \
    /bin/probe do sleep:5 "$E2E_TOKEN"
  if wait_line "$E2E_WORK/exec.out" sleeping; then
    joiner=
    for pid in $(pgrep -f -- "--elements-exec $id1 -- /bin/probe do sleep:5"); do
      [[ $(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) == "$app" ]] && joiner=$pid
    done
    if [[ -n $joiner ]]; then
      expect_eq "the joining runtime is named elements-exec" "$(cat "/proc/$joiner/comm")" \
        elements-exec
      expect_eq "the joining runtime holds only fds 0, 1 and 2" \
        "$(ls "/proc/$joiner/fd" | sort -n | tr '\n' ' ')" "0 1 2 "
      if [[ $E2E_WHO == user ]]; then
        expect_match "the joining runtime is not dumpable: its user cannot read its environ" \
          "$(setpriv --reuid="$victim" --regid="$victim" --clear-groups -- \
            cat "/proc/$joiner/environ" 2>&1 >/dev/null)" 'Permission denied'
      fi
    else
      e2e_fail "no runtime runs the --elements-exec: $(pgrep -a -f -- "--elements-exec $id1")"
    fi
  fi
  wait "${E2E_PIDS[0]}" || e2e_fail "the --elements-exec with sleep:5 failed: $(cat "$E2E_WORK/exec.out")"
  kill -TERM "$E2E_PID"
fi
e2e_wait
expect_entries "a run that ended removed its entries" "$id1" ""
kill -KILL "${other_pids[@]}" 2>/dev/null || true
wait "${other_pids[@]}" 2>/dev/null || true

# --- A container on the host network binds the name, and every path it can reach.
id2=hostile-$uniq
E2E_PIDS=()
e2e_start_one_of_many "$E2E_WORK/hostile.out" "$hostile_app" -- "@elements/$uid/inst.$id2" \
  "$registry/inst.$id2.sock" "/tmp/elements-$uid/inst.$id2.sock" \
  "/run/user/$uid/elements/inst.$id2.sock" "$E2E_TOKEN"
e2e_defer "kill -KILL ${E2E_PIDS[0]} 2>/dev/null"
if wait_line "$E2E_WORK/hostile.out" squatting; then
  expect_line "the hostile container holds @elements/$uid/inst.$id2" \
    "$(cat "$E2E_WORK/hostile.out")" "listen:@elements/$uid/inst.$id2=yes"
  e2e_run "$app" --elements-exec "$id2" -- /bin/probe do info "$E2E_TOKEN"
  expect_eq "--elements-exec of no running instance: exit status" "$E2E_RC" 125
  expect_eq "--elements-exec of no running instance: says so" "$E2E_ERR" "$(none_running "$id2")"
  expect_not_connected "the hostile container received no --elements-exec" "$E2E_WORK/hostile.out"
  e2e_start "$app" -n "$id2" -- sleep:40 "$E2E_TOKEN"
  if e2e_wait_output sleeping; then
    e2e_pass "the hostile container does not block the name inst.$id2"
    if e2e_ran 0 "$app" --elements-exec "$id2" -- /bin/probe do info "$E2E_TOKEN"; then
      expect_eq "--elements-exec reaches the real instance, not the hostile one" \
        "$(probe_value "$E2E_OUT" hostname)" "h-$id2"
    fi
    expect_not_connected "the hostile container still received nothing" "$E2E_WORK/hostile.out"
    kill -TERM "$E2E_PID"
  fi
  e2e_wait
fi
# timeout passes SIGTERM on to the hostile file's runtime, which ends its container.
kill -TERM "${E2E_PIDS[0]}" 2>/dev/null || true
wait "${E2E_PIDS[0]}" 2>/dev/null || true

# --- From another network namespace: the name is still taken.
id3=netns-$uniq
as=("${_e2e_as[@]}")
_e2e_as=(unshare --net "${as[@]}")
e2e_start "$app" -n "$id3" -- sleep:40 "$E2E_TOKEN"
_e2e_as=("${as[@]}")
if e2e_wait_output sleeping; then
  if [[ $(readlink "/proc/$E2E_PID/ns/net") != "$(readlink /proc/self/ns/net)" ]]; then
    e2e_pass "inst.$id3 runs in a network namespace of its own"
  else e2e_fail "unshare --net did not give the runtime a network namespace"; fi
  e2e_run "$app" -n "$id3" -- info "$E2E_TOKEN"
  expect_eq "a second start from the host's network namespace: exit status" "$E2E_RC" 125
  expect_eq "a second start from the host's network namespace: the message" "$E2E_ERR" \
    "$(already_running "$id3")"
  kill -TERM "$E2E_PID"
fi
e2e_wait

# --- SIGKILL of the runtime: the stale entries are taken over at once.
id4=killed-$uniq
e2e_start "$app" -n "$id4" -- sleep:40 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  kill -KILL "$E2E_PID"
  e2e_wait
  expect_eq "the runtime died of SIGKILL" "$E2E_RC" 137
  expect_entries "SIGKILL left inst.$id4.lock and inst.$id4.sock" "$id4" "lock socket"
  if e2e_ran 0 "$app" -n "$id4" -- info "$E2E_TOKEN"; then
    expect_eq "the first start after SIGKILL runs as inst.$id4" \
      "$(probe_value "$E2E_OUT" hostname)" "h-$id4"
  fi
  expect_entries "that run removed the stale entries when it ended" "$id4" ""
else
  e2e_wait
fi

# --- The folder under XDG_RUNTIME_DIR: a symlink, another user's, writable by others.
for why in link owner mode; do
  xdg=$E2E_WORK/xdg-$why
  mkdir -m 0700 "$xdg" "$E2E_WORK/target-$why"
  case $why in
    link) ln -s "$E2E_WORK/target-$why" "$xdg/elements" ;;
    owner) mkdir -m 0700 "$xdg/elements"; chown "$other:" "$xdg/elements" ;;
    mode) mkdir "$xdg/elements"; chmod 0777 "$xdg/elements"; chown "$victim:" "$xdg/elements" ;;
  esac
  chown -h "$victim:" "$xdg" "$E2E_WORK/target-$why"
  [[ $why == link ]] && chown -h "$victim:" "$xdg/elements"
  for word in start exec; do
    if [[ $word == start ]]; then
      e2e_run XDG_RUNTIME_DIR="$xdg" "$app" -n "x-$uniq" -- info "$E2E_TOKEN"
    else
      e2e_run XDG_RUNTIME_DIR="$xdg" "$app" --elements-exec "x-$uniq" -- /bin/true
    fi
    expect_eq "XDG_RUNTIME_DIR/elements ($why), $word: exit status" "$E2E_RC" 125
    expect_eq "XDG_RUNTIME_DIR/elements ($why), $word: the message" "$E2E_ERR" \
      "$(refused "$xdg/elements" "$why")"
  done
  expect_eq "nothing was made through the symlink or in the folder ($why)" \
    "$(ls -A "$E2E_WORK/target-$why" "$xdg/elements" 2>/dev/null | grep -c 'inst\.' || true)" 0
done

# --- The fallback /tmp/elements-UID, in a /tmp of the test's own (a tmpfs
# in a private mount namespace, the work dir bound back at its path), so
# that other tests' runs are not disturbed. SETUP runs there first, as root;
# AFTER last, its output in E2E_AFTER.
run_private_tmp() {  # SETUP AFTER XDG_RUNTIME_DIR ARGS...
  local setup=$1 after=$2 xdg=$3
  shift 3
  E2E_RC=0
  (
    _e2e_close_fds
    cd "$E2E_WORK"
    # shellcheck disable=SC2016 # expanded by the inner shell
    exec timeout -k 5 60 unshare --mount --propagation private bash -c '
      set -e
      work=$1 setup=$2 after=$3
      shift 3
      scratch=$work/private-tmp
      mkdir -p "$scratch"
      mount -t tmpfs -o mode=1777 tmpfs "$scratch"
      case $work in /tmp/*)
        mkdir -p "$scratch/${work#/tmp/}"
        mount --bind "$work" "$scratch/${work#/tmp/}" ;;
      esac
      mount --move "$scratch" /tmp
      eval "$setup"
      rc=0
      "$@" >"$work/stdout" 2>"$work/stderr" || rc=$?
      eval "$after" >"$work/after" 2>&1 || true
      exit "$rc"' _ "$E2E_WORK" "$setup" "$after" "${_e2e_as[@]}" "${_e2e_env[@]}" \
      XDG_RUNTIME_DIR="$xdg" "$@"
  ) </dev/null || E2E_RC=$?
  E2E_OUT=$(<"$E2E_WORK/stdout")
  E2E_ERR=$(<"$E2E_WORK/stderr")
  E2E_AFTER=$(<"$E2E_WORK/after")
}
fallback=/tmp/elements-$uid
as_other="setpriv --reuid=$other --regid=$other_gid --clear-groups --"
show="stat -c '%F %U %a' $fallback"

# Unset, not the caller's, not 0700, a symlink: the fallback is used.
chmod 0755 "$E2E_WORK/xdg-mode"
mkdir -m 0700 "$E2E_WORK/xdg-other"
chown "$other:" "$E2E_WORK/xdg-other"
ln -s "$run" "$E2E_WORK/xdg-symlink"
for xdg in "" "$E2E_WORK/xdg-other" "$E2E_WORK/xdg-mode" "$E2E_WORK/xdg-symlink"; do
  what="XDG_RUNTIME_DIR=${xdg:-(unset)}"
  run_private_tmp ":" "$show" "$xdg" "$app" -n "f-$uniq" -- info "$E2E_TOKEN"
  expect_eq "$what: the run works" "$E2E_RC" 0
  expect_eq "$what: the fallback $fallback is made, the caller's, 0700" "$E2E_AFTER" \
    "directory $victim 700"
done

# Pre-made by another user (a folder, a symlink to one), or the caller's but open to all.
for why in owner link mode; do
  case $why in
    owner) setup="$as_other mkdir -m 0777 $fallback" ;;
    link) setup="$as_other mkdir -m 0777 /tmp/other; $as_other ln -s /tmp/other $fallback" ;;
    mode) setup="mkdir -m 0777 $fallback; chown $victim: $fallback" ;;
  esac
  run_private_tmp "$setup" "ls -A /tmp/other $fallback 2>/dev/null | grep -c 'inst\.' || true" "" \
    "$app" -n "f-$uniq" -- info "$E2E_TOKEN"
  expect_eq "$fallback ($why): exit status" "$E2E_RC" 125
  expect_eq "$fallback ($why): the message" "$E2E_ERR" "$(refused "$fallback" "$why")"
  expect_eq "$fallback ($why): nothing ran" "$E2E_OUT" ""
  expect_eq "$fallback ($why): nothing was made in it" "$E2E_AFTER" 0
  run_private_tmp "$setup" ":" "" "$app" --elements-exec "f-$uniq" -- /bin/true
  expect_eq "$fallback ($why), --elements-exec: refused the same way" \
    "$E2E_RC $E2E_ERR" "125 $(refused "$fallback" "$why")"
done

if e2e_wait_no_token_process; then e2e_pass "no process of the runs left"
else e2e_fail "processes left: $(pgrep -a -f -- "$E2E_TOKEN" | tr '\n' ';')"; fi
e2e_check_tmpdir "after all runs"
e2e_done
