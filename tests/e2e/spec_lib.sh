# shellcheck shell=bash
# What the spec*.sh tests share: the one definition whose command line they
# exercise (DESIGN.md section 2), the host folders and variables it reads,
# and checks on the probe's "do" report. Sourced after lib.sh.
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034

# The definition. README.md ("The file's command line") shows it and its
# --help word for word; spec_errors.sh fails when the two drift apart.
# Every arg kind and type, as options and as positionals; every expansion
# form in env values, bind sources and targets, hostname, workdir and
# command words; typed env values; passEnv; a file and a folder bound by the
# spec at targets the image lacks (so the runtime makes them in an overlay,
# then makes / read-only again); resolvConf; a network of its own.
# The command is the probe's "do": words after -- say what it reports.
# shellcheck disable=SC2016 # the runtime expands these, not bash
SPEC_DEFINITION='{
  "$schema": "../schema/element.schema.json",
  "name": "spec",
  "from": "dir:rootfs",
  "run": {
    "description": "Serve a folder and report what the container sees",
    "command": ["/bin/probe", "do", "w1=$greeting", "w2=${port}", "w3=${quiet:+hush}",
                "w4=${SPEC_UNSET:-${ELEMENTS_NAME}}", "w5=$$HOME"],
    "extraArgs": true,
    "workdir": "/opt/${SPEC_SUBDIR-shared}",
    "hostname": "${SPEC_HOSTNAME:-h-$ELEMENTS_INSTANCE}",
    "args": [
      {"name": "docroot", "positional": true, "bind": "/srv", "readOnly": true,
       "help": "folder to serve"},
      {"name": "data", "positional": true, "bind": "/data", "readOnly": false,
       "required": false, "help": "folder the command writes into"},
      {"name": "port", "short": "p", "env": "PORT", "type": "int", "default": "8080",
       "help": "port to listen on"},
      {"name": "verbose", "short": "v", "env": "VERBOSE", "type": "bool", "help": "say more"},
      {"name": "quiet", "short": "q", "env": "QUIET", "type": "bool", "help": "say less"},
      {"name": "greeting", "short": "g", "env": "GREETING", "default": "hello ${USER:-world}",
       "help": "what to say"},
      {"name": "config", "short": "c", "env": "CONFIG", "type": "path", "default": "site.conf",
       "help": "configuration file"},
      {"name": "cache", "short": "C", "bind": "/var/cache/${ELEMENTS_NAME}",
       "help": "folder kept between runs"},
      {"name": "instance", "short": "n", "instance": true, "help": "name of this run"},
      {"name": "output", "short": "o", "output": true, "help": "where the results go"}
    ],
    "env": {
      "PATH": "/bin",
      "E_PLAIN": "$greeting",
      "E_BRACED": "${port}",
      "E_DEFAULT_UNSET": "${SPEC_UNSET:-fallback}",
      "E_DEFAULT_EMPTY": "${SPEC_EMPTY:-fallback}",
      "E_DASH_UNSET": "${SPEC_UNSET-fallback}",
      "E_DASH_EMPTY": "${SPEC_EMPTY-fallback}",
      "E_PLUS": "${verbose:+loud}",
      "E_REQUIRED": "${SPEC_SHARED:?set SPEC_SHARED to a folder}",
      "E_DOLLAR": "cost: $$5",
      "E_NESTED": "${SPEC_UNSET:-${SPEC_UNSET2:-deep}}",
      "E_INT": {"value": "${port}", "type": "int"},
      "E_BOOL": {"value": "${SPEC_FLAG:-yes}", "type": "bool"},
      "E_PATH": {"value": "${SPEC_REL:-rel/file}", "type": "path"}
    },
    "passEnv": ["SPEC_PASSED", "SPEC_NOT_SET"],
    "binds": [
      {"source": "${docroot}/site.conf", "target": "/etc/${ELEMENTS_NAME}.conf",
       "readOnly": true},
      {"source": "${SPEC_SHARED:?set SPEC_SHARED to a folder}",
       "target": "/opt/${SPEC_SUBDIR-shared}"}
    ],
    "resolvConf": true,
    "network": "none",
    "writable": "none",
    "ps1Color": 32
  }
}'

# Writes DEFINITION as $E2E_WORK/NAME.json, packs $E2E_WORK/NAME.AppImage
# and sets E2E_APP. Unlike e2e_pack, the text is taken as it is, so the file
# packed is the one README.md shows.
spec_pack() {  # NAME DEFINITION
  e2e_rootfs
  printf '%s\n' "$2" >"$E2E_WORK/$1.json"
  if ! "$E2E_PACK" -o "$E2E_WORK/$1.AppImage" "$E2E_WORK/$1.json" >"$E2E_WORK/pack.log" 2>&1; then
    cat "$E2E_WORK/pack.log" >&2
    e2e_abort "elements-pack failed on $E2E_WORK/$1.json"
  fi
  E2E_APP=$E2E_WORK/$1.AppImage
  SPEC_FILES+=("$E2E_APP")
}
SPEC_FILES=()

