#include "runtime/mount/rootfs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "elements/error.hpp"
#include "runtime/debug_log.hpp"
#include "runtime/mount/mount_plan.hpp"

namespace elements::runtime {
namespace {

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

// Opens `path` inside the tree at `root` the way the kernel resolves it when
// `root` is `/`: a symlink in the image never leads outside it.
unique_fd open_in_root(int root, const std::string& path, std::uint64_t flags,
                       std::uint64_t resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  long fd;
  // The kernel gives up with EAGAIN when a mount or rename anywhere on the
  // host races a ".." step (a symlink in the image to ../..): try again.
  int tries = 0;
  do fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how);
  while (fd < 0 && errno == EAGAIN && ++tries < 100);
  if (fd < 0) throw_errno("open", path + " in the container");
  return unique_fd(static_cast<int>(fd));
}

// A mount point the runtime itself needs (/proc, /dev, ...): a real
// directory of the image, not a symlink anywhere.
unique_fd system_mount_point(int root, const std::string& path) {
  try {
    return open_in_root(root, path, O_PATH | O_DIRECTORY,
                        RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  } catch (const error& e) {
    throw error(e.what() + std::string(" (hint: the image needs ") + path +
                " as a plain directory; pack it again with elements-pack)");
  }
}

void mount_at(const char* source, int target, const char* type, unsigned long flags,
              const char* data, const std::string& what) {
  if (::mount(source, fd_path(target).c_str(), type, flags, data) != 0) throw_errno("mount", what);
}

void set_attrs(int fd, std::uint64_t attrs, bool recursive, const std::string& what) {
  mount_attr attr{};
  attr.attr_set = attrs;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0u);
  if (::mount_setattr(fd, "", flags, &attr, sizeof attr) != 0) throw_errno("make read-only", what);
}

// A detached copy of the mount tree at `source`, to be attached elsewhere.
unique_fd clone_tree(int source, bool recursive, const std::string& what) {
  unique_fd tree(::open_tree(
      source, "",
      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0u)));
  if (!tree) throw_errno("bind", what);
  return tree;
}

// Attaches a detached tree onto `target_path` in the new root, read-only
// first when asked, so the mount never appears writable even for an instant.
void attach_tree(int tree, int root, const std::string& target_path, bool read_only,
                 std::uint64_t extra_attrs, bool recursive = true) {
  std::uint64_t attrs = extra_attrs | (read_only ? MOUNT_ATTR_RDONLY : 0);
  if (attrs) set_attrs(tree, attrs, recursive, target_path);
  unique_fd target = open_in_root(root, target_path, O_PATH);
  // A symlink to / (or a chain of ..) in the image would stack the mount on
  // the container's root, where pivot_root leaves it out of sight: the bind
  // would silently be missing.
  struct stat t, r;
  if (::fstat(target.get(), &t) == 0 && ::fstat(root, &r) == 0 && t.st_dev == r.st_dev &&
      t.st_ino == r.st_ino)
    throw error("cannot bind onto " + target_path +
                " in the container: the image makes it a symlink to / (hint: the image is damaged "
                "or crafted; bind onto another target, or pack the image again without that link)");
  if (::move_mount(tree, "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) !=
      0)
    throw_errno("bind onto", target_path);
}

void bind_fd(int source, int root, const std::string& target_path, bool read_only,
             std::uint64_t extra_attrs, bool recursive = true) {
  unique_fd tree = clone_tree(source, recursive, target_path);
  attach_tree(tree.get(), root, target_path, read_only, extra_attrs, recursive);
}

bool exists_in(int root, const std::string& path) {
  try {
    open_in_root(root, path, O_PATH);
    return true;
  } catch (const error& e) {
    if (e.code().value() == ENOENT) return false;
    throw;
  }
}

// Creates `t` (and its missing parents) inside `root`, resolving each step
// inside it: a symlink in the image never places it outside.
void create_target(int root, const mount_target& t) {
  std::string done;
  std::size_t pos = 0;
  while (pos < t.path.size()) {
    std::size_t next = t.path.find('/', pos + 1);
    if (next == std::string::npos) next = t.path.size();
    std::string part = t.path.substr(pos + 1, next - pos - 1);
    pos = next;
    if (part.empty() || part == ".") continue;
    const bool last = pos >= t.path.size();
    unique_fd parent = open_in_root(root, done.empty() ? "/" : done, O_PATH | O_DIRECTORY);
    done += "/" + part;
    if (exists_in(root, done)) continue;
    if (last && !t.directory) {
      int fd = ::openat(parent.get(), part.c_str(),
                        O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) throw_errno("create the mount point", done + " in the container");
      ::close(fd);
    } else if (::mkdirat(parent.get(), part.c_str(), 0755) != 0) {
      throw_errno("create the mount point", done + " in the container");
    }
  }
}

}  // namespace

