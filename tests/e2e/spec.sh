#!/usr/bin/env bash
# The file's own command line with good arguments (DESIGN.md section 2), for
# one mode (see lib.sh): every way of giving an option or a positional, the
# value each arg, default and expansion gives the container, the binds the
# spec and the args make (read-write ones write through to the host, a
# read-only one refuses), /out moved to the output path, passEnv,
# resolvConf, "network": "none", "user": "keep", and each "writable" mode.
# The definition is SPEC_DEFINITION (spec_lib.sh).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/spec_lib.sh
source "$(dirname "$0")/spec_lib.sh"

e2e_mode "${1:?usage: spec.sh MODE}"
spec_host
spec_pack spec "$SPEC_DEFINITION"
uid=$(spec_caller_uid)
W=$E2E_WORK

# --- 1. Every arg given, in the mixed forms getopt_long takes: bundled bool
# shorts, -xVALUE, --name=value, --name VALUE, -x VALUE; relative host paths.
# shellcheck disable=SC2016 # $HOME is the container's business
if e2e_ran 0 "$E2E_APP" site data -vq -p9090 --greeting=hi --config conf/app.conf -C cache \
  -n "run-%" -o outputs/result.txt -- \
  args env info net \
  write:/data/from-container=written write:/opt/shared/from-container=shared \
  write:/var/cache/spec/cached=cached write:/out/result=result \
  write:/srv/refused write:/refused \
  cat:/etc/spec.conf cat:/etc/resolv.conf cat:/etc/hosts "$E2E_TOKEN"; then
  spec_note_id
  instance=$(report_value "$E2E_OUT" ELEMENTS_INSTANCE)
  expect_match "% in the instance name becomes random characters" "$instance" '^run-[a-z0-9]{8}$'
  expect_report "ELEMENTS_ID is NAME.INSTANCE" ELEMENTS_ID "spec.$instance"

  # Command words, expanded, then the words after -- as they are.
  expect_report "command word \$greeting" "argv[2]" "w1=hi"
  expect_report "command word \${port}" "argv[3]" "w2=9090"
  expect_report "command word \${quiet:+hush}, -q given" "argv[4]" "w3=hush"
  expect_report "command word \${A:-\${B}}" "argv[5]" "w4=spec"
  expect_report "command word \$\$ is a literal \$" "argv[6]" "w5=\$HOME"
  expect_report "words after -- follow the command" "argv[7]" "args"

  # Arg variables, typed.
  expect_report "int option -p9090" PORT 9090
  expect_report "bool short -v bundled in -vq" VERBOSE 1
  expect_report "bool short -q bundled in -vq" QUIET 1
  expect_report "str option --greeting=hi" GREETING hi
  expect_report "path option made absolute against the caller's folder" CONFIG "$W/conf/app.conf"

  # The spec's env: each expansion form and each type.
  expect_report "\$NAME of an arg" E_PLAIN hi
  expect_report "\${NAME} of an arg" E_BRACED 9090
  expect_report "\${NAME:-word} of an unset name" E_DEFAULT_UNSET fallback
  expect_report "\${NAME:-word} of an empty name" E_DEFAULT_EMPTY fallback
  expect_report "\${NAME-word} of an unset name" E_DASH_UNSET fallback
  expect_line "\${NAME-word} of an empty name stays empty" "$E2E_OUT" "E_DASH_EMPTY="
  expect_report "\${NAME:+word} of a bool given" E_PLUS loud
  expect_report "\${NAME:?message} of a set name" E_REQUIRED "$W/shared"
  expect_report "\$\$ is a literal \$" E_DOLLAR "cost: \$5"
  expect_report "nested \${A:-\${B:-word}}" E_NESTED deep
  expect_report "typed int value" E_INT 9090
  expect_report "typed bool value (yes)" E_BOOL 1
  expect_report "typed path value made absolute" E_PATH "$W/rel/file"
  # shellcheck disable=SC2016 # the literal text the host holds
  expect_report "passEnv copies a host variable as it is" SPEC_PASSED 'passed as it is: $HOME ${x}'
  expect_no_match "passEnv of an unset variable adds nothing" "$E2E_OUT" '^SPEC_NOT_SET='
  expect_no_match "a host variable outside passEnv is not inherited" "$E2E_OUT" '^(USER|SPEC_EMPTY)='

  # hostname and workdir, expanded.
  expect_report "hostname \${SPEC_HOSTNAME:-h-\$ELEMENTS_INSTANCE}" hostname "h-$instance"
  expect_report "HOSTNAME follows the hostname" HOSTNAME "h-$instance"
  expect_report "workdir /opt/\${SPEC_SUBDIR-shared}" cwd /opt/shared
  expect_report "\"user\": \"root\" maps the caller to uid 0" uid 0

  # "network": "none": a namespace of its own with only loopback, up.
  expect_report "\"network\": \"none\" leaves only lo, up" net lo:up

  # Binds: read-write ones write through to the host, read-only ones and /
  # refuse, the spec's file bind (at a target the image lacks) is readable.
  expect_report "rw positional bind is writable" write:/data/from-container yes
  expect_report "rw spec folder bind at a missing target" write:/opt/shared/from-container yes
  expect_report "rw option bind at an expanded missing target" write:/var/cache/spec/cached yes
  expect_report "/out is writable" write:/out/result yes
  expect_report "read-only positional bind refuses writes" write:/srv/refused "no (EROFS)"
  expect_report "\"writable\": \"none\": / refuses writes" write:/refused "no (EROFS)"
  expect_report "read-only spec file bind at a missing target" cat:/etc/spec.conf \
    "server_name example"
  for f in resolv.conf hosts; do
    if [[ -r /etc/$f && -s /etc/$f ]]; then
      expect_report "resolvConf binds the host's /etc/$f" "cat:/etc/$f" "$(head -n 1 "/etc/$f")"
    else
      echo "note: the host has no /etc/$f to compare with"
    fi
  done
  for f in data/from-container:written shared/from-container:shared cache/cached:cached; do
    expect_eq "$W/${f%%:*} written from inside" "$(cat "$W/${f%%:*}" 2>&1)" "${f#*:}"
    expect_eq "$W/${f%%:*} is owned by the caller" "$(stat -c %u "$W/${f%%:*}" 2>&1)" "$uid"
  done
  # A single entry in /out is moved as itself to the path given.
  if [[ -f $W/outputs/result.txt ]]; then
    expect_eq "a single entry in /out is moved to the output path" \
      "$(cat "$W/outputs/result.txt")" result
  else
    e2e_fail "/out/result was not moved to $W/outputs/result.txt: $(ls -la "$W/outputs")"
  fi
