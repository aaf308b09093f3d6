// Reads a file or folder of the host into a tree: what the dir: source and
// copy steps share.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "builder/tree.hpp"

namespace elements::builder {

// Host owners as the container sees them. A rootless build runs as some
// user who is root inside the container's user namespace, so that user's
// own files are recorded as owned by 0; other owners are kept.
struct owner_map {
  std::optional<uid_t> own_uid;
  std::optional<gid_t> own_gid;

  // The map for the calling process: empty when it runs as root.
  static owner_map for_caller();
  std::uint32_t uid(uid_t host) const { return own_uid && host == *own_uid ? 0 : host; }
  std::uint32_t gid(gid_t host) const { return own_gid && host == *own_gid ? 0 : host; }
};

struct host_read_options {
  owner_map owners;
  // When set, every entry gets this owner instead of its mapped host owner.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> owner;
  // When set, every entry but symlinks gets these permission bits.
  std::optional<mode_t> mode;
  // Follow `path` itself when it is a symlink (entries below are never followed).
  bool follow_top = false;
  // Threads reading folders at once; 0: one per usable core, at most 8.
  unsigned threads = 0;
};

// Reads `path` with lstat semantics: modes (setuid included), owners, mtimes,
// symlinks, devices, fifos, sockets, hard links (one node per dev/ino) and the
// user.* and security.* xattrs that can be read. Regular files are recorded
// by path and read when the image is written.
node_ptr read_host_tree(const std::filesystem::path& path, const host_read_options& options);

}  // namespace elements::builder
