#!/usr/bin/env bash
# Hostile images and files, for one mode (see lib.sh): files made by a
# packager who did not use elements-pack (the payload of a good file changed
# and packed again with mksquashfs behind the same runtime) and files damaged
# on the way. The runtime must keep every mount inside the image, give the
# image no privileges, and refuse what it cannot read with one clear line
# and status 125: never a crash, a hang or a mount outside the rootfs.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: hostile.sh MODE}"
((EUID == 0)) || e2e_skip "crafts images with files owned by root; run ctest as root"
tok=${E2E_TOKEN#e2e-token-}

# The good file all hostile ones start from.
mkdir -p "$E2E_WORK/bindsrc"
echo "$tok" >"$E2E_WORK/bindsrc/marker"
e2e_pack good '{
    "command": ["/bin/probe"],
    "extraArgs": true,
    "env": {"PATH": "/bin"},
    "binds": [
      {"source": "'"$E2E_WORK"'/bindsrc", "target": "/etc-link/e2e-'"$tok"'-etc"},
      {"source": "'"$E2E_WORK"'/bindsrc", "target": "/up/e2e-'"$tok"'-up"},
      {"source": "'"$E2E_WORK"'/bindsrc", "target": "/deep/dir/e2e-'"$tok"'-deep"}
    ]
  }'
good=$E2E_APP
offset=$("$good" --appimage-offset)

# Writes FILE: the good file's payload, unpacked, changed by COMMANDS run in
# the unpacked tree, packed again behind the good file's runtime.
repack() {  # FILE COMMANDS
  local tree=$E2E_WORK/tree
  rm -rf "$tree" "$E2E_WORK/payload"
  unsquashfs -q -n -d "$tree" -o "$offset" "$good" >/dev/null ||
    e2e_abort "unsquashfs cannot read $good"
  (cd "$tree" && eval "$2") || e2e_abort "cannot change the unpacked payload: $2"
  mksquashfs "$tree" "$E2E_WORK/payload" -quiet -no-progress -comp zstd >/dev/null ||
    e2e_abort "mksquashfs failed"
  { head -c "$offset" "$good" && cat "$E2E_WORK/payload"; } >"$1"
  chmod 0755 "$1"
  rm -rf "$tree" "$E2E_WORK/payload"
}

# Runs FILE ARGS... and checks that it is refused with status 125 and one
# line on stderr that matches ERE (within e2e_run's 60 s: no hang).
expect_refused() {  # DESCRIPTION ERE FILE ARGS...
  local what=$1 ere=$2
  shift 2
  e2e_run "$@"
  if ((E2E_RC == 125)) && [[ $(wc -l <<<"$E2E_ERR") == 1 && $E2E_ERR =~ $ere ]]; then
    e2e_pass "$what: status 125, '$E2E_ERR'"
  else
    e2e_fail "$what: expected status 125 and one line matching /$ere/; got $E2E_RC and:
$E2E_ERR"
  fi
}

# --- bind targets behind symlinks stay inside the rootfs --------------------
# /etc-link points at /etc, /up at ../../.. and /deep/dir at ../../..: resolved
# on the host, the missing targets would be created (as the caller) and
# mounted on the host's /etc and /, beside the runtime's /tmp.
repack "$E2E_WORK/escape.AppImage" \
  'ln -s /etc rootfs/etc-link && ln -s ../../.. rootfs/up && mkdir rootfs/deep &&
   ln -s ../../../../.. rootfs/deep/dir'
E2E_APP=$E2E_WORK/escape.AppImage
if e2e_ran 0 "$E2E_APP" -- "do" "cat:/etc/e2e-$tok-etc/marker" "cat:/e2e-$tok-up/marker" \
  "cat:/e2e-$tok-deep/marker" ls:/ "$E2E_TOKEN"; then
  expect_line "a target under a symlink to /etc lands in the image's /etc" "$E2E_OUT" \
    "cat:/etc/e2e-$tok-etc/marker=$tok"
  expect_line "a target under a symlink to ../../.. lands in the image's /" "$E2E_OUT" \
    "cat:/e2e-$tok-up/marker=$tok"
  expect_line "a target under a deeper ../ chain lands in the image's /" "$E2E_OUT" \
    "cat:/e2e-$tok-deep/marker=$tok"
