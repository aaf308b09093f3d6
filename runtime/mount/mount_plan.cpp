#include "runtime/mount/mount_plan.hpp"

namespace elements::runtime {
namespace {

mount_op op(mount_kind kind, std::string source, std::string target) {
  mount_op o{kind};
  o.source = std::move(source);
  o.target = std::move(target);
  return o;
}

// A fresh filesystem of the kernel's (proc, tmpfs, devpts, sysfs).
mount_op fresh(mount_kind kind, std::string_view fstype, std::string_view target,
               unsigned long flags, std::string options = {}) {
  mount_op o = op(kind, std::string(fstype), std::string(target));
  o.fstype = fstype;
  o.flags = flags;
  o.options = std::move(options);
  return o;
}

mount_op bind(mount_kind kind, std::string source, std::string target, bool read_only,
              std::uint64_t attrs, bool recursive = true) {
  mount_op o = op(kind, std::move(source), std::move(target));
  o.read_only = read_only;
  o.attrs = attrs;
  o.recursive = recursive;
  return o;
}

constexpr const char* kind_names[] = {"bind-image",
                                      "overlay-layers",
                                      "overlay",
                                      "make-target",
                                      "remount-root-ro",
                                      "proc",
                                      "protect-proc",
                                      "dev-tmpfs",
                                      "dev-node",
                                      "devpts",
                                      "shm",
                                      "dev-symlink",
                                      "tmp",
                                      "sysfs",
                                      "sys-bind",
                                      "host-file",
                                      "out",
                                      "user-bind",
                                      "pivot"};
static_assert(std::size(kind_names) == static_cast<std::size_t>(mount_kind::pivot) + 1);

}  // namespace

std::vector<mount_target> mount_targets(const plan& p, const std::vector<bool>& bind_is_dir) {
  std::vector<mount_target> targets;
  if (p.resolv_conf)
    for (const auto& f : host_file_mount_points) targets.push_back({std::string(f.path), false});
  if (p.output) targets.push_back({std::string(out_mount_point.path), true});
  for (std::size_t i = 0; i < p.binds.size(); ++i)
    targets.push_back({p.binds[i].target, i >= bind_is_dir.size() || bind_is_dir[i]});
  return targets;
}

namespace {

// The caller could not have setuid files or devices of its own, so the image
// cannot give them either.
std::uint64_t unprivileged_attrs(const mount_facts& facts) {
  return facts.privileged ? 0 : MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
}

// Mount points missing from the image are made in an overlay's upper layer;
// with "writable": "none" the overlay is then made read-only.
void plan_root(const plan& p, const mount_facts& facts, std::vector<mount_op>& ops) {
  const bool none = p.writable == writable_mode::none;
  const std::string lower = std::string(payload_dir) + "/rootfs";
  if (none && !facts.targets_missing) {
    mount_op o = op(mount_kind::bind_image, lower, newroot_dir);
    o.flags = MS_BIND | MS_REC;
    ops.push_back(std::move(o));
  } else {
    // The image stays the lower layer; writes land in a tmpfs gone at exit,
    // or in the layers kept per instance.
    std::string layers = persist_dir;
    if (p.writable != writable_mode::persist) {
      layers = std::string(base_dir) + "/overlay";
      ops.push_back(fresh(mount_kind::overlay_layers, "tmpfs", layers, 0, "mode=0755"));
      ops.back().mode = 0755;
    }
    mount_op o = fresh(
        mount_kind::overlay, "overlay", newroot_dir, facts.privileged ? 0 : MS_NOSUID | MS_NODEV,
        "lowerdir=" + lower + ",upperdir=" + layers + "/upper,workdir=" + layers + "/work");
    o.source = layers;
    o.read_only = none;
    ops.push_back(std::move(o));
    for (const auto& t : mount_targets(p, facts.bind_is_dir)) {
      ops.push_back(op(mount_kind::make_target, {}, t.path));
      ops.back().directory = t.directory;
    }
  }
  if (none) {
    ops.push_back(op(mount_kind::remount_root_ro, {}, "/"));
    ops.back().attrs = MOUNT_ATTR_RDONLY | unprivileged_attrs(facts);
  }
}

void plan_proc(const mount_facts& facts, std::vector<mount_op>& ops) {
  ops.push_back(
      fresh(mount_kind::proc, "proc", proc_mount_point.path, MS_NOSUID | MS_NODEV | MS_NOEXEC));
  // For a root caller the container's root is the host's: the kernel's knobs
  // under /proc (core_pattern, sysrq, ...) are read-only for it, as docker
  // and runc make them. In a user namespace the kernel already refuses them.
  if (facts.privileged)
    for (const char* name : {"sys", "sysrq-trigger", "irq", "bus", "fs"}) {
      ops.push_back(op(mount_kind::protect_proc, {}, "/proc/" + std::string(name)));
      ops.back().flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
      ops.back().read_only = true;
    }
}

void plan_dev(const mount_facts& facts, std::vector<mount_op>& ops) {
  ops.push_back(fresh(mount_kind::dev_tmpfs, "tmpfs", dev_mount_point.path,
                      MS_NOSUID | MS_STRICTATIME, "mode=755,size=1m"));
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string path = "/dev/" + std::string(node);
    ops.push_back(bind(mount_kind::dev_node, path, path, false, 0, false));
  }
  // gid=5 (tty) exists only where the caller's groups are all mapped.
  ops.push_back(fresh(mount_kind::devpts, "devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                      facts.privileged ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
                                       : "newinstance,ptmxmode=0666,mode=0620"));
  ops.back().mode = 0755;
  ops.push_back(fresh(mount_kind::shm, "tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777"));
  ops.back().mode = 01777;
  for (auto [link, name] : {std::pair{"pts/ptmx", "ptmx"},
                            {"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"},
                            {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"},
                            {"/proc/kcore", "core"}})
    ops.push_back(op(mount_kind::dev_symlink, link, "/dev/" + std::string(name)));
}

void plan_tmp_and_sys(const plan& p, std::vector<mount_op>& ops) {
  ops.push_back(
      fresh(mount_kind::tmp, "tmpfs", tmp_mount_point.path, MS_NOSUID | MS_NODEV, "mode=1777"));
  // A fresh sysfs shows the network namespace it is mounted in, and may only
  // be mounted by its owner: with "network": "none" that is the container.
  if (p.network == network_mode::none)
    ops.push_back(fresh(mount_kind::sysfs, "sysfs", sys_mount_point.path,
                        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  else
    ops.push_back(bind(mount_kind::sys_bind, "/sys", std::string(sys_mount_point.path), true,
                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
}

// The host's resolv.conf and hosts, and the folder for the run's results.
void plan_host_files(const plan& p, const mount_facts& facts, std::vector<mount_op>& ops) {
  if (p.resolv_conf)
    for (std::size_t i = 0; i < std::size(host_file_mount_points); ++i)
      if (i == 0 ? facts.resolv_conf : facts.hosts) {
        const std::string path(host_file_mount_points[i].path);
        ops.push_back(bind(mount_kind::host_file, path, path, true, 0, false));
        ops.back().index = i;
      }
  if (p.output)
    ops.push_back(bind(mount_kind::out, out_dir, std::string(out_mount_point.path), false,
                       unprivileged_attrs(facts)));
}

void plan_user_binds(const plan& p, const mount_facts& facts, std::vector<mount_op>& ops) {
  for (std::size_t i = 0; i < p.binds.size(); ++i) {
    const auto& b = p.binds[i];
    ops.push_back(
        bind(mount_kind::user_bind, b.source, b.target, b.read_only, unprivileged_attrs(facts)));
    ops.back().index = i;
  }
}

}  // namespace

std::vector<mount_op> plan_mounts(const plan& p, const mount_facts& facts) {
  std::vector<mount_op> ops;
  plan_root(p, facts, ops);
  plan_proc(facts, ops);
  plan_dev(facts, ops);
  plan_tmp_and_sys(p, ops);
  plan_host_files(p, facts, ops);
  plan_user_binds(p, facts, ops);
  ops.push_back(op(mount_kind::pivot, {}, newroot_dir));
  return ops;
}

std::string describe(const mount_op& o) {
  std::string s = kind_names[static_cast<std::size_t>(o.kind)];
  if (!o.source.empty()) s += " " + o.source + " ->";
  s += " " + o.target;
  std::string flags;
  auto flag = [&](bool on, const char* name) {
    if (on) flags += (flags.empty() ? "" : ",") + std::string(name);
  };
  flag(o.read_only || (o.flags & MS_RDONLY) || (o.attrs & MOUNT_ATTR_RDONLY), "ro");
  flag((o.flags & MS_NOSUID) || (o.attrs & MOUNT_ATTR_NOSUID), "nosuid");
  flag((o.flags & MS_NODEV) || (o.attrs & MOUNT_ATTR_NODEV), "nodev");
  flag((o.flags & MS_NOEXEC) || (o.attrs & MOUNT_ATTR_NOEXEC), "noexec");
  flag(o.flags & MS_STRICTATIME, "strictatime");
  flag((o.flags & MS_BIND) || o.kind == mount_kind::dev_node || o.kind == mount_kind::sys_bind ||
           o.kind == mount_kind::host_file || o.kind == mount_kind::out ||
           o.kind == mount_kind::user_bind,
       o.recursive ? "rbind" : "bind");
  flag(o.kind == mount_kind::make_target && !o.directory, "file");
  if (!flags.empty()) s += " " + flags;
  if (!o.options.empty()) s += " " + o.options;
  return s;
}

}  // namespace elements::runtime
