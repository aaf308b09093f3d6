#!/usr/bin/env bash
# The same inputs with the same SOURCE_DATE_EPOCH give a byte-identical file
# (DESIGN.md section 4), from a folder and from an OCI image, also when the
# input tree was made in another order and at another time: entries are
# written in name order and every mtime after the epoch is clamped to it.
# shellcheck source=SCRIPTDIR/pack_lib.sh
source "$(dirname "$0")/pack_lib.sh"

pack_workdir
e2e_rootfs
epoch=1700000000

# Tree a is the rootfs with a hard link and nested folders; tree b holds the
# same, made in the reverse order (other inode numbers, another order on
# disk) and with other mtimes, all later than the epoch.
a=$E2E_WORK/a
b=$E2E_WORK/b
cp -a "$E2E_WORK/rootfs" "$a"
mkdir -p "$a/data/sub/deeper"
printf 'one\n' >"$a/data/sub/one"
ln "$a/data/sub/one" "$a/data/linked"
printf 'two\n' >"$a/data/sub/deeper/two"
mkdir "$b"
while IFS= read -r -d '' p; do
  mkdir -p "$b/$p"
  chmod --reference="$a/$p" "$b/$p"
done < <(cd "$a" && find . -mindepth 1 -type d -print0 | sort -rz)
while IFS= read -r -d '' p; do
  [[ $p == ./data/linked ]] || cp -P --preserve=mode "$a/$p" "$b/$p"
done < <(cd "$a" && find . ! -type d -print0 | sort -rz)
ln "$b/data/sub/one" "$b/data/linked"
find "$a" -exec touch -h -d @1750000000 {} +
find "$b" -exec touch -h -d @1800000000 {} +
[[ $(stat -c %i "$a/data/sub/one") != "$(stat -c %i "$b/data/sub/one")" ]] ||
  e2e_abort "the two trees share inode numbers; the test would prove nothing"

same() {  # DESCRIPTION FILE FILE
  if cmp "$E2E_WORK/$2" "$E2E_WORK/$3"; then e2e_pass "$1: $2 and $3 are byte-identical"
  else e2e_fail "$1: $2 and $3 differ"; fi
}

# Two definitions that differ in "from" only.
same_but_from() {  # DEFINITION FROM NEW_DEFINITION
  sed "s|\"from\": \".*\"|\"from\": \"$2\"|" "$E2E_WORK/$1" >"$E2E_WORK/$3"
}

# --- from a folder
pack_definition a dir:a
same_but_from a.json dir:b b.json
export SOURCE_DATE_EPOCH=$epoch
pack_expect 0 -o a1.AppImage a.json
pack_expect 0 -o a2.AppImage a.json
pack_expect 0 -o b1.AppImage b.json
unset SOURCE_DATE_EPOCH
pack_expect 0 --source-date-epoch "$epoch" -o a3.AppImage a.json
pack_expect 0 --source-date-epoch "$((epoch + 1))" -o other-epoch.AppImage a.json
same "dir: two builds" a1.AppImage a2.AppImage
same "dir: a tree made in another order at another time" a1.AppImage b1.AppImage
same "dir: --source-date-epoch and SOURCE_DATE_EPOCH" a1.AppImage a3.AppImage
# The comparison can fail: another epoch is another file.
if cmp -s "$E2E_WORK/a1.AppImage" "$E2E_WORK/other-epoch.AppImage"; then
  e2e_fail "dir: another epoch gave the same bytes"
else e2e_pass "dir: another epoch gives another file"; fi
offset=$("$E2E_WORK/a1.AppImage" --appimage-offset)
listing=$(TZ=UTC unsquashfs -o "$offset" -lln "$E2E_WORK/a1.AppImage" rootfs/data 2>&1)
expect_match "mtimes later than the epoch are the epoch" "$listing" \
  "-rw-r--r-- 0/0 +4 2023-11-14 22:13 squashfs-root/rootfs/data/linked"

# --- from an OCI image: the layers of a and b differ (mtimes, order in the
# tar), their trees do not.
pack_oci_layout "$a" "$E2E_WORK/img-a"
pack_oci_layout "$b" "$E2E_WORK/img-b"
[[ $(<"$E2E_WORK/img-a/index.json") != "$(<"$E2E_WORK/img-b/index.json")" ]] ||
  e2e_abort "the two layouts are the same; the test would prove nothing"
same_but_from a.json oci:img-a:v1 oa.json
same_but_from a.json oci:img-b:v1 ob.json
pack_expect 0 --source-date-epoch "$epoch" -o oa1.AppImage oa.json
pack_expect 0 --source-date-epoch "$epoch" -o oa2.AppImage oa.json
pack_expect 0 --source-date-epoch "$epoch" -o ob1.AppImage ob.json
same "oci: two builds" oa1.AppImage oa2.AppImage
same "oci: layers made in another order at another time" oa1.AppImage ob1.AppImage

e2e_done
