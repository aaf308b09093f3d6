#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` from the build tree gives the package
# elements with its dependencies computed; dpkg-deb and lintian read it;
# `dpkg -i` installs it, and /usr/bin/elements-pack then packs the example,
# which runs; `dpkg -r` removes it again, leaving the machine as it was.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || e2e_skip "installs a package system-wide; run ctest as root for this test"
for tool in cpack dpkg-deb dpkg-shlibdeps dpkg; do
  command -v "$tool" >/dev/null || e2e_skip "$tool is missing (install dpkg-dev and cmake: scripts/deps.sh)"
done
if [[ $(dpkg-query -W -f='${db:Status-Status}' elements 2>/dev/null) == installed ]]; then
  e2e_skip "the package elements is installed already; this test would replace and remove it"
fi
e2e_workdir

if ! cpack -G DEB --config "${E2E_BUILD:?}/CPackConfig.cmake" -B "$E2E_WORK/pkg" \
  >"$E2E_WORK/cpack.log" 2>&1; then
  cat "$E2E_WORK/cpack.log" >&2
  e2e_abort "cpack -G DEB failed"
fi
deb=$(find "$E2E_WORK/pkg" -maxdepth 1 -name 'elements_*.deb')
[[ -f $deb ]] || e2e_abort "cpack wrote no elements_*.deb into $E2E_WORK/pkg"
expect_eq "the package file is named as Debian names it" "$(basename "$deb")" \
  "elements_${E2E_VERSION}_$(dpkg --print-architecture).deb"

