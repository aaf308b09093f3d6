#!/usr/bin/env bash
# The file's own command line with bad arguments, and its reserved words
# (DESIGN.md sections 2 and 3), for one mode (see lib.sh): each mistake ends
# with status 2 and one line that names the argument, before anything runs;
# --help shows the description, the usage and every arg with its type,
# default and help (and README.md shows exactly that output);
# --elements-spec prints JSON; --elements-shell runs a shell on stdin;
# --elements-debug names the mount path.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/spec_lib.sh
source "$(dirname "$0")/spec_lib.sh"

e2e_mode "${1:?usage: spec_errors.sh MODE}"
spec_host
spec_pack spec "$SPEC_DEFINITION"
W=$E2E_WORK

# --- --help: needs none of the required args, and -h is the same.
# The help's rows with wrapped lines joined and runs of spaces squeezed, so
# each arg is checked whole whatever the column widths.
help_rows() {
  awk '/^    +[^ ]/ { sub(/^ +/, " "); row = row $0; next }
       { if (row != "") print row; row = $0 }
       END { if (row != "") print row }' <<<"$1" | tr -s ' ' | sed 's/^ //'
}
help=
if e2e_ran 0 "$E2E_APP" --help; then
  help=$E2E_OUT
  rows=$(help_rows "$help")
  expect_eq "--help starts with the description" "$(head -n 1 <<<"$help")" \
    "Serve a folder and report what the container sees"
  expect_line "--help: usage line" "$help" \
    "Usage: spec.AppImage [OPTIONS] DOCROOT [DATA] [-- ARGS...]"
  # shellcheck disable=SC2016 # $PORT and the like are the help's own words
  while IFS= read -r row; do
    expect_line "--help: $row" "$rows" "$row"
  done <<'EOF'
DOCROOT folder to serve (host path, mounted read-only at /srv)
DATA folder the command writes into (host path, mounted at /data)
ARGS... words after -- are passed on to the command
-p, --port PORT port to listen on (integer, default 8080; sets $PORT)
-v, --verbose say more (sets $VERBOSE to 1)
-q, --quiet say less (sets $QUIET to 1)
-g, --greeting GREETING what to say (text, default hello ${USER:-world}; sets $GREETING)
-c, --config PATH configuration file (path, default site.conf; sets $CONFIG)
-C, --cache PATH folder kept between runs (host path, mounted at /var/cache/${ELEMENTS_NAME})
-n, --instance NAME name of this run (default random; % stands for random characters)
-o, --output PATH where the results go (host path; /out is moved there when the command exits)
-h, --help show this help and exit
--elements-shell a shell in the container instead of the command
--elements-exec ID -- CMD... run CMD in the running instance ID
--elements-spec print the runtime spec and exit
--elements-debug report the mount path taken and each step's time (also ELEMENTS_DEBUG=1)
EOF
  expect_eq "--help prints nothing on stderr" "$E2E_ERR" ""
fi
if e2e_ran 0 "$E2E_APP" -v -h; then
  expect_eq "-h prints the same help" "$E2E_OUT" "$help"
fi

