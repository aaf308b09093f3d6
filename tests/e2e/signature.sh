#!/usr/bin/env bash
# Signatures the AppImage way (DESIGN.md section 1): elements-pack --sign KEY
# puts an armored detached gpg signature of the file's SHA-256 hex digest
# (with .sha256_sig and .sig_key read as zeros) into .sha256_sig and the
# public key into .sig_key. Checked three ways: --elements-verify, the
# --appimage-signature output, and an independent check with dd, sha256sum
# and gpgv by the rules of AppImage's validate. A throw-away key in a
# temporary GNUPGHOME; runs as whoever runs ctest, no namespaces needed.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_require_tools "install gnupg, gpgv, binutils, zsync" \
  gpg gpgv gpgconf objdump sha256sum sha1sum zsyncmake
e2e_workdir
e2e_as_caller
export GNUPGHOME=$E2E_WORK/gnupg
mkdir -m 0700 "$GNUPGHOME"
# gpg starts an agent for this GNUPGHOME: stop it with the test.
e2e_defer "gpgconf --kill all; gpgconf --remove-socketdir"

new_key() {  # USER_ID: a key without passphrase; prints its fingerprint
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "$1" ed25519 sign never 2>/dev/null ||
    e2e_abort "gpg cannot make a throw-away key"
  gpg --batch --with-colons --list-secret-keys -- "$1" | awk -F: '$1 == "fpr" {print $10; exit}'
}
fpr=$(new_key "Elements Signer <signer@example.invalid>")
other_fpr=$(new_key "Someone Else <else@example.invalid>")

# AppImage's validate, in shell: the hex digest of the file with both
# sections zeroed, checked by gpgv against the key in .sig_key.
appimage_validate() {  # FILE
  local file=$1 dir=$E2E_WORK/validate off size
  rm -rf "$dir" && mkdir "$dir"
  cp "$file" "$dir/zeroed"
  for s in .sha256_sig .sig_key; do
    read -r off size < <(e2e_section_extent "$file" "$s")
    dd if="$file" of="$dir/$s" bs=1 skip="$off" count="$size" status=none
    dd if=/dev/zero of="$dir/zeroed" bs=1 seek="$off" count="$size" conv=notrunc status=none
  done
  sha256sum "$dir/zeroed" | cut -d' ' -f1 | tr -d '\n' >"$dir/digest"
  tr -d '\0' <"$dir/.sha256_sig" >"$dir/sig.asc"
  tr -d '\0' <"$dir/.sig_key" | gpg --dearmor >"$dir/key.gpg" 2>/dev/null || return 1
  gpgv --keyring "$dir/key.gpg" "$dir/sig.asc" "$dir/digest" 2>"$dir/gpgv.log"
}

# --- signing: the short key id, as a user types it
e2e_rootfs
cat >"$E2E_WORK/probe.json" <<EOF
{"name": "probe", "from": "dir:rootfs", "run": $E2E_PROBE_RUN,
 "updateInformation": "zsync|https://example.org/probe-latest.AppImage.zsync"}
EOF
if ! "$E2E_PACK" -q --sign "${fpr: -16}" -o "$E2E_WORK/signed.AppImage" "$E2E_WORK/probe.json" \
  2>"$E2E_WORK/pack.log"; then
  cat "$E2E_WORK/pack.log" >&2
  e2e_abort "elements-pack --sign failed"
fi
app=$E2E_WORK/signed.AppImage

e2e_run_expect 0 "$app" --appimage-signature
expect_match "--appimage-signature prints an armored signature" "$E2E_OUT" \
  '^-----BEGIN PGP SIGNATURE-----.*-----END PGP SIGNATURE-----$'
key_text=$(e2e_section "$app" .sig_key)
expect_match ".sig_key holds the armored public key" "$key_text" '^-----BEGIN PGP PUBLIC KEY BLOCK-----'
expect_eq ".sig_key is the signer's key" \
  "$(gpg --batch --with-colons --import-options show-only --import <<<"$key_text" 2>/dev/null |
    awk -F: '$1 == "fpr" {print $10; exit}')" "$fpr"

e2e_run_expect 0 "$app" --elements-verify
expect_eq "--elements-verify names the signer and its key" "$E2E_OUT" \
  "$app: good signature by Elements Signer <signer@example.invalid> (key $fpr)"
if appimage_validate "$app"; then
  e2e_pass "gpgv accepts the signature by AppImage's rules (digest with the sections zeroed)"
else
  e2e_fail "gpgv refuses the signature by AppImage's rules: $(cat "$E2E_WORK/validate/gpgv.log")"
fi
expect_line "the .zsync describes the signed file" "$(<"$app.zsync")" \
  "SHA-1: $(sha1sum "$app" | cut -d' ' -f1)"
e2e_run_expect 0 "$app" --appimage-offset
if unsquashfs -o "$E2E_OUT" -l "$app" >/dev/null 2>&1; then
  e2e_pass "the signed file's payload still reads"
else
  e2e_fail "unsquashfs cannot read the signed file"
fi

