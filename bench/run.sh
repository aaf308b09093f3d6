#!/usr/bin/env bash
# Benchmarks elements side by side with what users would pick instead, in
# one run, and prints a table of medians with each peer's ratio to elements:
#
#   start-up   /bin/true, warm: host, the bare namespace floor (unshare +
#              chroot), bubblewrap, crun, runc, ch-run (directory and
#              squashfs), elements by each mount path (kernel, fuse, extract)
#   reads      every file of a ~200 MB tree and one large file, cold and
#              warm: plain directory, kernel squashfs, squashfuse,
#              squashfuse_ll, elements
#   packing    elements-pack vs mksquashfs and tar2sqfs at the
#              same compressor, level, block size and core count, from
#              the tree and from a tar of it, each timed until its image
#              is on disk; CPU time; sizes
#   runtime    stripped size; peak RSS while a container runs
#
#   bench/run.sh [--smoke] [--out FILE] [--tree-mb N] [--large-mb N] [--no-build]
#                [--no-install] [--digests]
#
#   --smoke       tiny inputs and few runs (for CI: well under a minute once
#                 the packages are installed and elements is built)
#   --out FILE    also write the table to FILE
#   --tree-mb N   size of the read/pack tree in MiB, large file included
#                 (default 200; 8 with --smoke)
#   --large-mb N  size of the large file in MiB (default 32; 2 with --smoke)
#   --no-build    use the elements binaries already in the build directory
#   --no-install  install nothing: exit 77 (skipped) when a peer is missing
#                 (scripts/deps.sh installs them; the CTest smoke run uses this)
#   --digests     only the elements read cases, each run on the packed file
#                 and on the same file without its block digests (cut after
#                 its image, as files were before them), in turn, round by
#                 round; a table of both and their ratio
#
# Exits 0 with the table, 77 when it cannot run here (not root; with
# --no-install, a peer missing), 1 when a figure of elements itself is
# missing (a run failed; the log is shown). Runs as root on Debian 12: it installs the missing peers with apt-get,
# builds elements into ELEMENTS_BUILD_DIR (default: build-bench/), creates
# the unprivileged user elements-bench when missing (and removes it again),
# and opens /dev/fuse to that user (0666) for the run only. On exit, however
# it exits, it leaves no mount, loop device, process or temp dir behind and
# /dev/fuse has its previous mode.
set -Eeuo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ELEMENTS_BUILD_DIR:-$repo/build-bench}

smoke=0
out_file=
tree_mb=
large_mb=
do_build=1
do_install=1
digests_only=0
while (($#)); do
  case $1 in
    --smoke) smoke=1 ;;
    --out) out_file=${2:?--out needs a FILE}; shift ;;
    --out=*) out_file=${1#--out=} ;;
    --tree-mb) tree_mb=${2:?--tree-mb needs a number}; shift ;;
    --large-mb) large_mb=${2:?--large-mb needs a number}; shift ;;
    --no-build) do_build=0 ;;
    --no-install) do_install=0 ;;
    --digests) digests_only=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if ((smoke)); then
  : "${tree_mb:=8}" "${large_mb:=2}"
  startup_warmup=1 startup_runs=5
  cold_runs=1 warm_runs=2
  pack_runs=1
  digest_rounds=2
else
  : "${tree_mb:=200}" "${large_mb:=32}"
  startup_warmup=3 startup_runs=20
  cold_runs=3 warm_runs=5
  pack_runs=5
  digest_rounds=4
fi
if ! [[ $tree_mb =~ ^[0-9]+$ && $large_mb =~ ^[0-9]+$ ]] || ((large_mb >= tree_mb)); then
  echo "run.sh: --tree-mb and --large-mb are whole MiB, the large file smaller than the tree" >&2
  exit 2
