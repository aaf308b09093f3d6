#!/usr/bin/env bash
# Assembles a minimal busybox root filesystem in DEST: Debian's static busybox
# plus applet links, the mount points the runtime mounts over, and a passwd
# and group file so `id` and `ps` can name root. Used by the embedded example
# and by the end-to-end tests, so both run on the same kind of rootfs.
#
#   scripts/make-rootfs.sh DEST
#
# BUSYBOX overrides the busybox binary (default: /bin/busybox from
# busybox-static). DEST is replaced whole.
set -euo pipefail

dest=${1:?usage: make-rootfs.sh DEST}
busybox=${BUSYBOX:-/bin/busybox}

# The applets the example and the tests use, plus what makes
# --elements-shell usable. A fixed list keeps the rootfs the same on every
# machine, whatever else this busybox build offers.
applets=(
  '[' ash awk basename cat chmod cp cut date df dirname du echo env false find
  free grep head hostname id kill less ln ls mkdir mount mv printf ps pwd
  readlink rm rmdir sed seq sh sleep sort stat tail tee test top touch tr true
  uname uniq vi wc which whoami xargs
)

if [[ ! -x $busybox ]]; then
  echo "make-rootfs.sh: $busybox not found (install busybox-static: scripts/deps.sh)" >&2
  exit 1
fi
# A dynamically linked busybox (Debian's "busybox" package) would need a
# loader and libc inside the rootfs, which this rootfs does not have.
if ! file -L "$busybox" | grep -q 'statically linked'; then
  echo "make-rootfs.sh: $busybox is not statically linked (install busybox-static)" >&2
  exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"/{bin,dev,etc,proc,root,run,sys,tmp,var/tmp}
chmod 1777 "$dest/tmp" "$dest/var/tmp"
chmod 0700 "$dest/root"
cp "$busybox" "$dest/bin/busybox"
chmod 0755 "$dest/bin/busybox"
for applet in "${applets[@]}"; do
  ln -s busybox "$dest/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  >"$dest/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dest/etc/group"
