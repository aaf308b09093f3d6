// How the payload becomes the container's tree, chosen once as data from
// ELEMENTS_MOUNT and the host's facts, then walked by the container code.
// Public: part of the container library's interface (see container.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace elements::runtime {

// ELEMENTS_MOUNT: the method asked for, or automatic when unset or empty.
enum class mount_request { automatic, kernel, fuse, extract };

// Throws naming the fix when `value` is none of kernel, fuse, extract.
mount_request parse_mount_request(const std::optional<std::string>& value);

// One rung of the ladder.
enum class mount_rung { kernel, fuse, extract };

struct mount_path {
  // No payload in the file (squashfs-root/AppRun): the tree beside it is bound.
  bool host_directory = false;
  // fusermount3 mounts the payload first, in the host's namespaces: where
  // the kernel refuses FUSE in a user namespace and FUSE was asked for.
  bool fusermount = false;
  // Tried in order; each failure falls through to the next, and the last
  // one's failure is the error. A ladder that starts with extract extracts
  // before the container's tmpfs covers /tmp (the cache may lie under it).
  std::vector<mount_rung> rungs;
};

// The path for a run. Throws for ELEMENTS_MOUNT=kernel without privilege.
mount_path choose_mount_path(mount_request asked, bool privileged, bool fuse_usable,
                             bool has_payload);

}  // namespace elements::runtime
