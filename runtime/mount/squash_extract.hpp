// Copying the payload's tree out to a directory: for --appimage-extract and
// for the extract-once cache. Internal to runtime/.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "runtime/mount/remove_tree.hpp"
#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {

struct extract_options {
  std::string pattern;      // fnmatch over payload paths, as the AppImage runtime does; "": all
  std::string display;      // how messages and verbose output name `dest_fd` ("squashfs-root/")
  bool verbose = false;     // print display+path on stdout for each entry taken
  bool replace = false;     // entries may already exist (re-extracting); else dest is empty
  bool apply_root = false;  // give dest the mode and mtime of the payload's root
  std::string space_hint;   // the fix for a full disk
};

// fnmatch(pattern, path, FNM_PATHNAME | FNM_LEADING_DIR) as --appimage-extract
// uses it, without glibc's multibyte fnmatch (some 30 KiB of the static runtime).
bool path_matches(std::string_view pattern, std::string_view path);

// Extracts into the open directory `dest_fd`: directories, regular files,
// symlinks, hard links (linked, copied where links fail), FIFOs; modes without
// setuid/setgid, and mtimes. Device nodes and sockets are skipped: an
// unprivileged user cannot create them and a container does not need them.
// Never follows a symlink of its own making or one already in `dest_fd`.
void extract_tree(const payload_file& file, int dest_fd, const extract_options& opts);

// mkdir -p: creates `path` and its missing parents with `mode`.
void make_dirs(const std::string& path, mode_t mode);

}  // namespace elements::runtime
