// The definition's build steps, applied to the rootfs tree in order.
#pragma once

#include "definition.hpp"
#include "tree.hpp"

namespace elements::builder {

// Copies a host file or folder into the rootfs, as a Dockerfile COPY does:
// a folder's contents merge into the target folder; a file lands at the
// target, or inside it when the target is a folder or ends with "/".
// Entries are owned by the step's owner (0:0 by default) and keep their
// permission bits unless the step gives a mode; missing parents are made.
void apply_copy(const node_ptr& rootfs, const copy_step& step, const made_attrs& made);

}  // namespace elements::builder