fi

# --- 2. Only the required positional: defaults, bools off, no optional bind,
# a random instance, and host variables changing the spec's expansions.
# Host variables named like args or ELEMENTS_* lose to those: names resolve
# to args first, then ELEMENTS_*, then the host environment.
unset USER
export SPEC_FLAG=no SPEC_HOSTNAME=custom-host SPEC_SUBDIR=shared2 SPEC_SHARED=$W/shared2
export port=1 greeting=from-host quiet=1 ELEMENTS_NAME=from-host
if e2e_ran 0 "$E2E_APP" site -- args env info write:/data/absent write:/opt/shared2/ok \
  "$E2E_TOKEN"; then
  spec_note_id
  expect_match "without an instance arg the instance is 12 random [a-z0-9]" \
    "$(report_value "$E2E_OUT" ELEMENTS_INSTANCE)" '^[a-z0-9]{12}$'
  expect_report "int default" PORT 8080
  expect_report "bool not given is 0" VERBOSE 0
  expect_report "bool not given is 0" QUIET 0
  expect_report "str default with \${USER:-world}, USER unset" GREETING "hello world"
  expect_report "path default made absolute" CONFIG "$W/site.conf"
  expect_line "\${verbose:+loud} with the bool off is empty" "$E2E_OUT" "E_PLUS="
  expect_report "command word \${quiet:+hush} with the bool off" "argv[4]" "w3="
  expect_report "\$greeting is the arg's default, not the host's \$greeting" E_PLAIN "hello world"
  expect_report "\${port} is the arg's default, not the host's \$port" E_BRACED 8080
  expect_report "\${ELEMENTS_NAME} is the runtime's, not the host's" "argv[5]" "w4=spec"
  expect_report "ELEMENTS_NAME is the runtime's" ELEMENTS_NAME spec
  expect_report "typed bool value (no)" E_BOOL 0
  expect_report "hostname from a host variable" hostname custom-host
  expect_report "workdir and bind target follow \${SPEC_SUBDIR-shared}" cwd /opt/shared2
  expect_report "spec bind source from \${SPEC_SHARED:?...}" write:/opt/shared2/ok yes
  expect_report "an optional positional bind not given is not mounted" write:/data/absent \
    "no (ENOENT)"
  expect_eq "the folder bind's source got the file" "$(cat "$W/shared2/ok" 2>&1)" probe
fi
export USER=tester SPEC_SHARED=$W/shared
unset SPEC_FLAG SPEC_HOSTNAME SPEC_SUBDIR port greeting quiet ELEMENTS_NAME

