#include "rootfs.hpp"

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

// For a root caller the container's root is the host's: the kernel's knobs
// under /proc (core_pattern, sysrq, ...) are read-only for it, as docker
// and runc make them. In a user namespace the kernel already refuses them.
void protect_proc() {
  for (const char* name : {"sys", "sysrq-trigger", "irq", "bus", "fs"}) {
    const std::string path = std::string(newroot_dir) + "/proc/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;  // not in this kernel
    check(::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr), "bind", path);
    check(::mount(nullptr, path.c_str(), nullptr,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr),
          "make read-only", path);
  }
}

void setup_dev(int root, bool privileged) {
  {
    unique_fd dev = system_mount_point(root, "/dev");
    mount_at("tmpfs", dev.get(), "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=0755,size=1m", "/dev");
  }
  unique_fd dev =
      open_in_root(root, "/dev", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string host = std::string("/dev/") + node;
    unique_fd src(::open(host.c_str(), O_PATH | O_CLOEXEC));
    if (!src) {
      if (errno == ENOENT || errno == ENXIO) continue;  // no /dev/tty on some hosts
      throw_errno("open", host);
    }
    unique_fd dst(::openat(dev.get(), node, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666));
    if (!dst) throw_errno("create", "/dev/" + std::string(node) + " in the container");
    dst.reset();
    bind_fd(src.get(), root, "/dev/" + std::string(node), false, 0, false);
  }
  check(::mkdirat(dev.get(), "pts", 0755), "create", "/dev/pts");
  unique_fd pts = open_in_root(root, "/dev/pts", O_PATH | O_DIRECTORY);
  // gid=5 (tty) exists only where the caller's groups are all mapped.
  mount_at("devpts", pts.get(), "devpts", MS_NOSUID | MS_NOEXEC,
           privileged ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
                      : "newinstance,ptmxmode=0666,mode=0620",
           "/dev/pts");
  check(::mkdirat(dev.get(), "shm", 01777), "create", "/dev/shm");
  unique_fd shm = open_in_root(root, "/dev/shm", O_PATH | O_DIRECTORY);
  mount_at("tmpfs", shm.get(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", "/dev/shm");
  for (auto [target, name] : {std::pair{"pts/ptmx", "ptmx"},
                              {"/proc/self/fd", "fd"},
                              {"/proc/self/fd/0", "stdin"},
                              {"/proc/self/fd/1", "stdout"},
                              {"/proc/self/fd/2", "stderr"},
                              {"/proc/kcore", "core"}})
    check(::symlinkat(target, dev.get(), name), "create", "/dev/" + std::string(name));
}

// Where the container's mounts go that may be missing from the image: the
// binds, /out, and the resolv.conf/hosts files. A target is a folder unless
// its source is a file.
struct mount_target {
  std::string path;
  bool directory = true;
};

std::vector<mount_target> mount_targets(const rootfs_inputs& in) {
  const plan& p = *in.p;
  std::vector<mount_target> targets;
  if (p.resolv_conf)
    targets.push_back({"/etc/resolv.conf", false}), targets.push_back({"/etc/hosts", false});
  if (p.output) targets.push_back({"/out", true});
  for (std::size_t i = 0; i < p.binds.size(); ++i) {
    struct stat st {};
    bool dir = ::fstat(in.bind_sources.at(i).get(), &st) != 0 || S_ISDIR(st.st_mode);
    targets.push_back({p.binds[i].target, dir});
  }
  return targets;
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

void setup_rootfs(rootfs_inputs& in) {
  const plan& p = *in.p;
  check(::mkdir(newroot_dir, 0755), "create", newroot_dir);
  const std::string lower = std::string(payload_dir) + "/rootfs";

  // Mount points missing from the image are made in an overlay's upper layer;
  // with "writable": "none" the overlay is then made read-only.
  const std::vector<mount_target> targets = mount_targets(in);
  bool missing = false;
  if (p.writable == writable_mode::none) {
    unique_fd image(::open(lower.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!image) payload_unreadable(lower);
    for (const auto& t : targets) missing = missing || !exists_in(image.get(), t.path);
  }

  // The caller could not have setuid files or devices of its own, so the
  // image cannot give them either.
  const std::uint64_t unpriv = in.privileged ? 0 : MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (p.writable == writable_mode::none && !missing) {
    check(::mount(lower.c_str(), newroot_dir, nullptr, MS_BIND | MS_REC, nullptr), "bind", lower);
  } else {
    // The image stays the lower layer; writes land in a tmpfs gone at exit,
    // or in the layers kept per instance.
    std::string layers = persist_dir;
    if (p.writable != writable_mode::persist) {
      layers = std::string(base_dir) + "/overlay";
      check(::mkdir(layers.c_str(), 0755), "create", layers);
      check(::mount("tmpfs", layers.c_str(), "tmpfs", 0, "mode=0755"), "mount", layers);
    }
    for (const char* sub : {"/upper", "/work"})
      if (::mkdir((layers + sub).c_str(), 0755) != 0 && errno != EEXIST)
        throw_errno("create", layers + sub);
    std::string opts =
        "lowerdir=" + lower + ",upperdir=" + layers + "/upper,workdir=" + layers + "/work";
    if (::mount("overlay", newroot_dir, "overlay", in.privileged ? 0 : MS_NOSUID | MS_NODEV,
                opts.c_str()) != 0) {
      int err = errno;
      std::string why = p.writable == writable_mode::none
                            ? "cannot mount an overlay to create the missing mount points"
                            : "cannot mount the writable overlay";
      throw error(why + ": " + std::strerror(err) +
                  " (hint: overlayfs in a user namespace needs Linux 5.11 or later; create the "
                  "mount points in the image, or run as root)");
    }
  }
  unique_fd root(check(::open(newroot_dir, O_PATH | O_DIRECTORY | O_CLOEXEC), "open", newroot_dir));
  if (missing || p.writable != writable_mode::none)
    for (const auto& t : targets) create_target(root.get(), t);
  if (p.writable == writable_mode::none)
    set_attrs(root.get(), MOUNT_ATTR_RDONLY | unpriv, false, "/");

  {
    unique_fd proc = system_mount_point(root.get(), "/proc");
    mount_at("proc", proc.get(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr, "/proc");
  }
  if (in.privileged) protect_proc();
  setup_dev(root.get(), in.privileged);
  {
    unique_fd tmp = system_mount_point(root.get(), "/tmp");
    mount_at("tmpfs", tmp.get(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", "/tmp");
  }
  {
    // A fresh sysfs shows the network namespace it is mounted in, and may only
    // be mounted by its owner: with "network": "none" that is the container.
    unique_fd sys = system_mount_point(root.get(), "/sys");
    const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (p.network == network_mode::none) {
      mount_at("sysfs", sys.get(), "sysfs", ro, nullptr, "/sys");
    } else {
      unique_fd host_sys(check(::open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC), "open", "/sys"));
      bind_fd(host_sys.get(), root.get(), "/sys", true,
              MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    }
  }
  if (p.resolv_conf) {
    if (in.resolv_conf)
      attach_tree(in.resolv_conf.get(), root.get(), "/etc/resolv.conf", true, 0, false);
    if (in.hosts) attach_tree(in.hosts.get(), root.get(), "/etc/hosts", true, 0, false);
  }
  if (p.output) {
    unique_fd out(check(::open(out_dir, O_PATH | O_DIRECTORY | O_CLOEXEC), "open", out_dir));
    bind_fd(out.get(), root.get(), "/out", false, unpriv);
  }
  for (std::size_t i = 0; i < p.binds.size(); ++i) {
    const auto& b = p.binds[i];
    attach_tree(in.bind_sources.at(i).get(), root.get(), b.target, b.read_only, unpriv);
  }

  // pivot_root(".", ".") stacks the old root under the new one; detaching it
  // leaves only the container's tree visible.
  check(::fchdir(root.get()), "enter", newroot_dir);
  check(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root to", newroot_dir);
  check(::umount2(".", MNT_DETACH), "detach", "the host's root");
  check(::chdir("/"), "enter", "/");
}

}  // namespace elements::runtime
