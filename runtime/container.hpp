// Starting a container from a plan: the host side (namespaces, payload
// mount, signals, exit status) and, after fork, the container side (root
// filesystem, pivot, init).
#pragma once

#include <string>

#include "elements/spec.hpp"
#include "plan.hpp"
#include "squash_mount.hpp"

namespace elements::runtime {

struct run_request {
  const payload_file* file = nullptr;  // the payload, or null for an extracted tree
  std::string directory;               // the extracted tree (squashfs-root) when file is null
  const spec* s = nullptr;
  const plan* p = nullptr;
  std::string program;  // the file's name, for messages
  // The caller already made a user namespace it is root in (elements-pack's
  // build steps, with subordinate ids mapped): only a mount namespace is new.
  bool in_user_namespace = false;
};

// Runs the container to completion and returns the exit status the runtime
// should exit with: the command's own, 128+N for signal N, 125/126/127 when
// the container could not be started or the command not run.
int run_container(const run_request& req);

}  // namespace elements::runtime