field() { dpkg-deb -f "$deb" "$1"; }
expect_eq "Package" "$(field Package)" elements
expect_eq "Version" "$(field Version)" "$E2E_VERSION"
depends=$(field Depends)
echo "Depends: $depends"
# The package names alone, one a line.
depends_names=$(tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/[ (].*//')
# What elements-pack links, by package, as dpkg-shlibdeps computes it.
for lib in libarchive13 libsquashfs1 libnettle8 libstdc++6 libc6; do
  expect_line "Depends names $lib" "$depends_names" "$lib"
done

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/elements-pack ./usr/libexec/elements/elements-runtime \
  ./usr/share/elements/schema/element.schema.json ./usr/share/elements/schema/spec.schema.json \
  ./usr/share/man/man1/elements-pack.1.gz ./usr/share/man/man5/elements-spec.5.gz \
  ./usr/share/bash-completion/completions/elements-pack \
  ./usr/share/zsh/vendor-completions/_elements-pack \
  ./usr/share/doc/elements/examples/hello/element.json; do
  expect_line "the package holds $path" "$contents" "$path"
done
expect_no_match "nothing outside /usr" "$contents" '^\./[^u]'

# lintian: its findings are shown; an error fails the test unless it is
# one the package knowingly has (each with its reason).
if command -v lintian >/dev/null; then
  known=(
    # The project has chosen no licence yet, so there is nothing true to put
    # into /usr/share/doc/elements/copyright.
    no-copyright-file
    # CPack writes no Debian changelog.
    no-changelog
    # The runtime stub is static by design (DESIGN.md section 1: it runs
    # on hosts with no library at all), so it carries its own zlib, and so
    # does elements-pack, which embeds it.
    statically-linked-binary
    embedded-library
  )
  # lintian leaves files of its own (mldbm-elf-*) in TMPDIR: keep them here.
  mkdir -p "$E2E_WORK/lintian-tmp"
  TMPDIR=$E2E_WORK/lintian-tmp lintian --tag-display-limit 0 "$deb" >"$E2E_WORK/lintian.txt" 2>&1 ||
    true
  echo "lintian findings:"
  sed 's/^/  /' "$E2E_WORK/lintian.txt"
  unknown=$(grep '^E: ' "$E2E_WORK/lintian.txt" | grep -vwF "${known[@]/#/-e}" || true)
  expect_eq "lintian finds no error but the known ones (${known[*]})" "$unknown" ""
else
  echo "lintian is missing: the package is not linted (install lintian: scripts/deps.sh)" >&2
fi

# dpkg ARGS..., waiting up to 5 minutes while apt or dpkg elsewhere on the
# machine holds its lock; output in $E2E_WORK/dpkg.log.
dpkg_waiting() {
  local i
  for ((i = 0; i < 300; i++)); do
    dpkg "$@" >"$E2E_WORK/dpkg.log" 2>&1 && return 0
    grep -q 'lock' "$E2E_WORK/dpkg.log" || return 1
    sleep 1
  done
  return 1
}

# Installed system-wide (and removed on any exit), one test run at a time.
exec {lock}>/run/lock/elements-e2e-deb
flock -w 600 "$lock" || e2e_abort "another test run holds the package for 10 minutes"
e2e_defer "dpkg_waiting -r elements"
if ! dpkg_waiting -i "$deb"; then
  cat "$E2E_WORK/dpkg.log" >&2
  e2e_abort "dpkg -i $deb failed"
fi
e2e_pass "dpkg -i installs $(basename "$deb")"

# On a clean Debian 12 the Depends line must bring every library that
# /usr/bin/elements-pack links directly (their own needs are their
# packages' business): each one's package is in it, or Essential.
loaded=$(ldd /usr/bin/elements-pack)
while read -r soname; do
  lib=$(awk -v so="$soname" '$1 == so && $2 == "=>" {print $3}' <<<"$loaded")
  owner=
  [[ -n $lib ]] && owner=$( (dpkg -S "$lib" || dpkg -S "$(readlink -f "$lib")") 2>/dev/null |
    head -n 1 | cut -d: -f1)
  if [[ -z $owner ]]; then
    e2e_fail "no package owns $soname (${lib:-not found}), which /usr/bin/elements-pack links"
  elif grep -qxF -- "$owner" <<<"$depends_names" ||
    [[ $(dpkg-query -W -f='${Essential}' "$owner") == yes ]]; then
    e2e_pass "$soname comes with $owner, which the package depends on"
  else
    e2e_fail "$soname comes with $owner, which is not in Depends: $depends"
  fi
done < <(readelf -d /usr/bin/elements-pack | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

expect_eq "/usr/bin/elements-pack is the packaged tool" \
  "$(/usr/bin/elements-pack --version)" "elements-pack $E2E_VERSION"
if command -v man >/dev/null; then
  expect_eq "man finds elements-spec(5)" "$(man -w 5 elements-spec)" \
    /usr/share/man/man5/elements-spec.5.gz
fi
if command -v zsh >/dev/null; then
  # shellcheck disable=SC2016 # expanded by zsh
  expect_eq "zsh finds the completion in its default fpath" \
    "$(HOME=$E2E_WORK zsh -f -c 'autoload -Uz compinit; compinit -u -d $1; print -r -- ${_comps[elements-pack]}' \
      zsh "$E2E_WORK/zcompdump")" _elements-pack
fi

mkdir "$E2E_WORK/hello"
bash "$E2E_SOURCE/scripts/make-rootfs.sh" "$E2E_WORK/hello/rootfs"
cp /usr/share/doc/elements/examples/hello/element.json "$E2E_WORK/hello/"
if ! (cd "$E2E_WORK/hello" && env -i PATH=/usr/bin:/bin HOME="$E2E_WORK" \
  /usr/bin/elements-pack -q -o "$E2E_WORK/hello.AppImage" element.json) 2>"$E2E_WORK/pack.err"; then
  e2e_abort "/usr/bin/elements-pack failed to pack the example: $(<"$E2E_WORK/pack.err")"
fi
e2e_mode root
E2E_APP=$E2E_WORK/hello.AppImage
if e2e_ran 0 "$E2E_APP" -- uname -s; then
  expect_match "the example packed by /usr/bin/elements-pack greets and runs its extra args" \
    "$E2E_OUT" $'^Hello from hello\\.[a-z0-9]{12}! I am PID 2; .*\nLinux$'
fi

if dpkg_waiting -r elements && [[ ! -e /usr/bin/elements-pack ]] &&
  [[ ! -e /usr/share/man/man5/elements-spec.5.gz ]]; then
  e2e_pass "dpkg -r removes it all"
else
  e2e_fail "dpkg -r elements left files behind: $(<"$E2E_WORK/dpkg.log")"
fi

e2e_done
