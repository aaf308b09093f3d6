#!/usr/bin/env bash
# CTest fixture around the tests that run as an unprivileged user:
#   user.sh setup    create the user elements-e2e (when missing) and note
#                    the mode of /dev/fuse
#   user.sh cleanup  check that the user has no process left, restore
#                    /dev/fuse to the noted mode (a test killed by a timeout
#                    cannot do it itself) and delete the user if the tests
#                    created it
# Without root there is nothing to set up: the tests then run as the caller.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

(($# == 1)) || e2e_abort "usage: user.sh setup|cleanup"
((EUID == 0)) || e2e_skip "not root: the tests run as $(id -un) itself"
mkdir -p "$E2E_STATE"
mode_file=$E2E_STATE/dev-fuse-mode

# Test runs from several build trees may share the user. Each run leaves a
# token naming its CTest process; the last one to finish cleans up.
runs=/run/elements-e2e-runs
token=$runs/$(printf %s "$E2E_STATE" | tr / _)
mkdir -p "$runs"
other_runs() {
  local t pid
  for t in "$runs"/*; do
    [[ -f $t && $t != "$token" ]] || continue
    pid=$(<"$t")
    if kill -0 "$pid" 2>/dev/null; then echo "$pid"; else rm -f "$t"; fi
  done
}

case $1 in
  setup)
    if id "$E2E_USER" >/dev/null 2>&1; then
      echo "user $E2E_USER exists: $(getent passwd "$E2E_USER")"
    else
      # A system user gets no subordinate id ranges: the runtime maps only
      # the caller's own uid, as an unprivileged caller can.
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "$E2E_USER_COMMENT" "$E2E_USER"
      echo "created user $E2E_USER: $(getent passwd "$E2E_USER")"
    fi
    echo "$PPID" >"$token"
    if [[ -c /dev/fuse && -z $(other_runs) ]]; then
      e2e_lock_dev_fuse
      stat -c %a /dev/fuse >"$mode_file"
      echo "/dev/fuse mode $(<"$mode_file")"
    fi
    ;;
  cleanup)
    rm -f "$token"
    others=$(other_runs)
    if [[ -n $others ]]; then
      rm -f "$mode_file"
      echo "other test runs (CTest $others) still use $E2E_USER: leaving it to them"
      e2e_done
    fi
    if id "$E2E_USER" >/dev/null 2>&1; then
      # Zombies do not count: reaping orphans is the host's init's job, and
      # it may take a moment to do it.
      for ((i = 0; i < 50; i++)); do
        left=$(ps -u "$E2E_USER" -o pid=,stat=,args= | awk '$2 !~ /^Z/' || true)
        [[ -z $left ]] && break
        sleep 0.1
      done
      if [[ -n $left ]]; then
        e2e_fail "processes of $E2E_USER outlived the tests:
$left"
        while read -r pid _; do kill -KILL "$pid" 2>/dev/null || true; done <<<"$left"
        sleep 0.5
      else
        e2e_pass "no process of $E2E_USER left"
      fi
    fi
    if [[ -f $mode_file && -c /dev/fuse ]]; then
      e2e_lock_dev_fuse
      want=$(<"$mode_file")
      now=$(stat -c %a /dev/fuse)
      if [[ $now != "$want" ]]; then
        e2e_fail "/dev/fuse was left at mode $now; restored to $want"
        chmod "$want" /dev/fuse
      else
        e2e_pass "/dev/fuse is back at mode $want"
      fi
      rm -f "$mode_file"
    fi
    if [[ $(getent passwd "$E2E_USER" | cut -d: -f5) == "$E2E_USER_COMMENT" ]]; then
      userdel "$E2E_USER"
      echo "deleted user $E2E_USER"
    fi
    ;;
  *) e2e_abort "usage: user.sh setup|cleanup" ;;
esac
e2e_done
