# shellcheck shell=bash
# Shared helpers of the end-to-end tests. Each test is a bash script run by
# CTest that sources this file, builds a rootfs (busybox + probe) and a
# definition, packs it with the freshly built elements-pack and runs the file
# as root or as an unprivileged user, by one mount path.
#
# CTest passes (tests/e2e/CMakeLists.txt):
#   E2E_PACK E2E_PROBE E2E_RUNTIME E2E_RUNTIME_BUDGET E2E_HELLO E2E_VERSION
#   E2E_SOURCE E2E_STATE E2E_BUILD
# Exit status: 0 passed, 1 failed (every failed check is listed on stderr),
# 77 skipped (the reason on stderr).
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
set -euo pipefail

: "${E2E_SOURCE:?run the end-to-end tests through ctest}"
E2E_USER=elements-e2e
# Marks the user as created by the tests, so cleanup never deletes a user it
# did not create.
E2E_USER_COMMENT="elements end-to-end tests"
E2E_TEST=$(basename "$0" .sh)${1:+ $1}

# A host variable the container must not inherit. Its value also lets the
# tests see that spec expansion still reads the host environment.
export E2E_HOST_MARKER="marker-$$"

# ---------------------------------------------------------------------------
# Cleanup: commands run in reverse order on any exit, so a failed or skipped
# test leaves no temp dir, process or /dev/fuse mode behind.

_e2e_cleanups=()
_e2e_failures=0

e2e_defer() { _e2e_cleanups+=("$1"); }