fi
[[ -z $out_file || $out_file == /* ]] || out_file=$PWD/$out_file

# One compressor setting for every packer: the elements default.
comp_level=9
block_size=131072
jobs=$(nproc)

bench_user=elements-bench
bench_user_comment="elements benchmarks"
clean_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "bench: [$(date +%T)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

# 77: skipped, for the test suite's smoke run.
((EUID == 0)) || {
  echo "run.sh: skipped: run as root (it installs packages, drops caches, mounts and creates the benchmark user)" >&2
  exit 77
}

# ---------------------------------------------------------------------------
# Packages and the elements build

peer_packages=(crun runc bubblewrap charliecloud-runtime squashfuse fuse3 squashfs-tools
  squashfs-tools-ng hyperfine util-linux time busybox-static gcc libc6-dev file)

install_peers() {
  local pkg missing=()
  for pkg in "${peer_packages[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((!do_install)); then
    echo "run.sh: skipped: ${missing[*]} not installed (scripts/deps.sh installs them)" >&2
    exit 77
  fi
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build_elements() {
  if ((do_build)); then
    # The build's own dependencies, from the one list that names them.
    bash "$repo/scripts/deps.sh" >&2
    say "building elements in $build"
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build.cmake.log" 2>&1 ||
      { cat "$build.cmake.log" >&2; die "cmake failed"; }
    rm -f "$build.cmake.log"
    cmake --build "$build" -j "$jobs" --target elements-pack elements-runtime >&2
  fi
  pack=$build/builder/elements-pack
  runtime=$build/runtime/elements-runtime
  [[ -x $pack && -x $runtime ]] || die "no $pack or $runtime (build elements, or drop --no-build)"
}

# ---------------------------------------------------------------------------
# The work dir and everything that must not outlive the run

work=
fuse_mode=
user_created=0

cleanup() {
  local rc=$? pid mnt dev
  set +e
  trap - EXIT INT TERM ERR
  # Only this shell's own background jobs still running: a pid of a job
  # already reaped may belong to someone else by now.
  for pid in $(jobs -p); do
    kill -TERM "$pid" 2>/dev/null
  done
  wait
  if [[ -n $work && -d $work ]]; then
    # Innermost first; a FUSE daemon ends with its mount.
    while read -r mnt; do
      umount "$mnt" 2>/dev/null || umount -l "$mnt"
    done < <(awk -v w="$work/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    # A loop device is autocleared with its mount; one that was not is ours
    # only if it is backed by a file of this run.
    while read -r dev; do
      [[ -n $dev ]] && losetup -d "$dev"
    done < <(losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v w="$work/" 'index($2, w) == 1 {print $1}')
    chmod -R u+w "$work" 2>/dev/null
    rm -rf --one-file-system "$work"
  fi
  [[ -n $fuse_mode ]] && chmod "$fuse_mode" /dev/fuse
  if ((user_created)); then
    userdel "$bench_user" 2>/dev/null
  fi
  exit "$rc"
}
trap cleanup EXIT
# Where set -e stopped the run, and what the log says.
trap 'echo "run.sh: line $LINENO: \"$BASH_COMMAND\" failed" >&2
  [[ -n ${log:-} && -s $log ]] && tail -n 15 "$log" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# /var/tmp rather than /tmp: it is on disk even where /tmp is a tmpfs, so a
# cold read really reaches the disk.
make_workdir() {
  work=$(mktemp -d /var/tmp/elements-bench.XXXXXX)
  chmod 0755 "$work"
  set_runners
  mkdir -p "$work"/{log,res,mnt/kernel,mnt/squashfuse,mnt/squashfuse_ll,root-home/tmp,user-home/tmp,state}
  log=$work/log/bench.log
}

setup_user() {
  if ! id "$bench_user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --comment "$bench_user_comment" "$bench_user"
    user_created=1
  fi
  chown -R "$bench_user:" "$work/user-home" "$work/res"
  # Debian ships /dev/fuse 0666; some machines have it 0600. The test
  # suite's lock, held until this script exits: no test run sets the mode
  # back meanwhile, and none finds it open.
  exec {fuse_lock}>/run/lock/elements-e2e-dev-fuse
  flock -w 900 "$fuse_lock" || die "another run has held /dev/fuse for 15 minutes"
  fuse_mode=$(stat -c %a /dev/fuse)
  chmod 0666 /dev/fuse
  setpriv --reuid="$bench_user" --regid="$bench_user" --init-groups -- \
    unshare --user --map-root-user true ||
    die "this kernel refuses unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces)"
}

# Every measured command runs with the same small environment; the user's
# HOME, cache and TMPDIR are in the work dir, so extraction caches and
# ch-run's storage go with it. Arrays, so a background start can exec them.
set_runners() {
  root_cmd=(env -i PATH="$clean_path" USER=root HOME="$work/root-home"
    XDG_CACHE_HOME="$work/root-home/.cache" TMPDIR="$work/root-home/tmp")
  user_cmd=(setpriv --reuid="$bench_user" --regid="$bench_user" --init-groups --
    env -i PATH="$clean_path" USER="$bench_user" HOME="$work/user-home"
    XDG_CACHE_HOME="$work/user-home/.cache" TMPDIR="$work/user-home/tmp")
}
as_root() { "${root_cmd[@]}" "$@"; }
as_user() { "${user_cmd[@]}" "$@"; }

# Other jobs on the machine (test suites) may set /dev/fuse back while this
# runs: checked before each FUSE measurement, and said in the report.
ensure_fuse() {
  [[ $(stat -c %a /dev/fuse) == 666 ]] && return 0
  chmod 0666 /dev/fuse
  NOTE[fuse.changed]="/dev/fuse was set back to another mode during the run (and re-opened)"
  say "  /dev/fuse was set back to $(stat -c %a /dev/fuse) by someone else; opened again"
}

drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Inputs: the same trees and images for every peer

# A static reader, the same binary for every peer (inside the elements
# container too): reads every regular file under each PATH without crossing
# a mount point (so /proc, /dev, /tmp inside a container are skipped) and
# prints "FILES BYTES". Without PATH it waits for a signal, which keeps a
# container up for --elements-exec.
build_reader() {
  cat >"$work/bench-read.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[1 << 20];
static unsigned long long files, bytes;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror(path); return 1; }
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) bytes += (unsigned long long)n;
  if (n < 0) perror(path);
  close(fd);
  files++;
  return n < 0;
}

int main(int argc, char **argv) {
  if (argc < 2) { pause(); return 0; }
  for (int i = 1; i < argc; i++)
    if (nftw(argv[i], visit, 64, FTW_PHYS | FTW_MOUNT) != 0) return 1;
  printf("%llu %llu\n", files, bytes);
  return 0;
}
EOF
  gcc -O2 -static -o "$work/bench-read" "$work/bench-read.c"
  strip "$work/bench-read"
  reader=$work/bench-read
}

# The start-up rootfs: busybox, as the product's example and tests use it.
make_small_rootfs() {
  small=$work/small
  bash "$repo/scripts/make-rootfs.sh" "$small/rootfs"
  # For crun and runc: an OCI bundle over a copy of it, with runc's default
  # config, a read-only root and /bin/true as the process.
  mkdir -p "$small/bundle"
  cp -a "$small/rootfs" "$small/bundle/rootfs"
  (cd "$small/bundle" && runc spec)
  sed -i -e 's/"terminal": true/"terminal": false/' \
    -e 's|^\([[:space:]]*\)"sh"$|\1"/bin/true"|' "$small/bundle/config.json"
  grep -q '"/bin/true"' "$small/bundle/config.json" || die "could not set the bundle's process"
  # ch-run's squashfs: the same tree and settings as the elements payload.
  mksquashfs "$small/rootfs" "$small/rootfs.sqfs" -noappend -quiet -no-progress \
    -comp zstd -Xcompression-level "$comp_level" -b "$block_size" -processors "$jobs" >>"$log"
  cat >"$small/true.json" <<EOF
{"name": "true", "from": "dir:rootfs", "run": {"command": ["/bin/true"]}}
EOF
  as_root "$pack" -q --no-cache --compression "zstd:$comp_level" -o "$small/true.AppImage" "$small/true.json"
  # ch-run 0.31 mounts a squashfs at /var/tmp/$USER.ch/mnt whatever -s
  # says: -m keeps it in the work dir.
  mkdir -p "$work/user-home/ch" "$work/user-home/ch-mnt"
  chown -R "$bench_user:" "$work/user-home"
}

# The read and pack tree: regular files sampled evenly (every Nth, in path
# order) from the host's /usr/lib and /usr/share until the size is reached,
# so it has the host's mix of small and large files; plus the reader and
# one large file cut from a tar stream of the same files.
make_big_tree() {
  tree=$work/tree
  local want=$(((tree_mb - large_mb) << 20)) large=$((large_mb << 20)) total
  mkdir -p "$tree"/{bin,dev,proc,sys,tmp}
  find /usr/lib /usr/share -xdev -type f -size -16M -printf '%s %p\n' 2>/dev/null |
    LC_ALL=C sort -k2 >"$work/host-files" || true
  total=$(awk '{s += $1} END {printf "%.0f\n", s}' "$work/host-files")
  ((total > 0)) || die "no files in /usr/lib and /usr/share to copy"
  # Every Nth file over the whole list, N = total / size; when the large
  # files are spread so that this falls short of the size, files halfway
  # between those are added, in path order, until it is reached.
  awk -v total="$total" -v want="$want" '
    function take(i) { sum += size[i]; p = path[i]; sub(/^[0-9]+ \//, "", p); print p }
    { size[NR] = $1; path[NR] = $0 }
    END {
      stride = int(total / want)
      if (stride < 1) stride = 1
      for (i = stride; i <= NR; i += stride) take(i)
      for (i = int(stride / 2); stride > 1 && i <= NR && sum < want; i += stride) if (i >= 1) take(i)
    }' "$work/host-files" >"$work/tree-files"
  tar -C / -cf - --no-recursion --verbatim-files-from -T "$work/tree-files" 2>>"$log" |
    tar -C "$tree" -xf -
  : >"$tree/large.bin"
  local have=0
  while ((have < large)); do
    { tar -C "$tree" -cf - usr 2>/dev/null || true; } | head -c $((large - have)) >>"$tree/large.bin"
    have=$(stat -c %s "$tree/large.bin")
  done
  cp "$reader" "$tree/bin/bench-read"
  # Readable by everyone, so every peer (and the container's mapped root)
  # reads every byte.
  chmod -R a+rX "$tree"
  tree_files=$(find "$tree" -type f | wc -l)
  tree_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}')
  tar -C "$tree" -cf "$work/tree.tar" .
  # The container's command is the reader; -n names the instance for
  # --elements-exec.
  cat >"$work/read.json" <<EOF
{"name": "read", "from": "dir:tree",
 "run": {"command": ["/bin/bench-read"], "extraArgs": true,
         "args": [{"name": "instance", "short": "n", "instance": true}]}}
EOF
}

# ---------------------------------------------------------------------------
# Measuring

declare -A R=()     # key -> median seconds, bytes or KiB
declare -A NOTE=()  # key -> why there is no figure, or a label

median() {  # NUMBERS...
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) exit 1
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# hf KEY WHO [ENV=VALUE...] -- COMMAND: the warm start-up median (seconds)
# of COMMAND with hyperfine, which runs as WHO (root|user) with the extra
# environment, so the command itself carries no wrapper.
hf() {
  local key=$1 who=$2 cmd
  shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  cmd=$*
  ensure_fuse
  say "start-up: $key"
  local csv=$work/res/$key.csv
  if "as_$who" "${envs[@]}" "${hf_wrap[@]}" hyperfine -N --style none \
    --warmup "$startup_warmup" --runs "$startup_runs" --export-csv "$csv" -n "$key" "$cmd" \
    >>"$log" 2>&1; then
    R[startup.$key]=$(awk -F, 'NR == 2 {print $4}' "$csv")
  else
    NOTE[startup.$key]="failed"
    say "  $key failed:"
    tail -n 5 "$log" | sed 's/^/    /' >&2
  fi
}

# crun refuses to run on a cgroup v1/v2 hybrid host when the v2 hierarchy
# has controllers ("cgroups in hybrid mode not supported"); Debian 12 itself
# boots unified. There, hyperfine and crun run in a mount namespace that
# does not see /sys/fs/cgroup/unified.
# shellcheck disable=SC2016 # expanded by that bash
hide_unified=(unshare -m --propagation private -- bash -c
  'umount -l /sys/fs/cgroup/unified && exec "$@"' bash)
hf_wrap=()
crun_wrap=()

bench_startup() {
  local b=$small/bundle sq=$small/rootfs.sqfs app=$small/true.AppImage
  hf host user -- /bin/true
  hf floor user -- unshare -U -r -m -p -f --mount-proc chroot "$small/rootfs" /bin/true
  hf bwrap user -- bwrap --unshare-user --uid 0 --gid 0 --unshare-pid --unshare-ipc \
    --unshare-uts --ro-bind "$small/rootfs" / --proc /proc --dev /dev --tmpfs /tmp \
    --die-with-parent /bin/true
  hf chrun_dir user -- ch-run -s "$work/user-home/ch" "$small/rootfs" -- /bin/true
  hf chrun_sqfs user -- ch-run -s "$work/user-home/ch" -m "$work/user-home/ch-mnt" "$sq" -- /bin/true
  hf elements_fuse user ELEMENTS_MOUNT=fuse -- "$app"
  hf elements_extract user ELEMENTS_MOUNT=extract -- "$app"
  hf elements_kernel root ELEMENTS_MOUNT=kernel -- "$app"
  hf runc root -- runc --root "$work/state/runc" run --bundle "$b" bench-runc
  if as_root crun --root "$work/state/crun" run --bundle "$b" bench-crun >>"$log" 2>&1; then
    hf crun root -- crun --root "$work/state/crun" run --bundle "$b" bench-crun
  elif [[ $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]] &&
    as_root "${hide_unified[@]}" crun --root "$work/state/crun" run --bundle "$b" bench-crun \
      >>"$log" 2>&1; then
    crun_wrap=("${hide_unified[@]}")
    hf_wrap=("${crun_wrap[@]}")
    hf crun root -- crun --root "$work/state/crun" run --bundle "$b" bench-crun
    hf_wrap=()
    NOTE[crun.label]=" (cgroup v2 hybrid mount hidden)"
  else
    NOTE[startup.crun]="does not run here"
    tail -n 3 "$log" | sed 's/^/    /' >&2
  fi
}

# timed KEY RUNS PREPARE COMMAND...: runs PREPARE (a function) then times
# COMMAND, RUNS times; the median wall time (seconds) goes to R[KEY] and
# COMMAND's output ("FILES BYTES" from the reader) to R[KEY.out].
timed() {
  local key=$1 runs=$2 prep=$3 i t0 t1 out times=()
  shift 3
  for ((i = 0; i < runs; i++)); do
    $prep
    t0=$(date +%s%N)
    if ! out=$("$@" 2>>"$log"); then
      NOTE[$key]="failed"
      say "  $key failed: $*"
      tail -n 5 "$log" | sed 's/^/    /' >&2
      return 1
    fi
    t1=$(date +%s%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", (b - a) / 1e9}')")
  done
  R[$key]=$(median "${times[@]}")
  R[$key.out]=$out
}
nothing() { :; }

# ---------------------------------------------------------------------------
# Packing: the same tree, compressor, level, block size and cores

bench_pack() {
  local o=$work/packed
  mkdir -p "$o"
  rm_outputs() { rm -f "$o"/*; }
  local -a e_cmd=(as_root "$pack" -q --no-cache --compression "zstd:$comp_level"
    -o "$o/read.AppImage" "$work/read.json")
  local -a m_cmd=(mksquashfs "$tree" "$o/m.sqfs" -noappend -quiet -no-progress -comp zstd
    -Xcompression-level "$comp_level" -b "$block_size" -processors "$jobs")
  # shellcheck disable=SC2016 # expanded by sh
  local -a t_cmd=(sh -c 'exec tar2sqfs -q -f -c zstd -X "level=$1" -b "$2" -j "$3" "$4" <"$5"' sh
    "$comp_level" "$block_size" "$jobs" "$o/t.sqfs" "$work/tree.tar")
  # tar2sqfs reads a tree only as a tar stream: piped from tar, as one
  # would, and from a tar made beforehand, which elements-pack is also
  # given (tar: source) for the same input on both sides.
  # shellcheck disable=SC2016 # expanded by sh
  local -a tp_cmd=(sh -c 'tar -C "$5" -cf - . | tar2sqfs -q -f -c zstd -X "level=$1" -b "$2" -j "$3" "$4"'
    sh "$comp_level" "$block_size" "$jobs" "$o/p.sqfs" "$tree")
  local -a et_cmd=(as_root "$pack" -q --no-cache --compression "zstd:$comp_level"
    -o "$o/tar.AppImage" "$work/tar.json")
  sed 's|"dir:tree"|"tar:tree.tar"|' "$work/read.json" >"$work/tar.json"
  # Rounds of one run each, in turn, so that a slower minute of a shared
  # machine weighs on every packer alike.
  local round
  for ((round = 1; round <= pack_runs; round++)); do
    say "packing: round $round of $pack_runs"
    rm_outputs
    run_once elements "" "${e_cmd[@]}" || die "elements-pack failed on the tree; see $log"
    run_once mksquashfs "$o/m.sqfs" "${m_cmd[@]}" || true
    run_once tar2sqfs_pipe "$o/p.sqfs" "${tp_cmd[@]}" || true
    run_once elements_tar "" "${et_cmd[@]}" || die "elements-pack failed on the tar; see $log"
    run_once tar2sqfs "$o/t.sqfs" "${t_cmd[@]}" || true
  done
  local key
  for key in elements mksquashfs tar2sqfs_pipe elements_tar tar2sqfs; do
    [[ -z ${NOTE[pack.$key]:-} ]] || continue
    local -a runs cpus flushes
    read -r -a runs <<<"${RUNS[$key]}"
    read -r -a cpus <<<"${CPUS[$key]}"
    read -r -a flushes <<<"${FLUSHES[$key]}"
    R[pack.$key]=$(median "${runs[@]}")
    R[cpu.$key]=$(median "${cpus[@]}")
    R[flush.$key]=$(median "${flushes[@]}")
  done
  # The read runs use this file.
  app=$work/read.AppImage
  cp "$o/read.AppImage" "$app"
  offset=$("$app" --appimage-offset)
  R[size.elements]=$(stat -c %s "$app")
  R[size.elements_payload]=$((${R[size.elements]} - offset))
  check_image "$app" "$offset"
  for key in mksquashfs:m tar2sqfs:t; do
    [[ -f $o/${key#*:}.sqfs ]] || continue
    R[size.${key%:*}]=$(stat -c %s "$o/${key#*:}.sqfs")
    check_image "$o/${key#*:}.sqfs"
  done
  # What the payload holds besides the rootfs (AppRun, which is the runtime
  # again, spec, desktop file, icon): the payload of an empty rootfs. The
  # size comparison is of the rest.
  mkdir -p "$work/empty"
  sed 's|"dir:tree"|"dir:empty"|' "$work/read.json" >"$work/empty.json"
  as_root "$pack" -q --no-cache --compression "zstd:$comp_level" -o "$o/empty.AppImage" \
    "$work/empty.json"
  R[size.elements_fixed]=$(($(stat -c %s "$o/empty.AppImage") - offset))
  R[size.elements_rootfs]=$((${R[size.elements_payload]} - ${R[size.elements_fixed]}))
  R[size.elements_tar]=$(($(stat -c %s "$o/tar.AppImage") - offset - ${R[size.elements_fixed]}))
  pack_runs=1 pack_with tar "" tar -C "$tree" -cf "$o/tree.tar" .
  rm_outputs
}

declare -A RUNS=() CPUS=() FLUSHES=()  # packer -> its runs' wall, CPU and flush seconds

# run_once KEY IMAGE COMMAND...: one run of COMMAND; its wall time and the
# CPU time (user + system) of it and its children are added to KEY's lists.
# elements-pack syncs its file before it links it into place; a peer's
# IMAGE is synced (fsync, `sync FILE`) after it, and that time counted too
# and kept apart, so every packer is timed to an image on disk and none
# leaves write-back to the kernel that would land in a later run. Writes
# still pending from before are flushed first, untimed.
run_once() {
  local key=$1 image=$2 t0 t1 t2 c0 c1
  shift 2
  sync
  # `times` in this shell (a subshell would count none of these children),
  # and the clock from bash itself, so no other process is counted.
  times >"$work/times.before"
  t0=$EPOCHREALTIME
  if ! "$@" >>"$log" 2>&1; then
    NOTE[pack.$key]="failed"
    say "  $key failed: $*"
    tail -n 5 "$log" | sed 's/^/    /' >&2
    return 1
  fi
  t1=$EPOCHREALTIME
  [[ -z $image ]] || sync -- "$image"
  t2=$EPOCHREALTIME
  times >"$work/times.after"
  c0=$(children_cpu "$work/times.before")
  c1=$(children_cpu "$work/times.after")
  RUNS[$key]+=" $(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.6f", b - a}')"
  FLUSHES[$key]+=" $(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.6f", b - a}')"
  CPUS[$key]+=" $(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.3f", b - a}')"
}

# The children's user + system seconds from the output of `times`.
children_cpu() {
  awk 'NR == 2 {
    s = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); s += p[1] * 60 + p[2] }
    printf "%.3f\n", s }' "$1"
}

# pack_with KEY IMAGE COMMAND...: times COMMAND; its image's size and
# settings when IMAGE is not empty.
pack_with() {
  local key=$1 img=$2
  shift 2
  say "packing: $key"
  timed "pack.$key" "$pack_runs" rm_outputs "$@" || return 0
  [[ -n $img ]] || return 0
  R[size.$key]=$(stat -c %s "$img")
  check_image "$img"
}

# Every image must really have the settings compared.
check_image() {  # IMAGE [OFFSET]
  local settings
  settings=$(unsquashfs -s ${2:+-o "$2"} "$1" 2>&1) || true
  grep -q "Block size $block_size" <<<"$settings" && grep -qi 'Compression zstd' <<<"$settings" ||
    NOTE[pack.settings]+=" $(basename "$1"): not zstd with $block_size-byte blocks;"
}

# ---------------------------------------------------------------------------
# Reads: every file of the tree, and the large file, cold and warm

# Elements instances for the read runs: a container whose command (the
# reader without arguments) waits, and --elements-exec runs the reader in it.
instance_pid=
start_instance() {  # WHO MOUNT
  local who=$1 mount=$2 i
  local -n runner=${who}_cmd
  (exec "${runner[@]}" ELEMENTS_MOUNT="$mount" "$app" -n "$mount") </dev/null >>"$log" 2>&1 &
  instance_pid=$!
  # Ready once a command can be run in it (extraction takes a while).
  for ((i = 0; i < 1200; i++)); do
    "as_$who" "$app" --elements-exec "read.$mount" -- /bin/bench-read /bin/bench-read \
      >/dev/null 2>&1 && return 0
    kill -0 "$instance_pid" 2>/dev/null || break
    sleep 0.05
  done
  say "  the elements instance ($who, $mount) did not come up:"
  tail -n 5 "$log" | sed 's/^/    /' >&2
  stop_instance
  return 1
}
stop_instance() {
  kill -TERM "$instance_pid" 2>/dev/null || true
  wait "$instance_pid" 2>/dev/null || true
  instance_pid=
}

# reader_up/reader_down NAME: mount or start what NAME reads through.
reader_up() {
  case $1 in
    kernel) mount -t squashfs -o ro,loop,offset="$offset" "$app" "$work/mnt/kernel" ;;
    squashfuse | squashfuse_ll) "$1" -o offset="$offset" "$app" "$work/mnt/$1" ;;
    elements_kernel) start_instance root kernel ;;
    elements_fuse) start_instance user fuse ;;
    elements_extract) start_instance user extract ;;
  esac
}
reader_down() {
  case $1 in
    kernel) umount "$work/mnt/kernel" ;;
    squashfuse | squashfuse_ll) umount "$work/mnt/$1" ;;
    elements_kernel | elements_fuse | elements_extract) stop_instance ;;
  esac
}
# reader_run NAME PATH: PATH is "" (the whole tree) or a path in it.
reader_run() {
  case $1 in
    dir) as_root "$reader" "$tree/$2" ;;
    kernel | squashfuse | squashfuse_ll) as_root "$reader" "$work/mnt/$1/rootfs/$2" ;;
    elements_kernel) as_root "$app" --elements-exec read.kernel -- /bin/bench-read "/$2" ;;
    elements_fuse | elements_extract)
      as_user "$app" --elements-exec "read.${1#elements_}" -- /bin/bench-read "/$2" ;;
    elements_fresh) as_user ELEMENTS_MOUNT=fuse "$app" -- "/$2" ;;
  esac
}

bench_reader() {  # NAME
  local name=$1 what path i
  ensure_fuse
  say "reads: $name"
  for what in all large; do
    path=
    [[ $what == large ]] && path=large.bin
    # Cold: a fresh mount (or container) each run, then an empty page cache.
    for ((i = 0; i < cold_runs; i++)); do
      reader_up "$name" || { NOTE[read.$name]="could not mount or start"; return 0; }
      timed "tmp.$i" 1 drop_caches reader_run "$name" "$path" || { reader_down "$name"; return 0; }
      reader_down "$name"
      cold_times[i]=${R[tmp.$i]}
      R[read.$name.$what.out]=${R[tmp.$i.out]}
    done
    R[read.$name.$what.cold]=$(median "${cold_times[@]:0:cold_runs}")
    # Warm: one mount, one unmeasured run to fill the caches.
    reader_up "$name" || { NOTE[read.$name]="could not mount or start"; return 0; }
    reader_run "$name" "$path" >/dev/null 2>>"$log" || true
    timed "read.$name.$what.warm" "$warm_runs" nothing reader_run "$name" "$path" || true
    reader_down "$name"
  done
}

bench_reads() {
  local name cold_times=()
  if ! echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
    NOTE[read.cold]="cannot drop caches here: cold figures are warm"
  fi
  # The extraction cache is filled once, before any cold run; timed as such.
  say "reads: elements extraction (first run)"
  drop_caches
  timed first.extract 1 nothing as_user ELEMENTS_MOUNT=extract "$app" -- /bin/bench-read || true
  for name in dir kernel squashfuse squashfuse_ll elements_kernel elements_fuse elements_fresh \
    elements_extract; do
    bench_reader "$name"
  done
  # What starting the reader costs, warm, in every elements instance row
  # (--elements-exec) and in the others (a direct exec): the reader reading
  # only itself.
  say "reads: the cost of starting the reader"
  timed read.start_direct "$warm_runs" nothing as_root "$reader" "$reader" || true
  if start_instance user fuse; then
    timed read.start_exec "$warm_runs" nothing \
      as_user "$app" --elements-exec read.fuse -- /bin/bench-read /bin/bench-read || true
    stop_instance
  fi
}

# The elements read cases with and without the block digests: the file as
# packed, and a copy cut after its image and padding. Each round runs every
# case on one file, then on the other, so both see the same machine.
bench_digests() {
  local name what temp round variant key
  local -a readers=(elements_fuse elements_fresh elements_kernel elements_extract)
  say "digests: packing the ${tree_mb} MiB tree"
  as_root "$pack" -q --no-cache --compression "zstd:$comp_level" -o "$work/with.AppImage" \
    "$work/read.json" >>"$log" 2>&1 || die "elements-pack failed (log: $log)"
  offset=$("$work/with.AppImage" --appimage-offset)
  local bytes_used
  bytes_used=$(od -An -t u8 -j $((offset + 40)) -N 8 "$work/with.AppImage" | tr -d ' ')
  cp "$work/with.AppImage" "$work/without.AppImage"
  truncate -s $((offset + (bytes_used + 4095) / 4096 * 4096)) "$work/without.AppImage"
  R[digests.size]=$(($(stat -c %s "$work/with.AppImage") - $(stat -c %s "$work/without.AppImage")))
  chmod a+rx "$work"/*.AppImage
  for variant in with without; do
    app=$work/$variant.AppImage
    say "digests: the extraction cache of the file $variant digests"
    timed "digests.$variant.first_extract" 1 drop_caches \
      as_user ELEMENTS_MOUNT=extract "$app" -- /bin/bench-read || true
  done
  for ((round = 0; round < digest_rounds; round++)); do
    # The FUSE server's own CPU time for a read of every file (cold), from
    # --elements-debug: what the digests cost the reader, whatever else runs.
    for variant in with without; do
      drop_caches
      DR[cpu.$variant]+=" $(as_user ELEMENTS_DEBUG=1 ELEMENTS_MOUNT=fuse "$work/$variant.AppImage" \
        -- / 2>&1 >/dev/null | sed -n 's/.*; \([0-9.]*\) ms CPU serving$/\1/p')"
    done
    for variant in with without; do
      app=$work/$variant.AppImage
      for name in "${readers[@]}"; do
        bench_reader "$name"
        for what in all large; do
          for temp in cold warm; do
            key=read.$name.$what.$temp
            [[ -n ${R[$key]:-} ]] && DR[$variant.$name.$what.$temp]+=" ${R[$key]}"
            R[digests.$what.out]=${R[read.$name.$what.out]:-}
          done
        done
      done
    done
  done
}

declare -A DR=()  # variant.name.what.temp -> seconds of each round

digests_report() {
  local name what temp label w o bytes
  echo "## Reads with and without block digests: $(fmt_mib "$tree_bytes") MiB, $tree_files files, and one ${large_mb} MiB file"
  echo
  echo "The same elements file, as packed (with its block digests, $(fmt_mib "${R[digests.size]}") MiB behind the image) and cut after its image (without them, as files were before them). Median over $digest_rounds rounds (each: $cold_runs cold runs, $warm_runs warm runs, every case on one file, then on the other). Cell: MB/s with / without digests (ratio of the times: above 1, the digests cost that much more time)."
  echo
  echo "| reader | all files cold | all files warm | large file cold | large file warm |"
  echo "|---|---:|---:|---:|---:|"
  for name in elements_fuse elements_fresh elements_kernel elements_extract; do
    case $name in
      elements_fuse) label="elements, fuse (instance, --elements-exec)" ;;
      elements_fresh) label="elements, fuse (new container each run)" ;;
      elements_kernel) label="elements, kernel (instance; tables checked at start only)" ;;
      elements_extract) label="elements, extract (cache reused)" ;;
    esac
    printf '| %s |' "$label"
    for what in all large; do
      bytes=$(awk '{print $2}' <<<"${R[digests.$what.out]:-0 0}")
      for temp in cold warm; do
        # shellcheck disable=SC2086 # one number a word
        w=$(median ${DR[with.$name.$what.$temp]:-} || true)
        o=$(median ${DR[without.$name.$what.$temp]:-} || true)
        printf ' %s / %s (%s) |' "$(mbps "$bytes" "$w")" "$(mbps "$bytes" "$o")" "$(ratio "$w" "$o")"
      done
    done
    echo
  done
  echo
  # shellcheck disable=SC2086 # one number a word
  w=$(median ${DR[cpu.with]:-} || true) o=$(median ${DR[cpu.without]:-} || true)
  echo "CPU time of the FUSE server reading every file (new container, cold; median of $digest_rounds): ${w:-n/a} ms with digests, ${o:-n/a} ms without ($(ratio "$w" "$o")). First extraction (cold page cache): $(fmt_s "${R[digests.with.first_extract]:-}") s with digests, $(fmt_s "${R[digests.without.first_extract]:-}") s without."
}

# ---------------------------------------------------------------------------
# Runtime: size and peak memory

# Maximum resident set size (KiB) of COMMAND and the children it waited for,
# as /usr/bin/time -v reports it; COMMAND runs as WHO (root|user) with the
# leading NAME=VALUE words in its environment.
max_rss() {  # WHO [NAME=VALUE...] COMMAND...
  local who=$1 envs=() f=$work/res/time.$RANDOM
  shift
  while [[ $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
  "as_$who" "${envs[@]}" /usr/bin/time -v -o "$f" "$@" >/dev/null 2>>"$log" || true
  awk -F': ' '/Maximum resident set size/ {print $2}' "$f" 2>/dev/null
  rm -f "$f"
}

vm_hwm() {  # PID: peak RSS in KiB
  awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true
}

bench_runtime() {
  local b=$small/bundle
  ensure_fuse
  say "runtime: size and memory"
  R[size.runtime]=$(stat -c %s "$runtime")
  file "$runtime" | grep -q 'not stripped' && NOTE[size.runtime]=" (not stripped)"
  local p
  for p in crun runc bwrap ch-run squashfuse_ll; do
    R[size.bin.$p]=$(stat -c %s "$(command -v "$p")")
  done
  R[rss.elements_kernel]=$(max_rss root ELEMENTS_MOUNT=kernel "$small/true.AppImage")
  R[rss.elements_fuse]=$(max_rss user ELEMENTS_MOUNT=fuse "$small/true.AppImage")
  R[rss.elements_extract]=$(max_rss user ELEMENTS_MOUNT=extract "$small/true.AppImage")
  R[rss.elements_fuse_read]=$(max_rss user ELEMENTS_MOUNT=fuse "$app" -- /)
  R[rss.reader]=$(max_rss root "$reader" "$tree")
  R[rss.bwrap]=$(max_rss user bwrap --unshare-user --uid 0 --gid 0 --unshare-pid \
    --unshare-ipc --unshare-uts --ro-bind "$small/rootfs" / --proc /proc --dev /dev \
    --tmpfs /tmp --die-with-parent /bin/true)
  R[rss.chrun_sqfs]=$(max_rss user ch-run -s "$work/user-home/ch" \
    -m "$work/user-home/ch-mnt" "$small/rootfs.sqfs" -- /bin/true)
  R[rss.runc]=$(max_rss root runc --root "$work/state/runc" run --bundle "$b" bench-runc)
  # Inside the wrapper when crun needed it, so that is counted too.
  R[rss.crun]=$(max_rss root "${crun_wrap[@]}" crun --root "$work/state/crun" run --bundle "$b" bench-crun)
  # squashfuse_ll serving a read of every file: its own peak, at unmount.
  local f=$work/res/time.sfll
  /usr/bin/time -v -o "$f" squashfuse_ll -f -o offset="$offset" "$app" "$work/mnt/squashfuse_ll" \
    2>>"$log" &
  local sfll=$! i
  for ((i = 0; i < 100; i++)); do
    mountpoint -q "$work/mnt/squashfuse_ll" && break
    sleep 0.05
  done
  "$reader" "$work/mnt/squashfuse_ll/rootfs" >/dev/null
  umount "$work/mnt/squashfuse_ll"
  wait "$sfll" || true
  R[rss.squashfuse_ll_read]=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$f")
  # The runtime process alone (its FUSE server serving a read of every
  # file) and its init, without the container's command.
  if start_instance user fuse; then
    as_user "$app" --elements-exec read.fuse -- /bin/bench-read / >/dev/null
    R[rss.runtime_proc]=$(vm_hwm "$instance_pid")
    local child
    child=$(cat "/proc/$instance_pid/task/"*/children 2>/dev/null | awk '{print $1; exit}')
    [[ -n $child ]] && R[rss.runtime_init]=$(vm_hwm "$child")
    stop_instance
  fi
}