void detach_host_sources(rootfs_inputs& in) {
  for (std::size_t i = 0; i < in.bind_sources.size(); ++i)
    in.bind_sources[i] = clone_tree(in.bind_sources[i].get(), true, in.p->binds.at(i).source);
  if (in.resolv_conf) in.resolv_conf = clone_tree(in.resolv_conf.get(), false, "/etc/resolv.conf");
  if (in.hosts) in.hosts = clone_tree(in.hosts.get(), false, "/etc/hosts");
}

namespace {

// The first look into the mounted payload: where its metadata is damaged
// the kernel's driver or the FUSE server answers EIO (or EINVAL); damaged
// inodes can also make rootfs no folder at all, or none.
[[noreturn]] void payload_unreadable(const std::string& path, int err = errno) {
  if (err == EIO || err == EINVAL || err == EUCLEAN || err == EBADMSG)
    throw error("cannot open " + path + " of the payload: " + std::strerror(err) +
                    " (hint: the file is damaged; download or build it again)",
                exit_start_failed, std::error_code(err, std::generic_category()));
  if (err == ENOTDIR || err == ENOENT || err == ELOOP)
    throw error("cannot open " + path + " of the payload: " + std::strerror(err) +
                    " (hint: the file is damaged or was not made by elements-pack; download "
                    "or build it again)",
                exit_start_failed, std::error_code(err, std::generic_category()));
  throw_errno("open", path, err);
}

}  // namespace

