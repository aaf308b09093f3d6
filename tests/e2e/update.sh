#!/usr/bin/env bash
# Updates the AppImage way (DESIGN.md sections 1 and 4): "updateInformation"
# goes into .upd_info and --appimage-updateinformation prints it; when its
# transport is zsync, elements-pack writes NAME.AppImage.zsync beside the
# file with zsyncmake, its URL relative. zsync then turns version 1 into
# version 2, byte for byte, reusing what version 1 already has and fetching
# the rest over HTTP from a local folder (range_server.py on 127.0.0.1: zsync
# asks for several ranges at once, which busybox httpd does not serve).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_require_tools "install zsync, python3, binutils" zsync zsyncmake python3 sha1sum objdump
e2e_workdir
e2e_as_caller
update_info="zsync|http://127.0.0.1/releases/app-latest-x86_64.AppImage.zsync"
e2e_rootfs
mkdir "$E2E_WORK/v1" "$E2E_WORK/v2" "$E2E_WORK/pub"

# Version 2 differs from version 1 by one added file: most blocks are shared.
head -c 300000 /dev/urandom >"$E2E_WORK/added.bin"
pack_version() {  # N [EXTRA BUILD STEP]
  cat >"$E2E_WORK/app.json" <<EOF
{
  "name": "app",
  "from": "dir:rootfs",
  "updateInformation": "$update_info",
  "build": [${2:-}],
  "run": $E2E_PROBE_RUN
}
EOF
  "$E2E_PACK" -q --source-date-epoch 1700000000 -o "$E2E_WORK/v$1/app.AppImage" \
    "$E2E_WORK/app.json" 2>"$E2E_WORK/pack.log" || {
    cat "$E2E_WORK/pack.log" >&2
    e2e_abort "elements-pack failed on version $1"
  }
}
pack_version 1
pack_version 2 '{"copy": "added.bin", "to": "/srv/added.bin"}'
v1=$E2E_WORK/v1/app.AppImage
v2=$E2E_WORK/v2/app.AppImage

# --- the update information, as AppImage updaters read it
e2e_run_expect 0 "$v1" --appimage-updateinformation
expect_eq "--appimage-updateinformation prints the definition's" "$E2E_OUT" "$update_info"
expect_eq ".upd_info holds it (objdump)" "$(e2e_section "$v1" .upd_info)" "$update_info"

# --- the .zsync beside each file
for v in 1 2; do
  control=$E2E_WORK/v$v/app.AppImage.zsync
  [[ -f $control ]] || e2e_abort "no $control beside version $v"
  header=$(sed -n '/^$/q;p' "$control")
  expect_line "v$v .zsync: the file's name" "$header" "Filename: app.AppImage"
  expect_line "v$v .zsync: a relative URL, the file beside it" "$header" "URL: app.AppImage"
  expect_line "v$v .zsync: the file's length" "$header" "Length: $(stat -c %s "$E2E_WORK/v$v/app.AppImage")"
  expect_line "v$v .zsync: the file's SHA-1" "$header" \
    "SHA-1: $(sha1sum "$E2E_WORK/v$v/app.AppImage" | cut -d' ' -f1)"
  expect_eq "v$v .zsync is not executable" "$(stat -c %a "$control")" 644
done
expect_eq "no temporary file is left beside the output" \
  "$(find "$E2E_WORK/v1" "$E2E_WORK/v2" -name '*.tmp.*')" ""

# --- zsync: version 1 plus the changed blocks over HTTP gives version 2
cp "$v2" "$v2.zsync" "$E2E_WORK/pub/"
: >"$E2E_WORK/port"
python3 "$E2E_SOURCE/tests/e2e/range_server.py" "$E2E_WORK/pub" \
  >"$E2E_WORK/port" 2>"$E2E_WORK/httpd.log" &
httpd=$!
e2e_defer "kill -KILL $httpd 2>/dev/null; wait $httpd 2>/dev/null"
for ((i = 0; i < 100; i++)); do
  port=$(<"$E2E_WORK/port")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ $port =~ ^[0-9]+$ ]] || e2e_abort "the test's HTTP server did not start: $(<"$E2E_WORK/httpd.log")"

cp "$v1" "$E2E_WORK/seed.AppImage"
if (cd "$E2E_WORK" && timeout 60 zsync -i seed.AppImage -o updated.AppImage \
  "http://127.0.0.1:$port/app.AppImage.zsync") >"$E2E_WORK/zsync.log" 2>&1; then
  e2e_pass "zsync updates version 1 from the local folder"
else
  e2e_fail "zsync failed: $(cat "$E2E_WORK/zsync.log")"
fi
if cmp -s "$E2E_WORK/updated.AppImage" "$v2"; then
  e2e_pass "the updated file is version 2, byte for byte"
else
  e2e_fail "the updated file differs from version 2"
fi
# zsync ranges only what version 1 lacks: 206 answers, and less fetched than the file.
expect_match "zsync fetched byte ranges (HTTP 206)" "$(cat "$E2E_WORK/httpd.log")" 'response:206'
fetched=$(sed -n 's/.*fetched \([0-9]*\).*/\1/p' "$E2E_WORK/zsync.log")
if [[ $fetched =~ ^[0-9]+$ ]] && ((fetched < $(stat -c %s "$v2") / 2)); then
  e2e_pass "zsync reused version 1: fetched $fetched of $(stat -c %s "$v2") bytes"
else
  e2e_fail "zsync did not reuse version 1 (fetched '${fetched}'): $(cat "$E2E_WORK/zsync.log")"
fi
# zsync keeps no mode, as AppImageUpdate does.
chmod 0755 "$E2E_WORK/updated.AppImage"
e2e_run_expect 0 "$E2E_WORK/updated.AppImage" --appimage-updateinformation
expect_eq "the updated file carries the update information" "$E2E_OUT" "$update_info"

# --- zsyncmake missing: refused before anything is written
rc=0
env PATH=/nonexistent "$E2E_PACK" -o "$E2E_WORK/never.AppImage" "$E2E_WORK/app.json" \
  >/dev/null 2>"$E2E_WORK/err" || rc=$?
expect_eq "no zsyncmake: exits 1" "$rc" 1
expect_match "no zsyncmake: says what to install" "$(<"$E2E_WORK/err")" \
  '^elements-pack: zsyncmake: not found in PATH.*\(hint: install zsync\)$'
expect_eq "no zsyncmake: nothing written" "$(find "$E2E_WORK" -maxdepth 1 -name 'never*')" ""

e2e_done
