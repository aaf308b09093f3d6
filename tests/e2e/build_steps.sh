#!/usr/bin/env bash
# Build steps and their cache (DESIGN.md section 4): a definition from an OCI
# layout made here with umoci, a copy step and run steps, packed as MODE's
# caller (root, or the unprivileged user with and without subordinate ids),
# then run. Checks that each step's output is streamed with its prefix, that
# an edit of the last step reruns only that step, --no-cache, `cache ls` and
# `cache prune`, the owners a step gives, whiteouts, and that a failed or
# interrupted step leaves no output, temp file, process or mount behind.
source "$(dirname "$0")/lib.sh"

mode=${1:?usage: build_steps.sh root|user}
command -v umoci >/dev/null || e2e_skip "umoci is not installed (scripts/deps.sh installs it)"
command -v unsquashfs >/dev/null || e2e_skip "unsquashfs is not installed"
e2e_mode "$mode"
e2e_rootfs

# An OCI layout whose one layer is the test rootfs, with a file a step removes.
echo "marker" >"$E2E_WORK/rootfs/etc/motd-e2e"
tar -C "$E2E_WORK/rootfs" -cf "$E2E_WORK/base.tar" .
umoci init --layout "$E2E_WORK/img" >/dev/null
umoci new --image "$E2E_WORK/img:v1" >/dev/null
umoci raw add-layer --image "$E2E_WORK/img:v1" "$E2E_WORK/base.tar" >/dev/null
umoci config --image "$E2E_WORK/img:v1" --config.env PATH=/bin --config.cmd /bin/true >/dev/null
mkdir -p "$E2E_WORK/files"
echo "copied-in" >"$E2E_WORK/files/greeting"
chmod -R a+rX "$E2E_WORK/img" "$E2E_WORK/files"

# Writes the definition; LAST is the last step's marker, OWNERS the shell
# line of the owners step.
write_definition() {  # LAST OWNERS
  cat >"$E2E_WORK/steps.json" <<EOF
{
  "name": "steps",
  "from": "oci:img:v1",
  "build": [
    {"copy": "files/greeting", "to": "/etc/greeting", "mode": "0640"},
    {"run": "echo ran-step-2; cat /etc/greeting > /etc/from-copy; rm /etc/motd-e2e; $2"},
    {"run": ["/bin/sh", "-c", "echo ran-step-3 $1; echo $1 > /etc/last"]}
  ],
  "run": {"command": ["/bin/cat", "/etc/from-copy", "/etc/last"]}
}
EOF
}

# elements-pack as the mode's caller, in $E2E_WORK; status in PACK_RC,
# stderr in PACK_ERR.
pack() {  # ARGS...
  local phases=(--progress always)
  [[ $1 == cache ]] && phases=()
  PACK_RC=0
  (
    _e2e_close_fds
    cd "$E2E_WORK"
    exec timeout -k 5 120 "${_e2e_as[@]}" "${_e2e_env[@]}" "$E2E_PACK" "${phases[@]}" "$@"
  ) </dev/null >"$E2E_WORK/pack.out" 2>"$E2E_WORK/pack.err" || PACK_RC=$?
  PACK_OUT=$(<"$E2E_WORK/pack.out")
  PACK_ERR=$(<"$E2E_WORK/pack.err")
}

packed() {  # DESCRIPTION ARGS...: pack, expecting status 0
  local what=$1
  shift
  pack "$@"
  if ((PACK_RC == 0)); then e2e_pass "$what"; else e2e_abort "$what: exit $PACK_RC:
$PACK_ERR"; fi
}

# The image's entries as "OWNER MODE PATH" from unsquashfs -lln.
listing() {  # FILE
  unsquashfs -o "$("$1" --appimage-offset)" -lln "$1" |
    awk '$6 ~ /^squashfs-root\/rootfs\// {print $2, $1, substr($6, 21)}'
}

out=$E2E_WORK/home/steps.AppImage

