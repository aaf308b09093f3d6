#!/usr/bin/env bash
# The file is a type 2 AppImage that standard tools read (DESIGN.md section
# 1): the payload starts where readelf says the ELF ends, unsquashfs reads it
# at that offset, and the --appimage-* words answer as the AppImage runtime
# does. Needs no namespaces, so it runs as whoever runs ctest.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_workdir
update_info="zsync|https://example.org/probe-latest-x86_64.AppImage.zsync"
e2e_pack probe "$E2E_PROBE_RUN" "\"updateInformation\": \"$update_info\""
app=$E2E_APP
_e2e_as=()
_e2e_env=(env -u TARGET_APPIMAGE)

# --- where the ELF ends, as the AppImage runtime computes it
shoff=$(readelf -h "$app" | sed -n 's/^ *Start of section headers: *\([0-9]*\).*/\1/p')
shentsize=$(readelf -h "$app" | sed -n 's/^ *Size of section headers: *\([0-9]*\).*/\1/p')
shnum=$(readelf -h "$app" | sed -n 's/^ *Number of section headers: *\([0-9]*\).*/\1/p')
[[ -n $shoff && -n $shentsize && -n $shnum ]] || e2e_abort "readelf -h cannot read $app"
elf_end=$((shoff + shnum * shentsize))
# Section data past the header table also counts (NOBITS sections have none).
while read -r type off size; do
  [[ $type == NOBITS ]] && continue
  ((16#$off + 16#$size > elf_end)) && elf_end=$((16#$off + 16#$size))
done < <(readelf -S -W "$app" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk 'NF >= 5 {print $2, $4, $5}')

e2e_run_expect 0 "$app" --appimage-offset
expect_eq "--appimage-offset is the end of the ELF (readelf)" "$E2E_OUT" "$elf_end"
offset=$E2E_OUT
[[ $offset =~ ^[0-9]+$ ]] || e2e_abort "--appimage-offset printed '$offset', not a number"

magic=$(dd if="$app" bs=1 skip="$offset" count=4 status=none)
expect_eq "squashfs magic at the offset" "$magic" hsqs
expect_eq "AppImage type 2 magic at e_ident[8..10]" \
  "$(od -An -tx1 -j8 -N3 "$app" | tr -d ' \n')" 414902
# ASan needs the dynamic loader (cmake/sanitizers.cmake).
if [[ ${E2E_SANITIZE:-OFF} == ON ]]; then
  expect_match "file(1) sees an ELF (dynamic under ELEMENTS_SANITIZE)" "$(file -b "$app")" 'ELF 64-bit'
else
  expect_match "file(1) sees a static ELF" "$(file -b "$app")" 'ELF 64-bit.*statically linked'
fi

# --- standard tools read the payload
if listing=$(unsquashfs -o "$offset" -l "$app" 2>&1); then
  e2e_pass "unsquashfs -o OFFSET -l reads the file"
  expect_line "payload has AppRun" "$listing" squashfs-root/AppRun
  expect_line "payload has .elements/spec.json" "$listing" squashfs-root/.elements/spec.json
  expect_line "payload has rootfs/" "$listing" squashfs-root/rootfs
  expect_line "payload has the probe" "$listing" squashfs-root/rootfs/bin/probe
else
  e2e_fail "unsquashfs -o $offset -l $app failed: $listing"
fi
if spec=$(unsquashfs -o "$offset" -cat "$app" .elements/spec.json 2>&1); then
  expect_match "spec.json names the element" "$spec" '"name": *"probe"'
  expect_match "spec.json has version 1" "$spec" '"version": *1'
  expect_match "spec.json has the command" "$spec" '"/bin/probe"'
else
  e2e_fail "unsquashfs -cat .elements/spec.json failed: $spec"
fi
desktop=$(unsquashfs -o "$offset" -cat "$app" probe.desktop 2>/dev/null || true)
expect_match "payload has probe.desktop" "$desktop" '^\[Desktop Entry\]'

# --- the block digests behind the image: a dm-verity hash tree, checked by
# cryptsetup's own reader (the header, the file's last 4 KiB, gives D and
# the root), and refused by it once a byte of the image changes
if command -v veritysetup >/dev/null; then
  tail -c +$((offset + 1)) "$app" >"$E2E_WORK/payload.bin"
  header=$(tail -c 4096 "$app" | od -An -v -t x1 | tr -d ' \n')
  expect_eq "the header is last" "$(tail -c 4096 "$app" | head -c 16)" "elements-digests"
  data_blocks=$(od -An -t u8 -j 24 -N 8 <(tail -c 4096 "$app") | tr -d ' ')
  bytes_used=$(od -An -t u8 -j 40 -N 8 "$E2E_WORK/payload.bin" | tr -d ' ')
  expect_eq "the digests cover the image's 4 KiB blocks" "$data_blocks" $(((bytes_used + 4095) / 4096))
  verity=(veritysetup verify --no-superblock --hash-offset=$((data_blocks * 4096))
    --data-blocks="$data_blocks" --salt=- "$E2E_WORK/payload.bin" "$E2E_WORK/payload.bin"
    "${header:64:64}")
  if out=$("${verity[@]}" 2>&1); then
    e2e_pass "veritysetup verify accepts the tree"
  else
    e2e_fail "veritysetup verify refuses the tree: $out"
  fi
  printf 'X' | dd of="$E2E_WORK/payload.bin" bs=1 seek=$((bytes_used / 2)) conv=notrunc status=none
  if out=$("${verity[@]}" 2>&1); then
    e2e_fail "veritysetup verify accepts a changed image"
  else
    e2e_pass "veritysetup verify refuses a changed image"
  fi
  rm -f "$E2E_WORK/payload.bin"
else
  echo "note: veritysetup is missing (package cryptsetup-bin): the tree is not checked against it"
fi

# --- the AppImage options
e2e_run_expect 0 "$app" --appimage-version
expect_match "--appimage-version names the version" "$E2E_OUT$E2E_ERR" "$E2E_VERSION"
e2e_run_expect 0 "$app" --appimage-help
expect_match "--appimage-help lists --appimage-extract" "$E2E_OUT$E2E_ERR" '--appimage-extract'
e2e_run_expect 0 "$app" --appimage-updateinformation
expect_eq "--appimage-updateinformation prints the definition's" "$E2E_OUT" "$update_info"
e2e_run_expect 0 "$app" --help
expect_match "--help starts with the description" "$E2E_OUT" '^end-to-end probe'

e2e_done