_e2e_on_exit() {
  local rc=$? i
  set +e
  for ((i = ${#_e2e_cleanups[@]} - 1; i >= 0; i--)); do
    eval "${_e2e_cleanups[i]}"
  done
  exit "$rc"
}
trap _e2e_on_exit EXIT
# Turned into an ordinary exit so the EXIT trap cleans up (ctest sends these
# on a timeout or ^C).
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Results

e2e_skip() {
  echo "SKIP ($E2E_TEST): $*" >&2
  exit 77
}

# Skips unless every TOOL is on PATH; HINT says how to get them.
e2e_require_tools() {  # HINT TOOL...
  local hint=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || e2e_skip "$tool is missing ($hint)"
  done
}

# The file runs as whoever runs ctest, with no namespace or mount of its own:
# for the words that only read the file.
e2e_as_caller() {
  _e2e_as=()
  _e2e_env=(env -u TARGET_APPIMAGE)
}

e2e_fail() {
  echo "FAIL: $*" >&2
  _e2e_failures=$((_e2e_failures + 1))
}

e2e_pass() { echo "ok: $*"; }

# Ends the test: fails when any check failed.
e2e_done() {
  if ((_e2e_failures > 0)); then
    echo "$E2E_TEST: $_e2e_failures check(s) failed" >&2
    exit 1
  fi
  echo "$E2E_TEST: all checks passed"
  exit 0
}

# Stops the test at once: later checks depend on this one.
e2e_abort() {
  e2e_fail "$*"
  echo "$E2E_TEST: stopped after the failure above" >&2
  exit 1
}

expect_eq() {  # DESCRIPTION ACTUAL EXPECTED
  if [[ $2 == "$3" ]]; then e2e_pass "$1"; else e2e_fail "$1: got '$2', expected '$3'"; fi
}

expect_match() {  # DESCRIPTION ACTUAL ERE
  if [[ $2 =~ $3 ]]; then e2e_pass "$1"; else e2e_fail "$1: got '$2', expected to match /$3/"; fi
}

expect_line() {  # DESCRIPTION TEXT LINE: TEXT has LINE as one whole line
  if grep -qxF -- "$3" <<<"$2"; then e2e_pass "$1"; else e2e_fail "$1: no line '$3' in:
$2"; fi
}

expect_no_match() {  # DESCRIPTION TEXT ERE: no line of TEXT matches
  local hit
  if hit=$(grep -E -- "$3" <<<"$2"); then e2e_fail "$1: unexpected '$hit'"; else e2e_pass "$1"; fi
}

# The value of KEY in the probe's "key=value" output.
probe_value() {  # TEXT KEY (taken literally: it may hold / or .)
  awk -v key="$2=" 'index($0, key) == 1 { print substr($0, length(key) + 1); exit }' <<<"$1"
}

# ---------------------------------------------------------------------------
# The machine: what this host lets the tests do.

has_cap_sys_admin() {
  local eff
  eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
  (((16#$eff >> 21) & 1))
}

kernel_mount_possible() {
  ((EUID == 0)) && has_cap_sys_admin && [[ -e /dev/loop-control ]] || return 1
  grep -qw squashfs /proc/filesystems && return 0
  # squashfs is often a module the kernel loads on the first mount (also
  # from inside a container without /lib/modules): try one.
  local dir rc=0
  dir=$(mktemp -d "${TMPDIR:-/tmp}/elements-e2e-squashfs.XXXXXX")
  mkdir "$dir/tree" "$dir/mnt"
  mksquashfs "$dir/tree" "$dir/image" -quiet -no-progress >/dev/null 2>&1 &&
    unshare --mount --propagation private \
      mount -t squashfs -o loop,ro "$dir/image" "$dir/mnt" 2>/dev/null || rc=1
  rm -rf "$dir"
  return "$rc"
}

fuse_possible() {
  [[ -c /dev/fuse ]] && grep -qw fuse /proc/filesystems
}

# ---------------------------------------------------------------------------
# Work dir: one per test, readable by the unprivileged user (the file must be
# executable by it), removed on exit.

e2e_workdir() {
  E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/elements-e2e.XXXXXX")
  chmod 0755 "$E2E_WORK"
  e2e_defer "_e2e_remove_work"
  E2E_TOKEN="e2e-token-${E2E_WORK##*.}"
}

_e2e_remove_work() {
  local mnt
  # A mount the runtime left under the work dir would make rm fail or, worse,
  # descend into it; the leak itself is reported by the checks.
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null
  done < <(awk -v w="$E2E_WORK" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  # Extracted payloads keep the image's read-only directory modes.
  chmod -R u+w "$E2E_WORK" 2>/dev/null
  rm -rf --one-file-system "$E2E_WORK"
}

# Kills what a test started and left running, by id: the processes whose
# command line carries this test's token.
_e2e_kill_leftovers() {
  local pid
  for pid in $(pgrep -f -- "$E2E_TOKEN" || true); do
    kill -KILL "$pid" 2>/dev/null
  done
}

# ---------------------------------------------------------------------------
# Modes: who runs the file and by which mount path.
#   root root-kernel root-fuse root-extract user user-fuse user-extract
# "root" and "user" let the runtime choose; a suffix forces ELEMENTS_MOUNT.
# Sets E2E_WHO, E2E_MOUNT (forced path or "auto") and E2E_EXPECT_PATH (the
# path the runtime should take), or skips when this machine cannot run it.

e2e_mode() {
  local mode=$1
  E2E_WHO=${mode%%-*}
  E2E_MOUNT=auto
  [[ $mode == *-* ]] && E2E_MOUNT=${mode#*-}
  case $E2E_WHO/$E2E_MOUNT in
    root/auto | root/kernel | root/fuse | root/extract | user/auto | user/fuse | user/extract) ;;
    *) e2e_abort "unknown mode '$mode'" ;;
  esac
  [[ -n ${E2E_WORK:-} ]] || e2e_workdir
  e2e_defer "_e2e_kill_leftovers"

  _e2e_as=()
  if [[ $E2E_WHO == root ]]; then
    ((EUID == 0)) || e2e_skip "runs as root; run ctest as root for this test"
  else
    _e2e_setup_user
  fi

  case $E2E_MOUNT in
    kernel)
      kernel_mount_possible || e2e_skip "no loop devices or squashfs here, or no CAP_SYS_ADMIN"
      E2E_EXPECT_PATH=kernel ;;
    fuse)
      fuse_possible || e2e_skip "the kernel offers no FUSE here (/dev/fuse)"
      [[ $E2E_WHO == root ]] || _e2e_open_dev_fuse
      E2E_EXPECT_PATH=fuse ;;
    extract)
      E2E_EXPECT_PATH=extract ;;
    auto)
      # The ladder of DESIGN.md section 3: kernel for root, then FUSE, then extract.
      if [[ $E2E_WHO == root ]] && kernel_mount_possible; then
        E2E_EXPECT_PATH=kernel
      elif fuse_possible; then
        [[ $E2E_WHO == root ]] || _e2e_open_dev_fuse
        E2E_EXPECT_PATH=fuse
      else
        E2E_EXPECT_PATH=extract
      fi ;;
  esac

  # TMPDIR in the work dir: what the runtime leaves in it shows up in
  # e2e_check_tmpdir, and goes with the work dir.
  # XDG_RUNTIME_DIR too, the caller's own 0700 folder: the registry of
  # instance names is the test's, $E2E_WORK/run/elements.
  mkdir -p "$E2E_WORK/home" "$E2E_WORK/cache" "$E2E_WORK/tmp"
  mkdir -p -m 0700 "$E2E_WORK/run"
  if [[ $E2E_WHO == user ]] && ((EUID == 0)); then
    chown "$E2E_USER:" "$E2E_WORK/home" "$E2E_WORK/cache" "$E2E_WORK/tmp" "$E2E_WORK/run"
  fi
  _e2e_env=(env -u ELEMENTS_MOUNT -u ELEMENTS_DEBUG -u TARGET_APPIMAGE
    HOME="$E2E_WORK/home" XDG_CACHE_HOME="$E2E_WORK/cache" TMPDIR="$E2E_WORK/tmp"
    XDG_RUNTIME_DIR="$E2E_WORK/run")
  [[ $E2E_MOUNT == auto ]] || _e2e_env+=(ELEMENTS_MOUNT="$E2E_MOUNT")
  echo "mode $mode: runs as $E2E_WHO, mount path ${E2E_MOUNT/auto/auto (expect $E2E_EXPECT_PATH)}"
}

# As root: run as the test user (made by the "e2e: user setup" fixture). As
# any other user: that user is already unprivileged, so run as it.
_e2e_setup_user() {
  if ((EUID == 0)); then
    id "$E2E_USER" >/dev/null 2>&1 ||
      e2e_abort "user $E2E_USER is missing (the 'e2e: user setup' fixture creates it)"
    _e2e_as=(setpriv --reuid="$E2E_USER" --regid="$E2E_USER" --init-groups --)
  fi
  if ! "${_e2e_as[@]}" unshare --user --map-root-user true 2>/dev/null; then
    e2e_skip "this kernel refuses unprivileged user namespaces" \
      "(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone or" \
      "kernel.apparmor_restrict_unprivileged_userns)"
  fi
}

# Holds the lock on /dev/fuse's mode until the test ends: no test of this or
# another build tree changes it meanwhile, so its mode is the one at rest.
# Taken once: a second open of the lock file would wait for the first.
_e2e_dev_fuse_lock=
e2e_lock_dev_fuse() {
  [[ -z $_e2e_dev_fuse_lock ]] || return 0
  exec {_e2e_dev_fuse_lock}>/run/lock/elements-e2e-dev-fuse
  flock -w 900 "$_e2e_dev_fuse_lock" || e2e_fail "another test run holds /dev/fuse for 15 minutes"
}

# Gives the unprivileged user /dev/fuse as distributions ship it (0666);
# restores the previous mode on exit. Tests that call this hold the CTest
# resource lock "dev_fuse", so no two of them overlap in one run, and a lock
# file, so neither do two runs from different build trees.
_e2e_open_dev_fuse() {
  ((EUID == 0)) || {
    [[ -r /dev/fuse && -w /dev/fuse ]] || command -v fusermount3 >/dev/null ||
      e2e_skip "/dev/fuse is not usable by $(id -un) and fusermount3 is missing"
    return 0
  }
  local old
  e2e_lock_dev_fuse
  old=$(stat -c %a /dev/fuse)
  e2e_defer "chmod $old /dev/fuse"
  chmod 0666 /dev/fuse
}

# ---------------------------------------------------------------------------
# Building test files

# A rootfs with busybox and the probe in $E2E_WORK/rootfs.
e2e_rootfs() {
  [[ -d $E2E_WORK/rootfs ]] && return 0
  bash "$E2E_SOURCE/scripts/make-rootfs.sh" "$E2E_WORK/rootfs"
  cp "$E2E_PROBE" "$E2E_WORK/rootfs/bin/probe"
  chmod 0755 "$E2E_WORK/rootfs/bin/probe"
}

# The probe's default runtime spec: the probe as command, extra args on.
# shellcheck disable=SC2016 # the runtime expands these, not bash
E2E_PROBE_RUN='{
    "description": "end-to-end probe",
    "command": ["/bin/probe"],
    "extraArgs": true,
    "env": {
      "PATH": "/bin",
      "E2E_ID": "${ELEMENTS_ID}",
      "E2E_DOLLAR": "a$$b",
      "E2E_DEFAULT": "${E2E_UNSET_VARIABLE:-fallback}",
      "E2E_SEEN_MARKER": "${E2E_HOST_MARKER:-absent}"
    }
  }'

# Packs $E2E_WORK/NAME.AppImage from the rootfs and a definition with the
# given "run" object (default: E2E_PROBE_RUN) and extra top-level fields.
e2e_pack() {  # NAME [RUN_JSON [EXTRA_FIELDS]]
  local name=$1 run=${2:-$E2E_PROBE_RUN} extra=${3:-}
  e2e_rootfs
  # "from" is relative to the definition's folder.
  cat >"$E2E_WORK/$name.json" <<EOF
{
  // written by the end-to-end test $E2E_TEST
  "name": "$name",
  "from": "dir:rootfs",${extra:+
  $extra,}
  "run": $run
}
EOF
  if ! "$E2E_PACK" -o "$E2E_WORK/$name.AppImage" "$E2E_WORK/$name.json" \
    >"$E2E_WORK/pack.log" 2>&1; then
    cat "$E2E_WORK/pack.log" >&2
    e2e_abort "elements-pack failed on $E2E_WORK/$name.json"
  fi
  [[ -x $E2E_WORK/$name.AppImage ]] ||
    e2e_abort "elements-pack exited 0 but wrote no executable $E2E_WORK/$name.AppImage"
  E2E_APP=$E2E_WORK/$name.AppImage
}

# "OFFSET SIZE" (decimal) of the ELF section NAME of FILE, as objdump sees it.
e2e_section_extent() {  # FILE NAME
  local size off
  read -r size off < <(objdump -h "$1" | awk -v s="$2" '$2 == s {print $3, $6}')
  [[ -n $off ]] && echo "$((16#$off)) $((16#$size))"
}

# The contents of the ELF section NAME of FILE, NUL padding removed.
e2e_section() {  # FILE NAME
  local off size
  read -r off size < <(e2e_section_extent "$1" "$2")
  [[ -n $off ]] || return 1
  dd if="$1" bs=1 skip="$off" count="$size" status=none | tr -d '\0'
}

# ---------------------------------------------------------------------------
# Running: the file runs in $E2E_WORK with only fds 0-2 open (so a leaked fd
# inside is the runtime's own), the test's HOME and XDG_CACHE_HOME, as the
# mode says.

_e2e_close_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-"; fi
  done
}