# ---------------------------------------------------------------------------
# The report

fmt_ms() { [[ -n ${1:-} ]] && awk -v v="$1" 'BEGIN {printf "%.2f", v * 1000}' || printf 'n/a'; }
fmt_s() { [[ -n ${1:-} ]] && awk -v v="$1" 'BEGIN {printf "%.2f", v}' || printf 'n/a'; }
fmt_mib() { [[ -n ${1:-} ]] && awk -v v="$1" 'BEGIN {printf "%.2f", v / 1048576}' || printf 'n/a'; }
fmt_kib_mib() { [[ -n ${1:-} ]] && awk -v v="$1" 'BEGIN {printf "%.1f", v / 1024}' || printf 'n/a'; }
# Peer over elements: above 1 means elements is faster, smaller or leaner.
ratio() {  # PEER ELEMENTS
  [[ -n ${1:-} && -n ${2:-} ]] && awk -v p="$1" -v e="$2" 'BEGIN {
    if (e + 0 == 0) print "n/a"; else printf "%.2f×", p / e }' || printf 'n/a'
}
# MB/s of BYTES in SECONDS.
mbps() {
  [[ -n ${1:-} && -n ${2:-} ]] && awk -v b="$1" -v s="$2" 'BEGIN {
    if (s + 0 == 0) print "n/a"; else printf "%.0f", b / s / 1e6 }' || printf 'n/a'
}

