#!/usr/bin/env bash
# Damaged and crafted files, for one mode (see lib.sh): cut short, an ELF
# header pointing past the end, a payload that is not squashfs, squashfs
# tables and data blocks overwritten. Each is refused with status 125 and
# one line naming the file and what is wrong; never a crash, a hang or a
# mount left behind. A damaged data block of a file the command reads is
# the command's read error (EIO) where the payload is mounted, and refused
# where it would be extracted.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: damaged_files.sh MODE}"
e2e_rootfs
# Several compressed blocks of 128 KiB.
# (base64: each block is compressed to about three quarters, so several
# whole 4 KiB blocks of the file hold nothing else)
head -c 450000 /dev/urandom | base64 >"$E2E_WORK/rootfs/big"
# Incompressible: stored as it is, so one changed byte changes the file and
# nothing but the block digests can notice. /small lands in a fragment.
head -c 600000 /dev/urandom >"$E2E_WORK/rootfs/random"
head -c 3000 /dev/urandom >"$E2E_WORK/rootfs/small"
e2e_pack good
good=$E2E_APP
offset=$("$good" --appimage-offset)
e2e_snapshot_host

# FILE: a copy of the good file, executable by the test user.
copy() { cp "$good" "$E2E_WORK/$1.AppImage" && chmod 0755 "$E2E_WORK/$1.AppImage"; }
# Overwrites COUNT bytes of FILE at OFFSET with the byte BYTE (octal).
overwrite() {  # FILE OFFSET COUNT BYTE
  head -c "$3" /dev/zero | tr '\0' "\\$4" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# Writes the little-endian integer VALUE of WIDTH bytes at OFFSET in FILE.
poke() {  # FILE OFFSET WIDTH VALUE
  local i bytes=
  for ((i = 0; i < $3; i++)); do bytes+=$(printf '\\x%02x' $((($4 >> (8 * i)) & 255))); done
  printf %b "$bytes" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# The little-endian u64 at OFFSET in FILE.
peek64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
# copy, without the block digests: the file ends with the image's last 4 KiB
# block (bytes_used is at offset 40 of the superblock).
copy_plain() {
  copy "$1"
  truncate -s $((offset + ($(peek64 "$good" $((offset + 40))) + 4095) / 4096 * 4096)) \
    "$E2E_WORK/$1.AppImage"
}

# Runs the file and checks status 125 with one line on stderr naming the
# file, matching ERE and giving a hint; the runs' leftovers are checked at
# the end.
expect_refused() {  # NAME ERE ARGS...
  local name=$1 ere=$2 app=$E2E_WORK/$1.AppImage
  shift 2
  e2e_run "$app" "$@"
  if ((E2E_RC == 125)) && [[ $(wc -l <<<"$E2E_ERR") == 1 && $E2E_ERR =~ $ere &&
    $E2E_ERR == *"(hint: "* ]]; then
    e2e_pass "$name: status 125, '$E2E_ERR'"
  else
    e2e_fail "$name: expected status 125 and one line matching /$ere/ with a hint; got $E2E_RC and:
$E2E_ERR"
  fi
}

# --- cut short: in the runtime's section table, at the payload, in its
# superblock, in its middle, in its last table. (Cut before the end of the
# runtime's loadable segments, the kernel cannot start it at all: exec
# fails or the process dies of SIGSEGV before any of its code runs.)
bytes_used=$(peek64 "$good" $((offset + 40)))
for cut in "sections $((offset - 64))" "payload-missing $offset" "superblock $((offset + 50))" \
  "payload-half $((offset + bytes_used / 2))" "payload-tail $((offset + bytes_used - 100))"; do
  read -r name at <<<"$cut"
  copy "cut-$name"
  truncate -s "$at" "$E2E_WORK/cut-$name.AppImage"
  expect_refused "cut-$name" "cut-$name\.AppImage" -- info
done

# --- the ELF header: section table past the end, or absurdly many sections
copy shoff
poke "$E2E_WORK/shoff.AppImage" 40 8 $((1 << 40))  # e_shoff
expect_refused shoff "shoff\.AppImage.*(ELF|section)" -- info
copy shnum
poke "$E2E_WORK/shnum.AppImage" 60 2 65535  # e_shnum
expect_refused shnum "shnum\.AppImage.*(ELF|section)" -- info

# --- a payload that is not squashfs
copy magic
overwrite "$E2E_WORK/magic.AppImage" "$offset" 4 101  # "AAAA" over "hsqs"
expect_refused magic "magic\.AppImage.*squashfs" -- info
{ head -c "$offset" "$good" && head -c 65536 /dev/urandom; } >"$E2E_WORK/random.AppImage"
chmod 0755 "$E2E_WORK/random.AppImage"
expect_refused random "random\.AppImage.*squashfs" -- info

# --- squashfs tables: the inode table start past the end, the directory
# table overwritten (the superblock holds both starts: bytes 64 and 72)
copy inode-table
poke "$E2E_WORK/inode-table.AppImage" $((offset + 64)) 8 $((1 << 40))
expect_refused inode-table "inode-table\.AppImage" -- info
copy dir-table
dir_table=$(peek64 "$good" $((offset + 72)))
overwrite "$E2E_WORK/dir-table.AppImage" $((offset + dir_table)) 64 377
expect_refused dir-table "dir-table\.AppImage" -- info

# The cases below check what the runtime does with a crafted image itself, so
# they damage files without block digests (cut after the image's last 4 KiB
# block), which the digests would refuse before the image is read at all.

# --- the superblock's block size: byte 13 is inside the 32-bit block_size
# (offset 12), so 128 KiB becomes 132 KiB, which is no power of two. The
# library read files with it as given, copying from past the end of a block
# (a heap-buffer-overflow in sqfs_read_range, the runtime killed by
# SIGSEGV); the kernel's driver would be handed it as root.
copy_plain block-size
poke "$E2E_WORK/block-size.AppImage" $((offset + 13)) 1 16
expect_refused block-size "block-size\.AppImage.*block size of 135168 bytes, not a power of two" \
  -- "do" cat:/big

# --- 8 bytes of the inode table overwritten, at every other offset of its
# first metadata block: inodes, and the directory offsets and block lists in
# them, become whatever the damage makes of them. The library copied a name
# of any stated length into a 257-byte stack buffer (a stack-buffer-
# underflow WRITE in sqfs_md_read while the spec was read: SIGSEGV) and
# read offsets past their metadata block. Each run is refused with one line,
# or runs and its command fails (metadata pointing at other data can hand
# the command bytes it crashes on: the runtime then reports the command's
# signal, as --elements-debug shows); the runtime itself never crashes.
inode_table=$(peek64 "$good" $((offset + 64)))
inode_bytes=$(($(peek64 "$good" $((offset + 72))) - inode_table))
damaged=0 refused=0
for ((at = 2; at < inode_bytes && at < 8194; at += 2)); do
  copy_plain inode-damage
  printf AAAAAAAA | dd of="$E2E_WORK/inode-damage.AppImage" bs=1 seek=$((offset + inode_table + at)) \
    conv=notrunc status=none
  damaged=$((damaged + 1))
  e2e_run "$E2E_WORK/inode-damage.AppImage" -- info
  # A damage the extraction did not meet leaves a whole tree in the cache.
  [[ $E2E_EXPECT_PATH != extract ]] || rm -rf "$E2E_WORK/cache/elements"
  if ((E2E_RC == 125)); then
    refused=$((refused + 1))
    [[ $(wc -l <<<"$E2E_ERR") == 1 && $E2E_ERR == *"inode-damage.AppImage"*"(hint: "* ]] ||
      e2e_fail "inode-damage at $at: status 125 without one line naming the file and a hint:
$E2E_ERR"
  elif ((E2E_RC > 128)); then
    rc=$E2E_RC
    e2e_run "$E2E_WORK/inode-damage.AppImage" --elements-debug -- info
    [[ $E2E_ERR == *"container exited with $rc"* ]] ||
      e2e_fail "inode-damage at $at: the runtime itself ended with status $rc:
$E2E_ERR"
  fi
done
if ((refused > 0)); then
  e2e_pass "inode-damage: $damaged damaged inode tables, no crash of the runtime, $refused refused"
else
  e2e_fail "inode-damage: none of $damaged damaged inode tables was noticed"
fi

# --- the compressed data blocks of /big overwritten: the 4 KiB blocks
# that hold nothing but them (the first also holds the superblock)
tail -c +$((offset + 1)) "$good" >"$E2E_WORK/payload.sqfs"
stat_big=$(rdsquashfs -s /rootfs/big "$E2E_WORK/payload.sqfs")
blocks_start=$(sed -n 's/^Blocks start: //p' <<<"$stat_big")
blocks_size=$(sed -n 's/^.*Block #[0-9]* size: \([0-9]*\) (compressed)$/\1/p' <<<"$stat_big" |
  paste -sd+)
blocks_size=$((${blocks_size:-0}))
if [[ -z $blocks_start ]] || ((blocks_size < 3 * 4096)); then
  e2e_fail "rdsquashfs shows no compressed blocks of /rootfs/big: $stat_big"
else
  copy data-block
  from=$(((blocks_start + 4095) / 4096 * 4096))
  to=$(((blocks_start + blocks_size) / 4096 * 4096))
  overwrite "$E2E_WORK/data-block.AppImage" $((offset + from)) $((to - from)) 377
  if [[ $E2E_EXPECT_PATH == extract ]]; then
    expect_refused data-block "data-block\.AppImage|/big" -- "do" cat:/big
    expect_eq "data-block: nothing half-extracted is kept in the cache" \
      "$(find "$E2E_WORK/cache" -mindepth 2 -maxdepth 2 -name '[!.]*' | wc -l)" 0
  else
    # Mounted, the image is read as the command asks: the command sees an
    # I/O error and its status is its own.
    e2e_run "$E2E_WORK/data-block.AppImage" -- "do" cat:/big cat:/etc/passwd exit:3
    expect_eq "data-block: the command's own status" "$E2E_RC" 3
    expect_line "data-block: reading the damaged file fails with EIO" "$E2E_OUT" \
      "cat:/big=no (EIO)"
    expect_line "data-block: the rest of the image reads" "$E2E_OUT" \
      "cat:/etc/passwd=root:x:0:0:root:/root:/bin/sh"
  fi
fi

# --- one changed byte: in a data block, in a fragment, in a metadata block
# Where byte AT of FILE, stored as it is, sits in the payload, or -1.
find_byte() {  # FILE AT
  python3 -c 'import sys
at = int(sys.argv[3])
found = open(sys.argv[1], "rb").read().find(open(sys.argv[2], "rb").read()[at - 16:at + 16])
print(found + 16 if found >= 0 else -1)' "$E2E_WORK/payload.sqfs" "$1" "$2"
}
flip() {  # FILE OFFSET: one byte, changed
  python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 0x20]))' \
    "$1" "$2"
}
# A byte of the inode table's metadata block that holds the root inode
# (every run reads it first) which, changed, still reads without an error
# but describes another tree: what squashfs alone cannot notice.
silent_metadata_byte() {
  python3 - "$E2E_WORK/payload.sqfs" <<'PY'
import struct, subprocess, sys
image = sys.argv[1]
def describe():
    r = subprocess.run(["rdsquashfs", "-d", image], capture_output=True)
    return r.stdout if r.returncode == 0 else None
with open(image, "r+b") as f:
    data = f.read()
    root_ref, = struct.unpack_from("<Q", data, 32)
    inodes, = struct.unpack_from("<Q", data, 64)
    block = inodes + (root_ref >> 16)
    size = struct.unpack_from("<H", data, block)[0] & 0x7FFF
    good = describe()
    for at in range(block + 2, block + 2 + size):
        f.seek(at); f.write(bytes([data[at] ^ 0x20])); f.flush()
        tree = describe()
        f.seek(at); f.write(bytes([data[at]])); f.flush()
        if tree is not None and tree != good:
            print(at)
            sys.exit(0)
print(-1)
PY
}
inode_table=$(peek64 "$E2E_WORK/payload.sqfs" 64)
data_at=$(find_byte "$E2E_WORK/rootfs/random" 300000)
# The byte of /small furthest from the tables: a fragment's last 4 KiB block
# may also hold the start of the inode table.
for at in 16 1000 2000 2984; do
  fragment_at=$(find_byte "$E2E_WORK/rootfs/small" "$at")
  ((fragment_at >= 0 && fragment_at / 4096 < inode_table / 4096)) && break