# Runs FILE ARGS... to completion (60 s at most); stdout in E2E_OUT, stderr
# in E2E_ERR, exit status in E2E_RC.
e2e_run() {
  E2E_RC=0
  (
    _e2e_close_fds
    cd "$E2E_WORK"
    exec timeout -k 5 60 "${_e2e_as[@]}" "${_e2e_env[@]}" "$@"
  ) </dev/null >"$E2E_WORK/stdout" 2>"$E2E_WORK/stderr" || E2E_RC=$?
  E2E_OUT=$(<"$E2E_WORK/stdout")
  E2E_ERR=$(<"$E2E_WORK/stderr")
  if ((E2E_RC == 124)); then e2e_fail "'$*' did not end within 60 s"; fi
}

# Like e2e_run, and checks the exit status (stderr shown when it is not the
# expected one). Returns non-zero then, for `if e2e_ran 0 ...; then` around
# checks that only make sense when the run went as expected.
e2e_ran() {  # STATUS FILE ARGS...
  local want=$1 what
  shift
  what="'$(basename "$1")${2:+ ${*:2}}'"
  e2e_run "$@"
  if ((E2E_RC == want)); then
    e2e_pass "$what exits $want"
  else
    e2e_fail "$what exited $E2E_RC, expected $want; stderr:
$E2E_ERR"
    return 1
  fi
}

