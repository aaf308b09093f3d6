// Removing a tree the runtime made (an extraction, a run's folders).
// Public: part of the container library's interface (see container.hpp).
#pragma once

namespace elements::runtime {

// Removes `name` under `dir_fd` and everything in it, whatever its modes.
// Best effort: returns false when something stayed.
bool remove_tree(int dir_fd, const char* name);

}  // namespace elements::runtime
