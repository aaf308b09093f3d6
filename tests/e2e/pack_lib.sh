# shellcheck shell=bash
# Helpers of the elements-pack tests (DESIGN.md section 4): definitions,
# inputs large enough that writing takes seconds, image layouts made with
# umoci, and the check that a build left nothing behind.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

# A work dir with its own TMPDIR for elements-pack, where its spool files
# would show.
pack_workdir() {
  e2e_workdir
  mkdir "$E2E_WORK/tmp"
}

# $E2E_WORK/NAME.json: FROM, the probe as command, and EXTRA top-level fields.
pack_definition() {  # NAME FROM [EXTRA_FIELDS]
  cat >"$E2E_WORK/$1.json" <<EOF
{
  // written by the end-to-end test $E2E_TEST
  "name": "$1",
  "from": "$2",${3:+
  $3,}
  "run": {"command": ["/bin/probe"]}
}
EOF
}

# Runs elements-pack ARGS... in $E2E_WORK with TMPDIR=$E2E_WORK/tmp, stdin
# and stdout not a terminal; status in PACK_RC, output in PACK_OUT and
# PACK_ERR.
pack_run() {
  PACK_RC=0
  (cd "$E2E_WORK" && exec timeout -k 5 120 env TMPDIR="$E2E_WORK/tmp" "$E2E_PACK" "$@") \
    </dev/null >"$E2E_WORK/pack.out" 2>"$E2E_WORK/pack.err" || PACK_RC=$?
  PACK_OUT=$(<"$E2E_WORK/pack.out")
  PACK_ERR=$(<"$E2E_WORK/pack.err")
}

# pack_run, checking the exit status (stderr shown when it is not STATUS).
pack_expect() {  # STATUS ARGS...
  local want=$1
  shift
  pack_run "$@"
  if ((PACK_RC == want)); then
    e2e_pass "elements-pack $* exits $want"
  else
    e2e_fail "elements-pack $* exited $PACK_RC, expected $want; stderr:
$PACK_ERR"
    return 1
  fi
}

# MIB MiB that compress, but take their time: base64 of random bytes.
pack_big_file() {  # PATH MIB
  head -c $(($2 * 3 * 256 * 1024)) /dev/urandom | base64 -w 76 >"$1"
}

# An OCI image layout at LAYOUT, tagged v1, with TREE as its one layer
# (its entries in the order they are on disk).
pack_oci_layout() {  # TREE LAYOUT
  command -v umoci >/dev/null || e2e_skip "umoci is not installed (scripts/deps.sh)"
  tar --numeric-owner -C "$1" -cf "$2.layer.tar" .
  umoci init --layout "$2" >/dev/null
  umoci new --image "$2:v1" >/dev/null
  umoci raw add-layer --image "$2:v1" "$2.layer.tar" >/dev/null
  rm -f "$2.layer.tar"
}

# FOLDER holds exactly the NAMEs (none: it is empty).
expect_only() {  # DESCRIPTION FOLDER [NAME...]
  local left want=
  left=$(find "$2" -mindepth 1 -maxdepth 1 -printf '%P\n' | sort | tr '\n' ' ')
  if (($# > 2)); then want=$(printf '%s\n' "${@:3}" | sort | tr '\n' ' '); fi
  expect_eq "$1" "$left" "$want"
}
