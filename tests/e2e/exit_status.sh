#!/usr/bin/env bash
# Exit statuses of a run (DESIGN.md section 3), for one mode: the command's
# own status, 128+N when signal N killed it, 126 when the command is not
# executable, 127 when it is not there, 2 for a bad argument to the file.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: exit_status.sh MODE}"
e2e_pack probe
probe_app=$E2E_APP

e2e_run_expect 0 "$probe_app" -- exit 0
e2e_run_expect 7 "$probe_app" -- exit 7
e2e_run_expect 137 "$probe_app" -- kill-self 9   # SIGKILL from inside
e2e_run_expect 143 "$probe_app" -- kill-self 15  # SIGTERM from inside, default action
e2e_run_expect 2 "$probe_app" --no-such-option
expect_match "a bad argument is named" "$E2E_ERR" 'no-such-option'

e2e_pack missing '{"command": ["/bin/no-such-command"]}'
e2e_run_expect 127 "$E2E_APP"
expect_match "a missing command is named" "$E2E_ERR" 'no-such-command'

e2e_pack not-executable '{"command": ["/etc/passwd"]}'
e2e_run_expect 126 "$E2E_APP"
expect_match "a command that cannot run is named" "$E2E_ERR" '/etc/passwd'

e2e_done