# e2e_ran for a check that stands on its own.
e2e_run_expect() { e2e_ran "$@" || true; }

# Starts FILE ARGS... in the background; its pid (the runtime's: setpriv and
# env exec) in E2E_PID, output in $E2E_WORK/stdout and stderr.
e2e_start() {
  # Emptied here, not only by the child's redirection: until the child runs,
  # e2e_wait_output would read the previous run's output.
  : >"$E2E_WORK/stdout"
  : >"$E2E_WORK/stderr"
  (
    _e2e_close_fds
    cd "$E2E_WORK"
    exec "${_e2e_as[@]}" "${_e2e_env[@]}" "$@"
  ) </dev/null >"$E2E_WORK/stdout" 2>"$E2E_WORK/stderr" &
  E2E_PID=$!
  e2e_defer "kill -KILL $E2E_PID 2>/dev/null"
}

# Starts FILE ARGS... in the background, for many runs at once: stdout and
# stderr in OUT, its pid appended to E2E_PIDS; 120 s at most.
e2e_start_one_of_many() {  # OUT FILE ARGS...
  local out=$1
  shift
  (
    _e2e_close_fds
    cd "$E2E_WORK"
    exec timeout -k 5 120 "${_e2e_as[@]}" "${_e2e_env[@]}" "$@"
  ) </dev/null >"$out" 2>&1 &
  E2E_PIDS+=($!)
}