// The executor of plan_mounts' list: one op at a time, each target opened
// inside the new root (SECURITY.md, hostile images), never by its path.
namespace {

// What the executor holds from one op to the next: the new root and its
// /dev, open, so that no later op looks their paths up again.
struct mount_state {
  unique_fd root, dev;
};

std::string name_in_dev(const std::string& target) {
  return target.substr(target.rfind('/') + 1);
}

const char* data_of(const mount_op& op) {
  return op.options.empty() ? nullptr : op.options.c_str();
}

void mount_root_bind(const mount_op& op, mount_state& st) {
  check(::mount(op.source.c_str(), op.target.c_str(), nullptr, op.flags, nullptr), "bind",
        op.source);
  st.root.reset(
      check(::open(op.target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", op.target));
}

void mount_overlay(const mount_op& op, mount_state& st) {
  for (const char* sub : {"/upper", "/work"})
    if (::mkdir((op.source + sub).c_str(), 0755) != 0 && errno != EEXIST)
      throw_errno("create", op.source + sub);
  if (::mount(op.fstype.c_str(), op.target.c_str(), op.fstype.c_str(), op.flags, data_of(op)) !=
      0) {
    int err = errno;
    std::string why = op.read_only ? "cannot mount an overlay to create the missing mount points"
                                   : "cannot mount the writable overlay";
    throw error(why + ": " + std::strerror(err) +
                " (hint: overlayfs in a user namespace needs Linux 5.11 or later; create the "
                "mount points in the image, or run as root)");
  }
  st.root.reset(
      check(::open(op.target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", op.target));
}

// A fresh proc, tmpfs or sysfs on a mount point the image may not replace.
void mount_system(const mount_op& op, mount_state& st) {
  const int root = st.root.get();
  unique_fd at = system_mount_point(root, op.target);
  mount_at(op.source.c_str(), at.get(), op.fstype.c_str(), op.flags, data_of(op), op.target);
  if (op.kind == mount_kind::dev_tmpfs)
    st.dev =
        open_in_root(root, op.target, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
}

void protect_proc_knob(const mount_op& op) {
  // Before the pivot, through the /proc just mounted in the new root.
  const std::string path = newroot_dir + op.target;
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) != 0) return;  // not in this kernel
  check(::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr), "bind", path);
  check(::mount(nullptr, path.c_str(), nullptr, op.flags, nullptr), "make read-only", path);
}

void bind_dev_node(const mount_op& op, mount_state& st) {
  unique_fd src(::open(op.source.c_str(), O_PATH | O_CLOEXEC));
  if (!src) {
    if (errno == ENOENT || errno == ENXIO) return;  // no /dev/tty on some hosts
    throw_errno("open", op.source);
  }
  unique_fd dst(::openat(st.dev.get(), name_in_dev(op.target).c_str(),
                         O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666));
  if (!dst) throw_errno("create", op.target + " in the container");
  dst.reset();
  bind_fd(src.get(), st.root.get(), op.target, op.read_only, op.attrs, op.recursive);
}

// devpts and /dev/shm, on folders made in the container's own /dev.
void mount_in_dev(const mount_op& op, mount_state& st) {
  check(::mkdirat(st.dev.get(), name_in_dev(op.target).c_str(), op.mode), "create", op.target);
  unique_fd at = open_in_root(st.root.get(), op.target, O_PATH | O_DIRECTORY);
  mount_at(op.source.c_str(), at.get(), op.fstype.c_str(), op.flags, data_of(op), op.target);
}

void bind_host_dir(const mount_op& op, mount_state& st) {
  // /sys is a system mount point whichever filesystem it gets.
  unique_fd checked;
  if (op.kind == mount_kind::sys_bind) checked = system_mount_point(st.root.get(), op.target);
  unique_fd src(
      check(::open(op.source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", op.source));
  bind_fd(src.get(), st.root.get(), op.target, op.read_only, op.attrs, op.recursive);
}

void pivot_into(const mount_op& op, int root) {
  // pivot_root(".", ".") stacks the old root under the new one; detaching
  // it leaves only the container's tree visible.
  check(::fchdir(root), "enter", op.target);
  check(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root to", op.target);
  check(::umount2(".", MNT_DETACH), "detach", "the host's root");
  check(::chdir("/"), "enter", "/");
}

void apply(const mount_op& op, rootfs_inputs& in, mount_state& st) {
  const int root = st.root.get();
  switch (op.kind) {
    case mount_kind::bind_image:
      mount_root_bind(op, st);
      break;
    case mount_kind::overlay_layers:
      check(::mkdir(op.target.c_str(), op.mode), "create", op.target);
      check(::mount(op.source.c_str(), op.target.c_str(), op.fstype.c_str(), op.flags, data_of(op)),
            "mount", op.target);
      break;
    case mount_kind::overlay:
      mount_overlay(op, st);
      break;
    case mount_kind::make_target:
      create_target(root, {op.target, op.directory});
      break;
    case mount_kind::remount_root_ro:
      set_attrs(root, op.attrs, false, op.target);
      break;
    case mount_kind::proc:
    case mount_kind::dev_tmpfs:
    case mount_kind::tmp:
    case mount_kind::sysfs:
      mount_system(op, st);
      break;
    case mount_kind::protect_proc:
      protect_proc_knob(op);
      break;
    case mount_kind::dev_node:
      bind_dev_node(op, st);
      break;
    case mount_kind::devpts:
    case mount_kind::shm:
      mount_in_dev(op, st);
      break;
    case mount_kind::dev_symlink:
      check(::symlinkat(op.source.c_str(), st.dev.get(), name_in_dev(op.target).c_str()), "create",
            op.target);
      break;
    case mount_kind::sys_bind:
    case mount_kind::out:
      bind_host_dir(op, st);
      break;
    case mount_kind::host_file:
      attach_tree((op.index == 0 ? in.resolv_conf : in.hosts).get(), root, op.target, op.read_only,
                  op.attrs, op.recursive);
      break;
    case mount_kind::user_bind:
      attach_tree(in.bind_sources.at(op.index).get(), root, op.target, op.read_only, op.attrs,
                  op.recursive);
      break;
    case mount_kind::pivot:
      pivot_into(op, root);
      break;
  }
}

}  // namespace

void setup_rootfs(rootfs_inputs& in) {
  const plan& p = *in.p;
  check(::mkdir(newroot_dir, 0755), "create", newroot_dir);

  mount_facts facts;
  facts.privileged = in.privileged;
  for (const auto& source : in.bind_sources) {
    struct stat sb {};
    facts.bind_is_dir.push_back(::fstat(source.get(), &sb) != 0 || S_ISDIR(sb.st_mode));
  }
  facts.resolv_conf = static_cast<bool>(in.resolv_conf);
  facts.hosts = static_cast<bool>(in.hosts);
  // Whether the image has every mount point decides between a bind and an
  // overlay: only the mounted payload can tell.
  if (p.writable == writable_mode::none) {
    const std::string lower = std::string(payload_dir) + "/rootfs";
    unique_fd image(::open(lower.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!image) payload_unreadable(lower);
    for (const auto& t : mount_targets(p, facts.bind_is_dir))
      facts.targets_missing = facts.targets_missing || !exists_in(image.get(), t.path);
  }

  const std::vector<mount_op> ops = plan_mounts(p, facts);
  if (debug::enabled())
    for (const auto& op : ops) debug::step("mount: " + describe(op));
  mount_state st;
  for (const auto& op : ops) apply(op, in, st);
}

}  // namespace elements::runtime