startup_row() {  # LABEL AS KEY REF
  local v=${R[startup.$3]:-}
  if [[ -n $v ]]; then
    printf '| %s | %s | %s | %s |\n' "$1" "$2" "$(fmt_ms "$v")" "$(ratio "$v" "${R[startup.$4]:-}")"
  else
    printf '| %s | %s | %s | |\n' "$1" "$2" "${NOTE[startup.$3]:-n/a}"
  fi
}

# Throughput in MB/s, and elements' throughput over this one's.
read_cell() {  # NAME WHAT TEMP
  local t=${R[read.$1.$2.$3]:-} b et eb
  [[ -n $t ]] || { printf '%s' "${NOTE[read.$1]:-n/a}"; return; }
  b=$(awk '{print $2}' <<<"${R[read.$1.$2.out]:-}")
  et=${R[read.elements_fuse.$2.$3]:-}
  eb=$(awk '{print $2}' <<<"${R[read.elements_fuse.$2.out]:-}")
  printf '%s MB/s (%s)' "$(mbps "$b" "$t")" \
    "$([[ -n $et ]] && ratio "$(q "$eb" "$et")" "$(q "$b" "$t")" || printf 'n/a')"
}
read_row() {  # LABEL AS NAME
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" \
    "$(read_cell "$3" all cold)" "$(read_cell "$3" all warm)" \
    "$(read_cell "$3" large cold)" "$(read_cell "$3" large warm)"
}