# The host side of a run: the folders the definition binds (owned by whoever
# runs the file, so the container may write into the read-write ones) and the
# host variables its expansions read. Exported: lib.sh's runs pass the
# environment on, and expansion reads the host environment.
spec_host() {
  local dir
  for dir in site data cache shared shared2 outputs xdg-data; do
    mkdir -p "$E2E_WORK/$dir"
  done
  echo "server_name example" >"$E2E_WORK/site/site.conf"
  if [[ $E2E_WHO == user ]] && ((EUID == 0)); then
    chown "$E2E_USER:" "$E2E_WORK"/{data,cache,shared,shared2,outputs,xdg-data}
  fi
  export SPEC_SHARED=$E2E_WORK/shared SPEC_EMPTY='' SPEC_PASSED='passed as it is: $HOME ${x}'
  export XDG_DATA_HOME=$E2E_WORK/xdg-data USER=tester
  unset SPEC_UNSET SPEC_UNSET2 SPEC_NOT_SET SPEC_FLAG SPEC_HOSTNAME SPEC_SUBDIR SPEC_REL
}

# The uid that runs the file: the container's uid with "user": "keep".
spec_caller_uid() {
  if [[ $E2E_WHO == user ]] && ((EUID == 0)); then id -u "$E2E_USER"; else id -u; fi
}

# The value after "KEY=" on the first line of TEXT that starts so. KEY is
# taken literally (it may hold / and :, unlike probe_value's).
report_value() {  # TEXT KEY
  local line
  while IFS= read -r line; do
    if [[ $line == "$2="* ]]; then
      printf '%s' "${line#"$2="}"
      return 0
    fi
  done <<<"$1"
}

# Checks KEY's value in the last run's output (E2E_OUT).
expect_report() {  # DESCRIPTION KEY EXPECTED
  expect_eq "$1 ($2)" "$(report_value "$E2E_OUT" "$2")" "$3"
}

# Notes the ELEMENTS_ID of the last run, so spec_check_nothing_left can see
# that its instance name was released.
spec_note_id() {
  local id
  id=$(report_value "$E2E_OUT" ELEMENTS_ID)
  if [[ -n $id ]]; then SPEC_IDS+=("$id"); fi
}
SPEC_IDS=()

# A failed run prints exactly one line to stderr, the file's name first, and
# nothing to stdout: the command never started.
expect_usage_error() {  # DESCRIPTION STATUS MESSAGE ARGS...
  local what=$1 want=$2 message=$3
  shift 3
  e2e_run "$E2E_APP" "$@"
  expect_eq "$what: exit status" "$E2E_RC" "$want"
  expect_eq "$what: the one-line message" "$E2E_ERR" "$(basename "$E2E_APP"): $message"
  expect_eq "$what: nothing ran" "$E2E_OUT" ""
}

# Like e2e_run with TEXT on stdin (lib.sh's runs read /dev/null), run the
# same way: lib.sh's fds closed, as its mode's user, in its environment.
# shellcheck disable=SC2154 # _e2e_as and _e2e_env are set by e2e_mode
spec_run_stdin() {  # TEXT FILE ARGS...
  local text=$1
  shift
  E2E_RC=0
  (
    _e2e_close_fds
    cd "$E2E_WORK"
    exec timeout -k 5 60 "${_e2e_as[@]}" "${_e2e_env[@]}" "$@"
  ) <<<"$text" >"$E2E_WORK/stdout" 2>"$E2E_WORK/stderr" || E2E_RC=$?
  E2E_OUT=$(<"$E2E_WORK/stdout")
  E2E_ERR=$(<"$E2E_WORK/stderr")
}

# After all runs of a test (DESIGN.md section 3: nothing outlives a run): no
# mount under the work dir, no loop device over the files, no process with
# the test's token, no /out staging folder, nothing in TMPDIR, and every
# instance name seen is free again. Only what this test made is looked at,
# so it may run beside other tests.
spec_check_nothing_left() {
  local mounts file staging id held=
  mounts=$(awk -v w="$E2E_WORK" 'index($5, w) == 1 || index($4, w) == 1 {print $5}' \
    /proc/self/mountinfo)
  expect_eq "no mount left under the work dir" "$mounts" ""
  if ((EUID == 0)); then
    for file in "${SPEC_FILES[@]}"; do
      expect_eq "no loop device left over $(basename "$file")" \
        "$(losetup -n -O NAME -j "$file")" ""
    done
  fi
  if e2e_wait_no_token_process; then
    e2e_pass "no process of the runs left"
  else
    e2e_fail "processes left: $(pgrep -a -f -- "$E2E_TOKEN" | tr '\n' ';')"
  fi
  staging=$(find "$E2E_WORK" -name '*.out.partial*' 2>/dev/null)
  expect_eq "no /out staging folder (.ID.out.partial.XXXXXXXX) left" "$staging" ""
  e2e_check_tmpdir "after all runs"
  # A runtime that ended normally removed ID.lock and ID.sock from the
  # registry; one killed left them, but holds no lock on ID.lock.
  for id in "${SPEC_IDS[@]}"; do
    if [[ -f $E2E_WORK/run/elements/$id.lock ]] &&
      ! flock --nonblock "$E2E_WORK/run/elements/$id.lock" true 2>/dev/null; then
      held+=" $id"
    fi
  done
  expect_eq "every instance name is released (${#SPEC_IDS[@]} seen)" "$held" ""
}