fi
for host_path in "/etc/e2e-$tok-etc" "/e2e-$tok-up" "/e2e-$tok-deep" "/tmp/e2e-$tok-up"; do
  if [[ -e $host_path || -L $host_path ]]; then
    e2e_fail "the run created $host_path on the host"
    rm -rf "$host_path"
  else
    e2e_pass "nothing created at $host_path on the host"
  fi
done

# --- bind targets that are themselves symlinks -------------------------------
# /etc-link -> /etc as a target covers the image's /etc. /up -> ../../.. would
# cover the container's root, where the bind would silently be out of sight:
# refused.
repack "$E2E_WORK/link-target.AppImage" \
  'ln -s /etc rootfs/etc-link &&
   jq ".binds = [{source: .binds[0].source, target: \"/etc-link\"}]" .elements/spec.json >spec &&
   mv spec .elements/spec.json'
E2E_APP=$E2E_WORK/link-target.AppImage
if e2e_ran 0 "$E2E_APP" -- "do" cat:/etc/marker "$E2E_TOKEN"; then
  expect_line "a target that is a symlink to /etc covers the image's /etc" "$E2E_OUT" \
    "cat:/etc/marker=$tok"
fi
repack "$E2E_WORK/root-target.AppImage" \
  'ln -s ../../.. rootfs/up &&
   jq ".binds = [{source: .binds[0].source, target: \"/up\"}]" .elements/spec.json >spec &&
   mv spec .elements/spec.json'
expect_refused "a target that is a symlink to ../../.." "cannot bind onto /up in the container" \
  "$E2E_WORK/root-target.AppImage" -- info
E2E_APP=$good

# --- /proc, /dev, /tmp or /sys a symlink in the image: refused ----------------
for link in 'proc ../../../proc' 'dev /tmp' 'tmp /' 'sys ../../sys'; do
  read -r dir target <<<"$link"
  repack "$E2E_WORK/$dir-link.AppImage" "rm -rf rootfs/$dir && ln -s $target rootfs/$dir"
  E2E_APP=$E2E_WORK/$dir-link.AppImage
  expect_refused "/$dir a symlink to $target" "cannot open /$dir in the container.*plain directory" \
    "$E2E_APP" -- info
done
E2E_APP=$good

# --- a setuid binary in the image gives nothing -------------------------------
# Owned by root and by nobody, setuid and setgid. "user": "keep" runs the
# command as the caller's own uid, so a setuid binary has someone to lift:
# it must keep that uid (no_new_privs; nosuid on / for a caller that could
# not have setuid files of its own).
# shellcheck disable=SC2016 # run by repack in the unpacked tree
repack "$E2E_WORK/setuid.AppImage" \
  'jq ".user = \"keep\" | del(.binds)" .elements/spec.json >spec && mv spec .elements/spec.json &&
   for o in 0 65534; do cp rootfs/bin/probe rootfs/bin/suid-$o; chown $o:$o rootfs/bin/suid-$o;
     chmod 6755 rootfs/bin/suid-$o; done'
E2E_APP=$E2E_WORK/setuid.AppImage
caller_uid=0
[[ $E2E_WHO == user ]] && caller_uid=$(id -u "$E2E_USER")
for o in 0 65534; do
  if e2e_ran 0 "$E2E_APP" -- "do" "exec:/bin/suid-$o"; then
    expect_eq "a setuid-$o binary runs as the caller's uid" "$(probe_value "$E2E_OUT" euid)" \
      "$caller_uid"
    expect_eq "a setuid-$o binary runs with no_new_privs" \
      "$(probe_value "$E2E_OUT" no_new_privs)" 1
  fi
