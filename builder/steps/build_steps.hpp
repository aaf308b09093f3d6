// The definition's build steps, applied to the rootfs tree in order.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "builder/definition/definition.hpp"
#include "builder/tree.hpp"

namespace elements::builder {

// Copies a host file or folder into the rootfs, as a Dockerfile COPY does:
// a folder's contents merge into the target folder; a file lands at the
// target, or inside it when the target is a folder or ends with "/".
// Entries are owned by the step's owner (0:0 by default) and keep their
// permission bits unless the step gives a mode; missing parents are made.
void apply_copy(const node_ptr& rootfs, const copy_step& step, const made_attrs& made);

// The two halves of apply_copy: what the step copies, read from the host,
// and putting it into the rootfs.
node_ptr read_copy(const copy_step& step);
void place_copy(const node_ptr& rootfs, const copy_step& step, const node_ptr& copied,
                const made_attrs& made);

struct build_options {
  bool use_cache = true;  // false: --no-cache, the cache is neither read nor written
  bool show_output = true;
  // Each phase ("step 2/3: run ..."), warning and output line, for stderr.
  std::function<void(const std::string&)> phase, warn;
  std::function<void(std::string_view)> output;
};

// Applies the definition's build steps in order. A run step's result comes
// from the step cache when its key is there, else from running it (then it
// is stored). Throws elements::error (exit 1) naming a failed step.
void apply_build_steps(node_ptr& rootfs, const definition& def, const made_attrs& made,
                       const build_options& options);

}  // namespace elements::builder
