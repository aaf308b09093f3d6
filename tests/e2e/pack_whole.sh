#!/usr/bin/env bash
# The output appears whole or not at all (DESIGN.md section 4): a build that
# fails, is killed (SIGKILL included) or fills the disk leaves no output, no
# temp file next to it and nothing in TMPDIR.
#
#   pack_whole.sh failed | killed | full-disk | stale
# shellcheck source=SCRIPTDIR/pack_lib.sh
source "$(dirname "$0")/pack_lib.sh"

case=${1:?usage: pack_whole.sh failed|killed|full-disk|stale}
pack_workdir
e2e_rootfs
mkdir "$E2E_WORK/out"

nothing_left() {  # WHEN
  expect_only "$1: nothing in the output folder" "$E2E_WORK/out"
  expect_only "$1: nothing in TMPDIR" "$E2E_WORK/tmp"
}

# The descriptor elements-pack (PID) writes its output through: an unnamed
# file in out/ ("out/#INODE (deleted)"). Sets OUT_FD.
output_fd() {  # PID
  local fd
  for fd in /proc/"$1"/fd/*; do
    if [[ $(readlink "$fd" 2>/dev/null) == "$E2E_WORK/out/#"*" (deleted)" ]]; then
      OUT_FD=$fd
      return 0
    fi
  done
  return 1
}

# Starts elements-pack ARGS... in the background; pid in PACK_PID, stderr in
# $E2E_WORK/pack.err.
pack_start() {
  (cd "$E2E_WORK" && exec env TMPDIR="$E2E_WORK/tmp" "$E2E_PACK" "$@") \
    </dev/null >"$E2E_WORK/pack.out" 2>"$E2E_WORK/pack.err" &
  PACK_PID=$!
  e2e_defer "kill -KILL $PACK_PID 2>/dev/null"
}

# Waits until PACK_PID is writing squashfs data: its output holds more than
# the runtime. Sets WRITTEN to the output's size then.
wait_mid_write() {
  local i runtime_size
  runtime_size=$(stat -c %s "$E2E_RUNTIME")
  for ((i = 0; i < 600; i++)); do
    [[ -d /proc/$PACK_PID ]] || break
    if output_fd "$PACK_PID"; then
      WRITTEN=$(stat -L -c %s "$OUT_FD" 2>/dev/null || echo 0)
      ((WRITTEN > runtime_size + 256 * 1024)) && return 0
    fi
    sleep 0.05
  done
  e2e_abort "elements-pack never got to writing its payload; stderr: $(<"$E2E_WORK/pack.err")"
}

case $case in
  failed)
    # A layer whose bytes are not the ones its digest names.
    pack_oci_layout "$E2E_WORK/rootfs" "$E2E_WORK/img"
    layer=$(jq -r '.layers[0].digest' "$E2E_WORK/img/blobs/sha256/$(
      jq -r '.manifests[0].digest' "$E2E_WORK/img/index.json" | cut -d: -f2)")
    blob=$E2E_WORK/img/blobs/sha256/${layer#sha256:}
    chmod u+w "$blob"
    printf 'damage' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none
    pack_definition bad oci:img:v1
    pack_expect 1 -o out/bad.AppImage bad.json
    expect_match "names the layer" "$(tail -n 1 <<<"$PACK_ERR")" \
      "^elements-pack: oci:img:v1: layer $layer: the blob's bytes hash to sha256:[0-9a-f]{64}, "
    nothing_left "a damaged layer"

    # A copy step that cannot land: its target's parent is a file.
    printf 'x\n' >"$E2E_WORK/x"
    pack_definition copy dir:rootfs '"build": [{"copy": "x", "to": "/bin/busybox/x"}]'
    pack_expect 1 -o out/copy.AppImage copy.json
    expect_match "names the copy's target" "$(tail -n 1 <<<"$PACK_ERR")" \
      "^elements-pack: .*/bin/busybox"
    nothing_left "a failing copy"

    # A source file that goes away after the tree was read: big comes first
    # in name order, so zz-gone is removed while big is being compressed
    # (by xz, slow enough that the removal always lands first).
    pack_big_file "$E2E_WORK/rootfs/big" 24
    printf 'soon gone\n' >"$E2E_WORK/rootfs/zz-gone"
    pack_definition gone dir:rootfs
    pack_start --progress never --compression xz -o out/gone.AppImage gone.json
    wait_mid_write
    rm "$E2E_WORK/rootfs/zz-gone"
    rc=0
    wait "$PACK_PID" || rc=$?
    expect_eq "a source file gone mid-way: elements-pack exits 1" "$rc" 1
    expect_match "names the missing file" "$(<"$E2E_WORK/pack.err")" \
      "elements-pack: cannot read $E2E_WORK/rootfs/zz-gone: No such file or directory"
    nothing_left "a source file gone mid-way"
    ;;

  killed)
    pack_big_file "$E2E_WORK/rootfs/big" 48
    pack_definition big dir:rootfs
    # From an image, the layer's files also wait in a spool file in TMPDIR.
    pack_oci_layout "$E2E_WORK/rootfs" "$E2E_WORK/img"
    pack_definition image oci:img:v1
    for run in KILL:big TERM:big KILL:image; do
      sig=${run%%:*} def=${run#*:}
      pack_start --progress never -o "out/$def.AppImage" "$def.json"
      wait_mid_write
      # Mid-write: the payload is growing and nothing in out/ has a name yet.
      expect_only "SIG$sig ($def): while writing ($WRITTEN bytes so far), out/ shows no file" \
        "$E2E_WORK/out"
      if [[ $def == image ]]; then
        spool=$(find /proc/"$PACK_PID"/fd -lname "$E2E_WORK/tmp/#* (deleted)" 2>/dev/null)
        [[ -n $spool ]] && e2e_pass "SIG$sig ($def): the spool is an unnamed file in TMPDIR" ||
          e2e_fail "SIG$sig ($def): no unnamed spool file in TMPDIR while writing"
      fi
      kill -"$sig" "$PACK_PID"
      rc=0
      wait "$PACK_PID" || rc=$?
      expect_eq "SIG$sig ($def): elements-pack died of it" "$rc" $((128 + $(kill -l "$sig")))
      expect_no_match "SIG$sig ($def): it had not finished" "$(<"$E2E_WORK/pack.err")" \
        "^elements-pack: wrote"
      nothing_left "SIG$sig ($def) mid-write"
    done
    ;;

  full-disk)
    ((EUID == 0)) || e2e_skip "mounts a small tmpfs as the output folder; run ctest as root"
    full=$E2E_WORK/out
    pack_definition small dir:rootfs
    head -c $((8 * 1024 * 1024)) /dev/urandom >"$E2E_WORK/random"
    pack_definition large dir:rootfs '"build": [{"copy": "random", "to": "/random"}]'
    hint="(hint: free some space in $full or write elsewhere with -o)"
    # 1 MiB: the runtime does not fit; 3 MiB: it does, the payload does not.
    for size in 1m 3m; do
      def=small
      [[ $size == 3m ]] && def=large
      mount -t tmpfs -o "size=$size,mode=0755" elements-e2e-full "$full" ||
        e2e_skip "cannot mount a tmpfs here"
      e2e_defer "umount '$full' 2>/dev/null"
      pack_expect 1 -o "$full/$def.AppImage" "$def.json"
      expect_eq "$size free: the error names the output and the cause" \
        "$(tail -n 1 <<<"$PACK_ERR")" \
        "elements-pack: cannot write $full/$def.AppImage: No space left on device $hint"
      expect_only "$size free: nothing in the output folder" "$full"
      expect_eq "$size free: the space is free again" \
        "$(df --output=used -B1 "$full" | tail -n 1 | tr -d ' ')" 0
      umount "$full"
    done
    expect_only "nothing in TMPDIR" "$E2E_WORK/tmp"
    ;;

  stale)
    # What a killed build of another version or a crash could leave: temp
    # files whose writer is gone are removed; one a live writer holds, and
    # names that are not this output's temp files, stay.
    out=$E2E_WORK/out
    : >"$out/s.AppImage.tmp.4000000"
    : >"$out/s.AppImage.tmp.4000001"
    : >"$out/s.AppImage.tmp.x"
    : >"$out/other.AppImage.tmp.4000002"
    # The lock's holder is the sleep itself: killing it frees the lock.
    bash -c 'exec 9<>"$1" && flock 9 && exec sleep 120' _ "$out/s.AppImage.tmp.4000001" &
    holder=$!
    e2e_defer "kill $holder 2>/dev/null"
    for ((i = 0; i < 100; i++)); do
      flock -n "$out/s.AppImage.tmp.4000001" true || break
      sleep 0.05
    done
    pack_definition s dir:rootfs
    pack_expect 0 -o out/s.AppImage s.json
    expect_only "the stale temp file is gone, the others stay" "$out" \
      s.AppImage s.AppImage.tmp.4000001 s.AppImage.tmp.x other.AppImage.tmp.4000002
    kill "$holder"
    wait "$holder" 2>/dev/null || true

    # An existing output is replaced whole: another inode, no temp file left.
    inode=$(stat -c %i "$out/s.AppImage")
    pack_expect 0 -o out/s.AppImage s.json
    [[ $(stat -c %i "$out/s.AppImage") != "$inode" ]] &&
      e2e_pass "the output was replaced by a new file" ||
      e2e_fail "the output was written in place"
    expect_only "replacing: no temp file left" "$out" \
      s.AppImage s.AppImage.tmp.x other.AppImage.tmp.4000002
    expect_eq "replacing: the new output is executable" "$(stat -c %a "$out/s.AppImage")" 755
    ;;

  *) e2e_abort "unknown case '$case'" ;;
esac

e2e_done
