// What the squashfs payload holds besides the rootfs (DESIGN.md section 1),
// and the mount points the runtime needs on a read-only rootfs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "builder/definition/definition.hpp"
#include "builder/tree.hpp"

namespace elements::builder {

// Makes what the runtime mounts over when it is missing (lstat semantics):
// /proc /dev /sys /tmp /etc, /etc/resolv.conf and /etc/hosts, and /out for
// an output arg. Returns
// a warning for each one that cannot be made because a parent is not a folder.
std::vector<std::string> add_mount_points(const node_ptr& rootfs, const spec& s,
                                          const made_attrs& made);

// The desktop entry libappimage and desktop environments read.
std::string desktop_entry(const definition& def);

// The payload root: AppRun (the runtime again), NAME.desktop, the icon,
// .DirIcon, .elements/spec.json and rootfs/.
node_ptr make_payload_tree(const definition& def, std::shared_ptr<const file_content> apprun,
                           node_ptr rootfs, const made_attrs& made);

}  // namespace elements::builder
