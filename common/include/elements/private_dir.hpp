// The caller's own folders on the host — the extract cache, persistent
// layers, the step cache, temporary folders — reached without following a
// symlink and trusted only while no one else can change them. Every later
// step (lock, temp dir, rename, cleanup) works relative to the descriptor
// these return, so swapping a path for a symlink afterwards changes nothing.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <string>
#include <string_view>

#include "elements/unique_fd.hpp"

namespace elements {

// Opens the folder `path` (absolute: XDG_CACHE_HOME, ~/.cache, TMPDIR) as an
// O_PATH descriptor, creating what is missing with mode 0700. It is the caller's
// choice, so symlinks on the way are followed (a home on another disk); then
// every folder on its real path up to `/` must be owned by root or the
// caller, and one that others (or a group other than the caller's own) may
// write to must be sticky, as /tmp is: else someone else could rename what
// is in it. Throws
// elements::error naming the folder and the fix; `hint` is the way out the
// caller has ("set XDG_CACHE_HOME to a folder of your own"). With `create`
// false, a missing `path` gives an empty fd.
unique_fd open_base_dir(const std::string& path, const std::string& hint, bool create = true);

// Opens the folder `name` (one component) in the checked folder `parent`,
// creating it with mode 0700 when `create`, never through a symlink; it must
// be owned by the caller and not writable by group or others. `shown` is its
// path for messages, `hint` as above. `flags` is O_RDONLY or O_PATH. A
// missing folder gives an empty fd when not `create`.
unique_fd open_private_dir(int parent, const std::string& name, const std::string& shown,
                           const std::string& hint, bool create = true, int flags = O_RDONLY);

// Checks the open folder `fd` as open_private_dir does.
void check_private(int fd, const std::string& shown, const std::string& hint);

// mkdtemp in `parent`: creates `prefix` followed by 8 random characters with
// `mode` and returns the name. `shown` is the parent's path for messages.
std::string make_temp_dir_at(int parent, std::string_view prefix, mode_t mode,
                             const std::string& shown);

// The temporary folder `path` (TMPDIR, or /tmp), opened as open_base_dir
// does; it must exist.
unique_fd open_temp_parent(const std::string& path);

// A fresh folder `prefix` + 8 random characters, mode 0700, in the
// temporary folder `parent`, checked as open_temp_parent does; its path.
std::string make_temp_dir(const std::string& parent, std::string_view prefix);

}  // namespace elements
