#!/usr/bin/env bash
# elements-pack export DEFINITION oci:DIR[:TAG]: an OCI image layout that
# outside tools read as they read any image: skopeo shows the definition's
# "run" as the image config, umoci unpacks it rootless, podman runs it (as
# root), and elements-pack
# packs it again ("from": "oci:DIR:TAG") into the same tree, owners, modes,
# hard links and times included. The same inputs give the same bytes; a
# target that exists is refused and left alone.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_workdir
W=$E2E_WORK
e2e_rootfs
command -v umoci >/dev/null || e2e_skip "umoci is not installed (scripts/deps.sh installs it)"

# Owners other than the packer's, a setuid mode, a hard link, a symlink and
# an xattr: what the layer must carry.
mkdir -p "$W/rootfs/srv/site"
echo "<h1>site</h1>" >"$W/rootfs/srv/site/index.html"
ln "$W/rootfs/srv/site/index.html" "$W/rootfs/srv/site/hard.html"
ln -s index.html "$W/rootfs/srv/site/link.html"
chmod 4755 "$W/rootfs/srv/site/index.html"
# Larger than what the layer writer holds in memory.
head -c $((9 << 20)) /dev/urandom >"$W/rootfs/srv/big.bin"
if ((EUID == 0)); then chown -R 1234:2345 "$W/rootfs/srv/site"; fi
xattr=no
if setfattr -n user.e2e -v kept "$W/rootfs/srv/site/index.html" 2>/dev/null; then xattr=yes; fi

# shellcheck disable=SC2016 # the runtime expands these, not bash
cat >"$W/oci.json" <<'EOF'
{
  "name": "oci",
  "from": "dir:rootfs",
  "run": {
    "description": "exported by the end-to-end test",
    "command": ["/bin/probe", "do", "$greeting"],
    "extraArgs": true,
    "workdir": "/srv/${ELEMENTS_NAME}",
    "args": [
      {"name": "greeting", "short": "g", "env": "GREETING", "default": "hello"},
      {"name": "verbose", "short": "v", "env": "VERBOSE", "type": "bool"},
      {"name": "site", "positional": true, "bind": "/srv/site", "required": false}
    ],
    "env": {"PATH": "/bin", "FIXED": "a$$b", "FROM_HOST": "${HOME}"}
  }
}
EOF
export SOURCE_DATE_EPOCH=1700000000
pack() { "$E2E_PACK" "$@" >"$W/pack.log" 2>&1; }

# --- 1. The layout.
if ! pack export "$W/oci.json" "oci:$W/image:1.0"; then
  cat "$W/pack.log" >&2
  e2e_abort "elements-pack export failed"
fi
e2e_pass "elements-pack export wrote oci:$W/image:1.0"
expect_match "a value that needs a run is named in a warning" "$(<"$W/pack.log")" \
  '/run/env/FROM_HOST: "\$\{HOME\}" needs the values of a run'
expect_eq "oci-layout" "$(jq -c . "$W/image/oci-layout")" '{"imageLayoutVersion":"1.0.0"}'
expect_eq "index.json names the tag" \
  "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$W/image/index.json")" 1.0
expect_eq "nothing but the layout is left beside it" "$(ls "$W" | grep -c 'image\.tmp')" 0

# The same inputs, the same bytes.
pack export "$W/oci.json" "oci:$W/image2:1.0" || e2e_fail "the second export failed"
if diff -r "$W/image" "$W/image2" >/dev/null; then e2e_pass "two exports are byte-identical"
else e2e_fail "two exports differ: $(diff -rq "$W/image" "$W/image2" | head -n 3)"; fi

# An existing target is refused with exit 2 and left alone.
mkdir "$W/taken" && touch "$W/taken/keep"
rc=0
pack export "$W/oci.json" "oci:$W/taken" || rc=$?
expect_eq "export into a folder that is not empty exits 2" "$rc" 2
expect_eq "the refusal is one line naming the folder" "$(<"$W/pack.log")" \
  "elements-pack: export: \"$W/taken\" exists and is not an empty folder (give a new or empty folder)"
expect_eq "the folder is left as it was" "$(ls -A "$W/taken")" keep

# --- 2. skopeo reads the image config the definition's "run" made.
if command -v skopeo >/dev/null; then
  if config=$(skopeo inspect --config "oci:$W/image:1.0" 2>"$W/skopeo.err"); then
    expect_eq "skopeo: Entrypoint" "$(jq -c .config.Entrypoint <<<"$config")" \
      '["/bin/probe","do","hello"]'
    expect_eq "skopeo: Env" "$(jq -c .config.Env <<<"$config")" \
      '["PATH=/bin","FIXED=a$b","GREETING=hello","VERBOSE=0","ELEMENTS_NAME=oci"]'
    expect_eq "skopeo: WorkingDir" "$(jq -r .config.WorkingDir <<<"$config")" /srv/oci
    expect_eq "skopeo: User" "$(jq -r .config.User <<<"$config")" 0:0
    expect_eq "skopeo: a bind arg is a volume" "$(jq -c .config.Volumes <<<"$config")" \
      '{"/srv/site":{}}'
    expect_eq "skopeo: created is the epoch" "$(jq -r .created <<<"$config")" 2023-11-14T22:13:20Z
  else
    e2e_fail "skopeo inspect failed: $(<"$W/skopeo.err")"
  fi
