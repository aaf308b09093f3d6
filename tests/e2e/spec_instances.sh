#!/usr/bin/env bash
# Instances of the file (DESIGN.md sections 2 and 3), for one mode (see
# lib.sh): % in a given name becomes random characters; a second start of a
# running ELEMENTS_ID is refused with status 125 while the first keeps
# running; --elements-exec ID -- CMD runs inside the running instance (its
# hostname, its /tmp, its network); the name is free again once the
# runtime ends, normally or by SIGKILL (the kernel drops its lock), at once.
# instance_registry.sh tries to take and spoof the names.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/spec_lib.sh
source "$(dirname "$0")/spec_lib.sh"

e2e_mode "${1:?usage: spec_instances.sh MODE}"
spec_host
spec_pack spec "$SPEC_DEFINITION"
# Fixed names carry the work dir's suffix: tests beside this one may run the
# same definition as the same user.
uniq=${E2E_WORK##*.}

# --- % in a given name: 8 random [a-z0-9] each time, wherever it stands.
seen=()
for name in "r-%" "r-%" "a%b"; do
  if e2e_ran 0 "$E2E_APP" site -n "$name" -- env "$E2E_TOKEN"; then
    spec_note_id
    seen+=("$(report_value "$E2E_OUT" ELEMENTS_INSTANCE)")
  fi
done
if ((${#seen[@]} == 3)); then
  expect_match "-n r-% gives r- and 8 random characters" "${seen[0]}" '^r-[a-z0-9]{8}$'
  if [[ ${seen[0]} != "${seen[1]}" ]]; then e2e_pass "two runs of -n r-% differ (${seen[*]:0:2})"
  else e2e_fail "two runs of -n r-% got the same instance ${seen[0]}"; fi
  expect_match "% in the middle of a name" "${seen[2]}" '^a[a-z0-9]{8}b$'
fi

# --- A running instance: its name is taken, and --elements-exec joins it.
dup=dup-$uniq
SPEC_IDS+=("spec.$dup")
e2e_start "$E2E_APP" site -n "$dup" -o outputs/dup-result -- \
  info write:/tmp/marker="$E2E_TOKEN" write:/out/result=delivered sleep:60 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  # The runs below write the same stdout file: keep what this one said.
  first=$(<"$E2E_WORK/stdout")
  hostname=$(report_value "$first" hostname)
  expect_eq "the instance runs under its given name" "$hostname" "h-$dup"
  expect_eq "it wrote its /tmp/marker" "$(report_value "$first" write:/tmp/marker)" yes

  # With the same output path too: the name is refused before the second
  # run would stage /out beside the first one's.
  expect_usage_error "a second start of a running instance" 125 \
    "an instance named \"spec.$dup\" is already running (hint: choose another instance name, or use --elements-exec spec.$dup -- CMD to run a command in it)" \
    site -n "$dup" -o outputs/dup-result -- "$E2E_TOKEN"
  if [[ $(_e2e_state "$E2E_PID") != [ZX-] ]]; then e2e_pass "the first instance still runs"
  else e2e_fail "the first instance ended when the second was refused"; fi

  # By ELEMENTS_ID: the command's status, and the instance's namespaces,
  # environment and working directory.
  e2e_run_expect 7 "$E2E_APP" --elements-exec "spec.$dup" -- \
    /bin/probe "do" info net env cat:/tmp/marker exit:7 "$E2E_TOKEN"
  expect_report "--elements-exec: the instance's hostname" hostname "$hostname"
  expect_report "--elements-exec: the instance's /tmp" cat:/tmp/marker "$E2E_TOKEN"
  expect_report "--elements-exec: the instance's network" net lo:up
  expect_report "--elements-exec: the instance's PID namespace" pid1_comm elements-init
  expect_report "--elements-exec: the instance's environment" ELEMENTS_ID "spec.$dup"
  expect_report "--elements-exec: the instance's working directory" cwd /opt/shared
  # By the instance alone, as ELEMENTS_INSTANCE says it.
  if e2e_ran 0 "$E2E_APP" --elements-exec "$dup" -- /bin/hostname; then
    expect_eq "--elements-exec INSTANCE: runs there too" "$E2E_OUT" "$hostname"
  fi
  expect_usage_error "--elements-exec into no running instance" 125 \
    "no running instance named \"spec.none-$uniq\" (hint: ELEMENTS_ID is NAME.INSTANCE; start the file first, with its instance option if it has one)" \
    --elements-exec "none-$uniq" -- /bin/true

  kill -TERM "$E2E_PID"
fi
e2e_wait
expect_eq "the instance ends on SIGTERM (128+15: the probe does not catch it)" "$E2E_RC" 143
expect_eq "/out is delivered after SIGTERM too" "$(cat "$E2E_WORK/outputs/dup-result" 2>&1)" \
  delivered
if e2e_ran 0 "$E2E_APP" site -n "$dup" -- env "$E2E_TOKEN"; then
  expect_report "after it ended, its name can be used again" ELEMENTS_ID "spec.$dup"
fi

# --- SIGKILL of the runtime: no state is left to block the name.
killed=killed-$uniq
SPEC_IDS+=("spec.$killed")
e2e_start "$E2E_APP" site -n "$killed" -- sleep:60 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  kill -KILL "$E2E_PID"
  e2e_wait
  expect_eq "the runtime died of SIGKILL" "$E2E_RC" 137
  # Only the runtime held the lock: its death frees the name, though the
  # container's init may still be dying of it.
  e2e_run "$E2E_APP" site -n "$killed" -- env "$E2E_TOKEN"
  expect_eq "after SIGKILL of the runtime the name is free at once" "$E2E_RC" 0
else
  e2e_wait
fi

spec_check_nothing_left
e2e_done