# --- 3. Options around and after positionals, long and short forms with
# separate values, a bundle ending in a value option, the last of a
# repeated option winning; two entries in /out go into an existing folder
# as ID.out.
instance=fixed-${E2E_WORK##*.}
if e2e_ran 0 "$E2E_APP" --port 7070 -g "two words" site -c /etc/app.conf data -vqp 6060 \
  --instance "$instance" --output outputs -- env write:/out/a=1 write:/out/b=2 "$E2E_TOKEN"; then
  spec_note_id
  expect_report "--instance NAME" ELEMENTS_INSTANCE "$instance"
  expect_report "the last of a repeated option wins (-vqp 6060)" PORT 6060
  expect_report "-v in -vqp" VERBOSE 1
  expect_report "-q in -vqp" QUIET 1
  expect_report "-g VALUE keeps spaces" GREETING "two words"
  expect_report "an absolute path stays as it is" CONFIG /etc/app.conf
  out=$W/outputs/spec.$instance.out
  expect_eq "an existing output folder receives ID.out with every entry of /out" \
    "$(find "$out" -mindepth 1 -printf '%P\n' 2>&1 | sort | tr '\n' ' ')" "a b "
  expect_eq "/out/a moved" "$(cat "$out/a" 2>&1)" 1
fi

# --- 4. A single entry into an existing folder: ID.out is that entry.
if e2e_ran 0 "$E2E_APP" site -n "one-%" -o outputs -- env write:/out/only=single "$E2E_TOKEN"; then
  spec_note_id
  id=$(report_value "$E2E_OUT" ELEMENTS_ID)
  expect_report "str default with \${USER:-world}, USER set" GREETING "hello tester"
  if [[ -f $W/outputs/$id.out ]]; then
    expect_eq "a single entry moved into an existing folder as ID.out" \
      "$(cat "$W/outputs/$id.out")" single
  else
    e2e_fail "expected the file $W/outputs/$id.out; outputs holds: $(find "$W/outputs" -mindepth 1 -printf '%P ')"
  fi
fi

# --- "user": "keep": the caller's uid inside; "writable": "none" without
# missing mount points (the image bound as it is) refuses writes too.
spec_pack spec-keep '{"name": "spec-keep", "from": "dir:rootfs",
  "run": {"command": ["/bin/probe", "do"], "extraArgs": true, "user": "keep",
          "env": {"PATH": "/bin"}}}'
if e2e_ran 0 "$E2E_APP" -- info write:/refused "$E2E_TOKEN"; then
  expect_report "\"user\": \"keep\": id -u inside is the caller's" uid "$uid"
  expect_report "\"writable\": \"none\": / refuses writes" write:/refused "no (EROFS)"
fi

# --- "writable": "tmpfs": writes succeed, and are gone in the next run.
spec_pack spec-tmpfs '{"name": "spec-tmpfs", "from": "dir:rootfs",
  "run": {"command": ["/bin/probe", "do"], "extraArgs": true, "writable": "tmpfs",
          "env": {"PATH": "/bin"}}}'
if e2e_ran 0 "$E2E_APP" -- write:/etc/marker=one cat:/etc/marker "$E2E_TOKEN"; then
  expect_report "\"writable\": \"tmpfs\": / takes writes" write:/etc/marker yes
  expect_report "\"writable\": \"tmpfs\": and reads them back" cat:/etc/marker one
fi
if e2e_ran 0 "$E2E_APP" -- cat:/etc/marker "$E2E_TOKEN"; then
  expect_report "\"writable\": \"tmpfs\": the next run starts clean" cat:/etc/marker "no (ENOENT)"
fi
expect_eq "\"writable\": \"tmpfs\" writes nothing to the host" \
  "$(find "$W" -name marker 2>/dev/null)" ""

# --- "writable": "persist": kept per instance under
# ${XDG_DATA_HOME}/elements/ID/, not shared with another instance.
spec_pack spec-persist '{"name": "spec-persist", "from": "dir:rootfs",
  "run": {"command": ["/bin/probe", "do"], "extraArgs": true, "writable": "persist",
          "env": {"PATH": "/bin"},
          "args": [{"name": "instance", "short": "n", "instance": true}]}}'
keep=kept-${E2E_WORK##*.}
other=other-${E2E_WORK##*.}
if e2e_ran 0 "$E2E_APP" -n "$keep" -- write:/etc/marker=kept "$E2E_TOKEN"; then
  expect_report "\"writable\": \"persist\": / takes writes" write:/etc/marker yes
fi
if e2e_ran 0 "$E2E_APP" -n "$keep" -- cat:/etc/marker "$E2E_TOKEN"; then
  expect_report "\"writable\": \"persist\": the next run of the instance has it" \
    cat:/etc/marker kept
fi
if e2e_ran 0 "$E2E_APP" -n "$other" -- cat:/etc/marker "$E2E_TOKEN"; then
  expect_report "\"writable\": \"persist\": another instance does not" cat:/etc/marker \
    "no (ENOENT)"
fi
expect_eq "the persisted file is under \${XDG_DATA_HOME}/elements/ID/" \
  "$(cat "$XDG_DATA_HOME/elements/spec-persist.$keep/upper/etc/marker" 2>&1)" kept
SPEC_IDS+=("spec-persist.$keep" "spec-persist.$other")

spec_check_nothing_left
e2e_done