else
  echo "skopeo is not installed: its checks are left out"
fi

# --- 3. umoci unpacks it rootless into a runtime bundle.
if umoci unpack --rootless --image "$W/image:1.0" "$W/unpacked" >"$W/umoci.log" 2>&1; then
  e2e_pass "umoci unpack --rootless"
  expect_eq "umoci: the file's bytes" "$(cat "$W/unpacked/rootfs/srv/site/index.html")" "<h1>site</h1>"
  if cmp -s "$W/rootfs/srv/big.bin" "$W/unpacked/rootfs/srv/big.bin"; then
    e2e_pass "umoci: a 9 MiB file's bytes"
  else
    e2e_fail "umoci: the 9 MiB file differs from the one packed"
  fi
  expect_eq "umoci: the symlink" "$(readlink "$W/unpacked/rootfs/srv/site/link.html")" index.html
  expect_eq "umoci: the hard link" \
    "$(stat -c %i "$W/unpacked/rootfs/srv/site/hard.html")" \
    "$(stat -c %i "$W/unpacked/rootfs/srv/site/index.html")"
  expect_eq "umoci: the process is the Entrypoint" \
    "$(jq -c .process.args "$W/unpacked/config.json")" '["/bin/probe","do","hello"]'
  expect_eq "umoci: the process' cwd" "$(jq -r .process.cwd "$W/unpacked/config.json")" /srv/oci
else
  e2e_fail "umoci unpack --rootless failed: $(<"$W/umoci.log")"
fi

# --- 4. podman runs the image as root: the Entrypoint with the words
# after the image name, the Env, the WorkingDir and the exit status. Its
# storage, state and caches stay in the work dir: /var/lib is the work
# dir's in a mount namespace of its own; no rlimits above this host's.
if ((EUID == 0)) && command -v podman >/dev/null && command -v runc >/dev/null; then
  mkdir "$W/var-lib"
  printf '[containers]\ndefault_ulimits = []\n' >"$W/containers.conf"
  rc=0
  # podman names the image after its path, which must be lowercase: relative.
  (cd "$W" && timeout -k 5 120 unshare --mount --propagation private -- \
    sh -c 'mount --bind "$0" /var/lib && exec "$@"' "$W/var-lib" \
    env CONTAINERS_CONF="$W/containers.conf" podman --root "$W/podman/root" \
    --runroot "$W/podman/run" --tmpdir "$W/podman/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --runtime runc \
    run --rm --network none oci:image:1.0 args env cat:../site/index.html exit:5) \
    >"$W/podman.out" 2>"$W/podman.err" || rc=$?
  podman_out=$(<"$W/podman.out")
  if [[ $rc == 5 ]]; then e2e_pass "podman run exits with the command's status 5"
  else e2e_fail "podman run exited $rc, expected 5: $(tail -n 3 "$W/podman.err")"; fi
  expect_line "podman: the Entrypoint's last word" "$podman_out" "argv[2]=hello"
  expect_line "podman: the words after the image follow it" "$podman_out" "argv[3]=args"
  expect_line "podman: an arg's default in Env" "$podman_out" "GREETING=hello"
  expect_line "podman: the WorkingDir" "$podman_out" "cat:../site/index.html=<h1>site</h1>"
else
  echo "podman, runc or root is missing: the podman checks are left out"
fi

# The layer carries the xattr as a pax record.
if [[ $xattr == yes ]]; then
  layer=$(jq -r '.layers[0].digest' "$W/image/blobs/sha256/$(jq -r '.manifests[0].digest' \
    "$W/image/index.json" | cut -d: -f2)" | cut -d: -f2)
  if gzip -dc "$W/image/blobs/sha256/$layer" | grep -aq 'SCHILY.xattr.user.e2e=kept'; then
    e2e_pass "the layer keeps the xattr user.e2e"
  else
    e2e_fail "the layer lost the xattr user.e2e"
  fi
else
  echo "setfattr cannot set user.e2e in $W (no attr package, or no user xattrs here): xattr check left out"
fi

# --- 5. Round trip: packed from the exported image, the same tree.
listing() {  # APPIMAGE
  unsquashfs -lln -o "$("$1" --appimage-offset)" "$1" rootfs | grep ' squashfs-root/rootfs'
}
pack -o "$W/direct.AppImage" "$W/oci.json" || e2e_abort "packing from dir:rootfs failed: $(<"$W/pack.log")"
pack -o "$W/again.AppImage" --from "oci:$W/image:1.0" "$W/oci.json" ||
  e2e_abort "packing from the exported image failed: $(<"$W/pack.log")"
direct=$(listing "$W/direct.AppImage")
again=$(listing "$W/again.AppImage")
[[ -n $direct ]] || e2e_fail "unsquashfs listed nothing under rootfs/"
expect_match "the listing shows the owners kept" "$direct" "$( ((EUID == 0)) && echo 1234/2345 || echo -rws)"
if [[ $direct == "$again" ]]; then
  e2e_pass "the exported image packs into the same tree (unsquashfs -lln)"
else
  e2e_fail "the trees differ: $(diff <(echo "$direct") <(echo "$again") | head -n 8)"
fi

e2e_done
