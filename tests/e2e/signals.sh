#!/usr/bin/env bash
# Signals sent to the runtime reach the command through init (DESIGN.md
# section 3), for one mode. The command decides the status: the probe
# catches the signal and exits 0; a command that keeps the default action
# dies of it, and the file exits 128+N.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: signals.sh MODE}"
e2e_pack probe

for sig in TERM HUP USR1; do
  e2e_start "$E2E_APP" -- wait-signal "$E2E_TOKEN"
  if e2e_wait_output ready; then
    kill -"$sig" "$E2E_PID"
  fi
  e2e_wait
  expect_line "SIG$sig sent to the runtime reaches the command" "$E2E_OUT" "SIG$sig"
  expect_eq "the command caught SIG$sig and exited 0" "$E2E_RC" 0
done

e2e_start "$E2E_APP" -- sleep 300 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  kill -TERM "$E2E_PID"
fi
e2e_wait
expect_eq "a command killed by the forwarded SIGTERM: status 143" "$E2E_RC" 143

e2e_done
