#!/usr/bin/env bash
# The folders the runtime and the builder keep files in on the host (the
# extract cache, persistent layers, /out staging, the step cache) set up on
# shared 1777 folders where another real user was there first: a planted
# extract cache and persistent layer, a symlinked `elements`, a pre-made
# /out staging folder, a planted step layer and a symlinked step cache, and
# TMPDIR on a folder others may write to that is not sticky. Each
# run refuses with one line naming the folder and the fix, or goes on
# without using what was planted; nothing of the other user's and nothing the
# symlinks point at is removed. Runs as root: it makes the second user.
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || e2e_skip "runs as root: it needs a second user besides $E2E_USER"
command -v unsquashfs >/dev/null || e2e_skip "unsquashfs is not installed"
e2e_mode user-extract
victim=$E2E_USER
victim_uid=$(id -u "$victim")

# The other user, made here and removed at the end (only if made here).
other=elements-e2e-other
if ! id "$other" >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "$E2E_USER_COMMENT" "$other"
  e2e_defer "userdel $other 2>/dev/null"
fi
other_uid=$(id -u "$other")
as_other() { setpriv --reuid="$other" --regid="$other" --init-groups -- "$@"; }

# A shared folder as /tmp is: root's, 1777. NAME in $E2E_WORK.
shared() {  # NAME [MODE]
  mkdir -p "$E2E_WORK/$1"
  chmod "${2:-1777}" "$E2E_WORK/$1"
  echo "$E2E_WORK/$1"
}

# The victim's own folder with a canary inside, named as stale temp folders
# and step layers are, so a cleanup that follows a symlink would take it.
canary_dir() {  # NAME
  local dir=$E2E_WORK/$1
  mkdir -p "$dir/.tmp-canary" "$dir/steps"
  echo canary >"$dir/canary"
  echo canary >"$dir/.tmp-canary/file"
  echo canary >"$dir/steps/$(printf '%064d' 0).tar"
  chown -R "$victim:" "$dir"
  chmod 0700 "$dir"
  echo "$dir"
}
canary_left() {  # DESCRIPTION DIR
  local left
  left="$(ls -A "$2" | tr '\n' ' ')/ $(cat "$2/canary" "$2/.tmp-canary/file" "$2/steps/"*.tar 2>&1 |
    tr '\n' ' ')"
  expect_eq "$1" "$left" ".tmp-canary canary steps / canary canary canary "
}

# shellcheck disable=SC2016 # the runtime expands these, not bash
e2e_pack hostdirs '{
    "command": ["/bin/probe", "do"], "extraArgs": true,
    "env": {"PATH": "/bin", "E2E_ID": "${ELEMENTS_ID}"},
    "writable": "persist",
    "args": [{"name": "instance", "short": "n", "instance": true},
             {"name": "output", "short": "o", "output": true}]
  }'
app=$E2E_APP
offset=$("$app" --appimage-offset)
digest=$(tail -c +$((offset + 1)) "$app" | sha256sum | cut -d' ' -f1)

# --- the extract cache: another user's elements/<digest>/ with a planted probe
cache=$(shared cache-shared)
mkdir -p "$cache/elements"
(cd "$E2E_WORK" && "$app" --appimage-extract >/dev/null)
mv "$E2E_WORK/squashfs-root" "$cache/elements/$digest"
printf '#!/bin/sh\necho PLANTED-RAN\n' >"$cache/elements/$digest/rootfs/bin/probe"
chmod -R u+w "$cache/elements"
chown -R "$other:" "$cache/elements"
chmod 0777 "$cache/elements" "$cache/elements/$digest"
e2e_run env XDG_CACHE_HOME="$cache" "$app" -n planted -- info
expect_eq "a planted extract cache: status 125" "$E2E_RC" 125
expect_no_match "a planted extract cache: the planted /bin/probe does not run" "$E2E_OUT" PLANTED
expect_line "a planted extract cache: one line naming the folder, its owner and the fix" \
  "$E2E_ERR" "hostdirs.AppImage: $cache/elements belongs to another user, not to you, so what it holds cannot be trusted (hint: set XDG_CACHE_HOME to a folder of your own)"
expect_eq "a planted extract cache: the other user's files are kept" \
  "$(cat "$cache/elements/$digest/rootfs/bin/probe")" "#!/bin/sh
echo PLANTED-RAN"