# --- single id (root: no mapping at all) -----------------------------------
chown_line="touch /made-by-step; chown 1000:1000 /chowned 2>/dev/null || echo chown-refused"
write_definition v1 "touch /chowned; $chown_line"
packed "first build" -o "$out" steps.json
expect_line "step 2's output is streamed with its prefix" "$PACK_ERR" "[step 2/3] ran-step-2"
expect_line "step 3's output is streamed with its prefix" "$PACK_ERR" "[step 3/3] ran-step-3 v1"
e2e_run_expect 0 "$out"
expect_eq "the result runs and shows the copy and the last step" "$E2E_OUT" "copied-in
v1"
list=$(listing "$out")
expect_line "a file the step made belongs to root" "$list" "0/0 -rw-r--r-- /made-by-step"
expect_no_match "the step's rm is a whiteout in the result" "$list" " /etc/motd-e2e$"
expect_line "the copy keeps its mode" "$list" "0/0 -rw-r----- /etc/greeting"
# Run by ctest as an ordinary user, the tests build as that user, who may
# have subordinate ids of their own.
caller_has_subids() {
  local who
  who=$("${_e2e_as[@]}" id -un)
  command -v newuidmap >/dev/null && command -v newgidmap >/dev/null &&
    grep -qE "^($who|$("${_e2e_as[@]}" id -u)):" /etc/subuid 2>/dev/null &&
    grep -qE "^($who|$("${_e2e_as[@]}" id -u)):" /etc/subgid 2>/dev/null
}
if [[ $E2E_WHO == root ]] || caller_has_subids; then
  expect_line "$E2E_WHO: chown in a step is kept" "$list" "1000/1000 -rw-r--r-- /chowned"
else
  # Without subordinate ids only the caller is mapped (to 0): chown to any
  # other id fails in the step, and what the step makes is root's.
  expect_line "single id: chown to another id fails in the step" "$PACK_ERR" \
    "[step 2/3] chown-refused"
  expect_line "single id: the file stays root's" "$list" "0/0 -rw-r--r-- /chowned"
fi
e2e_check_tmpdir "after a build with run steps"

# --- the cache ---------------------------------------------------------------
write_definition v2 "touch /chowned; $chown_line"
packed "rebuild after editing the last step" -o "$out" steps.json
expect_no_match "the unchanged step 2 did not run again" "$PACK_ERR" "^\\[step 2/3\\] ran-step-2"
expect_match "step 2 came from the cache" "$PACK_ERR" "step 2/3: run .*\(cached [0-9a-f]{12}\)"
expect_line "the edited step 3 ran" "$PACK_ERR" "[step 3/3] ran-step-3 v2"
e2e_run_expect 0 "$out"
expect_eq "the rebuilt result runs" "$E2E_OUT" "copied-in
v2"

echo "copied-in, edited" >"$E2E_WORK/files/greeting"
packed "rebuild after editing what step 1 copies" -o "$out" steps.json
expect_line "a changed copy reruns the steps after it" "$PACK_ERR" "[step 2/3] ran-step-2"
echo "copied-in" >"$E2E_WORK/files/greeting"

pack cache ls
expect_eq "cache ls exits 0" "$PACK_RC" 0
# Steps 2 and 3 of v1, step 3 of v2, steps 2 and 3 after the copy changed.
expect_eq "cache ls lists the five stored steps" "$(wc -l <<<"$PACK_OUT")" 5
expect_match "cache ls shows key, size, last use and step" "$(head -n 1 <<<"$PACK_OUT")" \
  "^[0-9a-f]{12}  [0-9]+  [0-9-]+ [0-9:]+  run "

packed "--no-cache build" --no-cache -o "$out" steps.json
expect_line "--no-cache reruns step 2" "$PACK_ERR" "[step 2/3] ran-step-2"
expect_line "--no-cache reruns step 3" "$PACK_ERR" "[step 3/3] ran-step-3 v2"
pack cache ls
expect_eq "--no-cache stored nothing" "$(wc -l <<<"$PACK_OUT")" 5

pack cache prune
expect_eq "cache prune without --all or --older-than is a usage error" "$PACK_RC" 2
old=$(find "$E2E_WORK/cache/elements/steps" -name '*.tar' | head -n 1)
touch -d '10 days ago' "$old"
pack cache prune --older-than 5
expect_eq "cache prune --older-than exits 0" "$PACK_RC" 0
expect_eq "it removed the entry last used 10 days ago" "$([[ -e $old ]] && echo kept || echo gone)" gone
pack cache ls
expect_eq "four entries are left" "$(wc -l <<<"$PACK_OUT")" 4
pack cache prune --all
pack cache ls
expect_eq "cache prune --all empties the cache" "$PACK_OUT" ""