done
metadata_at=$(silent_metadata_byte)
big_line=$(head -n 1 "$E2E_WORK/rootfs/big")
# The user extracts into a folder of its own.
[[ $E2E_WHO == user ]] && chown "$E2E_USER:" "$E2E_WORK"
good_sum=
if e2e_ran 0 "$good" -- "do" sum:/random sum:/small; then
  good_sum=$(probe_value "$E2E_OUT" sum:/random)
  expect_match "the good file reads /random whole" "$good_sum" '^600000:'
fi
cached() { find "$E2E_WORK/cache" -mindepth 2 -maxdepth 2 -name '[!.]*' 2>/dev/null | wc -l; }
cached_good=$(cached)
for case in "data-byte $data_at /random" "fragment-byte $fragment_at /small" \
  "metadata-byte $metadata_at -"; do
  read -r name at file <<<"$case"
  if ((at < 0)); then
    e2e_fail "$name: found no byte of the payload to change"
    continue
  fi
  copy "$name"
  flip "$E2E_WORK/$name.AppImage" $((offset + at))
  # A block of the inode table (or one it shares with the last fragment) is
  # read by every run before the container exists.
  if [[ $name == metadata-byte ]] || ((at / 4096 >= inode_table / 4096)); then
    expect_refused "$name" "$name\.AppImage: the payload is damaged: its 4 KiB block at byte [0-9]+ does not match its digest" -- info
  elif [[ $E2E_EXPECT_PATH == extract ]]; then
    expect_refused "$name" "$name\.AppImage: the payload is damaged: .* does not match its digest, so .* cannot be read" -- "do" "sum:$file"
    expect_eq "$name: nothing half-extracted is kept in the cache" "$(cached)" "$cached_good"
  elif [[ $E2E_EXPECT_PATH == kernel ]]; then
    echo "note: $name: not checked by the kernel path, which reads data and fragment blocks unchecked (README, \"Block digests\")"
  else
    # /big's first block is neither the changed block nor a fragment.
    e2e_run "$E2E_WORK/$name.AppImage" -- "do" "sum:$file" cat:/big exit:3
    expect_eq "$name: the command's own status" "$E2E_RC" 3
    expect_line "$name: reading the changed file fails with EIO" "$E2E_OUT" "sum:$file=no (EIO)"
    expect_line "$name: the rest of the image reads" "$E2E_OUT" "cat:/big=$big_line"
    expect_match "$name: the runner is told, once, which block" "$(wc -l <<<"$E2E_ERR") $E2E_ERR" \
      "^1 $name\.AppImage: .*: the payload is damaged: its 4 KiB block at byte [0-9]+ does not match its digest, so the files that use it cannot be read \(hint: "
  fi
  # --appimage-extract: refused, and no half-written file left behind.
  if [[ $name != metadata-byte ]]; then
    rm -rf "$E2E_WORK/squashfs-root"
    e2e_run "$E2E_WORK/$name.AppImage" --appimage-extract
    expect_eq "$name --appimage-extract: status" "$E2E_RC" 125
    # The first file that needs the block is named: /small shares its
    # fragment with others.
    expect_match "$name --appimage-extract: says which block, in one line" \
      "$(wc -l <<<"$E2E_ERR") $E2E_ERR" \
      "^1 .*$name\.AppImage: the payload is damaged: .* does not match its digest, so .* cannot be read \(hint: "
    expect_eq "$name --appimage-extract: no half-written $file" \
      "$(find "$E2E_WORK/squashfs-root/rootfs$file" 2>/dev/null | wc -l)" 0
    rm -rf "$E2E_WORK/squashfs-root"
  fi
done
chown 0:0 "$E2E_WORK"
rm -f "$E2E_WORK/payload.sqfs"

# --- a file made before the block digests (the same file, cut after the
# image's padding) runs as it did and says nothing about them
copy no-digests
truncate -s $((offset + (bytes_used + 4095) / 4096 * 4096)) "$E2E_WORK/no-digests.AppImage"
if e2e_ran 0 "$E2E_WORK/no-digests.AppImage" -- "do" cat:/big; then
  expect_line "no digests: the file reads" "$E2E_OUT" "cat:/big=$big_line"
  expect_eq "no digests: nothing on stderr" "$E2E_ERR" ""
fi
# ... and bytes behind the image that are not digests are damage, not an
# old file
copy digests-cut
truncate -s $((offset + (bytes_used + 4095) / 4096 * 4096 + 4096)) "$E2E_WORK/digests-cut.AppImage"
expect_refused digests-cut "digests-cut\.AppImage: the block digests behind the payload are cut short or damaged" -- info

e2e_check_nothing_left "after the damaged files"
e2e_done
