#!/usr/bin/env bash
# --appimage-mount mounts the payload where the caller can use it, prints
# the mount point, keeps it until SIGINT, then leaves nothing behind. MODE is
# root (kernel loop mount) or user (fusermount3).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

mode=${1:?usage: appimage_mount.sh root|user}
[[ $mode == root || $mode == user ]] || e2e_abort "appimage_mount.sh takes root or user, not $mode"
e2e_mode "$mode"
if [[ $mode == root ]]; then
  kernel_mount_possible || e2e_skip "no loop devices or squashfs here, or no CAP_SYS_ADMIN"
else
  command -v fusermount3 >/dev/null || e2e_skip "fusermount3 is not installed"
  fuse_possible || e2e_skip "the kernel offers no FUSE here (/dev/fuse)"
  _e2e_open_dev_fuse
fi
e2e_pack probe

mounts_before=$(grep -c . /proc/self/mountinfo)
out=$E2E_WORK/mount.out
"${_e2e_as[@]}" "${_e2e_env[@]}" "$E2E_APP" --appimage-mount "$E2E_TOKEN" >"$out" 2>"$E2E_WORK/mount.err" &
pid=$!
for _ in $(seq 100); do
  [[ -s $out ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
mnt=$(head -n 1 "$out")
if [[ -z $mnt ]]; then
  err=$(cat "$E2E_WORK/mount.err")
  wait "$pid" 2>/dev/null
  # fusermount3 needs its setuid bit honoured; some sandboxes mount /usr nosuid.
  if [[ $mode == user && $err == *fusermount3* ]]; then
    e2e_skip "fusermount3 cannot mount here: $err"
  fi
  e2e_abort "--appimage-mount printed no mount point: $err"
fi
e2e_pass "--appimage-mount printed $mnt"

# The caller reads the payload there (a FUSE mount without allow_other is
# the caller's alone, so read it as the caller).
if "${_e2e_as[@]}" test -f "$mnt/.elements/spec.json"; then e2e_pass "the spec is readable at the mount point"
else e2e_fail "no $mnt/.elements/spec.json"; fi
if "${_e2e_as[@]}" test -x "$mnt/rootfs/bin/probe"; then e2e_pass "the rootfs is readable at the mount point"
else e2e_fail "no $mnt/rootfs/bin/probe"; fi
if "${_e2e_as[@]}" test -x "$mnt/AppRun"; then e2e_pass "AppRun is at the mount point"
else e2e_fail "no $mnt/AppRun"; fi

kill -INT "$pid"
status=0
wait "$pid" || status=$?
expect_eq "--appimage-mount exits 0 on SIGINT" "$status" 0
# fusermount3's auto_unmount helper finishes just after the runtime.
for _ in $(seq 50); do
  grep -qF " $mnt " /proc/self/mountinfo || break
  sleep 0.1
done
if grep -qF " $mnt " /proc/self/mountinfo; then e2e_fail "$mnt is still mounted after SIGINT"
else e2e_pass "nothing is mounted at $mnt after SIGINT"; fi
expect_eq "no more mounts than before" "$(grep -c . /proc/self/mountinfo)" "$mounts_before"
if [[ -e $mnt ]]; then e2e_fail "the mount point $mnt is left behind"
else e2e_pass "the mount point is removed"; fi
if [[ $mode == root ]]; then expect_eq "no loop device left" "$(losetup -a)" ""; fi

e2e_done
