// The container's root filesystem, set up inside its own mount namespace
// and pivoted onto (DESIGN.md section 3).
#pragma once

#include <string>
#include <vector>

#include "elements/unique_fd.hpp"
#include "runtime/container/plan.hpp"
#include "runtime/mount/mount_plan.hpp"

namespace elements::runtime {

struct rootfs_inputs {
  const plan* p = nullptr;
  bool privileged = false;              // the caller is real root
  std::vector<unique_fd> bind_sources;  // O_PATH fds of plan.binds' sources, same order
  unique_fd resolv_conf, hosts;         // host files when plan.resolv_conf
};

// Turns the host sources into detached mount trees. A mount can only be
// copied from the namespace it lives in, so this runs before the container
// leaves the host side's mount namespace.
void detach_host_sources(rootfs_inputs& in);

// Builds the root under newroot_dir, pivots onto it and detaches the old root:
// the list of plan_mounts, made once the payload is mounted and applied in
// its order (printed first with --elements-debug).
void setup_rootfs(rootfs_inputs& in);

}  // namespace elements::runtime
