// Running a "run" build step: the command runs in a rootless container made
// by the runtime's own container code, over the rootfs as the build has it
// so far, and what it changed comes back as a layer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/definition/definition.hpp"
#include "builder/steps/subordinate_ids.hpp"
#include "builder/tree.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {

struct step_run_options {
  std::string what;    // names the step in errors: "step 2/3 (/build/1: ...)"
  std::string prefix;  // put before each output line: "[step 2/3] "
  std::function<void(std::string_view)> out;  // receives each prefixed line; null: discard
  std::vector<std::string> env;               // "NAME=value", the command's environment
};

// Runs `step` over `rootfs` with the host network and resolv.conf, and
// returns an unlinked temporary file holding what it changed as a tar layer
// (overlay_diff.hpp). Throws elements::error (exit 1) naming the step when
// the container cannot start or the command exits with a non-zero status.
// Temporary files, the payload image and the overlay are removed whatever
// happens.
unique_fd run_build_step(const node_ptr& rootfs, const build_step& step,
                         const step_run_options& options);

}  // namespace elements::builder
