#!/usr/bin/env bash
# What elements-pack says while it works (DESIGN.md section 4: --progress,
# -q): one plain line per phase when stderr is not a terminal; on a terminal
# (a pty from script(1)) a status line redrawn in place with the bytes
# compressed, the rate and the time left; nothing at all with -q.
# shellcheck source=SCRIPTDIR/pack_lib.sh
source "$(dirname "$0")/pack_lib.sh"

command -v script >/dev/null || e2e_skip "script (bsdutils) is not installed"
pack_workdir
e2e_rootfs
# Large enough that compressing it takes several redraws.
pack_big_file "$E2E_WORK/rootfs/big" 16
pack_definition p dir:rootfs

# --- not a terminal: a line per phase, nothing redrawn
pack_expect 0 -o p.AppImage p.json
expect_line "reading" "$PACK_ERR" "elements-pack: reading the rootfs from dir:rootfs"
expect_line "writing" "$PACK_ERR" "elements-pack: writing p.AppImage (zstd:9)"
expect_match "wrote" "$PACK_ERR" $'\nelements-pack: wrote p.AppImage: [0-9]+ inodes, [0-9]+ KiB$'
expect_no_match "no redraws" "$PACK_ERR" $'\r'
expect_eq "stdout stays empty" "$PACK_OUT" ""
pack_expect 0 --progress never -o never.AppImage p.json
expect_line "--progress never: the same lines" "$PACK_ERR" \
  "elements-pack: writing never.AppImage (zstd:9)"

# Layers read, a line each.
pack_oci_layout "$E2E_WORK/rootfs" "$E2E_WORK/img"
layer=$(jq -r '.layers[0].digest' "$E2E_WORK/img/blobs/sha256/$(
  jq -r '.manifests[0].digest' "$E2E_WORK/img/index.json" | cut -d: -f2)")
pack_definition o oci:img:v1
pack_expect 0 --compression lz4 -o o.AppImage o.json
expect_match "a line per layer" "$PACK_ERR" \
  "elements-pack: read layer 1 of 1: oci:img:v1: layer $layer \([0-9.]+ MiB\)"

# --- -q: nothing on success
pack_expect 0 -q -o quiet.AppImage p.json
expect_eq "-q: stderr stays empty" "$PACK_ERR" ""
expect_eq "-q: stdout stays empty" "$PACK_OUT" ""
[[ -x $E2E_WORK/quiet.AppImage ]] && e2e_pass "-q: the file is written" ||
  e2e_fail "-q: no file written"

# --- a terminal: script(1) gives elements-pack a pty and copies what it
# shows to stdout.
on_a_terminal() {  # ARGS...
  local cmd
  cmd="cd '$E2E_WORK' && TMPDIR='$E2E_WORK/tmp' '$E2E_PACK' $*"
  timeout -k 5 120 script -q -e -c "$cmd" /dev/null </dev/null >"$E2E_WORK/tty.log" 2>&1
}
if on_a_terminal -o tty.AppImage p.json; then e2e_pass "on a terminal: exits 0"
else e2e_fail "on a terminal: exited $?: $(<"$E2E_WORK/tty.log")"; fi
shown=$(<"$E2E_WORK/tty.log")
redraws=$(grep -o $'\relements-pack: compressed [^\r]*' <<<"$shown" || true)
count=$(grep -c . <<<"$redraws" || true)
if ((count >= 2)); then e2e_pass "on a terminal: the status line is redrawn ($count times)"
else e2e_fail "on a terminal: no redrawn status line in: $(cat -v <<<"$shown")"; fi
expect_match "on a terminal: bytes, rate and time left" "$(head -n 1 <<<"$redraws")" \
  "compressed [0-9.]+ [KM]iB of [0-9.]+ MiB \([0-9]+%\), ([0-9.]+ [KM]iB|--)/s, ETA [0-9:-]+"
expect_match "on a terminal: the last redraw is complete" "$(tail -n 1 <<<"$redraws")" \
  "compressed ([0-9.]+) MiB of \1 MiB \(100%\), [0-9.]+ [KM]iB/s, ETA 0:00"
expect_match "on a terminal: the phases stay as lines" "$shown" \
  $'elements-pack: wrote tty.AppImage: [0-9]+ inodes'
on_a_terminal --progress never -o tty-never.AppImage p.json ||
  e2e_fail "--progress never on a terminal failed"
expect_no_match "--progress never on a terminal: no redraws" "$(<"$E2E_WORK/tty.log")" $'\r[^\n]'
on_a_terminal -q -o tty-quiet.AppImage p.json || e2e_fail "-q on a terminal failed"
expect_eq "-q on a terminal: nothing shown" "$(<"$E2E_WORK/tty.log")" ""

# --- --progress always: the status line also without a terminal
pack_expect 0 --progress always -o always.AppImage p.json
expect_match "--progress always: redrawn without a terminal" "$PACK_ERR" \
  $'\relements-pack: compressed .*ETA'

e2e_done