done
if [[ $E2E_WHO == user ]] && e2e_ran 0 "$E2E_APP" -- "do" mnt:/; then
  expect_match "/ is mounted nosuid for an unprivileged caller" \
    "$(probe_value "$E2E_OUT" mnt:/)" '(^|,)nosuid(,|$)'
fi

# --- no host fd leaks in; the runtime cannot be written from inside ----------
# fd 5 a host file opened for writing, fd 7 a host folder, both without
# O_CLOEXEC, as a careless caller leaves them.
echo host >"$E2E_WORK/host-file"
chmod 0666 "$E2E_WORK/host-file"
# The caller's own file, as a downloaded one is: only the kernel's refusal to
# write a running executable and the mount namespace stand in the way.
[[ $E2E_WHO == user ]] && chown "$E2E_USER:" "$E2E_APP"
sum_before=$(sha256sum <"$E2E_APP")
# e2e_run with fds 5 and 7 open.
run_with_leaked_fds() {  # ARGS...
  E2E_RC=0
  (
    _e2e_close_fds
    cd "$E2E_WORK"
    exec 5<>"$E2E_WORK/host-file" 7<"$E2E_WORK"
    exec timeout -k 5 60 "${_e2e_as[@]}" "${_e2e_env[@]}" "$@"
  ) </dev/null >"$E2E_WORK/stdout" 2>"$E2E_WORK/stderr" || E2E_RC=$?
  E2E_OUT=$(<"$E2E_WORK/stdout")
  ((E2E_RC == 0)) || e2e_fail "'$*' with fds 5 and 7 open exited $E2E_RC: $(<"$E2E_WORK/stderr")"
}
run_with_leaked_fds "$E2E_APP" -- "do" info open-w:/proc/1/exe open-w:/proc/2/exe "open-w:$E2E_APP"
if ((E2E_RC == 0)); then
  expect_eq "only fds 0, 1 and 2 reach the command (the caller had 5 and 7 open)" \
    "$(probe_value "$E2E_OUT" fds)" 0,1,2
  # PID 1 is the runtime itself (the file), PID 2 the command.
  expect_match "the runtime (/proc/1/exe) cannot be opened for writing" \
    "$(probe_value "$E2E_OUT" open-w:/proc/1/exe)" '^no \('
  expect_match "the command's own binary cannot be opened for writing" \
    "$(probe_value "$E2E_OUT" open-w:/proc/2/exe)" '^no \('
  expect_match "the file's host path is not in the container" \
    "$(probe_value "$E2E_OUT" "open-w:$E2E_APP")" '^no \(ENOENT\)$'
fi
# The same for a command run in a running instance with --elements-exec.
e2e_start "$E2E_APP" -- "do" info sleep:60 "$E2E_TOKEN"
if e2e_wait_output sleeping; then
  id=$(probe_value "$(<"$E2E_WORK/stdout")" hostname)
  run_with_leaked_fds "$E2E_APP" --elements-exec "$id" -- /bin/probe "do" info open-w:/proc/1/exe
  if ((E2E_RC == 0)); then
    expect_eq "--elements-exec: only fds 0, 1 and 2 reach the command" \
      "$(probe_value "$E2E_OUT" fds)" 0,1,2
    expect_match "--elements-exec: /proc/1/exe cannot be opened for writing" \
      "$(probe_value "$E2E_OUT" open-w:/proc/1/exe)" '^no \('
  fi
  kill -KILL "$E2E_PID"
fi
e2e_wait
expect_eq "the file is unchanged" "$(sha256sum <"$E2E_APP")" "$sum_before"
expect_eq "the caller's file behind fd 5 is unchanged" "$(<"$E2E_WORK/host-file")" host

e2e_done