pack_row() {  # LABEL KEY SIZE_KEY [REF]: REF, the elements row of the same input
  local t=${R[pack.$2]:-} s=${3:+${R[size.$3]:-}}
  local f=${R[flush.$2]:-}
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
    "$(if [[ -n $t ]]; then fmt_s "$t"; else printf '%s' "${NOTE[pack.$2]:-n/a}"; fi)" \
    "$(if [[ -z $f ]]; then printf -- '-'; elif [[ $2 == elements* ]]; then printf 'inside'; else fmt_s "$f"; fi)" \
    "$(ratio "$t" "${R[pack.${4:-elements}]:-}")" \
    "$(if [[ -n ${R[cpu.$2]:-} ]]; then fmt_s "${R[cpu.$2]}"; else printf -- '-'; fi)" \
    "$(if [[ -n $s ]]; then fmt_mib "$s"; else printf -- '-'; fi)" \
    "$(if [[ -n $s ]]; then ratio "$s" "${R[size.elements_rootfs]}"; else printf -- '-'; fi)"
}

rss_row() {  # LABEL AS KEY REF
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$(fmt_kib_mib "${R[rss.$3]:-}")" \
    "$(ratio "${R[rss.$3]:-}" "${R[rss.$4]:-}")"
}

# goal LABEL MEASURED_TEXT OK(1|0|"")
goal() {
  local verdict=n/a
  [[ $3 == 1 ]] && verdict=met
  [[ $3 == 0 ]] && verdict=MISSED
  printf '| %s | %s | %s |\n' "$1" "$2" "$verdict"
}
# cmp A OP B: 1 or 0, empty when a figure is missing.
cmp() {
  [[ -n ${1:-} && -n ${3:-} ]] || return 0
  awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
    if (op == "<=") print (a <= b) ? 1 : 0; else print (a >= b) ? 1 : 0 }'
}
q() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b + 0 == 0) print ""; else printf "%.4f", a / b }'; }

