#!/usr/bin/env bash
# README.md tells the truth: its definition reference is what the schemas
# generate, it shows the real `elements-pack --help`, its 60-second tour runs
# as written and prints what it shows, and its noexec advice holds.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

readme=$E2E_SOURCE/README.md
e2e_workdir

if "$E2E_SOURCE/man/schema-reference.sh" --check-readme 2>"$E2E_WORK/reference.diff"; then
  e2e_pass "the definition reference is what the schemas generate"
else
  e2e_fail "$(<"$E2E_WORK/reference.diff")"
fi

# The fenced block after the line AFTER (trailing blanks dropped).
block_after() {  # LINE
  awk -v after="$1" '
    $0 == after { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { sub(/ +$/, ""); print }' "$readme"
}

expect_eq "README.md shows the real elements-pack --help (paste its output into the section elements-pack)" \
  "$(block_after '## elements-pack' | sed 1d)" "$("$E2E_PACK" --help | sed 's/ *$//')"

# --- The tour: its commands after the build, run in a folder that has the
# repository's scripts/ and examples/ and this build tree as build/.
tour=$(block_after '<!-- tour: the test "e2e: readme" runs this block and compares its output -->')
# shellcheck disable=SC2016 # the README's words, backquotes and all
expected=$(block_after 'From `mkdir` on, that prints:')
[[ -n $tour && -n $expected ]] || e2e_abort "README.md lacks the tour or its output block"
expect_match "the tour installs the packages and builds first" "$(head -n 2 <<<"$tour")" \
  $'^scripts/deps.sh .*\ncmake -S . -B build && cmake --build build '
sed 1,2d <<<"$tour" >"$E2E_WORK/tour.sh"
mkdir "$E2E_WORK/repo" "$E2E_WORK/home"
ln -s "$E2E_SOURCE/scripts" "$E2E_WORK/repo/scripts"
ln -s "$E2E_SOURCE/examples" "$E2E_WORK/repo/examples"
ln -s "${E2E_BUILD:?}" "$E2E_WORK/repo/build"
if ((EUID != 0)) && ! unshare --user --map-root-user true 2>/dev/null; then
  e2e_skip "the tour runs as $(id -un), and this kernel refuses unprivileged user namespaces"
fi
(cd "$E2E_WORK/repo" && env -i PATH=/usr/bin:/bin HOME="$E2E_WORK/home" TERM=dumb \
  timeout 60 bash "$E2E_WORK/tour.sh") >"$E2E_WORK/tour.out" 2>&1 || true
expect_eq "the tour prints what README.md shows" "$(<"$E2E_WORK/tour.out")" "$expected"

# --- Troubleshooting, noexec: as an unprivileged user, extracting into a
# noexec TMPDIR or cache works; a file on a noexec mount does not start.
((EUID == 0)) || e2e_skip "the noexec checks mount a tmpfs; run ctest as root for them"
id "$E2E_USER" >/dev/null 2>&1 ||
  e2e_abort "user $E2E_USER is missing (the 'e2e: user setup' fixture creates it)"
setpriv --reuid="$E2E_USER" --regid="$E2E_USER" --init-groups -- unshare --user true 2>/dev/null ||
  e2e_skip "this kernel refuses unprivileged user namespaces: the noexec checks need them"
app=$E2E_WORK/repo/tour/greet.AppImage
[[ -x $app ]] || e2e_abort "the tour wrote no $app"
chmod -R a+rX "$E2E_WORK/repo/tour"
chown "$E2E_USER:" "$E2E_WORK/home"
mkdir "$E2E_WORK/noexec"
# A private mount namespace: the tmpfs is gone with it, whatever happens.
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --propagation private bash -c '
  noexec=$1 app=$2 user=$3 home=$4
  mount -t tmpfs -o noexec,mode=1777 tmpfs "$noexec" || exit 99
  as() { setpriv --reuid="$user" --regid="$user" --init-groups -- env -i PATH=/usr/bin:/bin HOME="$home" "$@"; }
  as env TMPDIR="$noexec" "$app" --appimage-extract-and-run -n tmp -d / x >"$noexec/out.tmp" 2>&1
  echo "extract-and-run $?: $(head -n 1 "$noexec/out.tmp")"
  as env XDG_CACHE_HOME="$noexec" ELEMENTS_MOUNT=extract "$app" -n cache -d / x >"$noexec/out.cache" 2>&1
  echo "extract $?: $(head -n 1 "$noexec/out.cache")"
  cp "$app" "$noexec/greet.AppImage"
  as "$noexec/greet.AppImage" x >/dev/null 2>&1
  echo "on noexec $?"' bash "$E2E_WORK/noexec" "$app" "$E2E_USER" "$E2E_WORK/home" \
  >"$E2E_WORK/noexec.out" 2>&1
noexec=$(<"$E2E_WORK/noexec.out")
expect_line "--appimage-extract-and-run works with a noexec TMPDIR" "$noexec" \
  "extract-and-run 0: Hello, x! I am greet.tmp."
expect_line "the extract path works with a noexec XDG_CACHE_HOME" "$noexec" \
  "extract 0: Hello, x! I am greet.cache."
expect_line "a file on a noexec mount does not start (status 126)" "$noexec" "on noexec 126"

e2e_done