# Waits until the background run printed LINE (10 s at most).
e2e_wait_output() {  # LINE
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qxF -- "$1" "$E2E_WORK/stdout" 2>/dev/null && return 0
    # Gone before printing it: no point in waiting longer.
    [[ $(_e2e_state "$E2E_PID") == [ZX-] ]] && break
    sleep 0.1
  done
  if [[ $(_e2e_state "$E2E_PID") == [ZX-] ]]; then
    e2e_fail "the run ended before printing '$1'; stderr:
$(<"$E2E_WORK/stderr")"
  else
    e2e_fail "the container did not print '$1' within 10 s; stderr:
$(<"$E2E_WORK/stderr")"
  fi
  return 1
}

_e2e_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo -; return; }
  stat=${stat##*) }
  echo "${stat%% *}"
}

# Waits for the background run to end (10 s at most; then it is killed and
# the check fails); exit status in E2E_RC, output in E2E_OUT and E2E_ERR.
e2e_wait() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(_e2e_state "$E2E_PID") == [ZX-] ]] && break
    sleep 0.1
  done
  if [[ $(_e2e_state "$E2E_PID") != [ZX-] ]]; then
    e2e_fail "the runtime (pid $E2E_PID) was still running 10 s later; killed"
    kill -KILL "$E2E_PID" 2>/dev/null || true
  fi
  E2E_RC=0
  wait "$E2E_PID" || E2E_RC=$?
  E2E_OUT=$(<"$E2E_WORK/stdout")
  E2E_ERR=$(<"$E2E_WORK/stderr")
}

# Waits up to 10 s for no process to carry this test's token.
e2e_wait_no_token_process() {
  local i
  for ((i = 0; i < 100; i++)); do
    pgrep -f -- "$E2E_TOKEN" >/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# Nothing may be left in the runs' TMPDIR once they ended.
e2e_check_tmpdir() {  # WHEN
  local left
  left=$(find "$E2E_WORK/tmp" -mindepth 1 -maxdepth 1 2>/dev/null)
  if [[ -z $left ]]; then e2e_pass "$1: nothing left in TMPDIR"
  else e2e_fail "$1: left in TMPDIR: $(tr '\n' ' ' <<<"$left")"; fi
}

# ---------------------------------------------------------------------------
# Where the payload came from while a container runs (E2E_PID up, the probe
# started with E2E_TOKEN among its args).

# The filesystem type of / as the probe inside sees it: squashfs from a loop
# device, fuse.* from FUSE, the cache's own filesystem when extracted.
_e2e_container_root_fstype() {
  local pid
  for pid in $(pgrep -f -- "$E2E_TOKEN"); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == probe ]] || continue
    # The last mount on / is the one in sight; the type follows the " - ".
    awk '$5 == "/" { for (i = 7; $i != "-"; i++) {} type = $(i + 1) } END { print type }' \
      "/proc/$pid/mountinfo" 2>/dev/null
    return
  done
}

