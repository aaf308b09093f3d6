#!/usr/bin/env bash
# squashfuse mounts the payload at the offset the file reports (DESIGN.md
# section 1: standard tools read it).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

command -v squashfuse >/dev/null || e2e_skip "squashfuse is not installed (scripts/deps.sh)"
fuse_possible || e2e_skip "the kernel offers no FUSE here (/dev/fuse)"
[[ -r /dev/fuse && -w /dev/fuse ]] || command -v fusermount3 >/dev/null ||
  e2e_skip "/dev/fuse is not usable by $(id -un) and fusermount3 is missing"
e2e_workdir
e2e_pack probe
offset=$("$E2E_APP" --appimage-offset) || e2e_abort "--appimage-offset failed"

mkdir "$E2E_WORK/mnt"
if squashfuse -o "offset=$offset" "$E2E_APP" "$E2E_WORK/mnt" 2>"$E2E_WORK/squashfuse.err"; then
  e2e_defer "fusermount3 -u '$E2E_WORK/mnt' 2>/dev/null || umount '$E2E_WORK/mnt'"
  e2e_pass "squashfuse -o offset=$offset mounts the payload"
  expect_match "spec.json through squashfuse" "$(cat "$E2E_WORK/mnt/.elements/spec.json")" \
    '"name": *"probe"'
  if cmp -s "$E2E_PROBE" "$E2E_WORK/mnt/rootfs/bin/probe"; then e2e_pass "rootfs/bin/probe intact"
  else e2e_fail "rootfs/bin/probe differs from the probe packed"; fi
else
  e2e_fail "squashfuse -o offset=$offset failed: $(<"$E2E_WORK/squashfuse.err")"
fi

e2e_done
