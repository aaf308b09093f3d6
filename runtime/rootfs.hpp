// The container's root filesystem, set up inside its own mount namespace
// and pivoted onto (DESIGN.md section 3).
#pragma once

#include <string>
#include <vector>

#include "elements/unique_fd.hpp"
#include "plan.hpp"

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

// Builds the root under newroot_dir, pivots onto it and detaches the old root.
void setup_rootfs(rootfs_inputs& in);

}  // namespace elements::runtime
