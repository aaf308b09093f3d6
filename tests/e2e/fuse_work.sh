#!/usr/bin/env bash
# How much work the in-process FUSE server does, from the line
# --elements-debug prints when it stops ("fuse: N requests, ...; B blocks
# decompressed; T ms CPU serving"):
# - starting busybox decompresses each of its blocks once, although the
#   kernel's page-fault reads straddle the image's blocks;
# - walking the whole tree needs no LOOKUP per name (READDIRPLUS);
# - a second walk of the same tree sends nothing more (entries, attributes
#   and listings are cached for the run).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_mode "${1:?usage: fuse_work.sh MODE}"
[[ $E2E_EXPECT_PATH == fuse ]] || e2e_abort "fuse_work.sh runs in FUSE modes only, not $1"
e2e_pack work '{"command": ["/bin/busybox"], "extraArgs": true, "env": {"PATH": "/bin"}}'

# The server's debug line of the last run, and its figures.
fuse_figures() {
  local line
  line=$(grep -o 'fuse: [0-9]* requests.*' <<<"$E2E_ERR") ||
    { e2e_fail "--elements-debug printed no fuse line; stderr:
$E2E_ERR"; return 1; }
  requests=$(sed -E 's/^fuse: ([0-9]+) requests.*/\1/' <<<"$line")
  lookups=$(grep -oE '[0-9]+ lookup' <<<"$line" | cut -d' ' -f1)
  blocks=$(grep -oE '[0-9]+ blocks decompressed' <<<"$line" | cut -d' ' -f1)
  : "${lookups:=0}"
  echo "$line"
}

# --- start-up: busybox's blocks, each once
busybox_bytes=$(stat -c %s "$E2E_WORK/rootfs/bin/busybox")
busybox_blocks=$(((busybox_bytes + 131071) / 131072))
if e2e_ran 0 "$E2E_APP" --elements-debug -- true && fuse_figures; then
  # Besides busybox's data blocks: the inode and directory tables, the
  # fragment block, and the spec read before mounting.
  budget=$((busybox_blocks + 8))
  if ((blocks <= budget)); then
    e2e_pass "starting busybox decompressed $blocks blocks (its $busybox_blocks, budget $budget)"
  else
    e2e_fail "starting busybox decompressed $blocks blocks, more than $budget (busybox has $busybox_blocks): blocks are decompressed again"
  fi
fi

# --- a walk over the tree, twice
entries=$(find "$E2E_WORK/rootfs" | wc -l)
walk='find / -xdev >/dev/null && find / -xdev | wc -l'
if e2e_ran 0 "$E2E_APP" --elements-debug -- sh -c "$walk" && fuse_figures; then
  walked=$(tail -n 1 <<<"$E2E_OUT")
  if ((walked >= entries)); then e2e_pass "the walk saw all $walked entries"
  else e2e_fail "the walk saw $walked entries, the rootfs has $entries"; fi
  # The path to sh and busybox, and the names the loader probes: a handful,
  # not one per entry of the tree.
  if ((lookups < 20)); then e2e_pass "walking $entries entries took $lookups lookups"
  else e2e_fail "walking $entries entries took $lookups lookups: READDIRPLUS is not used"; fi
  # Twice over the tree costs what once does: busybox's blocks, the
  # listings and the handful of lookups.
  if ((requests < busybox_blocks * 3 + 40)); then e2e_pass "two walks took $requests requests"
  else e2e_fail "two walks took $requests requests: the second walk was not served from the cache"; fi
fi

e2e_done