report() {
  local cpu distro version
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  distro=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
  version=$("$pack" -V 2>/dev/null | head -n 1)
  local all_out=${R[read.dir.all.out]:-0 0}
  echo "# elements benchmark$( ((smoke)) && echo ' (smoke: tiny inputs, few runs)')"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: Linux $(uname -r), $(nproc) cores, ${cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $distro"
  echo "- load average (1 min) at the start and the end: $load_start, $(cut -d' ' -f1 /proc/loadavg) (other jobs on the machine make the figures noisier)"
  echo "- elements: $version; peers: crun $(crun --version | awk 'NR == 1 {print $3}'), runc $(runc --version | awk 'NR == 1 {print $3}'), bubblewrap $(bwrap --version | awk '{print $2}'), ch-run $(USER=root ch-run --version 2>&1), squashfuse $(dpkg-query -W -f='${Version}' squashfuse), squashfs-tools $(dpkg-query -W -f='${Version}' squashfs-tools), squashfs-tools-ng $(dpkg-query -W -f='${Version}' squashfs-tools-ng), hyperfine $(hyperfine --version | awk '{print $2}')"
  echo "- ratio = peer ÷ elements (time, size or memory): above 1 means elements is faster, smaller or leaner"
  echo
  echo "## Start-up: /bin/true in a busybox rootfs, warm, hyperfine median of $startup_runs runs ($startup_warmup warm-up)"
  echo
  echo "Unprivileged (user $bench_user); ratio to elements, fuse:"
  echo
  echo "| runner | as | median ms | ratio |"
  echo "|---|---|---:|---:|"
  startup_row "**elements, fuse (in-process)**" user elements_fuse elements_fuse
  startup_row "elements, extract (cache reused)" user elements_extract elements_fuse
  startup_row "host /bin/true (no container)" user host elements_fuse
  startup_row "namespace floor: unshare -U -r -m -p -f --mount-proc chroot" user floor elements_fuse
  startup_row "bubblewrap (user, pid, ipc, uts ns; ro-bind /)" user bwrap elements_fuse
  startup_row "ch-run, directory" user chrun_dir elements_fuse
  startup_row "ch-run, squashfs (squashfuse in ch-run)" user chrun_sqfs elements_fuse
  echo
  echo "As root; ratio to elements, kernel:"
  echo
  echo "| runner | as | median ms | ratio |"
  echo "|---|---|---:|---:|"
  startup_row "**elements, kernel (loop mount)**" root elements_kernel elements_kernel
  startup_row "crun, OCI bundle (runc spec defaults)${NOTE[crun.label]:-}" root crun elements_kernel
  startup_row "runc, OCI bundle (runc spec defaults)" root runc elements_kernel
  echo
  echo "## Reads: $(awk '{print $1}' <<<"$all_out") files, $(fmt_mib "$(awk '{print $2}' <<<"$all_out")") MiB (all files), and one ${large_mb} MiB file"
  echo
  echo "Median of $cold_runs cold runs (fresh mount or container, then page cache dropped) and $warm_runs warm runs (same mount, after one unmeasured run). One static reader (read(2), 1 MiB buffer, single thread) for every row. The squashfs rows read the elements file's own payload (-o offset), so every squashfs row reads the same bytes. Cell: MB/s (ratio to elements, fuse; above 1: elements is faster)."
  [[ -n ${NOTE[read.cold]:-} ]] && echo && echo "Note: ${NOTE[read.cold]}"
  [[ -n ${NOTE[fuse.changed]:-} ]] && echo && echo "Note: ${NOTE[fuse.changed]}"
  echo
  echo "| reader | as | all files cold | all files warm | large file cold | large file warm |"
  echo "|---|---|---:|---:|---:|---:|"
  read_row "**elements, fuse (instance, --elements-exec)**" user elements_fuse
  read_row "elements, fuse (new container each run)" user elements_fresh
  read_row "elements, kernel (instance, --elements-exec)" root elements_kernel
  read_row "elements, extract (cache reused)" user elements_extract
  read_row "plain directory" root dir
  read_row "kernel squashfs (loop mount)" root kernel
  read_row "squashfuse" root squashfuse
  read_row "squashfuse_ll" root squashfuse_ll
  echo
  echo "Starting the reader (it reads only itself, warm) costs $(fmt_ms "${R[read.start_exec]:-}") ms through --elements-exec and $(fmt_ms "${R[read.start_direct]:-}") ms directly; each figure above includes it. elements, extract: the first run extracted the payload in $(fmt_s "${R[first.extract]:-}") s (cold page cache)."
  echo
  echo "## Packing: $(fmt_mib "$tree_bytes") MiB, $tree_files files; zstd level $comp_level, $((block_size / 1024)) KiB blocks, $jobs jobs; median of $pack_runs rounds, each packer once a round in turn"
  echo
  echo "| packer | seconds to an image on disk | of which sync | time ratio | CPU seconds | image MiB | size ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  pack_row "**elements-pack, the tree** (dir: source; image = payload less its fixed part)" elements elements_rootfs
  pack_row "mksquashfs, the tree (-processors $jobs)" mksquashfs mksquashfs
  pack_row "tar2sqfs, the tree piped through tar (tar -cf - . \\| tar2sqfs)" tar2sqfs_pipe ""
  pack_row "**elements-pack, a ready tar of the tree** (tar: source)" elements_tar elements_tar elements_tar
  pack_row "tar2sqfs, the same ready tar" tar2sqfs tar2sqfs elements_tar
  pack_row "tar -cf of the tree alone (for reference; 1 run)" tar ""
  echo
  echo "The elements file is $(fmt_mib "${R[size.elements]}") MiB: the runtime ($(fmt_mib "$offset") MiB) and the squashfs payload ($(fmt_mib "${R[size.elements_payload]}") MiB), of which $(fmt_mib "${R[size.elements_fixed]}") MiB is the same for every file (AppRun, i.e. the runtime again, the spec, desktop file and icon; measured by packing an empty rootfs). Sizes are compared without that fixed part. Seconds: until the image is on disk; elements-pack syncs its file itself before linking it into place, a peer's image is synced (fsync) after it and that time is shown apart. Time ratio: the peer's time ÷ elements-pack's on the same input (the tree, or the ready tar); CPU seconds: user + system of the packer and its children.${NOTE[pack.settings]:+ Settings check failed:${NOTE[pack.settings]}}"
  echo
  echo "## Runtime"
  echo
  echo "Stripped size: $(fmt_mib "${R[size.runtime]}") MiB (${R[size.runtime]} bytes)${NOTE[size.runtime]:-}, static. Peers' own binaries, dynamically linked (shared libraries not counted): crun $(fmt_mib "${R[size.bin.crun]}"), runc $(fmt_mib "${R[size.bin.runc]}"), bwrap $(fmt_mib "${R[size.bin.bwrap]}"), ch-run $(fmt_mib "${R[size.bin.ch-run]}"), squashfuse_ll $(fmt_mib "${R[size.bin.squashfuse_ll]}") MiB."
  echo
  echo "Peak RSS (MiB; /usr/bin/time -v: the largest of the process and its children, so the container's command counts too):"
  echo
  echo "| what | as | peak RSS MiB | ratio |"
  echo "|---|---|---:|---:|"
  rss_row "**elements runtime process alone, serving a read of every file (VmHWM)**" user runtime_proc runtime_proc
  rss_row "elements init (PID 1) alone (VmHWM)" user runtime_init runtime_proc
  rss_row "**elements, fuse, /bin/true**" user elements_fuse elements_fuse
  rss_row "elements, extract, /bin/true" user elements_extract elements_fuse
  rss_row "elements, kernel, /bin/true" root elements_kernel elements_fuse
  rss_row "elements, fuse, reading every file" user elements_fuse_read elements_fuse_read
  rss_row "the reader alone, on the plain directory" root reader elements_fuse_read
  rss_row "squashfuse_ll serving a read of every file" root squashfuse_ll_read elements_fuse_read
  rss_row "bubblewrap, /bin/true" user bwrap elements_fuse
  rss_row "ch-run, squashfs, /bin/true" user chrun_sqfs elements_fuse
  rss_row "crun, /bin/true" root crun elements_fuse
  rss_row "runc, /bin/true" root runc elements_fuse
  echo
  echo "## Goals"
  echo
  echo "| goal | measured | verdict |"
  echo "|---|---|---|"
  local ef=${R[startup.elements_fuse]:-} fl=${R[startup.floor]:-} cs=${R[startup.chrun_sqfs]:-}
  goal "unprivileged warm start-up ≤ 1.5× the namespace floor" \
    "elements $(fmt_ms "$ef") ms ÷ floor $(fmt_ms "$fl") ms = $(ratio "$ef" "$fl")" \
    "$(cmp "$(q "$ef" "$fl")" '<=' 1.5)"
  goal "start-up ≥ 2.5× faster than ch-run on the same squashfs" \
    "ch-run $(fmt_ms "$cs") ms ÷ elements $(fmt_ms "$ef") ms = $(ratio "$cs" "$ef")" \
    "$(cmp "$(q "$cs" "$ef")" '>=' 2.5)"
  local temp peer min
  for temp in cold warm; do
    for peer in kernel:0.9 squashfuse_ll:1.5; do
      min=${peer#*:} peer=${peer%:*}
      local e=${R[read.elements_fuse.all.$temp]:-} p=${R[read.$peer.all.$temp]:-} et pt
      [[ -n $e ]] && et=$(q "$(awk '{print $2}' <<<"${R[read.elements_fuse.all.out]}")" "$e")
      [[ -n $p ]] && pt=$(q "$(awk '{print $2}' <<<"${R[read.$peer.all.out]}")" "$p")
      goal "FUSE all-files reads, $temp, ≥ ${min}× ${peer/kernel/kernel squashfs}" \
        "elements $(mbps "${et:-}" 1) MB/s ÷ $(mbps "${pt:-}" 1) MB/s = $(ratio "${et:-}" "${pt:-}")" \
        "$(cmp "$(q "${et:-}" "${pt:-}")" '>=' "$min")"
    done
  done
  local pe=${R[pack.elements]:-} se=${R[size.elements_rootfs]:-} pet=${R[pack.elements_tar]:-}
  goal "packing the tree at least as fast as mksquashfs" \
    "elements $(fmt_s "$pe") s, mksquashfs $(fmt_s "${R[pack.mksquashfs]:-}") s" \
    "$(cmp "$pe" '<=' "${R[pack.mksquashfs]:-}")"
  goal "packing the tree at least as fast as tar2sqfs (through tar)" \
    "elements $(fmt_s "$pe") s, tar2sqfs $(fmt_s "${R[pack.tar2sqfs_pipe]:-}") s" \
    "$(cmp "$pe" '<=' "${R[pack.tar2sqfs_pipe]:-}")"
  goal "packing a ready tar at least as fast as tar2sqfs" \
    "elements $(fmt_s "$pet") s, tar2sqfs $(fmt_s "${R[pack.tar2sqfs]:-}") s" \
    "$(cmp "$pet" '<=' "${R[pack.tar2sqfs]:-}")"
  for peer in mksquashfs tar2sqfs; do
    local sp=${R[size.$peer]:-}
    goal "payload size within 2% of $peer" \
      "elements $(awk -v a="$se" -v b="$sp" 'BEGIN {printf "%+.2f%%", (a - b) / b * 100}') (without the fixed part)" \
      "$(awk -v a="$se" -v b="$sp" 'BEGIN {d = (a - b) / b; if (d < 0) d = -d; print (d <= 0.02) ? 1 : 0}')"
  done
  goal "runtime peak RSS ≤ 8 MiB (runtime process, serving reads)" \
    "$(fmt_kib_mib "${R[rss.runtime_proc]:-}") MiB" "$(cmp "${R[rss.runtime_proc]:-}" '<=' 8192)"
}

# ---------------------------------------------------------------------------

# Every figure of elements itself must be there: a failed run is a failure
# of the benchmark, not a gap in the table.
check_complete() {
  local key missing=()
  for key in startup.elements_fuse startup.elements_extract startup.elements_kernel startup.floor \
    pack.elements pack.elements_tar size.runtime rss.runtime_proc rss.elements_fuse; do
    [[ -n ${R[$key]:-} ]] || missing+=("$key")
  done
  local name what temp
  for name in elements_fuse elements_fresh elements_kernel elements_extract; do
    for what in all large; do
      for temp in cold warm; do
        [[ -n ${R[read.$name.$what.$temp]:-} ]] || missing+=("read.$name.$what.$temp")
      done
    done
  done
  ((${#missing[@]} == 0)) && return 0
  echo "run.sh: no figure for ${missing[*]}; the log ends:" >&2
  tail -n 20 "$log" >&2
  return 1
}

main() {
  local t0=$SECONDS
  load_start=$(cut -d' ' -f1 /proc/loadavg)
  install_peers
  build_elements
  make_workdir
  say "work dir $work (removed at exit); log $log"
  setup_user
  # Inputs first, then each measurement; reads use the file packing made.
  build_reader
  make_small_rootfs
  say "making the ${tree_mb} MiB tree"
  make_big_tree
  if ((digests_only)); then
    bench_digests
    local table
    table=$(digests_report)
    printf '%s\n' "$table"
    [[ -z $out_file ]] || printf '%s\n' "$table" >"$out_file"
    return 0
  fi
  bench_startup
  bench_pack
  bench_reads
  bench_runtime
  local table
  table=$(report)
  table+=$'\n\n'"Wall time of this run: $((SECONDS - t0)) s (including package checks and the build)."
  printf '%s\n' "$table"
  if [[ -n $out_file ]]; then
    printf '%s\n' "$table" >"$out_file"
    say "table written to $out_file"
  fi
  check_complete
}

main
