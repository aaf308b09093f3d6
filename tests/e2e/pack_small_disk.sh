#!/usr/bin/env bash
# The builder never fills the disk: a decompression bomb (a .tar.zst of 4
# GiB of zeros, some hundred KB, made through a pipe and never stored
# uncompressed) packed with TMPDIR on a 64 MiB tmpfs. elements-pack stops
# with one line naming the folder, the size reached and the fix, status 1,
# while the tmpfs still has room, and leaves nothing in it. Runs as root: it
# mounts the tmpfs (and unmounts it, also when the test fails).
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || e2e_skip "runs as root: it mounts a small tmpfs"
e2e_require_tools "install python3 and zstd" python3 zstd
e2e_workdir

small=$E2E_WORK/small
mkdir "$small"
mount -t tmpfs -o size=64m,mode=1777 elements-e2e-small "$small" ||
  e2e_skip "cannot mount a tmpfs here"
e2e_defer "umount -l '$small'"

# One member "zeros" of 4 GiB: tar's header needs the size first, which a
# stream of zeros through tar(1) cannot give.
python3 -c '
import sys, tarfile
class Zeros:
    def __init__(self, n): self.n = n
    def read(self, size=-1):
        size = self.n if size < 0 else min(size, self.n)
        self.n -= size
        return bytes(size)
info = tarfile.TarInfo("zeros")
info.size = 4 << 30
info.mode = 0o644
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.GNU_FORMAT) as t:
    t.addfile(info, Zeros(info.size))
' | zstd -q -1 >"$E2E_WORK/bomb.tar.zst"
e2e_pass "the bomb: $(stat -c %s "$E2E_WORK/bomb.tar.zst") bytes of .tar.zst for 4 GiB"
cat >"$E2E_WORK/bomb.json" <<'EOF'
{"name": "bomb", "from": "tar:bomb.tar.zst", "run": {"command": ["/zeros"]}}
EOF

# The least room the tmpfs had while elements-pack ran, in KiB.
watch_room() {
  local least=999999999 room
  while [[ ! -e $E2E_WORK/packed ]]; do
    room=$(($(stat -f -c '%a * %S' "$small") / 1024))
    ((room < least)) && least=$room
    echo "$least" >"$E2E_WORK/least"
  done
}
watch_room &
watcher=$!
e2e_defer "kill $watcher 2>/dev/null"
rc=0
(cd "$E2E_WORK" && TMPDIR=$small "$E2E_PACK" -q -o "$E2E_WORK/bomb.AppImage" bomb.json) \
  2>"$E2E_WORK/pack.err" || rc=$?
touch "$E2E_WORK/packed"
wait "$watcher" || true
err=$(<"$E2E_WORK/pack.err")

expect_eq "elements-pack fails (status 1)" "$rc" 1
expect_match "one line naming the folder, the size reached and the fix" "$err" \
  "^elements-pack: stopped before the disk of $small is full: the temporary copy of the image's files there had [0-9]+ MiB, with [0-9]+ MiB of 64 MiB left \\(hint: set TMPDIR to a folder on a disk with more room\\)$"
expect_eq "no other line" "$(wc -l <<<"$err")" 1
least=$(<"$E2E_WORK/least")
if ((least >= 8 * 1024)); then
  e2e_pass "the tmpfs never filled (at least $least KiB free)"
else
  e2e_fail "the tmpfs filled up to $least KiB free"
fi
expect_eq "nothing is left in the tmpfs" "$(ls -A "$small")" ""
expect_eq "all of the tmpfs is free again" "$(df --output=used -k "$small" | tail -n 1 | tr -d ' ')" 0
expect_eq "no output is written" "$(ls "$E2E_WORK"/bomb.AppImage* 2>/dev/null)" ""
e2e_done
