#!/usr/bin/env bash
# --appimage-extract writes squashfs-root with AppRun, .elements/spec.json
# and rootfs, and squashfs-root/AppRun runs the container from that tree;
# --appimage-extract-and-run does both and removes the tree. MODE is root or
# user (see lib.sh); the mount path plays no part.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

mode=${1:?usage: extract.sh root|user}
[[ $mode == root || $mode == user ]] || e2e_abort "extract.sh takes root or user, not $mode"
e2e_mode "$mode"
e2e_pack probe
# The user extracts into a folder of its own.
[[ $E2E_WHO == user ]] && ((EUID == 0)) && chown "$E2E_USER:" "$E2E_WORK"

e2e_run_expect 0 "$E2E_APP" --appimage-extract
tree=$E2E_WORK/squashfs-root
if [[ -x $tree/AppRun && -f $tree/AppRun ]]; then e2e_pass "squashfs-root/AppRun is executable"
else e2e_fail "no executable squashfs-root/AppRun"; fi
if [[ -f $tree/.elements/spec.json ]]; then e2e_pass "squashfs-root/.elements/spec.json"
else e2e_fail "no squashfs-root/.elements/spec.json"; fi
if [[ -x $tree/rootfs/bin/probe ]]; then e2e_pass "squashfs-root/rootfs/bin/probe"
else e2e_fail "no squashfs-root/rootfs/bin/probe"; fi

if [[ -x $tree/AppRun ]] && e2e_ran 0 "$tree/AppRun" -- info; then
  expect_eq "AppRun: the command is PID 2" "$(probe_value "$E2E_OUT" pid)" 2
  expect_eq "AppRun: PID 1 is the runtime's init" "$(probe_value "$E2E_OUT" pid1_comm)" elements-init
  expect_match "AppRun: / is read-only" "$(probe_value "$E2E_OUT" root_writable)" '^no '
  e2e_run_expect 7 "$tree/AppRun" -- exit 7
fi

if e2e_ran 0 "$E2E_APP" --appimage-extract-and-run -- info; then
  expect_eq "--appimage-extract-and-run: the command is PID 2" "$(probe_value "$E2E_OUT" pid)" 2
  expect_eq "--appimage-extract-and-run: PID 1 is the runtime's init" \
    "$(probe_value "$E2E_OUT" pid1_comm)" elements-init
fi
e2e_check_tmpdir "after --appimage-extract-and-run"

e2e_done