e2e_check_mount_path() {
  local loops cached fstype
  loops=
  if ((EUID == 0)); then loops=$(losetup -n -O NAME -j "$E2E_APP"); fi
  cached=$(find "$E2E_WORK/cache" -mindepth 2 -maxdepth 2 -type d -name '[!.]*' 2>/dev/null | head -n 1)
  fstype=$(_e2e_container_root_fstype)
  local seen="/ inside is '${fstype:-?}', loop device '${loops}', cache '${cached}'"
  case $E2E_EXPECT_PATH in
    kernel)
      # losetup shows loop devices to root only.
      if [[ $fstype == squashfs ]] && { [[ -n $loops ]] || ((EUID != 0)); }; then
        e2e_pass "payload by the kernel path ($seen)"
      else e2e_fail "expected the kernel path (squashfs on a loop device); $seen"; fi ;;
    fuse)
      if [[ $fstype == fuse* && -z $loops && -z $cached ]]; then
        e2e_pass "payload by the FUSE path ($seen)"
      else e2e_fail "expected the FUSE path (fuse, no loop device, nothing extracted); $seen"; fi ;;
    extract)
      if [[ $fstype != squashfs && $fstype != fuse* && -z $loops && -n $cached ]]; then
        e2e_pass "payload by the extract path ($seen)"
      else e2e_fail "expected the extract path (extracted under XDG_CACHE_HOME); $seen"; fi ;;
  esac
}

# ---------------------------------------------------------------------------
# Nothing outlives a run (DESIGN.md section 3): host-wide mount and loop
# device counts taken before, compared after. Tests that use these are
# RUN_SERIAL, since the counts would also see the mounts of tests beside them.

e2e_mount_count() { wc -l </proc/self/mountinfo; }
e2e_loop_count() { if ((EUID == 0)); then losetup -a | wc -l; else echo 0; fi; }

# How many instance names of files named NAME are claimed: the lock files
# NAME.*.lock in the registry that a running runtime holds. A runtime killed
# by SIGKILL leaves its files behind but holds nothing.
e2e_instance_claims() {  # NAME
  local lock held=0
  for lock in "$E2E_WORK/run/elements/$1".*.lock; do
    [[ -f $lock ]] || continue
    flock --nonblock "$lock" true 2>/dev/null || held=$((held + 1))
  done
  echo "$held"
}

e2e_snapshot_host() {
  _e2e_mounts_before=$(e2e_mount_count)
  _e2e_loops_before=$(e2e_loop_count)
}

# After a run of $E2E_APP (named NAME) ended: the same mounts and loop
# devices as at e2e_snapshot_host, no loop device over the file, nothing in
# TMPDIR, no instance name of NAME claimed and no process of the container.
e2e_check_nothing_left() {  # WHEN [NAME]
  local i mounts loops
  # The kernel tears a namespace down asynchronously after its last process.
  for ((i = 0; i < 50; i++)); do
    mounts=$(e2e_mount_count)
    loops=$(e2e_loop_count)
    ((mounts == _e2e_mounts_before && loops == _e2e_loops_before)) && break
    sleep 0.1
  done
  expect_eq "$1: host mount count (/proc/self/mountinfo)" "$mounts" "$_e2e_mounts_before"
  expect_eq "$1: loop device count (losetup -a)" "$loops" "$_e2e_loops_before"
  if ((EUID == 0)); then
    expect_eq "$1: no loop device over the file" "$(losetup -n -O NAME -j "$E2E_APP")" ""
  fi
  e2e_check_tmpdir "$1"
  if [[ -n ${2:-} ]]; then
    expect_eq "$1: no instance name left claimed" "$(e2e_instance_claims "$2")" 0
  fi
  if e2e_wait_no_token_process; then
    e2e_pass "$1: no process of the run left"
  else
    e2e_fail "$1: processes left: $(pgrep -a -f -- "$E2E_TOKEN" | tr '\n' ';')"
  fi
}