# --- README.md shows this definition and its --help word for word (the
# section "The file's command line": its first fenced block, and the block
# after the line "$ ./spec.AppImage --help").
readme_block() {  # WHICH: definition | help
  awk -v which="$1" '
    /^## / { in_section = ($0 == "## The file'\''s command line") }
    !in_section { next }
    /^```/ { if (in_block) { in_block = 0; ++blocks; taking = 0 } else { in_block = 1 }; next }
    in_block && which == "definition" && blocks == 0 { print }
    in_block && which == "help" && taking { print }
    in_block && $0 == "$ ./spec.AppImage --help" { taking = 1 }' "$E2E_SOURCE/README.md"
}
expect_eq "README.md shows the test's definition" "$(readme_block definition)" "$SPEC_DEFINITION"
if [[ -n $help ]]; then
  expect_eq "README.md shows the definition's --help as it is" "$(readme_block help)" "$help"
fi

# --- --elements-spec: the spec as JSON, whatever the args.
if e2e_ran 0 "$E2E_APP" --elements-spec; then
  filter='.version == 1 and .name == "spec" and (.args | length) == 10 and .network == "none"'
  if command -v jq >/dev/null; then
    parsed=$(jq -e "$filter" <<<"$E2E_OUT" 2>&1) || true
  elif command -v python3 >/dev/null; then
    parsed=$(python3 -c 'import json, sys
s = json.load(sys.stdin)
print(str(s["version"] == 1 and s["name"] == "spec" and len(s["args"]) == 10
          and s["network"] == "none").lower())' <<<"$E2E_OUT" 2>&1) || true
  else
    parsed="no JSON parser here (install jq)"
  fi
  expect_eq "--elements-spec prints the spec as JSON ($filter)" "$parsed" true
fi

# --- --elements-shell: a shell instead of the command, reading stdin, with
# the prompt the spec's ps1Color asks for; its status is the file's.
# (sh -s: commands from stdin, the token only tags the run.)
spec_run_stdin "echo \$PS1; exit 3" "$E2E_APP" --elements-shell site -- -s "$E2E_TOKEN"
expect_eq "--elements-shell exits with the shell's status" "$E2E_RC" 3
# shellcheck disable=SC2016 # the prompt's own escapes
expect_eq "--elements-shell: PS1 is the coloured NAME prompt" "$E2E_OUT" \
  '\[\e[3;32m\]\u@spec\[\e[0m\]:\w\$'

# --- --elements-debug and ELEMENTS_DEBUG=1 name the mount path; quiet otherwise.
e2e_run_expect 4 "$E2E_APP" --elements-debug site -- exit:4 "$E2E_TOKEN"
expect_match "--elements-debug names the mount path" "$E2E_ERR" "payload: $E2E_EXPECT_PATH"
e2e_run_expect 0 env ELEMENTS_DEBUG=1 "$E2E_APP" site -- "$E2E_TOKEN"
expect_match "ELEMENTS_DEBUG=1 names the mount path" "$E2E_ERR" "payload: $E2E_EXPECT_PATH"
e2e_run_expect 0 "$E2E_APP" site -- "$E2E_TOKEN"
expect_eq "without either the runtime says nothing" "$E2E_ERR" ""

# --- After --, reserved words are the command's words like any other.
if e2e_ran 0 "$E2E_APP" site -- args --help --elements-debug --elements-spec "$E2E_TOKEN"; then
  expect_report "--help after -- reaches the command" "argv[8]" --help
  expect_report "--elements-debug after -- reaches the command" "argv[9]" --elements-debug
  expect_report "--elements-spec after -- reaches the command" "argv[10]" --elements-spec
  expect_eq "--elements-debug after -- does not turn on the runtime's report" "$E2E_ERR" ""
fi

# --- Bad arguments: status 2, one line naming the argument.
bad() { expect_usage_error "$1" 2 "${@:2}"; }
bad "unknown option" '--bogus: unknown option (see --help)' site --bogus
bad "unknown option, a near miss" '--prot: unknown option (did you mean --port?)' site --prot 1
bad "unknown short option" '-x: unknown option (see --help)' site -x
bad "unknown short option in a bundle" '-x: unknown option (see --help)' site -vx
bad "missing value of a long option" '--port: needs a value (see --help)' site --port
bad "missing value of a short option" '-p: needs a value (see --help)' site -p
bad "int that is not an integer" '--port: "80x" is not an integer (see --help)' site --port 80x
bad "int that is not an integer, -xVALUE" '--port: "8.5" is not an integer (see --help)' site -p8.5
bad "bool option given a word" '--verbose: "maybe" is not true or false (see --help)' \
  site --verbose=maybe
bad "empty path" '--config: needs a path, not an empty word (see --help)' site -c ''
bad "bad instance name" \
  '--instance: "a/b" is not an instance name (use letters, digits, _ + . - and % for random characters)' \
  site -n a/b
bad "bind source that does not exist" \
  "DOCROOT: \"$W/missing\" does not exist (give an existing file or folder)" missing
bad "option bind source that does not exist" \
  "--cache: \"$W/nowhere\" does not exist (give an existing file or folder)" site -C nowhere
bad "spec bind source that does not exist, from \${docroot}" \
  "/binds/0/source: \"$W/data/site.conf\" does not exist (give an existing file or folder)" data
bad "too many positionals" \
  '"extra": unexpected argument (this file takes 2 at most; words for the command go after --)' \
  site data extra
bad "missing required positional" 'DOCROOT: missing (folder to serve; see --help)' -v
bad "--elements-exec without a command" \
  '--elements-exec: give the command to run after -- (--elements-exec spec.x -- CMD...)' \
  --elements-exec spec.x
# Found after the instance is claimed, but still a bad argument: it must
# name the option, as every other message here does.
e2e_run "$E2E_APP" site -o nowhere/result -- "$E2E_TOKEN"
expect_eq "output folder that does not exist: exit status" "$E2E_RC" 2
expect_eq "output folder that does not exist: one line" "$(wc -l <<<"$E2E_ERR")" 1
expect_match "output folder that does not exist: the message names --output and the folder" \
  "$E2E_ERR" "^spec\.AppImage: --output: .*$W/nowhere"

export SPEC_FLAG=maybe
bad "bad bool env value" '/env/E_BOOL: "maybe" is not true/1/yes or false/0/no' site
unset SPEC_FLAG
export SPEC_SHARED=$W/gone
bad "spec bind source that does not exist, from the host" \
  "/binds/1/source: \"$W/gone\" does not exist (give an existing file or folder)" site
unset SPEC_SHARED
bad "\${X:?message} of an unset name" 'SPEC_SHARED: set SPEC_SHARED to a folder' site
export SPEC_SHARED=$W/shared

# Unreadable to the user: only when the test runs the file as another user
# than the one that owns the folder (root can read anything).
if [[ $E2E_WHO == user ]] && ((EUID == 0)); then
  mkdir -m 0700 "$W/locked"
  bad "bind source the user cannot read" \
    "DOCROOT: \"$W/locked\" is not readable by you (check its permissions)" locked
else
  echo "note: unreadable bind sources are checked in the user mode run by root"
fi

spec_check_nothing_left
e2e_done
