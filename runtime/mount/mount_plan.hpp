// The container's mounts as a list made before any of them happens
// (bubblewrap's SetupOp list): one pure function decides them, the executor
// in rootfs.cpp applies them in order, and the OCI writer serialises the same
// list into config.json. Making the list takes no syscalls; what it depends
// on that only the host can tell comes in as mount_facts.
#pragma once

#include <sys/mount.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container/plan.hpp"

namespace elements::runtime {

// Where the host side puts things inside its private mount namespace: a
// tmpfs over /tmp (as bubblewrap does), holding the payload and the new root.
inline constexpr const char* base_dir = "/tmp";
inline constexpr const char* payload_dir = "/tmp/payload";
inline constexpr const char* newroot_dir = "/tmp/root";
// Host directories bound in by the host side: the staging folder of /out and
// the overlay layers kept per instance for "writable": "persist".
inline constexpr const char* out_dir = "/tmp/out";
inline constexpr const char* persist_dir = "/tmp/persist";

// A path the runtime mounts over in every container. On a read-only image
// it must already be there: elements-pack adds these to every rootfs.
struct mount_point {
  std::string_view path;
  bool directory;
  mode_t mode;  // what elements-pack gives it when the image lacks it
};

inline constexpr mount_point proc_mount_point{"/proc", true, 0555};
inline constexpr mount_point dev_mount_point{"/dev", true, 0755};
inline constexpr mount_point sys_mount_point{"/sys", true, 0555};
inline constexpr mount_point tmp_mount_point{"/tmp", true, 01777};
// Must be plain directories of the image (SECURITY.md, hostile images).
inline constexpr mount_point system_mount_points[] = {proc_mount_point, dev_mount_point,
                                                      sys_mount_point, tmp_mount_point};
// The host's files bound with "resolvConf", and where an output arg lands.
inline constexpr mount_point host_file_mount_points[] = {{"/etc/resolv.conf", false, 0644},
                                                         {"/etc/hosts", false, 0644}};
inline constexpr mount_point out_mount_point{"/out", true, 0755};

enum class mount_kind {
  bind_image,       // the image's rootfs bound as the new root
  overlay_layers,   // a tmpfs for the overlay's upper and work layers
  overlay,          // the image as the lower layer of an overlay root
  make_target,      // a mount point missing from the image, made in the overlay
  remount_root_ro,  // the new root made read-only ("writable": "none")
  proc,
  protect_proc,  // one of the kernel's knobs under /proc made read-only
  dev_tmpfs,
  dev_node,  // a device node of the host bound into /dev
  devpts,
  shm,
  dev_symlink,
  tmp,
  sysfs,      // a fresh sysfs: the container has its own network namespace
  sys_bind,   // the host's /sys, read-only
  host_file,  // /etc/resolv.conf or /etc/hosts of the host, read-only
  out,
  user_bind,
  pivot,  // pivot_root onto the new root and detach the old one
};

struct mount_op {
  mount_kind kind;
  std::string source;  // a host path, a filesystem's source name, or a symlink's text
  std::string target;  // inside the container, or a host path before the pivot
  std::string fstype;
  unsigned long flags = 0;  // MS_* for mount(2)
  std::uint64_t attrs = 0;  // MOUNT_ATTR_* set on a bind, or on the root
  std::string options;      // mount(2) data
  mode_t mode = 0;          // of a folder made for the mount
  bool read_only = false;
  bool recursive = true;  // a bind takes the mounts below its source
  bool directory = true;  // make_target: a folder, else a file
  std::size_t index = 0;  // user_bind: which plan.binds; host_file: 0 resolv.conf, 1 hosts
};

// What only the host can tell, gathered before the list is made.
struct mount_facts {
  bool privileged = false;        // the caller is real root
  std::vector<bool> bind_is_dir;  // per plan.binds; a missing entry counts as a folder
  bool resolv_conf = false;       // the host's /etc/resolv.conf and /etc/hosts could be opened
  bool hosts = false;
  // With "writable": "none": the image lacks one of mount_targets(). Only
  // known once the payload is mounted, so the list is made after that.
  bool targets_missing = false;
};

// A mount point that may be missing from the image: the host files, /out
// and the binds' targets. A target is a folder unless its source is a file.
struct mount_target {
  std::string path;
  bool directory = true;
};
std::vector<mount_target> mount_targets(const plan& p, const std::vector<bool>& bind_is_dir);

// The container's mounts, in the order they are made.
std::vector<mount_op> plan_mounts(const plan& p, const mount_facts& facts);

// One line for --elements-debug: "KIND SOURCE -> TARGET FLAGS OPTIONS".
std::string describe(const mount_op& op);

}  // namespace elements::runtime
