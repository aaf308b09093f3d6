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
  # file, setpriv/unshare, losetup, useradd, pgrep
  catch2 busybox-static squashfs-tools squashfs-tools-ng squashfuse
  util-linux mount passwd procps jq
  # OCI image layouts the source tests make
  umoci
  # formatting
  clang-format
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
