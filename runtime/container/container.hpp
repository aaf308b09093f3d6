// Starting a container from a plan: the host side (namespaces, payload
// mount, signals, exit status) and, after fork, the container side (root
// filesystem, pivot, init).
//
// The container library's public interface, for the runtime stub and for
// elements-pack's build steps, by the paths they are included as:
//   runtime/container/container.hpp (this header), runtime/container/plan.hpp,
//   runtime/mount/mount_plan.hpp, runtime/mount/mount_path.hpp,
//   runtime/mount/remove_tree.hpp, runtime/image/payload_file.hpp,
//   runtime/host_context.hpp.
// Every other header of runtime/ is internal to it; the public_headers test
// keeps builder/ to these.
#pragma once

#include <string>

#include "elements/spec.hpp"
#include "runtime/container/plan.hpp"
#include "runtime/host_context.hpp"
#include "runtime/image/payload_file.hpp"
#include "runtime/mount/mount_path.hpp"

namespace elements::runtime {

// Everything a run takes from its caller: nothing is read from the
// environment below this.
struct run_request {
  const payload_file* file = nullptr;  // the payload, or null for an extracted tree
  std::string directory;               // the extracted tree (squashfs-root) when file is null
  const spec* s = nullptr;
  const plan* p = nullptr;
  std::string program;  // the file's name, for messages
  // Where the persist layers, the extract cache and the instance registry live.
  host_folders folders;
  mount_request mount = mount_request::automatic;  // ELEMENTS_MOUNT
  // host_context::privileged, and not inside a user namespace of the caller's.
  bool privileged = false;
  // The caller already made a user namespace it is root in (elements-pack's
  // build steps, with subordinate ids mapped): only a mount namespace is new.
  bool in_user_namespace = false;
};

// Runs the container to completion and returns the exit status the runtime
// should exit with: the command's own, 128+N for signal N, 125/126/127 when
// the container could not be started or the command not run.
int run_container(const run_request& req);

// What a "writable": "persist" run of instance `id` changed (its overlay's
// upper layer), relative to run_request::folders.data.
std::string persist_upper_path(const std::string& id);

}  // namespace elements::runtime