# --- the extract cache: `elements` a symlink to the victim's own folder
cache=$(shared cache-link)
target=$(canary_dir link-target)
as_other ln -s "$target" "$cache/elements"
e2e_run env XDG_CACHE_HOME="$cache" "$app" -n link -- info
expect_eq "a symlinked elements: status 125" "$E2E_RC" 125
expect_line "a symlinked elements: one line naming it and the fix" "$E2E_ERR" \
  "hostdirs.AppImage: $cache/elements is a symlink or not a folder, and elements keeps its files only in a folder of your own (hint: remove it, or set XDG_CACHE_HOME to a folder of your own)"
canary_left "a symlinked elements: nothing is removed or added where it points" "$target"

# --- the same under a folder others may write to that is not sticky
cache=$(shared cache-open 0777)
target=$(canary_dir open-target)
as_other ln -s "$target" "$cache/elements"
e2e_run env XDG_CACHE_HOME="$cache" "$app" -n open -- info
expect_eq "a cache under a non-sticky shared folder: status 125" "$E2E_RC" 125
expect_line "a cache under a non-sticky shared folder: one line naming it and the fix" \
  "$E2E_ERR" "hostdirs.AppImage: cannot keep files under $cache: others can write to $cache (mode 0777) and it is not sticky, so they could replace them (hint: chmod +t $cache, or set XDG_CACHE_HOME to a folder of your own)"
canary_left "a cache under a non-sticky shared folder: nothing is removed where it points" \
  "$target"

# --- persistent layers: another user's elements/ID/upper with a planted file
data=$(shared data-shared)
mkdir -p "$data/elements/hostdirs.web/upper/etc" "$data/elements/hostdirs.web/work"
echo planted >"$data/elements/hostdirs.web/upper/etc/planted"
chown -R "$other:" "$data/elements"
chmod -R 0777 "$data/elements"
e2e_run env XDG_DATA_HOME="$data" "$app" -n web -- cat:/etc/planted
expect_eq "planted persistent layers: status 125" "$E2E_RC" 125
expect_no_match "planted persistent layers: the planted file is not seen" "$E2E_OUT" planted
expect_line "planted persistent layers: one line naming the folder and the fix" "$E2E_ERR" \
  "hostdirs.AppImage: $data/elements belongs to another user, not to you, so what it holds cannot be trusted (hint: set XDG_DATA_HOME to a folder of your own)"
expect_eq "planted persistent layers: the other user's file is kept" \
  "$(cat "$data/elements/hostdirs.web/upper/etc/planted")" planted

# --- /out staging: another user's .ID.out.partial beside the output
outdir=$(shared out-shared)
as_other mkdir -m 0777 "$outdir/.hostdirs.web.out.partial"
as_other sh -c "echo planted >'$outdir/.hostdirs.web.out.partial/planted'"
e2e_run env XDG_DATA_HOME="$E2E_WORK/home/data" "$app" -n web -o "$outdir/result" -- \
  write:/out/x=delivered
expect_eq "a pre-made staging folder: the run goes on (status 0)" "$E2E_RC" 0
expect_eq "a pre-made staging folder: the output is delivered" \
  "$(cat "$outdir/result" 2>&1)" delivered
expect_eq "a pre-made staging folder: the other user's folder is kept as it was" \
  "$(ls -A "$outdir/.hostdirs.web.out.partial" 2>&1) $(stat -c %U "$outdir/.hostdirs.web.out.partial")" \
  "planted $other"
expect_eq "a pre-made staging folder: nothing else is left beside the output" \
  "$(ls -A "$outdir" | tr '\n' ' ')" ".hostdirs.web.out.partial result "

# --- temporary folders: TMPDIR on a folder others may write to, not sticky
tmp=$(shared tmp-open 0777)
e2e_run env TMPDIR="$tmp" "$app" --appimage-extract-and-run -n tmp -- info
expect_eq "TMPDIR on a non-sticky shared folder: status 125" "$E2E_RC" 125
expect_line "TMPDIR on a non-sticky shared folder: one line naming it and the fix" "$E2E_ERR" \
  "hostdirs.AppImage: cannot keep files under $tmp: others can write to $tmp (mode 0777) and it is not sticky, so they could replace them (hint: chmod +t $tmp, or set TMPDIR to a folder of your own)"
expect_eq "TMPDIR on a non-sticky shared folder: nothing is made in it" "$(ls -A "$tmp")" ""

