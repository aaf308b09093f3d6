#!/usr/bin/env bash
# Makes the seed corpus of the squashfs target: a few small images (each
# well under run.sh's 64 KiB input limit) of a payload-shaped tree, written
# by mksquashfs and by tar2sqfs (squashfs-tools-ng, whose library the
# builder uses), with 4 KiB blocks so that files span several blocks and
# fragments: compressed and uncompressed tables, holes, links, a FIFO,
# xattrs, and a directory of more entries than one directory header holds.
#
#   tests/fuzz/squashfs_seeds.sh OUT
set -euo pipefail

out=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/elements-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$out" && mkdir -p "$out"

t=$work/tree
mkdir -p "$t/.elements" "$t/rootfs/bin" "$t/rootfs/etc" "$t/rootfs/empty" "$t/rootfs/many" \
  "$t/rootfs/a/b/c"
printf '{"version": 1, "name": "seed", "command": ["/bin/sh"]}\n' >"$t/.elements/spec.json"
printf '#!/bin/sh\n' >"$t/AppRun" && chmod 0755 "$t/AppRun"
head -c 9000 < <(yes 'a line that compresses') >"$t/rootfs/bin/tool"
head -c 5000 /dev/urandom >"$t/rootfs/bin/random"
truncate -s 12288 "$t/rootfs/holes" && printf x | dd of="$t/rootfs/holes" bs=1 seek=8200 \
  conv=notrunc status=none
printf 'root:x:0:0::/root:/bin/sh\n' >"$t/rootfs/etc/passwd"
printf 'leaf\n' >"$t/rootfs/a/b/c/leaf"
ln -s ../etc/passwd "$t/rootfs/bin/link"
ln "$t/rootfs/etc/passwd" "$t/rootfs/hard"
mkfifo "$t/rootfs/fifo"
for i in $(seq 300); do : >"$t/rootfs/many/$i"; done
find "$t" -exec touch -h -d @1700000000 {} +

mk() {  # NAME MKSQUASHFS-OPTIONS...
  local name=$1
  shift
  mksquashfs "$t" "$out/$name.sqfs" -b 4096 -all-root -noappend -no-progress -quiet "$@" >/dev/null
}
mk zstd -comp zstd
mk gzip-no-fragments -comp gzip -no-fragments
mk uncompressed -comp gzip -noI -noD -noF -noX

# tar2sqfs keeps the xattrs of a pax archive.
python3 - "$work/x.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
    def add(name, data=b"", kind=tarfile.REGTYPE, xattrs=None, link=""):
        info = tarfile.TarInfo(name)
        info.type, info.size, info.mtime, info.linkname = kind, len(data), 1700000000, link
        info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        if xattrs:
            info.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        tar.addfile(info, io.BytesIO(data))
    add(".elements", kind=tarfile.DIRTYPE)
    add(".elements/spec.json", b'{"version": 1, "name": "seed"}\n')
    add("rootfs", kind=tarfile.DIRTYPE, xattrs={"user.dir": "d"})
    add("rootfs/cap", b"\x7fELF" + b"x" * 5000,
        xattrs={"security.capability": "\x01\x00\x00\x02" + "\x00" * 16, "user.note": "v" * 300})
    add("rootfs/plain", b"plain\n", xattrs={"user.note": "v" * 300})
    add("rootfs/link", kind=tarfile.SYMTYPE, link="plain", xattrs={"user.l": "1"})
PY
tar2sqfs -q -f -b 4096 -c zstd "$out/xattrs.sqfs" <"$work/x.tar"
