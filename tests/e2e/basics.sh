#!/usr/bin/env bash
# What the command sees inside the container, for one mode (see lib.sh):
# PID 1 is the runtime's init and the command is PID 2 in its own PID
# namespace; the hostname is the instance id; the host environment is not
# inherited; / is read-only and /tmp writable; extra args after -- are
# appended verbatim; orphans are reaped; no fd leaks in; the payload came by
# the expected mount path.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: basics.sh MODE}"
e2e_pack probe

# --- info: pid, init, hostname, writability, fds
hostname=
if e2e_ran 0 "$E2E_APP" -- info; then
  info=$E2E_OUT
  expect_eq "the command is PID 2" "$(probe_value "$info" pid)" 2
  expect_eq "its parent is PID 1" "$(probe_value "$info" ppid)" 1
  expect_eq "PID 1 is the runtime's init" "$(probe_value "$info" pid1_comm)" elements-init
  expect_eq "only init and the command are in the PID namespace" "$(probe_value "$info" pids)" 1,2
  # "user": "root" (the default) maps the caller to uid 0, root or not.
  expect_eq "uid inside" "$(probe_value "$info" uid)" 0
  expect_eq "gid inside" "$(probe_value "$info" gid)" 0
  expect_eq "workdir" "$(probe_value "$info" cwd)" /
  expect_match "/ is read-only" "$(probe_value "$info" root_writable)" '^no \(EROFS\)$'
  expect_eq "/tmp is writable" "$(probe_value "$info" tmp_writable)" yes
  expect_eq "no new privileges" "$(probe_value "$info" no_new_privs)" 1
  expect_eq "only stdin, stdout and stderr are open" "$(probe_value "$info" fds)" 0,1,2
  expect_match "minimal /dev" "$(probe_value "$info" dev)" '^null,zero,full,random,urandom,tty'
  hostname=$(probe_value "$info" hostname)
  expect_match "hostname is the instance id NAME.INSTANCE" "$hostname" '^probe\.[a-z0-9]{12}$'
fi

# --- env: nothing inherited, ELEMENTS_* set, spec values expanded
if e2e_ran 0 "$E2E_APP" -- env; then
  env_out=$E2E_OUT
  id=$(probe_value "$env_out" ELEMENTS_ID)
  expect_no_match "the host's E2E_HOST_MARKER is not inherited" "$env_out" '^E2E_HOST_MARKER='
  expect_no_match "the host's XDG_CACHE_HOME is not inherited" "$env_out" '^XDG_CACHE_HOME='
  expect_line "ELEMENTS_NAME" "$env_out" "ELEMENTS_NAME=probe"
  expect_match "ELEMENTS_ID" "$id" '^probe\.[a-z0-9]{12}$'
  expect_line "ELEMENTS_INSTANCE" "$env_out" "ELEMENTS_INSTANCE=${id#probe.}"
  expect_line "ELEMENTS_VERSION" "$env_out" "ELEMENTS_VERSION=$E2E_VERSION"
  expect_line "HOSTNAME is the instance id" "$env_out" "HOSTNAME=$id"
  expect_line "\${ELEMENTS_ID} expands" "$env_out" "E2E_ID=$id"
  # shellcheck disable=SC2016 # a literal $
  expect_line "\$\$ is a literal \$" "$env_out" 'E2E_DOLLAR=a$b'
  expect_line "\${NAME:-word} of an unset name" "$env_out" "E2E_DEFAULT=fallback"
  expect_line "expansion reads the host environment" "$env_out" "E2E_SEEN_MARKER=$E2E_HOST_MARKER"
  expect_line "the spec's PATH" "$env_out" "PATH=/bin"
fi

# --- extra args: appended to the command, each one word, not expanded
# shellcheck disable=SC2016 # the $ must reach the container unexpanded
if e2e_ran 0 "$E2E_APP" -- args one 'two words' '$HOME' ''; then
  expect_eq "extra args after -- are appended verbatim" "$E2E_OUT" "argv[0]=/bin/probe
argv[1]=args
argv[2]=one
argv[3]=two words
argv[4]=\$HOME
argv[5]="
fi

# --- init reaps orphans re-parented to it
if e2e_ran 0 "$E2E_APP" -- spawn-zombies 5; then
  expect_line "init reaps orphaned children" "$E2E_OUT" "zombies=0"
fi

# --- two runs get two instances
if e2e_ran 0 "$E2E_APP" -- info && [[ -n $hostname ]]; then
  other=$(probe_value "$E2E_OUT" hostname)
  if [[ $other != "$hostname" ]]; then e2e_pass "a second run gets another instance id ($other)"
  else e2e_fail "two runs shared the instance id $hostname"; fi
fi

# --- mount path, seen from outside while the container runs
e2e_start "$E2E_APP" -- wait-signal "$E2E_TOKEN"
if e2e_wait_output ready; then
  e2e_check_mount_path
  kill -TERM "$E2E_PID"
fi
e2e_wait
expect_eq "the waiting container ends on SIGTERM with status 0" "$E2E_RC" 0

e2e_done
