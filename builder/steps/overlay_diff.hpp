// What a run step changed, read from the upper layer of the overlay it ran
// on and written as an OCI layer: the cache stores it and the layer code
// applies it to the tree, as it applies an image's layers.
#pragma once

#include <string>

namespace elements::builder {

// Writes the entries under `upper` (an overlayfs upper directory) to `out_fd`
// as a tar layer: owners, modes, mtimes, symlinks, devices, hard links and
// xattrs as they are; a whiteout (a 0:0 character device) as ".wh.NAME"; an
// opaque folder (trusted.overlay.opaque or user.overlay.opaque "y") with a
// ".wh..wh..opq" entry. Overlay bookkeeping xattrs are left out. Runs where
// every owner is readable: as root, or inside the step's user namespace.
// Throws elements::error naming the entry that could not be read.
void write_overlay_diff(const std::string& upper, int out_fd);

}  // namespace elements::builder