# --- tampered: one byte of the payload, then the key swapped for another
cp "$app" "$E2E_WORK/tampered.AppImage"
size=$(stat -c %s "$app")
printf 'X' | dd of="$E2E_WORK/tampered.AppImage" bs=1 seek=$((size - 100)) conv=notrunc status=none
e2e_run_expect 1 "$E2E_WORK/tampered.AppImage" --elements-verify
expect_eq "a changed byte: one line on stderr" "$(wc -l <<<"$E2E_ERR")" 1
expect_match "a changed byte: BAD signature, named" "$E2E_ERR" \
  '^tampered.AppImage: BAD signature by Elements Signer <signer@example.invalid>: the file changed after it was signed'
expect_eq "a changed byte: nothing on stdout" "$E2E_OUT" ""
if appimage_validate "$E2E_WORK/tampered.AppImage"; then
  e2e_fail "gpgv accepts a tampered file by AppImage's rules"
else
  e2e_pass "gpgv refuses the tampered file by AppImage's rules too"
fi

cp "$app" "$E2E_WORK/rekeyed.AppImage"
read -r off size < <(e2e_section_extent "$app" .sig_key)
dd if=/dev/zero of="$E2E_WORK/rekeyed.AppImage" bs=1 seek="$off" count="$size" conv=notrunc status=none
gpg --batch --armor --export "$other_fpr" |
  dd of="$E2E_WORK/rekeyed.AppImage" bs=1 seek="$off" conv=notrunc status=none
e2e_run_expect 1 "$E2E_WORK/rekeyed.AppImage" --elements-verify
expect_match "another key in .sig_key: refused" "$E2E_ERR" 'the signature is not by the key in .sig_key'

# --- the block digests behind the payload are signed with it: a signed
# file without them (stripped to the image and its padding) is refused as
# it is read, not read unchecked
e2e_run_expect 0 "$app" --elements-spec
offset=$("$app" --appimage-offset)
bytes_used=$(od -An -t u8 -j $((offset + 40)) -N 8 "$app" | tr -d ' ')
cp "$app" "$E2E_WORK/stripped.AppImage"
truncate -s $((offset + (bytes_used + 4095) / 4096 * 4096)) "$E2E_WORK/stripped.AppImage"
e2e_run_expect 125 "$E2E_WORK/stripped.AppImage" --elements-spec
expect_match "signed, digests stripped: refused in one line with a hint" \
  "$(wc -l <<<"$E2E_ERR") $E2E_ERR" \
  '^1 .*stripped\.AppImage: the file is signed but carries no block digests.*\(hint: '
e2e_run_expect 1 "$E2E_WORK/stripped.AppImage" --elements-verify

# --- unsigned, and a runtime taken from a signed file carries no signature
e2e_pack probe
e2e_run_expect 1 "$E2E_APP" --elements-verify
expect_match "unsigned: says so, with the fix" "$E2E_ERR" '^probe.AppImage: not signed.*elements-pack --sign KEY'
"$E2E_PACK" -q --runtime "$app" -o "$E2E_WORK/resigned.AppImage" "$E2E_WORK/probe.json" ||
  e2e_abort "elements-pack --runtime SIGNED failed"
e2e_run_expect 0 "$E2E_WORK/resigned.AppImage" --appimage-signature
expect_eq "--runtime from a signed file: no stale signature" "$E2E_OUT" ""

# --- gpgv missing: the check cannot run
_e2e_env=(env -u TARGET_APPIMAGE PATH=/nonexistent)
e2e_run_expect 125 "$app" --elements-verify
expect_match "no gpgv: says what to install" "$E2E_ERR" '^signed.AppImage: gpgv: not found in PATH.*install gpgv'
e2e_as_caller

# --- bad keys: exit 2 before anything is written
out=$E2E_WORK/never.AppImage
rc=0
"$E2E_PACK" --sign nobody@example.invalid -o "$out" "$E2E_WORK/probe.json" \
  >/dev/null 2>"$E2E_WORK/err" || rc=$?
expect_eq "--sign with an unknown key exits 2" "$rc" 2
expect_match "--sign with an unknown key: named, with the fix" "$(<"$E2E_WORK/err")" \
  '^elements-pack: --sign: gpg has no secret key "nobody@example.invalid" \(hint: gpg --list-secret-keys'
rc=0
"$E2E_PACK" --sign example.invalid -o "$out" "$E2E_WORK/probe.json" \
  >/dev/null 2>"$E2E_WORK/err" || rc=$?
expect_eq "--sign naming two keys exits 2" "$rc" 2
expect_match "--sign naming two keys: lists them" "$(<"$E2E_WORK/err")" "names 2 secret keys.*$fpr"
rc=0
env PATH=/nonexistent "$E2E_PACK" --sign "$fpr" -o "$out" "$E2E_WORK/probe.json" \
  >/dev/null 2>"$E2E_WORK/err" || rc=$?
expect_eq "--sign without gpg exits 1" "$rc" 1
expect_match "--sign without gpg: says what to install" "$(<"$E2E_WORK/err")" \
  'gpg: not found in PATH.*install gnupg'
left=$(find "$E2E_WORK" -maxdepth 1 -name 'never.AppImage*')
expect_eq "refused builds leave no file" "$left" ""

e2e_done
