#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build and test elements: only
# those missing, so a second run does nothing and needs no network. This
# list is the one place the build dependencies are named.
#
#   scripts/deps.sh          install what is missing (as root, or via sudo)
#   scripts/deps.sh --list   print the package names
set -euo pipefail

packages=(
  # compiler and build
  build-essential cmake pkg-config file
  # the runtime: squashfs reading, FUSE, the squashfs compressors (linked statically)
  libsquashfuse-dev libfuse3-dev fuse3
  libzstd-dev liblzma-dev zlib1g-dev liblz4-dev liblzo2-dev
  # both sides: JSON, digests (nettle); the builder's command line
  nlohmann-json3-dev nettle-dev libcxxopts-dev
  # the builder: squashfs writing, archives
  libsquashfs-dev libarchive-dev
  # tests and the example: unit tests, the busybox rootfs, tools that read the
  # file, setpriv/unshare, losetup, useradd, pgrep, setfattr
  catch2 busybox-static squashfs-tools squashfs-tools-ng squashfuse
  util-linux mount passwd procps jq attr python3
  # session keyrings on the host side of the containment tests (keyctl)
  keyutils
  # run build steps with subordinate ids (newuidmap, newgidmap)
  uidmap
  # OCI image layouts the source tests make
  umoci
  # outside OCI runtimes the bundle tests start
  runc crun
  # read and run the image layouts elements-pack exports
  skopeo podman
  # a good citizen: desktop entries (desktop-file-validate, libappimage,
  # gio launch), updates (zsyncmake, zsync), signatures (gpg, gpgv)
  desktop-file-utils libappimage-dev libglib2.0-bin zsync gnupg gpgv
  # the block digests against cryptsetup's dm-verity reader (veritysetup)
  cryptsetup-bin
  # the benchmark's smoke test (bench/run.sh --smoke): the other runners it
  # compares elements with (runc and crun are above), and its timers
  bubblewrap charliecloud-runtime hyperfine time
  # formatting
  clang-format
  # packaging: man pages (groff, man), completions (bash-completion, zsh), the
  # Debian package (dpkg-shlibdeps) and its lint
  groff-base man-db bash-completion zsh dpkg-dev lintian
  # the ASan/UBSan build and the libFuzzer targets (scripts/test.sh)
  clang libclang-rt-14-dev
)

if [[ ${1:-} == --list ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "deps.sh: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "deps.sh: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || {
    echo "deps.sh: run as root (or install sudo) to install: ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