# --- subordinate ids -----------------------------------------------------------
if [[ $E2E_WHO == user ]] && ((EUID == 0)); then
  command -v newuidmap >/dev/null || e2e_skip "newuidmap is missing (uidmap package)"
  exec {sublock}>/run/lock/elements-e2e-subuid
  flock -w 300 "$sublock"
  for f in /etc/subuid /etc/subgid; do
    [[ -e $f ]] || { touch "$f" && e2e_defer "rm -f $f"; }
    cp -p "$f" "$E2E_WORK/$(basename "$f").saved"
    e2e_defer "cp -p '$E2E_WORK/$(basename "$f").saved' $f"
    echo "$E2E_USER:300000:65536" >>"$f"
  done
  write_definition v3 "touch /chowned /made-by-step; chown 1000:1000 /chowned; echo chowned-ok"
  packed "build with subordinate ids" -o "$out" steps.json
  expect_match "the step reports the subordinate ids" "$PACK_ERR" "subordinate uids 300000\+65536"
  expect_line "chown to 1000:1000 worked in the step" "$PACK_ERR" "[step 2/3] chowned-ok"
  list=$(listing "$out")
  expect_line "subordinate ids: the file is owned 1000:1000" "$list" "1000/1000 -rw-r--r-- /chowned"
  expect_line "subordinate ids: other files stay root's" "$list" "0/0 -rw-r--r-- /made-by-step"
  e2e_run_expect 0 "$out"
  e2e_check_tmpdir "after a build with subordinate ids"
fi

# --- a failing step ------------------------------------------------------------
rm -f "$out"
cat >"$E2E_WORK/fail.json" <<'EOF'
{
  "name": "fail",
  "from": "oci:img:v1",
  "build": [{"copy": "files/greeting", "to": "/etc/greeting"}, {"run": "echo before-fail; exit 3"}],
  "run": {"command": ["/bin/true"]}
}
EOF
mounts_before=$(wc -l </proc/self/mountinfo)
pack -o "$out" fail.json
expect_eq "a failed step exits 1" "$PACK_RC" 1
expect_line "its output was streamed" "$PACK_ERR" "[step 2/2] before-fail"
expect_line "the message names the step and the status" "$PACK_ERR" \
  "elements-pack: step 2/2 (/build/1: run echo before-fail; exit 3) failed: the command exited with status 3"
expect_eq "no output file" "$([[ -e $out ]] && echo written || echo none)" none
e2e_check_tmpdir "after a failed step"
expect_eq "no mount is left" "$(wc -l </proc/self/mountinfo)" "$mounts_before"

# --- an interrupted step ---------------------------------------------------------
cat >"$E2E_WORK/slow.json" <<'EOF'
{
  "name": "slow",
  "from": "oci:img:v1",
  "build": [{"run": "echo sleeping; exec sleep 37"}],
  "run": {"command": ["/bin/true"]}
}
EOF
(
  _e2e_close_fds
  cd "$E2E_WORK"
  exec "${_e2e_as[@]}" "${_e2e_env[@]}" "$E2E_PACK" -o "$out" slow.json
) </dev/null >/dev/null 2>"$E2E_WORK/slow.err" &
pack_pid=$!
e2e_defer "kill -KILL $pack_pid 2>/dev/null"
for ((i = 0; i < 100; i++)); do
  grep -qxF "[step 1/1] sleeping" "$E2E_WORK/slow.err" && break
  sleep 0.1
done
kill -TERM "$pack_pid"
rc=0
wait "$pack_pid" || rc=$?
expect_eq "SIGTERM during a step ends the build by that signal" "$rc" 143
expect_eq "the step's command is gone" "$(pgrep -fx 'sleep 37' || true)" ""
expect_eq "no output file after the signal" "$([[ -e $out ]] && echo written || echo none)" none
e2e_check_tmpdir "after SIGTERM during a step"

e2e_done
