#!/usr/bin/env bash
# Desktop integration (DESIGN.md sections 1 and 4): "desktop" in the
# definition yields NAME.desktop, the icon and .DirIcon in the payload root.
# desktop-file-validate accepts the entry; libappimage (AppImage's own
# library, through a small client built against Debian's libappimage-dev)
# reads the file as type 2, lists it, reads the entry and the icon, and
# integrates it; and the integrated entry of a "terminal": false file, run
# by gio launch (what GNOME's file manager does on a double-click) without
# any terminal, starts the container. MODE (root or user) is who
# double-clicks: the unprivileged user's run takes the FUSE path.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_require_tools "install desktop-file-utils, libglib2.0-bin, util-linux" \
  desktop-file-validate gio setsid
[[ -n ${E2E_APPIMAGE_READER:-} ]] ||
  e2e_skip "libappimage-dev was missing when the tests were configured (install it, re-run cmake)"

e2e_workdir
e2e_mode "${1:-root}"
cat >"$E2E_WORK/icon.svg" <<'EOF'
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#1f6feb"/></svg>
EOF
# The probe reports what it sees (its pid, PID 1's name) when double-clicked.
e2e_pack desk "${E2E_PROBE_RUN/\"\/bin\/probe\"]/\"/bin/probe\", \"info\"]}" \
  '"desktop": {"icon": "icon.svg", "categories": ["Network", "FileTransfer"], "terminal": false}'
app=$E2E_APP
e2e_run_expect 0 "$app" --appimage-offset
offset=$E2E_OUT

# --- the payload root, as unsquashfs sees it
listing=$(unsquashfs -o "$offset" -lls "$app" 2>&1)
expect_match "payload has desk.desktop" "$listing" ' squashfs-root/desk\.desktop'
expect_match "payload has the icon as desk.svg" "$listing" ' squashfs-root/desk\.svg'
expect_match ".DirIcon links to the icon" "$listing" ' squashfs-root/\.DirIcon -> desk\.svg'
unsquashfs -o "$offset" -cat "$app" desk.desktop >"$E2E_WORK/desk.desktop" 2>/dev/null ||
  e2e_abort "unsquashfs cannot read desk.desktop"
expect_line "the entry has Terminal=false" "$(<"$E2E_WORK/desk.desktop")" "Terminal=false"
expect_line "the entry has the categories" "$(<"$E2E_WORK/desk.desktop")" "Categories=Network;FileTransfer;"
expect_line "the entry has the description" "$(<"$E2E_WORK/desk.desktop")" "Comment=end-to-end probe"
if report=$(desktop-file-validate "$E2E_WORK/desk.desktop" 2>&1) && [[ -z $report ]]; then
  e2e_pass "desktop-file-validate accepts desk.desktop without a remark"
else
  e2e_fail "desktop-file-validate on desk.desktop: $report"
fi

# --- libappimage reads the file
mkdir "$E2E_WORK/read"
if out=$("$E2E_APPIMAGE_READER" read "$app" "$E2E_WORK/read" 2>&1); then
  e2e_pass "libappimage reads the file"
else
  e2e_fail "libappimage cannot read the file: $out"
fi
expect_line "libappimage: type 2" "$out" "type=2"
expect_line "libappimage: not a terminal app" "$out" "terminal=0"
for entry in AppRun desk.desktop desk.svg .DirIcon .elements/spec.json rootfs/bin/probe; do
  expect_line "libappimage lists $entry" "$out" "file=$entry"
done
if cmp -s "$E2E_WORK/read/desktop" "$E2E_WORK/desk.desktop"; then
  e2e_pass "libappimage reads the desktop entry as packed"
else
  e2e_fail "libappimage's desktop entry differs: $(cat "$E2E_WORK/read/desktop" 2>&1)"
fi
if cmp -s "$E2E_WORK/read/icon" "$E2E_WORK/icon.svg"; then
  e2e_pass "libappimage reads .DirIcon as the definition's icon"
else
  e2e_fail "libappimage's .DirIcon differs from icon.svg"
fi

# The default: a terminal app with the built-in PNG icon.
e2e_pack plain
mkdir "$E2E_WORK/plain"
out=$("$E2E_APPIMAGE_READER" read "$E2E_APP" "$E2E_WORK/plain" 2>&1) || true
expect_line "libappimage: without \"desktop\", a terminal app" "$out" "terminal=1"
expect_eq "libappimage: without \"desktop\", .DirIcon is a PNG" \
  "$(head -c 4 "$E2E_WORK/plain/icon" 2>/dev/null | od -An -c | tr -d ' ')" '211PNG'

# --- integrated and started as a double-click does, by the one who clicks:
# no terminal anywhere
mkdir "$E2E_WORK/data"
[[ $E2E_WHO == user ]] && chown "$E2E_USER:" "$E2E_WORK/data"
desktop_env=("${_e2e_env[@]}" XDG_DATA_HOME="$E2E_WORK/data")
if installed=$("${_e2e_as[@]}" "${desktop_env[@]}" "$E2E_APPIMAGE_READER" register "$app" \
  2>"$E2E_WORK/register.err") && [[ -f $installed ]]; then
  e2e_pass "libappimage integrates the file ($installed)"
else
  e2e_abort "libappimage cannot integrate the file: $installed $(<"$E2E_WORK/register.err")"
fi
entry=$(<"$installed")
expect_eq "the integrated entry runs the file itself" "$(grep '^Exec=' <<<"$entry")" "Exec=$app"
expect_line "the integrated entry keeps Terminal=false" "$entry" "Terminal=false"
report=$(desktop-file-validate "$installed" 2>&1) || true
expect_no_match "desktop-file-validate finds no error in the integrated entry" "$report" 'error:'

# setsid: no controlling terminal; stdin, stdout and stderr are no terminal either.
: >"$E2E_WORK/launched.out"
(
  _e2e_close_fds
  cd "$E2E_WORK/home"
  exec "${_e2e_as[@]}" "${desktop_env[@]}" setsid gio launch "$installed"
) </dev/null >"$E2E_WORK/launched.out" 2>"$E2E_WORK/launched.err" ||
  e2e_fail "gio launch failed: $(<"$E2E_WORK/launched.err")"
for ((i = 0; i < 100; i++)); do
  grep -q '^pid1_comm=' "$E2E_WORK/launched.out" && ! pgrep -f -- "$app" >/dev/null && break
  sleep 0.1
done
launched=$(<"$E2E_WORK/launched.out")
expect_line "gio launch started the container" "$launched" "pid1_comm=elements-init"
expect_line "the container's command ran as PID 2" "$launched" "pid=2"
expect_eq "the launched run did not complain" "$(<"$E2E_WORK/launched.err")" ""
if pgrep -f -- "$app" >/dev/null; then
  e2e_fail "the launched run is still going after 10 s; killed"
  for pid in $(pgrep -f -- "$app"); do kill -KILL "$pid" 2>/dev/null; done
else
  e2e_pass "the launched run ended by itself"
fi

e2e_done