# --- the step cache: another user's elements/steps with planted layers
cp -a "$E2E_WORK/rootfs" "$E2E_WORK/vrootfs"
chown -R "$victim:" "$E2E_WORK/vrootfs"
cat >"$E2E_WORK/steps.json" <<'EOF'
{
  "name": "steps",
  "from": "dir:vrootfs",
  "build": [{"run": ["/bin/sh", "-c", "echo built > /built"]}],
  "run": {"command": ["/bin/cat", "/built"]}
}
EOF
mkdir -p "$E2E_WORK/vcache" "$E2E_WORK/packed"
chown "$victim:" "$E2E_WORK/vcache" "$E2E_WORK/packed"
pack_as_victim() {  # XDG_CACHE_HOME ARGS...
  local cache=$1
  shift
  PACK_RC=0
  (cd "$E2E_WORK" && "${_e2e_as[@]}" env HOME="$E2E_WORK/home" XDG_CACHE_HOME="$cache" \
    TMPDIR="$E2E_WORK/tmp" "$E2E_PACK" "$@") >"$E2E_WORK/pack.out" 2>"$E2E_WORK/pack.err" ||
    PACK_RC=$?
  PACK_ERR=$(<"$E2E_WORK/pack.err")
}
pack_as_victim "$E2E_WORK/vcache" -q -o "$E2E_WORK/packed/first.AppImage" steps.json
((PACK_RC == 0)) || e2e_abort "a build with a run step as $victim failed: $PACK_ERR"
keys=$(find "$E2E_WORK/vcache/elements/steps" -name '*.tar' -printf '%f\n')
[[ -n $keys ]] || e2e_abort "the build stored no step in its cache"

steps=$(shared steps-shared)
mkdir -p "$steps/elements/steps" "$E2E_WORK/plant"
echo planted >"$E2E_WORK/plant/planted"
for key in $keys; do
  tar -C "$E2E_WORK/plant" -cf "$steps/elements/steps/$key" planted
  echo '{"step": "planted"}' >"$steps/elements/steps/${key%.tar}.json"
done
chown -R "$other:" "$steps/elements"
chmod -R 0777 "$steps/elements"
pack_as_victim "$steps" -q -o "$E2E_WORK/packed/planted.AppImage" steps.json
expect_eq "planted step layers: the build fails (status 1)" "$PACK_RC" 1
expect_line "planted step layers: one line naming the folder and the fix" "$PACK_ERR" \
  "elements-pack: $steps/elements belongs to uid $other_uid, not to you, so what it holds cannot be trusted (hint: set XDG_CACHE_HOME to a folder of your own, or use --no-cache)"
if [[ -e $E2E_WORK/packed/planted.AppImage ]]; then
  expect_no_match "planted step layers: the image has no planted file" \
    "$(unsquashfs -o "$("$E2E_WORK/packed/planted.AppImage" --appimage-offset)" -l \
      "$E2E_WORK/packed/planted.AppImage" 2>&1)" "rootfs/planted$"
fi
expect_eq "planted step layers: the other user's layers are kept" \
  "$(find "$steps/elements/steps" -name '*.tar' -printf '%f\n')" "$keys"

PACK_RC=0
(cd "$E2E_WORK" && "${_e2e_as[@]}" env HOME="$E2E_WORK/home" TMPDIR="$tmp" "$E2E_PACK" -q \
  --no-cache -o "$E2E_WORK/packed/tmp.AppImage" steps.json) 2>"$E2E_WORK/pack.err" || PACK_RC=$?
expect_eq "a build with TMPDIR on a non-sticky shared folder: status 1" "$PACK_RC" 1
expect_line "a build with TMPDIR on a non-sticky shared folder: one line naming it and the fix" \
  "$(<"$E2E_WORK/pack.err")" "elements-pack: cannot keep files under $tmp: others can write to $tmp (mode 0777) and it is not sticky, so they could replace them (hint: chmod +t $tmp, or set TMPDIR to a folder of your own)"
expect_eq "a build with TMPDIR on a non-sticky shared folder: nothing is made in it" \
  "$(ls -A "$tmp")" ""

# --- `cache prune` through a symlinked elements/steps
steps=$(shared steps-link)
target=$(canary_dir steps-target)
as_other mkdir -m 0777 "$steps/elements"
as_other ln -s "$target/steps" "$steps/elements/steps"
pack_as_victim "$steps" cache prune --all
expect_eq "cache prune under another user's elements: status 1" "$PACK_RC" 1
expect_line "cache prune under another user's elements: one line naming it and the fix" \
  "$PACK_ERR" "elements-pack: $steps/elements belongs to uid $other_uid, not to you, so what it holds cannot be trusted (hint: set XDG_CACHE_HOME to a folder of your own, or use --no-cache)"
canary_left "cache prune: nothing is removed where the symlink points" "$target"

e2e_check_tmpdir "after every run"
e2e_done
